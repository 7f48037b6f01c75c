// Byte sizes as admins write them ("512M", "1.5G", "4096") and as softzone prints them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "softzone/zones/result.h"

namespace softzone {

inline constexpr uint64_t kKiB = 1024;
inline constexpr uint64_t kMiB = 1024 * kKiB;
inline constexpr uint64_t kGiB = 1024 * kMiB;
inline constexpr uint64_t kTiB = 1024 * kGiB;

// Binary units; suffix K, M, G, T, P (any case, so "128m" is 128 MiB; optional "iB"); a plain
// number is bytes, as is a lone "B". "MB", "GB"... are refused with a hint (write 512M or
// 512MiB): some read them as decimal, and softzone has no decimal (1000-based) units.
// Fractions are allowed with a suffix and must come out to whole bytes ("1.5K" yes, "0.3K" no),
// with at most 9 digits after the point. Surrounding whitespace is ignored, inner is refused.
// `what` names the value for the message ("memory in [partition.web]").
Result<uint64_t> parseSize(std::string_view text, std::string_view what = "size");

// parseSize for an amount of memory, where a bare number ("memory = 96") is almost surely not
// meant as bytes: refused with a hint (96M), except 0. "96B" says bytes explicitly.
Result<uint64_t> parseMemorySize(std::string_view text, std::string_view what = "size");

// The shortest exact form when there is one ("512M", "1G", "1536K"), otherwise two decimals of
// the largest unit that keeps the integer part non-zero ("1.23G").
std::string formatSize(uint64_t bytes);

}  // namespace softzone

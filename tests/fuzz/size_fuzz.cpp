// libFuzzer target for parseSize/formatSize: never crashes, exact forms round-trip.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "softzone/zones/size.h"

namespace {

constexpr uint64_t kPiB = 1024 * softzone::kTiB;

// A violated invariant is a finding: print it and abort so libFuzzer saves the input.
void check(bool ok, const char* what, const std::string& detail) {
  if (ok) return;
  std::fprintf(stderr, "invariant violated: %s (%s)\n", what, detail.c_str());
  std::abort();
}

// The unit formatSize's two-decimal form used, from its suffix.
uint64_t unitOf(const std::string& text) {
  switch (text.back()) {
    case 'K':
      return softzone::kKiB;
    case 'M':
      return softzone::kMiB;
    case 'G':
      return softzone::kGiB;
    case 'T':
      return softzone::kTiB;
    default:
      return kPiB;
  }
}

// formatSize(n) is exact when it has no decimals: then it must parse back to n. With decimals
// it is rounded to a hundredth of its unit; if it parses at all, it is that close.
void checkFormat(uint64_t bytes) {
  std::string text = softzone::formatSize(bytes);
  softzone::Result<uint64_t> back = softzone::parseSize(text);
  std::string detail = std::to_string(bytes) + " -> " + text;
  if (text.find('.') == std::string::npos) {
    check(back.has_value() && *back == bytes, "parseSize(formatSize(n)) == n", detail);
    return;
  }
  check(text.size() >= 5, "a rounded form has digits, two decimals and a unit", detail);
  if (!back) {
    check(back.error().isBadInput(), "a rounded form fails only as bad input", detail);
    return;
  }
  uint64_t diff = *back > bytes ? *back - bytes : bytes - *back;
  check(diff <= unitOf(text) / 200 + 1, "a rounded form is within half a hundredth", detail);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  softzone::Result<uint64_t> parsed = softzone::parseSize(text, "memory");
  if (parsed) {
    checkFormat(*parsed);
  } else {
    check(parsed.error().isBadInput(), "parse errors are bad input", std::string(text));
    check(parsed.error().message().rfind("memory", 0) == 0, "errors start with `what`",
          parsed.error().message());
  }
  // parseMemorySize is parseSize with fewer inputs accepted: what it accepts, parseSize reads the
  // same; what it refuses is bad input naming `what`.
  softzone::Result<uint64_t> memory = softzone::parseMemorySize(text, "memory");
  if (memory) {
    check(parsed.has_value() && *parsed == *memory, "parseMemorySize agrees with parseSize",
          std::string(text));
  } else {
    check(memory.error().isBadInput(), "memory size errors are bad input", std::string(text));
    check(memory.error().message().rfind("memory", 0) == 0, "memory errors start with `what`",
          memory.error().message());
  }
  // The first eight bytes as a number reach byte counts no text in the corpus spells out.
  if (size >= sizeof(uint64_t)) {
    uint64_t bytes = 0;
    std::memcpy(&bytes, data, sizeof(bytes));
    checkFormat(bytes);
    // A small count of some power-of-two unit: the exact forms ("1536K", "7P").
    checkFormat((bytes & 0xffff) << ((bytes >> 16) % 51));
  }
  return 0;
}

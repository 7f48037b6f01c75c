// Text helpers every fixed-layout parser shares (kernel files, kmsg records, pid files, specs): a
// number is the whole token or nothing, blanks are trimmed the same way everywhere.
#pragma once

#include <charconv>
#include <cstddef>
#include <optional>
#include <string_view>
#include <type_traits>

#include "softzone/zones/result.h"

namespace softzone {

// The blanks of one line: a '\n' ends the line and never counts as a blank.
inline bool isBlank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// Hand-rolled rather than find_first_not_of: it runs once per line of up to 1024 nodes' files.
inline std::string_view trimBlanks(std::string_view text) {
  size_t start = 0;
  while (start < text.size() && isBlank(text[start])) ++start;
  size_t end = text.size();
  while (end > start && isBlank(text[end - 1])) --end;
  return text.substr(start, end - start);
}

// The whole of `text` as a T: no sign where T has none, no spaces, no trailing characters.
// Integers may give a base (16 for /proc/PID/maps addresses).
template <typename T>
std::optional<T> parseNumber(std::string_view text, int base = 10) {
  T value{};
  std::from_chars_result parsed{};
  if constexpr (std::is_integral_v<T>) {
    parsed = std::from_chars(text.data(), text.data() + text.size(), value, base);
  } else {
    parsed = std::from_chars(text.data(), text.data() + text.size(), value);
  }
  if (text.empty() || parsed.ec != std::errc() || parsed.ptr != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

// Calls fn(line, line_number) for each line that is not blank; stops at the first error.
template <typename Fn>
Status forEachLine(std::string_view text, Fn&& fn) {
  size_t line_no = 0;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    ++line_no;
    if (trimBlanks(line).empty()) continue;
    SZ_CHECK(fn(line, line_no));
  }
  return {};
}

}  // namespace softzone

// Byte sizes: parseSize for what admins write ("512M", "1.5G"), formatSize for what we print.
#include "softzone/zones/size.h"

#include <array>
#include <charconv>
#include <cstdio>
#include <limits>
#include <optional>
#include <string>

namespace softzone {
namespace {

constexpr std::string_view kSpaces = " \t\n\r\v\f";
constexpr uint64_t kMaxBytes = std::numeric_limits<uint64_t>::max();
// Nine decimals are far beyond what anyone writes, and keep the fraction's digits and 5^digits
// well inside uint64_t.
constexpr size_t kMaxFractionDigits = 9;

struct Unit {
  char letter;
  int shift;  // the unit is 2^shift bytes
};
// Largest first: formatSize wants the largest unit that fits.
constexpr std::array<Unit, 5> kUnits = {{{'P', 50}, {'T', 40}, {'G', 30}, {'M', 20}, {'K', 10}}};

std::string_view trimSpaces(std::string_view text) {
  size_t start = text.find_first_not_of(kSpaces);
  if (start == std::string_view::npos) return {};
  size_t end = text.find_last_not_of(kSpaces);
  return text.substr(start, end - start + 1);
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }
char upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

size_t countDigits(std::string_view text, size_t from) {
  size_t end = from;
  while (end < text.size() && isDigit(text[end])) ++end;
  return end - from;
}

uint64_t powerOfFive(size_t exponent) {
  uint64_t power = 1;
  for (size_t i = 0; i < exponent; ++i) power *= 5;
  return power;
}

// The bytes in `fraction` / 10^digits of a 2^shift unit, when that is a whole number. Exact
// because 10^d = 2^d * 5^d and the unit is a power of two: 5^d must divide the fraction, and
// the remaining power of two is a shift.
std::optional<uint64_t> fractionBytes(uint64_t fraction, size_t digits, int shift) {
  uint64_t five = powerOfFive(digits);
  if (fraction % five != 0) return std::nullopt;
  uint64_t quotient = fraction / five;  // < 2^digits, since fraction < 10^digits
  int excess = static_cast<int>(digits) - shift;
  if (excess <= 0) return quotient << -excess;
  if (quotient % (uint64_t{1} << excess) != 0) return std::nullopt;
  return quotient >> excess;
}

// The unit shift named by a suffix: "" or "B" is bytes, otherwise K/M/G/T/P then "" or "iB", in
// any case. "MB" is refused (decimalSuffix): some read it as 10^6 bytes, softzone's units are
// binary, and guessing either way silently misplaces memory.
std::optional<int> suffixShift(std::string_view suffix) {
  if (suffix.empty() || suffix == "B" || suffix == "b") return 0;
  char letter = upper(suffix[0]);
  std::string_view rest = suffix.substr(1);
  bool tail_ok =
      rest.empty() || (rest.size() == 2 && upper(rest[0]) == 'I' && upper(rest[1]) == 'B');
  if (!tail_ok) return std::nullopt;
  for (const Unit& unit : kUnits) {
    if (unit.letter == letter) return unit.shift;
  }
  return std::nullopt;
}

// "MB", "gb": a unit letter then B, which reads as decimal to some.
bool decimalSuffix(std::string_view suffix) {
  return suffix.size() == 2 && upper(suffix[1]) == 'B' && suffixShift(suffix.substr(0, 1));
}

class SizeParser {
 public:
  SizeParser(std::string_view what, std::string_view text) : what_(what), text_(text) {}

  Result<uint64_t> parse() const {
    if (text_[0] == '-') return fail("a size cannot be negative");
    size_t int_digits = countDigits(text_, 0);
    if (int_digits == 0) return fail("expected a number first, as in 512M or 1.5G");
    size_t pos = int_digits;
    size_t frac_digits = 0;
    if (pos < text_.size() && text_[pos] == '.') {
      frac_digits = countDigits(text_, pos + 1);
      if (frac_digits == 0) return fail("expected digits after the decimal point");
      if (frac_digits > kMaxFractionDigits) {
        return fail("at most " + std::to_string(kMaxFractionDigits) + " digits after the point");
      }
      pos += 1 + frac_digits;
    }
    std::string_view suffix = text_.substr(pos);
    if (suffix.find_first_of(kSpaces) != std::string_view::npos) {
      return fail("no spaces inside a size (write 512M, not 512 M)");
    }
    if (!suffix.empty() && suffix[0] == '.') return fail("more than one decimal point");
    if (decimalSuffix(suffix)) {
      const std::string number(text_.substr(0, pos));
      const char letter = upper(suffix[0]);
      return fail("sizes are binary, 1M = 1048576 bytes, and " + quoteInput(suffix) +
                  " reads as decimal; write " + number + letter + " or " + number + letter + "iB");
    }
    std::optional<int> shift = suffixShift(suffix);
    if (!shift) return fail("unknown unit " + quoteInput(suffix) + "; use K, M, G, T or P");
    if (frac_digits > 0 && *shift == 0) {
      return fail("a fraction needs a unit (K, M, G, T or P): there are no partial bytes");
    }
    std::string_view frac_text = frac_digits > 0 ? text_.substr(int_digits + 1, frac_digits) : "";
    return combine(text_.substr(0, int_digits), frac_text, *shift);
  }

 private:
  Result<uint64_t> combine(std::string_view whole_text, std::string_view frac_text,
                           int shift) const {
    uint64_t whole = 0;
    auto [ptr, ec] =
        std::from_chars(whole_text.data(), whole_text.data() + whole_text.size(), whole);
    if (ec != std::errc() || whole > (kMaxBytes >> shift)) return tooLarge();
    uint64_t bytes = whole << shift;
    if (frac_text.empty()) return bytes;
    uint64_t fraction = 0;  // at most kMaxFractionDigits digits: cannot overflow
    std::from_chars(frac_text.data(), frac_text.data() + frac_text.size(), fraction);
    std::optional<uint64_t> extra = fractionBytes(fraction, frac_text.size(), shift);
    if (!extra) return fail("the fraction does not come out to whole bytes");
    if (*extra > kMaxBytes - bytes) return tooLarge();
    return bytes + *extra;
  }

  Error tooLarge() const {
    return fail("too large: the maximum is 18446744073709551615 bytes, just under 16384P");
  }

  Error fail(const std::string& problem) const {
    return badInput(std::string(what_) + " " + quoteInput(text_) + ": " + problem);
  }

  std::string_view what_;
  std::string_view text_;
};

// "1.23G": `bytes` in the largest unit that keeps the integer part non-zero, rounded half up.
std::string formatWithDecimals(uint64_t bytes) {
  size_t u = 0;
  while (bytes < (uint64_t{1} << kUnits[u].shift)) ++u;
  uint64_t whole = bytes >> kUnits[u].shift;
  uint64_t rem = bytes - (whole << kUnits[u].shift);
  // rem < 2^50, so rem * 100 cannot overflow.
  uint64_t hundredths = (rem * 100 + (uint64_t{1} << (kUnits[u].shift - 1))) >> kUnits[u].shift;
  if (hundredths == 100) {
    whole += 1;
    hundredths = 0;
  }
  // 1023.999K rounds to 1024.00K: say 1.00M instead.
  if (whole == 1024 && u > 0) {
    --u;
    whole = 1;
  }
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%llu.%02llu%c", static_cast<unsigned long long>(whole),
                static_cast<unsigned long long>(hundredths), kUnits[u].letter);
  return buf;
}

}  // namespace

Result<uint64_t> parseSize(std::string_view text, std::string_view what) {
  std::string_view body = trimSpaces(text);
  if (body.empty()) return badInput(std::string(what) + " is empty; expected a size like 512M");
  return SizeParser(what, body).parse();
}

Result<uint64_t> parseMemorySize(std::string_view text, std::string_view what) {
  SZ_TRY(bytes, parseSize(text, what));
  std::string_view body = trimSpaces(text);
  if (bytes != 0 && countDigits(body, 0) == body.size()) {
    return badInput(std::string(what) + " " + quoteInput(body) +
                    ": a bare number would be bytes; write " + std::string(body) + "M, " +
                    std::string(body) + "G or " + std::string(body) + "B");
  }
  return bytes;
}

std::string formatSize(uint64_t bytes) {
  if (bytes < kKiB) return std::to_string(bytes);
  for (const Unit& unit : kUnits) {
    uint64_t unit_bytes = uint64_t{1} << unit.shift;
    if (bytes % unit_bytes == 0) return std::to_string(bytes >> unit.shift) + unit.letter;
  }
  return formatWithDecimals(bytes);
}

}  // namespace softzone

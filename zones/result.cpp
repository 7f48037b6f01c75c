// Result and Error: softzone's error category, error builders and the one-line description.
#include "softzone/zones/result.h"

#include <algorithm>
#include <string>

namespace softzone {
namespace {

class SoftzoneCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "softzone"; }

  std::string message(int value) const override {
    switch (static_cast<Errc>(value)) {
      case Errc::kBadInput:
        return "bad input";
      case Errc::kInfeasible:
        return "the machine cannot satisfy the request";
      case Errc::kMismatch:
        return "the running system differs from what was expected";
      case Errc::kUnsupported:
        return "the kernel lacks a needed interface";
    }
    return "unknown softzone error " + std::to_string(value);
  }
};

// Enough to recognise the input in a message; more would bury the problem that follows it.
constexpr size_t kMaxQuotedChars = 64;

// Errno values live in either category depending on who made the code (std::make_error_code
// vs. std::system_error from a library); both mean strerror() is the right text.
bool isErrnoCategory(const std::error_category& category) noexcept {
  return category == std::generic_category() || category == std::system_category();
}

}  // namespace

const std::error_category& softzoneCategory() noexcept {
  static const SoftzoneCategory category;
  return category;
}

Error& Error::withContext(std::string_view context) & {
  if (context.empty()) return *this;
  std::string prefixed(context);
  if (!message_.empty()) {
    prefixed += ": ";
    prefixed += message_;
  }
  message_ = std::move(prefixed);
  return *this;
}

Error&& Error::withContext(std::string_view context) && {
  withContext(context);  // the lvalue overload: *this is an lvalue here
  return std::move(*this);
}

std::string Error::describe() const {
  if (!isErrnoCategory(code_.category())) {
    return message_.empty() ? code_.message() : message_;
  }
  if (message_.empty()) return code_.message();
  return message_ + ": " + code_.message();
}

Error badInput(std::string message) {
  return {make_error_code(Errc::kBadInput), std::move(message)};
}

Error infeasible(std::string message) {
  return {make_error_code(Errc::kInfeasible), std::move(message)};
}

Error mismatch(std::string message) {
  return {make_error_code(Errc::kMismatch), std::move(message)};
}

Error unsupported(std::string message) {
  return {make_error_code(Errc::kUnsupported), std::move(message)};
}

Error errnoError(int err, std::string message) {
  return {std::error_code(err, std::generic_category()), std::move(message)};
}

std::string quoteInput(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string quoted = "\"";
  size_t shown = std::min(text.size(), kMaxQuotedChars);
  for (unsigned char c : text.substr(0, shown)) {
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      quoted += "\\x";
      quoted += kHex[c >> 4];
      quoted += kHex[c & 0xf];
    } else {
      quoted += static_cast<char>(c);
    }
  }
  if (shown < text.size()) quoted += "...";
  quoted += '"';
  return quoted;
}

}  // namespace softzone

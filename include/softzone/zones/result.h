// Result<T>: a value or an Error (std::error_code + message + context), std::expected-like.
#pragma once

#include <cassert>
#include <cstdlib>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace softzone {

// softzone's own error conditions. Everything else is an errno (std::generic_category).
enum class Errc {
  kBadInput = 1,  // the user gave something malformed or inconsistent: exit 2
  kInfeasible,    // a well-formed request the machine cannot satisfy: exit 1
  kMismatch,      // the running system differs from what was expected (verify, drift): exit 1
  kUnsupported,   // the kernel lacks a needed interface: exit 1
};

const std::error_category& softzoneCategory() noexcept;

inline std::error_code make_error_code(Errc e) noexcept {
  return {static_cast<int>(e), softzoneCategory()};
}

class Error {
 public:
  Error(std::error_code code, std::string message) : code_(code), message_(std::move(message)) {}

  const std::error_code& code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }

  // Prefixes the message with where it happened ("reading node3/meminfo: ...").
  Error& withContext(std::string_view context) &;
  Error&& withContext(std::string_view context) &&;

  bool isBadInput() const noexcept { return code_ == make_error_code(Errc::kBadInput); }

  // One line for a human: the message, plus strerror() for errno-based errors.
  std::string describe() const;

  // The exit status the contract gives this error: 2 for bad input, 1 otherwise.
  int exitStatus() const noexcept { return isBadInput() ? 2 : 1; }

 private:
  std::error_code code_;
  std::string message_;
};

// Builders, so call sites read as what went wrong.
Error badInput(std::string message);
Error infeasible(std::string message);
Error mismatch(std::string message);
Error unsupported(std::string message);
Error errnoError(int err, std::string message);  // err is an errno value

// User input quoted for an error message: in double quotes, with quotes, backslashes and
// non-printable bytes escaped and long text cut short, so one bad line can't garble the terminal.
std::string quoteInput(std::string_view text);

template <typename T>
class [[nodiscard]] Result {
  static_assert(!std::is_same_v<T, Error>, "Result<Error> is ambiguous");

 public:
  // Implicit by design, so a function returns a value or an error alike.
  // NOLINTNEXTLINE(google-explicit-constructor)
  Result(T value) : storage_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : storage_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool has_value() const noexcept { return storage_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { return checked(); }
  const T& value() const& { return const_cast<Result*>(this)->checked(); }
  T&& value() && { return std::move(checked()); }
  T& operator*() & { return checked(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &checked(); }
  const T* operator->() const { return &value(); }

  template <typename U>
  T value_or(U&& fallback) const& {
    return has_value() ? std::get<0>(storage_) : static_cast<T>(std::forward<U>(fallback));
  }

  const Error& error() const& {
    if (has_value()) std::abort();  // a broken invariant: asking a success for its error
    return std::get<1>(storage_);
  }
  Error&& error() && {
    if (has_value()) std::abort();
    return std::move(std::get<1>(storage_));
  }

 private:
  T& checked() {
    if (!has_value()) std::abort();  // a broken invariant: using a failure as a value
    return std::get<0>(storage_);
  }

  std::variant<T, Error> storage_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT

  bool has_value() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return has_value(); }
  void value() const {
    if (failed_) std::abort();
  }
  const Error& error() const& {
    if (!failed_) std::abort();
    return error_;
  }
  Error&& error() && {
    if (!failed_) std::abort();
    return std::move(error_);
  }

 private:
  Error error_{std::error_code{}, {}};
  bool failed_ = false;
};

using Status = Result<void>;

}  // namespace softzone

namespace std {
template <>
struct is_error_code_enum<softzone::Errc> : true_type {};
}  // namespace std

// SZ_TRY(var, expr): evaluates a Result expression, returns its error from the enclosing function,
// otherwise moves the value into a new variable `var`.
#define SZ_CONCAT_INNER(a, b) a##b
#define SZ_CONCAT(a, b) SZ_CONCAT_INNER(a, b)
#define SZ_TRY(var, expr)                                                                          \
  auto SZ_CONCAT(sz_result_, __LINE__) = (expr);                                                   \
  if (!SZ_CONCAT(sz_result_, __LINE__)) return std::move(SZ_CONCAT(sz_result_, __LINE__)).error(); \
  auto var = std::move(SZ_CONCAT(sz_result_, __LINE__)).value()

// SZ_CHECK(expr): for Status expressions; returns the error from the enclosing function.
#define SZ_CHECK(expr)                                     \
  do {                                                     \
    auto sz_status_ = (expr);                              \
    if (!sz_status_) return std::move(sz_status_).error(); \
  } while (0)

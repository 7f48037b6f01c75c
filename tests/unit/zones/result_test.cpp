// Tests for Result/Error: the category, context, describe() and the SZ_TRY/SZ_CHECK macros.
#include "softzone/zones/result.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <memory>
#include <set>
#include <string>

namespace softzone {
namespace {

TEST(ErrorCategory, HasNameAndDistinctMessages) {
  EXPECT_STREQ(softzoneCategory().name(), "softzone");
  std::set<std::string> messages;
  for (Errc e : {Errc::kBadInput, Errc::kInfeasible, Errc::kMismatch, Errc::kUnsupported}) {
    std::string message = make_error_code(e).message();
    EXPECT_FALSE(message.empty());
    messages.insert(message);
  }
  EXPECT_EQ(messages.size(), 4u);
  EXPECT_NE(softzoneCategory().message(99).find("99"), std::string::npos);
}

TEST(ErrorCategory, ErrcConvertsImplicitly) {
  std::error_code code = Errc::kMismatch;
  EXPECT_EQ(&code.category(), &softzoneCategory());
  EXPECT_EQ(code, make_error_code(Errc::kMismatch));
  EXPECT_NE(code, make_error_code(Errc::kBadInput));
}

TEST(Error, BuildersSetCodeAndExitStatus) {
  EXPECT_EQ(badInput("x").code(), Errc::kBadInput);
  EXPECT_EQ(infeasible("x").code(), Errc::kInfeasible);
  EXPECT_EQ(mismatch("x").code(), Errc::kMismatch);
  EXPECT_EQ(unsupported("x").code(), Errc::kUnsupported);
  EXPECT_EQ(errnoError(ENOENT, "x").code(), std::errc::no_such_file_or_directory);

  EXPECT_TRUE(badInput("x").isBadInput());
  EXPECT_FALSE(infeasible("x").isBadInput());
  EXPECT_FALSE(errnoError(EINVAL, "x").isBadInput());
  EXPECT_EQ(badInput("x").exitStatus(), 2);
  EXPECT_EQ(infeasible("x").exitStatus(), 1);
  EXPECT_EQ(mismatch("x").exitStatus(), 1);
  EXPECT_EQ(unsupported("x").exitStatus(), 1);
  EXPECT_EQ(errnoError(EBUSY, "x").exitStatus(), 1);
}

TEST(Error, WithContextPrefixes) {
  Error error = errnoError(ENOENT, "opening /sys/x");
  error.withContext("reading node3/meminfo");
  EXPECT_EQ(error.message(), "reading node3/meminfo: opening /sys/x");

  Error chained = badInput("bad").withContext("inner").withContext("outer");
  EXPECT_EQ(chained.message(), "outer: inner: bad");
  EXPECT_TRUE(chained.isBadInput());  // context never changes the code

  EXPECT_EQ(badInput("").withContext("only").message(), "only");
  EXPECT_EQ(badInput("msg").withContext("").message(), "msg");
}

TEST(Error, DescribeAddsStrerrorForErrno) {
  EXPECT_EQ(errnoError(ENOENT, "reading /proc/x").describe(),
            "reading /proc/x: No such file or directory");
  Error system(std::error_code(EBUSY, std::system_category()), "writing 1 to /x");
  EXPECT_EQ(system.describe(), "writing 1 to /x: Device or resource busy");
  EXPECT_EQ(errnoError(EINVAL, "").describe(), "Invalid argument");
  EXPECT_EQ(badInput("--nodes \"x\": not a number").describe(), "--nodes \"x\": not a number");
  EXPECT_EQ(infeasible("").describe(), make_error_code(Errc::kInfeasible).message());
}

TEST(QuoteInput, EscapesAndTruncates) {
  EXPECT_EQ(quoteInput("0-3"), "\"0-3\"");
  EXPECT_EQ(quoteInput(""), "\"\"");
  EXPECT_EQ(quoteInput("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(quoteInput(std::string_view("a\nb\0", 4)), "\"a\\x0ab\\x00\"");
  EXPECT_EQ(quoteInput("\xff"), "\"\\xff\"");
  std::string quoted = quoteInput(std::string(1000, 'x'));
  EXPECT_LT(quoted.size(), 100u);
  EXPECT_NE(quoted.find("..."), std::string::npos);
}

TEST(Result, HoldsValue) {
  Result<int> r = 42;
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(*r, 42);
  EXPECT_EQ(r.value(), 42);
  EXPECT_EQ(r.value_or(7), 42);
}

TEST(Result, HoldsError) {
  Result<std::string> r = infeasible("no room");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message(), "no room");
  EXPECT_EQ(r.value_or("fallback"), "fallback");
}

TEST(Result, MovesOnlyTypes) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(5);
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 5);
}

TEST(Result, VoidStatus) {
  Status ok;
  EXPECT_TRUE(ok.has_value());
  Status failed = mismatch("drift");
  EXPECT_FALSE(failed);
  EXPECT_EQ(failed.error().code(), Errc::kMismatch);
}

Result<int> half(int n) {
  if (n % 2 != 0) return badInput(std::to_string(n) + " is odd");
  return n / 2;
}

Result<int> quarter(int n) {
  SZ_TRY(h, half(n));
  SZ_TRY(q, half(h));
  return q;
}

Status checkEven(int n) {
  SZ_CHECK(half(n).has_value() ? Status() : Status(badInput("odd")));
  return {};
}

TEST(Result, TryPropagatesFirstError) {
  EXPECT_EQ(quarter(8).value(), 2);
  Result<int> r = quarter(6);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "3 is odd");
  EXPECT_TRUE(checkEven(2));
  EXPECT_TRUE(checkEven(3).error().isBadInput());
}

TEST(ResultDeathTest, ValueOfErrorAborts) {
  Result<int> r = badInput("x");
  EXPECT_DEATH((void)r.value(), "");
  Result<int> good = 1;
  EXPECT_DEATH((void)good.error(), "");
  Status failed = badInput("x");
  EXPECT_DEATH(failed.value(), "");
}

}  // namespace
}  // namespace softzone

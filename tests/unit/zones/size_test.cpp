// Tests for parseSize/formatSize: the suffixes admins write, exact fractions, and round trips.
#include "softzone/zones/size.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace softzone {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kPiB = 1024 * kTiB;
constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

struct GoodSize {
  std::string text;
  uint64_t bytes;
};

const GoodSize kGoodSizes[] = {
    {"0", 0},
    {"1", 1},
    {"4096", 4096},
    {"4096B", 4096},
    {"1K", kKiB},
    {"1k", kKiB},
    {"512M", 512 * kMiB},
    {"512m", 512 * kMiB},
    {"512MiB", 512 * kMiB},
    {"512mib", 512 * kMiB},
    {"1.5G", kGiB + kGiB / 2},
    {"1.25M", kMiB + kMiB / 4},
    {"0.5K", 512},
    {"1.50K", 1536},
    {"1.0G", kGiB},
    {"1.000000000G", kGiB},
    {"2T", 2 * kTiB},
    {"1P", kPiB},
    {"16383P", 16383 * kPiB},
    {"16383.5P", 16383 * kPiB + kPiB / 2},
    {"0G", 0},
    {"007M", 7 * kMiB},
    {"  1G\n", kGiB},
    {"18446744073709551615", kMax},
    {"18446744073709551615B", kMax},
};

// "MB" reads as decimal to some, and softzone's units are binary: refused with the binary forms.
TEST(ParseSize, DecimalLookingUnitsAreRefusedWithTheBinaryForms) {
  for (const char* text : {"512MB", "512mb", "1GB", "4kB", "2TB", "1PB"}) {
    SCOPED_TRACE(text);
    Result<uint64_t> bytes = parseSize(text, "memory");
    ASSERT_FALSE(bytes);
    EXPECT_TRUE(bytes.error().isBadInput());
    EXPECT_THAT(bytes.error().message(), ::testing::HasSubstr("sizes are binary"));
  }
  EXPECT_EQ(parseSize("512MB", "memory").error().message(),
            "memory \"512MB\": sizes are binary, 1M = 1048576 bytes, and \"MB\" reads as decimal; "
            "write 512M or 512MiB");
  EXPECT_EQ(*parseSize("128m"), 128 * kMiB);  // lowercase is the same binary unit
}

// An amount of memory without a unit is almost surely not meant as bytes.
TEST(ParseMemorySize, ABareNumberNeedsAUnit) {
  Result<uint64_t> bare = parseMemorySize(" 96 ", "memory");
  ASSERT_FALSE(bare);
  EXPECT_TRUE(bare.error().isBadInput());
  EXPECT_EQ(bare.error().message(),
            "memory \"96\": a bare number would be bytes; write 96M, 96G or 96B");
  EXPECT_EQ(*parseMemorySize("0"), 0u);  // nothing is nothing in any unit
  EXPECT_EQ(*parseMemorySize("96B"), 96u);
  EXPECT_EQ(*parseMemorySize("96M"), 96 * kMiB);
  EXPECT_EQ(*parseMemorySize("1.5g"), kGiB + kGiB / 2);
  EXPECT_FALSE(parseMemorySize("96MB"));
  EXPECT_FALSE(parseMemorySize("-1M"));
}

TEST(ParseSize, GoodSizes) {
  for (const GoodSize& c : kGoodSizes) {
    SCOPED_TRACE(c.text);
    Result<uint64_t> bytes = parseSize(c.text, "memory");
    ASSERT_TRUE(bytes) << bytes.error().message();
    EXPECT_EQ(*bytes, c.bytes);
  }
}

struct BadSize {
  std::string text;
  std::string problem;
};

const BadSize kBadSizes[] = {
    {"-1", "negative"},
    {"-1M", "negative"},
    {"+1", "expected a number first"},
    {"M", "expected a number first"},
    {".5G", "expected a number first"},
    {"1.5", "a fraction needs a unit"},
    {"1.5B", "a fraction needs a unit"},
    {"1.2.3", "more than one decimal point"},
    {"1.2.3G", "more than one decimal point"},
    {"1.G", "digits after the decimal point"},
    {"10X", "unknown unit \"X\""},
    {"1e3", "unknown unit"},
    {"1KK", "unknown unit"},
    {"1iB", "unknown unit"},
    {"1GiBx", "unknown unit"},
    {"0x10", "unknown unit"},
    {"1,5G", "unknown unit"},
    {"1 M", "no spaces"},
    {"1\tG", "no spaces"},
    {"18446744073709551616", "too large"},
    {"99999999999999999999999999", "too large"},
    {"16384P", "too large"},
    {"0.3K", "whole bytes"},
    {"1.23G", "whole bytes"},
    {"0.0009765625M", "at most 9 digits"},  // exactly 1K, but ten digits
    {"1.0000000001G", "at most 9 digits"},
};

TEST(ParseSize, BadSizesAreBadInputNamingTheText) {
  for (const BadSize& c : kBadSizes) {
    SCOPED_TRACE(c.text);
    Result<uint64_t> bytes = parseSize(c.text, "memory in [partition.web]");
    ASSERT_FALSE(bytes) << *bytes;
    EXPECT_TRUE(bytes.error().isBadInput());
    EXPECT_THAT(bytes.error().message(), HasSubstr("memory in [partition.web]"));
    EXPECT_THAT(bytes.error().message(), HasSubstr(quoteInput(c.text)));
    EXPECT_THAT(bytes.error().message(), HasSubstr(c.problem));
  }
}

TEST(ParseSize, EmptyIsBadInput) {
  for (std::string text : {"", " ", "\n"}) {
    Result<uint64_t> bytes = parseSize(text, "size in [shared]");
    ASSERT_FALSE(bytes);
    EXPECT_TRUE(bytes.error().isBadInput());
    EXPECT_THAT(bytes.error().message(), HasSubstr("size in [shared] is empty"));
  }
}

TEST(ParseSize, FractionsAreExact) {
  // 1.1M is 1153433.6 bytes: refused rather than rounded.
  EXPECT_FALSE(parseSize("1.1M"));
  // 0.001953125K is exactly 2 bytes (2/1024), nine digits.
  EXPECT_EQ(parseSize("0.001953125K").value(), 2u);
  EXPECT_EQ(parseSize("0.75T").value(), 3 * kTiB / 4);
  EXPECT_EQ(parseSize("1023.5K").value(), 1023 * kKiB + 512);
}

struct Formatted {
  uint64_t bytes;
  std::string text;
};

const Formatted kFormatted[] = {
    {0, "0"},
    {1, "1"},
    {1023, "1023"},
    {1024, "1K"},
    {2048, "2K"},
    {1536 * kKiB, "1536K"},
    {512 * kMiB, "512M"},
    {kGiB, "1G"},
    {3 * kGiB, "3G"},
    {2 * kTiB, "2T"},
    {kPiB, "1P"},
    {16383 * kPiB, "16383P"},
    {1025, "1.00K"},
    {1536, "1.50K"},
    {1320702444, "1.23G"},
    {kGiB + 1, "1.00G"},
    {kMiB - 1, "1.00M"},  // 1023.999K rounds up into the next unit
    {kMiB + kMiB / 2 + 1, "1.50M"},
    {kMax, "16384.00P"},
};

TEST(FormatSize, ExactOrTwoDecimals) {
  for (const Formatted& c : kFormatted) {
    SCOPED_TRACE(c.bytes);
    EXPECT_EQ(formatSize(c.bytes), c.text);
  }
}

TEST(FormatSize, ExactFormsRoundTrip) {
  for (uint64_t bytes : {uint64_t{0}, uint64_t{1}, uint64_t{1023}, kKiB, 7 * kMiB, 1536 * kKiB,
                         5 * kGiB, 9 * kTiB, 3 * kPiB, 16383 * kPiB}) {
    std::string text = formatSize(bytes);
    ASSERT_EQ(text.find('.'), std::string::npos) << text;
    EXPECT_EQ(parseSize(text).value(), bytes) << text;
  }
}

}  // namespace
}  // namespace softzone

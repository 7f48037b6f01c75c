// Tests for the shared text helpers: a number is the whole token or nothing, blanks are trimmed
// the same way for every parser, and blank lines are skipped with their numbers kept.
#include "softzone/zones/text_parse.h"

#include <gtest/gtest.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace softzone {
namespace {

TEST(TextParse, ParseNumberTakesTheWholeToken) {
  EXPECT_EQ(parseNumber<uint64_t>("0"), 0u);
  EXPECT_EQ(parseNumber<uint64_t>("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(parseNumber<int>("-12"), -12);
  EXPECT_EQ(parseNumber<pid_t>("4194304"), 4194304);
}

TEST(TextParse, ParseNumberRefusesAnythingAroundTheDigits) {
  for (const char* text : {"", " 1", "1 ", "1\n", "1x", "x1", "+1", "0x10", "1.5", "1,2"}) {
    EXPECT_FALSE(parseNumber<uint64_t>(text)) << "'" << text << "'";
    EXPECT_FALSE(parseNumber<int>(text)) << "'" << text << "'";
  }
}

TEST(TextParse, ParseNumberRefusesASignWhereTheTypeHasNone) {
  EXPECT_FALSE(parseNumber<uint64_t>("-1"));
  EXPECT_FALSE(parseNumber<unsigned>("-0"));
}

TEST(TextParse, ParseNumberRefusesValuesOutOfRange) {
  EXPECT_FALSE(parseNumber<uint64_t>("18446744073709551616"));
  EXPECT_FALSE(parseNumber<int>("2147483648"));
  EXPECT_FALSE(parseNumber<uint16_t>("65536"));
}

TEST(TextParse, ParseNumberReadsHexadecimalWhenAskedForBase16) {
  EXPECT_EQ(parseNumber<uint64_t>("7f3a2c000000", 16), 0x7f3a2c000000u);
  EXPECT_EQ(parseNumber<uint64_t>("FFff", 16), 0xffffu);
  EXPECT_FALSE(parseNumber<uint64_t>("0x10", 16));
  EXPECT_FALSE(parseNumber<uint64_t>("ff", 10));
}

TEST(TextParse, ParseNumberReadsDecimalFractionsForFloatingPoint) {
  EXPECT_EQ(parseNumber<double>("2.5"), 2.5);
  EXPECT_EQ(parseNumber<double>("0.00"), 0.0);
  EXPECT_FALSE(parseNumber<double>("2.5 "));
  EXPECT_FALSE(parseNumber<double>(""));
}

TEST(TextParse, TrimBlanksRemovesSpacesTabsAndCarriageReturnsAtBothEnds) {
  EXPECT_EQ(trimBlanks(" \t a b \r\t"), "a b");
  EXPECT_EQ(trimBlanks("a"), "a");
  EXPECT_EQ(trimBlanks(" \t\r "), "");
  EXPECT_EQ(trimBlanks(""), "");
}

TEST(TextParse, TrimBlanksKeepsNewlinesBecauseTheyEndALine) {
  EXPECT_EQ(trimBlanks(" a\n"), "a\n");
  EXPECT_EQ(trimBlanks("\na "), "\na");
}

TEST(TextParse, ForEachLineSkipsBlankLinesAndKeepsLineNumbers) {
  std::vector<std::pair<std::string, size_t>> seen;
  Status status = forEachLine("first\n\n \t\nfourth\nlast", [&](std::string_view line, size_t no) {
    seen.emplace_back(std::string(line), no);
    return Status{};
  });
  ASSERT_TRUE(status);
  std::vector<std::pair<std::string, size_t>> expected = {{"first", 1}, {"fourth", 4}, {"last", 5}};
  EXPECT_EQ(seen, expected);
}

TEST(TextParse, ForEachLineStopsAtTheFirstError) {
  size_t calls = 0;
  Status status = forEachLine("a\nb\nc\n", [&](std::string_view line, size_t) -> Status {
    ++calls;
    if (line == "b") return badInput("b is bad");
    return {};
  });
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message(), "b is bad");
  EXPECT_EQ(calls, 2u);
}

}  // namespace
}  // namespace softzone

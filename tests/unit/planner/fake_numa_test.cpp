// Tests for the numa=fake= value: the kernel's three forms, the traps it hides, and printing back.
#include "softzone/planner/fake_numa.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace softzone::planner {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ParseFakeNumaArg, Count) {
  auto fake = parseFakeNumaArg("8");
  ASSERT_TRUE(fake) << fake.error().describe();
  EXPECT_EQ(fake->kind, FakeNuma::Kind::kCount);
  EXPECT_EQ(fake->count, 8);
  EXPECT_TRUE(fake->distances.empty());
}

TEST(ParseFakeNumaArg, Sizes) {
  auto mib = parseFakeNumaArg("512M");
  ASSERT_TRUE(mib);
  EXPECT_EQ(mib->kind, FakeNuma::Kind::kSize);
  EXPECT_EQ(mib->size_bytes, 512 * kMiB);
  auto gib = parseFakeNumaArg("2G");
  ASSERT_TRUE(gib);
  EXPECT_EQ(gib->size_bytes, 2 * kGiB);
}

TEST(ParseFakeNumaArg, PerPhysicalNode) {
  auto fake = parseFakeNumaArg("4U");
  ASSERT_TRUE(fake);
  EXPECT_EQ(fake->kind, FakeNuma::Kind::kPerPhysical);
  EXPECT_EQ(fake->count, 4);
}

TEST(ParseFakeNumaArg, DistanceTable) {
  auto fake = parseFakeNumaArg("2:10,20,20,10");
  ASSERT_TRUE(fake) << fake.error().describe();
  EXPECT_EQ(fake->count, 2);
  EXPECT_THAT(fake->distances, ElementsAre(10, 20, 20, 10));
}

TEST(ParseFakeNumaArg, Limits) {
  EXPECT_TRUE(parseFakeNumaArg("1"));
  EXPECT_TRUE(parseFakeNumaArg("1024"));
  EXPECT_FALSE(parseFakeNumaArg("1025"));
  EXPECT_FALSE(parseFakeNumaArg("0"));
  EXPECT_FALSE(parseFakeNumaArg("0U"));
  EXPECT_FALSE(parseFakeNumaArg("0M"));
  EXPECT_FALSE(parseFakeNumaArg("99999999999999999999G"));
  EXPECT_FALSE(parseFakeNumaArg("17179869184G"));  // overflows 64 bits in bytes
}

TEST(ParseFakeNumaArg, BadFormsAreBadInput) {
  for (const char* text : {"", "x", "-1", "8 ", "1.5G", "M", "U", "8UU", "4U2", "8:", "8:10,",
                           "8:10,x", "8:300", ":10", "0x10", "8,2"}) {
    auto fake = parseFakeNumaArg(text);
    EXPECT_FALSE(fake) << "'" << text << "'";
    if (!fake) {
      EXPECT_TRUE(fake.error().isBadInput()) << text;
    }
  }
}

TEST(ParseFakeNumaArg, SuffixesTheKernelWouldReadAsACount) {
  for (const char* text : {"512m", "1g", "1024K", "1T", "4u"}) {
    auto fake = parseFakeNumaArg(text);
    ASSERT_FALSE(fake) << text;
    EXPECT_THAT(fake.error().message(), HasSubstr("it would read a node count")) << text;
  }
}

TEST(ParseFakeNumaArg, LeadingZeroIsOctalToTheKernel) {
  auto fake = parseFakeNumaArg("010");
  ASSERT_FALSE(fake);
  EXPECT_THAT(fake.error().message(), HasSubstr("octal"));
}

TEST(FormatFakeNumaArg, RoundTrips) {
  for (const char* text :
       {"8", "1", "1024", "512M", "1G", "3G", "1536M", "4U", "2:10,20,20,10", "1G:10"}) {
    auto fake = parseFakeNumaArg(text);
    ASSERT_TRUE(fake) << text;
    EXPECT_EQ(formatFakeNumaArg(*fake), text);
  }
}

TEST(FormatFakeNumaArg, SizesInWholeMiB) {
  FakeNuma fake;
  fake.kind = FakeNuma::Kind::kSize;
  fake.size_bytes = 1024 * kMiB;
  EXPECT_EQ(formatFakeNumaArg(fake), "1G");
  fake.size_bytes = 100 * kMiB + 5;
  EXPECT_EQ(formatFakeNumaArg(fake), "100M");
}

TEST(DescribeFakeNuma, ForPeople) {
  EXPECT_EQ(describeFakeNuma(parseFakeNumaArg("8").value()), "8 nodes over all RAM");
  EXPECT_EQ(describeFakeNuma(parseFakeNumaArg("1").value()), "1 node over all RAM");
  EXPECT_EQ(describeFakeNuma(parseFakeNumaArg("1G").value()), "nodes of 1024 MiB over all RAM");
  EXPECT_EQ(describeFakeNuma(parseFakeNumaArg("4U").value()), "4 nodes per physical node");
  EXPECT_EQ(describeFakeNuma(parseFakeNumaArg("2:10,20,20,10").value()),
            "2 nodes over all RAM, with a distance table");
}

TEST(FakeNumaKindName, StableNames) {
  EXPECT_EQ(fakeNumaKindName(FakeNuma::Kind::kCount), "count");
  EXPECT_EQ(fakeNumaKindName(FakeNuma::Kind::kSize), "size");
  EXPECT_EQ(fakeNumaKindName(FakeNuma::Kind::kPerPhysical), "per_physical");
}

}  // namespace
}  // namespace softzone::planner

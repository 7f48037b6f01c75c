// Tests for NodeSet: numactl list syntax in and out, set operations and the bitmap invariants.
#include "softzone/zones/nodeset.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace softzone {
namespace {

using ::testing::HasSubstr;

struct GoodList {
  std::string text;
  std::vector<int> ids;
  std::string formatted;
};

const GoodList kGoodLists[] = {
    {"0", {0}, "0"},
    {"7", {7}, "7"},
    {"0-3,7", {0, 1, 2, 3, 7}, "0-3,7"},
    {"0-3,7\n", {0, 1, 2, 3, 7}, "0-3,7"},
    {"  1,2\t\n", {1, 2}, "1-2"},
    {"4-5", {4, 5}, "4-5"},
    {"5-5", {5}, "5"},
    {"3,1,2", {1, 2, 3}, "1-3"},
    {"1-3,2-4", {1, 2, 3, 4}, "1-4"},
    {"1,1,1", {1}, "1"},
    {"007", {7}, "7"},
    {"63,64", {63, 64}, "63-64"},
    {"62-65", {62, 63, 64, 65}, "62-65"},
    {"0,2,4", {0, 2, 4}, "0,2,4"},
    {"8191", {8191}, "8191"},
    {"8190-8191", {8190, 8191}, "8190-8191"},
    {"1,3-4,6-9,200", {1, 3, 4, 6, 7, 8, 9, 200}, "1,3-4,6-9,200"},
};

TEST(NodeSetParse, GoodLists) {
  for (const GoodList& c : kGoodLists) {
    SCOPED_TRACE(c.text);
    Result<NodeSet> set = NodeSet::parse(c.text, "--nodes");
    ASSERT_TRUE(set) << set.error().message();
    EXPECT_EQ(set->ids(), c.ids);
    EXPECT_EQ(set->size(), static_cast<int>(c.ids.size()));
    EXPECT_EQ(set->format(), c.formatted);
    EXPECT_EQ(NodeSet::parse(set->format()).value(), *set);
    Result<NodeSet> kernel = NodeSet::parseKernelList(c.text);
    ASSERT_TRUE(kernel);
    EXPECT_EQ(*kernel, *set);
  }
}

TEST(NodeSetParse, WholeRange) {
  NodeSet all = NodeSet::parse("0-8191").value();
  EXPECT_EQ(all.size(), NodeSet::kMaxId + 1);
  EXPECT_EQ(all.first(), 0);
  EXPECT_EQ(all.last(), NodeSet::kMaxId);
  EXPECT_EQ(all.format(), "0-8191");
}

struct BadList {
  std::string text;
  std::string problem;  // a piece of the message that says what is wrong
};

const BadList kBadLists[] = {
    {"-", "no start"},
    {"1-", "no end"},
    {"-1", "no start"},
    {"3-1", "range end 1 is below its start 3"},
    {",,", "starts with a comma"},
    {",1", "starts with a comma"},
    {"1,", "ends with a comma"},
    {"1,,2", "element 2 is empty"},
    {"a", "\"a\" is not a number"},
    {"1a", "\"1a\" is not a number"},
    {"0x1", "not a number"},
    {"+1", "not a number"},
    {"1-+3", "\"+3\" is not a number"},
    {"1--3", "\"-3\" is not a number"},
    {"1-3-5", "\"3-5\" is not a number"},
    {"8192", "id 8192 is above the maximum 8191"},
    {"0-8192", "id 8192 is above the maximum 8191"},
    {"99999999999999999999999", "above the maximum"},
    {"all", "not a number"},
    {"!1", "not a number"},
    {"+1-2", "not a number"},
    {"1-4:2", "\"4:2\" is not a number"},
    {"1 ,2", "not a number"},
    {"1 2", "not a number"},
    {"1\n2", "not a number"},
    {"1.5", "not a number"},
    {"\xff", "\"\\xff\" is not a number"},
};

TEST(NodeSetParse, BadListsAreBadInputNamingTheText) {
  for (const BadList& c : kBadLists) {
    SCOPED_TRACE(c.text);
    Result<NodeSet> set = NodeSet::parse(c.text, "--nodes");
    ASSERT_FALSE(set);
    EXPECT_TRUE(set.error().isBadInput());
    const std::string& message = set.error().message();
    EXPECT_THAT(message, HasSubstr("--nodes"));
    EXPECT_THAT(message, HasSubstr(quoteInput(c.text)));
    EXPECT_THAT(message, HasSubstr(c.problem));
    EXPECT_FALSE(NodeSet::parseKernelList(c.text));
  }
}

TEST(NodeSetParse, MessageMatchesContractExample) {
  EXPECT_EQ(NodeSet::parse("3-1", "--nodes").error().message(),
            "--nodes \"3-1\": range end 1 is below its start 3");
  EXPECT_EQ(NodeSet::parse("0,3-1", "--nodes").error().message(),
            "--nodes \"0,3-1\": element 2 \"3-1\": range end 1 is below its start 3");
}

TEST(NodeSetParse, EmptyIsAnErrorForUsersOnly) {
  for (std::string text : {"", " ", "\n", " \t\n"}) {
    SCOPED_TRACE(text);
    Result<NodeSet> user = NodeSet::parse(text, "cpus in [partition.web]");
    ASSERT_FALSE(user);
    EXPECT_TRUE(user.error().isBadInput());
    EXPECT_THAT(user.error().message(), HasSubstr("cpus in [partition.web] is empty"));

    Result<NodeSet> kernel = NodeSet::parseKernelList(text);
    ASSERT_TRUE(kernel);
    EXPECT_TRUE(kernel->empty());
  }
}

TEST(NodeSetParse, KernelListErrorNamesWhat) {
  Result<NodeSet> set = NodeSet::parseKernelList("0-x\n", "node0/cpulist");
  ASSERT_FALSE(set);
  EXPECT_THAT(set.error().message(), HasSubstr("node0/cpulist \"0-x\""));
}

TEST(NodeSetFormat, Ranges) {
  EXPECT_EQ(NodeSet().format(), "");
  EXPECT_EQ(NodeSet::of({0}).format(), "0");
  EXPECT_EQ(NodeSet::of({0, 1}).format(), "0-1");
  EXPECT_EQ(NodeSet::of({1, 3, 5}).format(), "1,3,5");
  EXPECT_EQ(NodeSet::of({7, 0, 1, 2, 3}).format(), "0-3,7");
  EXPECT_EQ(NodeSet::range(60, 130).format(), "60-130");
  EXPECT_EQ(NodeSet::of({0, 127, 128, 8191}).format(), "0,127-128,8191");
}

TEST(NodeSet, FirstLastAndEmpty) {
  NodeSet empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.size(), 0);
  EXPECT_EQ(empty.first(), -1);
  EXPECT_EQ(empty.last(), -1);
  EXPECT_TRUE(empty.ids().empty());

  NodeSet set = NodeSet::of({70, 5, 130});
  EXPECT_EQ(set.first(), 5);
  EXPECT_EQ(set.last(), 130);
  EXPECT_EQ(set.size(), 3);
}

TEST(NodeSet, RangeIsInclusiveAndEmptyWhenReversed) {
  EXPECT_EQ(NodeSet::range(2, 4), NodeSet::of({2, 3, 4}));
  EXPECT_EQ(NodeSet::range(3, 3), NodeSet::of({3}));
  EXPECT_TRUE(NodeSet::range(3, 1).empty());
}

TEST(NodeSet, InsertEraseContains) {
  NodeSet set;
  set.insert(3);
  set.insert(3);
  EXPECT_EQ(set.size(), 1);
  EXPECT_TRUE(set.contains(3));
  EXPECT_FALSE(set.contains(4));
  EXPECT_FALSE(set.contains(-1));
  EXPECT_FALSE(set.contains(100000));
  set.erase(4);
  set.erase(-5);
  set.erase(100000);
  EXPECT_EQ(set.size(), 1);
  set.erase(3);
  EXPECT_TRUE(set.empty());
  EXPECT_EQ(set, NodeSet());
}

TEST(NodeSet, EqualityIgnoresHowTheSetWasBuilt) {
  NodeSet shrunk = NodeSet::of({1, 700});
  shrunk.erase(700);  // would leave trailing zero words without the invariant
  EXPECT_EQ(shrunk, NodeSet::of({1}));
  EXPECT_EQ(shrunk.last(), 1);

  NodeSet big = NodeSet::of({1, 700});
  EXPECT_EQ(big.minus(NodeSet::of({700})), NodeSet::of({1}));
  EXPECT_EQ(big.intersectionWith(NodeSet::of({1, 2})), NodeSet::of({1}));
  EXPECT_EQ(NodeSet::of({1}).intersectionWith(NodeSet::of({700})), NodeSet());
  EXPECT_NE(NodeSet::of({1}), NodeSet::of({2}));
}

TEST(NodeSet, SetOperations) {
  NodeSet a = NodeSet::parse("0-3,100").value();
  NodeSet b = NodeSet::parse("2-5").value();
  EXPECT_EQ(a.unionWith(b).format(), "0-5,100");
  EXPECT_EQ(b.unionWith(a).format(), "0-5,100");
  EXPECT_EQ(a.unionWith(b).size(), 7);
  EXPECT_EQ(a.intersectionWith(b).format(), "2-3");
  EXPECT_EQ(b.intersectionWith(a).size(), 2);
  EXPECT_EQ(a.minus(b).format(), "0-1,100");
  EXPECT_EQ(a.minus(b).size(), 3);
  EXPECT_EQ(b.minus(a).format(), "4-5");
  EXPECT_TRUE(a.intersects(b));
  EXPECT_FALSE(a.intersects(NodeSet::of({4, 5})));
  EXPECT_FALSE(a.intersects(NodeSet()));
}

TEST(NodeSet, Subsets) {
  NodeSet a = NodeSet::of({1, 2});
  EXPECT_TRUE(a.isSubsetOf(NodeSet::range(0, 3)));
  EXPECT_TRUE(a.isSubsetOf(a));
  EXPECT_TRUE(NodeSet().isSubsetOf(a));
  EXPECT_FALSE(a.isSubsetOf(NodeSet::of({1})));
  EXPECT_FALSE(NodeSet::of({1, 500}).isSubsetOf(NodeSet::of({1, 2})));
  EXPECT_TRUE(NodeSet::of({1}).isSubsetOf(NodeSet::of({1, 500})));
}

TEST(NodeSetDeathTest, InsertOutOfRangeAborts) {
  NodeSet set;
  EXPECT_DEATH(set.insert(-1), "");
  EXPECT_DEATH(set.insert(NodeSet::kMaxId + 1), "");
}

}  // namespace
}  // namespace softzone

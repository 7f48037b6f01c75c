// zoned's state file: what it writes reads back equal, loans follow the moves, garbage is refused.
#include "softzone/zoned/state.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace softzone::zoned {
namespace {

using ::testing::HasSubstr;

ZonedState lentTwice() {
  ZonedState state;
  state.boot_id = "0f4c1a52-6d8e-4a43-9d0c-2b8e6e7f1a11";
  recordMove(state, {1000, 6, "free", "web"});
  recordMove(state, {5000, 4, "db", "web"});
  return state;
}

TEST(ZonedStateTest, RoundTrips) {
  ZonedState state = lentTwice();
  auto read = parseState(formatState(state));
  ASSERT_TRUE(read) << read.error().message();
  EXPECT_EQ(read->boot_id, state.boot_id);
  EXPECT_EQ(read->moves, state.moves);
  EXPECT_EQ(read->loans, state.loans);
  EXPECT_EQ(formatState(*read), formatState(state));
}

TEST(ZonedStateTest, AnEmptyStateRoundTrips) {
  auto read = parseState(formatState(ZonedState{}));
  ASSERT_TRUE(read) << read.error().message();
  EXPECT_TRUE(read->moves.empty());
  EXPECT_TRUE(read->loans.empty());
}

TEST(ZonedStateTest, MarksTheLentNodesEachPartitionStillHolds) {
  ZonedState state = lentTwice();  // nodes 4 and 6 lent to web
  PolicyInput input;
  input.partitions.resize(2);
  input.partitions[0].name = "web";
  input.partitions[0].nodes = {{1, 0, 0}, {6, 0, 0}};  // node 4 is no longer web's
  input.partitions[1].name = "db";
  input.partitions[1].nodes = {{4, 0, 0}};
  input.partitions[1].lent_nodes = {9};  // stale: replaced
  markLentNodes(input, state);
  EXPECT_EQ(input.partitions[0].lent_nodes, std::vector<int>{6});
  EXPECT_TRUE(input.partitions[1].lent_nodes.empty());  // holds node 4, lent to someone else
}

TEST(ZonedStateTest, AGiveBackEndsTheLoan) {
  ZonedState state = lentTwice();
  recordMove(state, {9000, 6, "web", "free"});
  ASSERT_EQ(state.loans.size(), 1u);
  EXPECT_EQ(state.loans[0].node, 4);
}

TEST(ZonedStateTest, LoansFollowTheMoves) {
  ZonedState state = lentTwice();
  ASSERT_EQ(state.loans.size(), 2u);
  EXPECT_EQ(state.loans[0], (Loan{4, "web", "db", 5000}));  // by node
  EXPECT_EQ(state.loans[1], (Loan{6, "web", "free", 1000}));
  recordMove(state, {9000, 4, "web", "api"});  // moves on: still db's
  EXPECT_EQ(state.loans[0], (Loan{4, "api", "db", 5000}));
  recordMove(state, {12000, 4, "api", "db"});  // back to its lender: no longer lent
  recordMove(state, {13000, 6, "web", "free"});
  EXPECT_TRUE(state.loans.empty());
  EXPECT_EQ(state.moves.size(), 5u);
}

TEST(ZonedStateTest, PruneKeepsRecentMovesOnly) {
  ZonedState state = lentTwice();
  pruneMoves(state, 62000, 60000);
  ASSERT_EQ(state.moves.size(), 1u);
  EXPECT_EQ(state.moves[0].node, 4);
  EXPECT_EQ(state.loans.size(), 2u);  // loans stay until the node goes back
}

struct Garbage {
  const char* name;
  const char* text;
  const char* expected;
};

// ctest shows the case's name, not a dump of its bytes.
void PrintTo(const Garbage& test, std::ostream* out) { *out << test.name; }

class ZonedStateGarbageTest : public ::testing::TestWithParam<Garbage> {};

TEST_P(ZonedStateGarbageTest, IsRefusedSayingWhat) {
  auto read = parseState(GetParam().text);
  ASSERT_FALSE(read);
  EXPECT_TRUE(read.error().isBadInput());
  EXPECT_THAT(read.error().message(), HasSubstr("zoned state: "));
  EXPECT_THAT(read.error().message(), HasSubstr(GetParam().expected));
}

#define HEAD R"("format": "softzone-zoned-state", "version": 1, "boot_id": "b", )"

INSTANTIATE_TEST_SUITE_P(
    Texts, ZonedStateGarbageTest,
    ::testing::Values(
        Garbage{"empty", "", "not a JSON object"},
        Garbage{"truncated", "{\"format\": \"softzone-zoned-st", "not a JSON object"},
        Garbage{"array", "[]", "not a JSON object"},
        Garbage{"other_format", R"({"format": "softzone-snapshot", "version": 1})",
                "not a zoned state file"},
        Garbage{"no_version", R"({"format": "softzone-zoned-state"})", "version missing"},
        Garbage{"future_version", R"({"format": "softzone-zoned-state", "version": 2})",
                "version 2 is not 1"},
        Garbage{"no_moves", "{" HEAD R"("loans": []})", "moves is missing"},
        Garbage{"moves_object", "{" HEAD R"("moves": {}, "loans": []})", "not arrays"},
        Garbage{"unknown_key", "{" HEAD R"("moves": [], "loans": [], "extra": 1})",
                "unknown key \"extra\""},
        Garbage{"boot_id_number", R"({"format": "softzone-zoned-state", "version": 1,
                "boot_id": 7, "moves": [], "loans": []})",
                "boot_id"},
        Garbage{"node_negative",
                "{" HEAD R"("moves": [{"time_ms": 1, "node": -1, "from": "free", "to": "a"}],
                "loans": []})",
                "moves[0].node -1 is out of range"},
        Garbage{"node_huge",
                "{" HEAD R"("moves": [{"time_ms": 1, "node": 99999, "from": "free", "to": "a"}],
                "loans": []})",
                "moves[0].node 99999 is out of range"},
        Garbage{"node_fraction",
                "{" HEAD R"("moves": [{"time_ms": 1, "node": 1.5, "from": "free", "to": "a"}],
                "loans": []})",
                "moves[0].node is not a whole number"},
        Garbage{"time_string",
                "{" HEAD R"("moves": [{"time_ms": "1", "node": 1, "from": "free", "to": "a"}],
                "loans": []})",
                "moves[0].time_ms is not a whole number"},
        Garbage{"time_too_big", "{" HEAD R"("moves": [{"time_ms": 18446744073709551615, "node": 1,
                "from": "free", "to": "a"}], "loans": []})",
                "out of range"},
        Garbage{"bad_name",
                "{" HEAD R"("moves": [{"time_ms": 1, "node": 1, "from": "free", "to": "../x"}],
                "loans": []})",
                "moves[0].to: the partition name"},
        Garbage{"move_in_place",
                "{" HEAD R"("moves": [{"time_ms": 1, "node": 1, "from": "a", "to": "a"}],
                "loans": []})",
                "moves[0] moves a node to where it was"},
        Garbage{"missing_field",
                "{" HEAD R"("moves": [{"time_ms": 1, "from": "a", "to": "b"}], "loans": []})",
                "moves[0].node is missing"},
        Garbage{"owner_free",
                "{" HEAD R"("moves": [], "loans": [{"node": 1, "owner": "free", "lender": "a",
                "since_ms": 0}]})",
                "loans[0].owner: \"free\" is reserved"},
        Garbage{"lent_twice", "{" HEAD R"("moves": [], "loans": [
                {"node": 1, "owner": "a", "lender": "free", "since_ms": 0},
                {"node": 1, "owner": "b", "lender": "free", "since_ms": 0}]})",
                "node 1 is lent twice"},
        Garbage{"lent_by_owner",
                "{" HEAD R"("moves": [], "loans": [{"node": 1, "owner": "a", "lender": "a",
                "since_ms": 0}]})",
                "loans[0] is lent by its owner"}),
    [](const auto& test) { return std::string(test.param.name); });

}  // namespace
}  // namespace softzone::zoned

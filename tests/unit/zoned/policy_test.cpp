// The balancer on constructed sample sequences: when it grows, from where, and why it does not.
#include "softzone/zoned/policy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "softzone/zoned/state.h"

namespace softzone::zoned {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kNodeBytes = 256 * kMiB;
constexpr int64_t kSecond = 1000;

NodeSample node(int id, uint64_t free_bytes = kNodeBytes / 2) {
  return {id, kNodeBytes, free_bytes};
}

PressureSample psi(double some, double full = 0) {
  return {PressureSample::Source::kPsi, some, full, 0};
}

PartitionSample partition(const std::string& name, std::vector<int> ids, int min_nodes,
                          int max_nodes) {
  PartitionSample p;
  p.name = name;
  for (int id : ids) p.nodes.push_back(node(id));
  p.limits.min_bytes = min_nodes * kNodeBytes;
  p.limits.max_bytes = max_nodes * kNodeBytes;
  p.pressure = psi(0);
  return p;
}

// A machine sampled once a second: the test sets pressure, the simulation applies decisions and
// keeps zoned's loans as the daemon does (a node zoned gave a partition is lent to it).
class Machine {
 public:
  ZonedConfig config;
  PolicyInput input;
  PolicyMemory memory;
  std::vector<Move> all_moves;
  ZonedState state;

  PartitionSample& operator[](const std::string& name) {
    auto it = std::find_if(input.partitions.begin(), input.partitions.end(),
                           [&](const PartitionSample& p) { return p.name == name; });
    return *it;
  }

  std::vector<Decision> sample() {
    markLentNodes(input, state);
    PolicyResult result = decideMoves(config, input, memory);
    memory = result.memory;
    for (const Decision& d : result.decisions) apply(d);
    input.now_ms += config.interval_ms;
    return result.decisions;
  }

 private:
  void apply(const Decision& d) {
    if (d.kind == Decision::Kind::kNoOp) return;
    if (d.kind == Decision::Kind::kGiveBack) return giveBack(d);
    NodeSample moved;
    std::string from(kFreePool);
    if (d.kind == Decision::Kind::kGrowFromFree) {
      auto it = std::find_if(input.free_nodes.begin(), input.free_nodes.end(),
                             [&](const NodeSample& n) { return n.id == d.node; });
      moved = *it;
      input.free_nodes.erase(it);
    } else {
      PartitionSample& donor = (*this)[d.donor->name];
      auto it = std::find_if(donor.nodes.begin(), donor.nodes.end(),
                             [&](const NodeSample& n) { return n.id == d.node; });
      moved = *it;
      donor.nodes.erase(it);
      from = donor.name;
    }
    (*this)[d.partition.name].nodes.push_back(moved);
    record({input.now_ms, d.node, from, d.partition.name});
  }

  // The node leaves empty; its pages land on the partition's first other node.
  void giveBack(const Decision& d) {
    PartitionSample& p = (*this)[d.partition.name];
    auto it = std::find_if(p.nodes.begin(), p.nodes.end(),
                           [&](const NodeSample& n) { return n.id == d.node; });
    uint64_t used = it->size_bytes - it->free_bytes;
    input.free_nodes.push_back({it->id, it->size_bytes, it->size_bytes});
    p.nodes.erase(it);
    p.nodes.front().free_bytes -= used;
    record({input.now_ms, d.node, p.name, std::string(kFreePool)});
  }

  void record(const Move& move) {
    input.recent_moves.push_back(move);
    all_moves.push_back(move);
    recordMove(state, move);
  }
};

std::vector<Decision> moves(const std::vector<Decision>& decisions) {
  std::vector<Decision> out;
  std::copy_if(decisions.begin(), decisions.end(), std::back_inserter(out),
               [](const Decision& d) { return d.kind != Decision::Kind::kNoOp; });
  return out;
}

Machine webAndFreePool() {
  Machine m;
  m.input.partitions = {partition("web", {1, 2}, 1, 4)};
  m.input.free_nodes = {node(6, kNodeBytes), node(7, kNodeBytes)};
  return m;
}

TEST(PolicyTest, GrowsOnlyAfterSustainedPressure) {
  Machine m = webAndFreePool();
  m["web"].pressure = psi(30);
  EXPECT_TRUE(m.sample().empty());
  EXPECT_TRUE(m.sample().empty());
  auto decisions = m.sample();  // the third sample in a row (sustain = 3)
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0].kind, Decision::Kind::kGrowFromFree);
  EXPECT_EQ(decisions[0].node, 6);  // equal sizes: the lowest id
  EXPECT_FALSE(decisions[0].urgent);
  EXPECT_THAT(decisions[0].why, HasSubstr("PSI some 30.00% >= 10.00% for 3 samples"));
  EXPECT_EQ(m["web"].nodes.size(), 3u);
}

TEST(PolicyTest, NeverGrowsOnSpikesThatDoNotLast) {
  Machine m = webAndFreePool();
  for (int i = 0; i < 60; ++i) {
    m["web"].pressure = psi(i % 3 == 2 ? 0 : 80, i % 3 == 2 ? 0 : 40);  // two high, one calm
    EXPECT_TRUE(m.sample().empty()) << "sample " << i;
  }
  EXPECT_TRUE(m.all_moves.empty());
}

TEST(PolicyTest, GrowsAgainOnlyAfterAnotherSustainedStretch) {
  Machine m = webAndFreePool();
  m["web"].pressure = psi(30);
  std::vector<int> grows;
  for (int i = 0; i < 7; ++i) {
    if (!moves(m.sample()).empty()) grows.push_back(i);
  }
  EXPECT_EQ(grows, (std::vector<int>{2, 5}));
}

TEST(PolicyTest, GrowsAtOnceWhenFreeMemoryRunsOut) {
  Machine m = webAndFreePool();
  m["web"].nodes = {node(1, 4 * kMiB), node(2, 2 * kMiB)};  // 6M of 512M free: under 2%
  m["web"].pressure = psi(3);                               // not idle, far under the threshold
  auto decisions = m.sample();
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0].kind, Decision::Kind::kGrowFromFree);
  EXPECT_TRUE(decisions[0].urgent);
  EXPECT_THAT(decisions[0].why, HasSubstr("free 6M < free_low"));
  EXPECT_THAT(formatDecision(decisions[0]), HasSubstr("from the free pool now:"));
}

TEST(PolicyTest, AStallEventGrowsAtOnce) {
  // A ramp that filled web between two samples: its tasks are in direct reclaim, the trigger
  // fired, and avg10 has not caught up yet.
  Machine m = webAndFreePool();
  m["web"].pressure = psi(0.5);
  m["web"].pressure.stall_events = 2;
  auto decisions = m.sample();
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0].kind, Decision::Kind::kGrowFromFree);
  EXPECT_TRUE(decisions[0].urgent);
  EXPECT_THAT(decisions[0].why, HasSubstr("PSI stall trigger (some 100ms in 1s) fired 2x"));
  EXPECT_THAT(formatDecision(decisions[0]), HasSubstr("from the free pool now:"));
}

TEST(PolicyTest, StallEventsStillMeetMaxCooldownAndTheRateLimit) {
  Machine m = webAndFreePool();
  m.config.max_moves_per_minute = 1;
  m["web"].pressure.stall_events = 1;
  ASSERT_EQ(moves(m.sample()).size(), 1u);  // 3 nodes
  m["web"].pressure.stall_events = 1;
  auto limited = m.sample();
  ASSERT_EQ(limited.size(), 1u);
  EXPECT_EQ(limited[0].kind, Decision::Kind::kNoOp);
  EXPECT_THAT(limited[0].why, HasSubstr("rate limit 1/min reached"));
  m.config.max_moves_per_minute = 60;
  m["web"].pressure.stall_events = 1;
  ASSERT_EQ(moves(m.sample()).size(), 1u);  // 4 nodes: web's max
  m["web"].pressure.stall_events = 1;
  auto at_max = m.sample();
  ASSERT_EQ(at_max.size(), 1u);
  EXPECT_EQ(at_max[0].kind, Decision::Kind::kNoOp);
  EXPECT_EQ(m["web"].nodes.size(), 4u);
}

TEST(PolicyTest, APartitionWithStallEventsIsNeverIdle) {
  // db looks calm by avg10 but its tasks just stalled: it does not lend a node.
  Machine m;
  m.config.idle_for_ms = 0;
  m.input.partitions = {partition("web", {1, 2}, 1, 4), partition("db", {3, 4, 5}, 1, 4)};
  m["web"].nodes = {node(1, kMiB), node(2, kMiB)};
  m["web"].pressure = psi(40, 20);
  m["db"].pressure = psi(0);
  m["db"].pressure.stall_events = 1;
  for (int i = 0; i < 5; ++i) {
    m["db"].pressure.stall_events = 1;
    m.sample();
  }
  EXPECT_TRUE(m.all_moves.empty());
  EXPECT_EQ(m["db"].nodes.size(), 3u);
}

TEST(PolicyTest, LowFreeMemoryAloneIsNotUrgentWhenNothingStalls) {
  // A partition full of page cache has little free memory and no stall: it needs nothing.
  Machine m = webAndFreePool();
  m["web"].nodes = {node(1, kMiB), node(2, kMiB)};
  m["web"].pressure = psi(0);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(m.sample().empty());
}

TEST(PolicyTest, HeadroomCountsAsPressureWhenSet) {
  Machine m = webAndFreePool();
  m.config.headroom = SizeOrPercent{0, 25, true};
  m["web"].nodes = {node(1, 50 * kMiB), node(2, 50 * kMiB)};  // 100M of 512M free
  m["web"].pressure = psi(2);
  m.sample();
  m.sample();
  auto decisions = m.sample();
  ASSERT_EQ(moves(decisions).size(), 1u);
  EXPECT_THAT(decisions[0].why, HasSubstr("free 100M < headroom 128M"));
}

// A workload that allocates at full speed stalls only at its last free page: its falling free
// memory, not its pressure, says it is busy. (It used to count as idle, and headroom never fired.)
TEST(PolicyTest, FreeMemoryFallingWithoutAStallIsNotIdle) {
  Machine m = webAndFreePool();
  m.config.headroom = SizeOrPercent{0, 30, true};
  m.config.sustain = 2;
  m["web"].pressure = psi(0);
  uint64_t free = 200 * kMiB;
  std::vector<Decision> grown;
  for (int i = 0; i < 6 && grown.empty(); ++i) {
    m["web"].nodes = {node(1, free / 2), node(2, free / 2)};
    grown = moves(m.sample());
    free -= 40 * kMiB;
  }
  ASSERT_EQ(grown.size(), 1u);
  EXPECT_THAT(grown[0].why, HasSubstr("< headroom"));
  EXPECT_EQ(m.memory["web"].idle_since_ms, std::nullopt);
}

// A slow ramp into a big partition: 2.5 MiB a sample into 1.25 GiB (10 MiB/s at 250 ms) is still
// allocating; it was once measured against 1/200 of the partition and taken for idle.
TEST(PolicyTest, ASlowRampIntoABigPartitionIsNotIdle) {
  Machine m = webAndFreePool();
  m.config.headroom = SizeOrPercent{0, 50, true};
  m.config.sustain = 2;
  std::vector<int> ids = {1, 2, 3, 4, 5};
  uint64_t free = 300 * kMiB;  // of 1.25G: under half
  std::vector<Decision> grown;
  for (int i = 0; i < 4 && grown.empty(); ++i) {
    m["web"].nodes.clear();
    for (int id : ids) m["web"].nodes.push_back(node(id, free / ids.size()));
    m["web"].limits.max_bytes = 8 * kNodeBytes;
    grown = moves(m.sample());
    free -= 5 * kMiB / 2;
  }
  ASSERT_EQ(grown.size(), 1u);
  EXPECT_THAT(grown[0].why, HasSubstr("< headroom"));
}

TEST(PolicyTest, AFullPartitionThatStoppedAllocatingIsIdleAgain) {
  Machine m = webAndFreePool();
  m.config.headroom = SizeOrPercent{0, 30, true};
  m["web"].nodes = {node(1, 10 * kMiB), node(2, 10 * kMiB)};
  m["web"].pressure = psi(0);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(moves(m.sample()).empty()) << "sample " << i;
  EXPECT_TRUE(m.memory["web"].idle_since_ms.has_value());
}

TEST(PolicyTest, NeverGrowsAboveMax) {
  Machine m = webAndFreePool();
  m["web"].limits.max_bytes = 2 * kNodeBytes;
  m["web"].pressure = psi(50, 20);
  std::vector<Decision> decisions;
  for (int i = 0; i < 3; ++i) decisions = m.sample();
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0].kind, Decision::Kind::kNoOp);
  EXPECT_THAT(decisions[0].why, HasSubstr("web at max 512M (2 nodes, 512M)"));
  EXPECT_THAT(formatDecision(decisions[0]), HasSubstr("no move for web: web at max 512M"));
  EXPECT_EQ(m["web"].nodes.size(), 2u);
}

TEST(PolicyTest, NeverGrowsAboveAMaxInNodes) {
  Machine m = webAndFreePool();
  m["web"].limits = {};
  m["web"].limits.max_nodes = 2;
  m["web"].nodes = {node(1, 0), node(2, 0)};
  m["web"].pressure = psi(50);
  auto decisions = m.sample();  // urgent, and still not above max
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_THAT(decisions[0].why, HasSubstr("web at max 2 nodes"));
}

TEST(PolicyTest, SaysWhenTheNextFreeNodeWouldPassMax) {
  Machine m = webAndFreePool();
  m["web"].limits.max_bytes = 600 * kMiB;  // 512M now, a 256M node would make 768M
  m["web"].pressure = psi(50);
  std::vector<Decision> decisions;
  for (int i = 0; i < 3; ++i) decisions = m.sample();
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_THAT(decisions[0].why, HasSubstr("web near max 600M (2 nodes, 512M): no free node small"));
}

Machine webAndDb() {
  Machine m;
  m.config.idle_for_ms = 30 * kSecond;
  m.input.partitions = {partition("web", {1, 2}, 1, 4), partition("db", {4, 5, 6}, 1, 4)};
  m["db"].nodes = {node(4, 100 * kMiB), node(5, 200 * kMiB), node(6, 150 * kMiB)};
  return m;
}

TEST(PolicyTest, TakesTheLeastUsedNodeOfAnIdleDonor) {
  Machine m = webAndDb();
  m["web"].pressure = psi(40);
  std::vector<Decision> decisions;
  for (int i = 0; i < 40 && moves(decisions).empty(); ++i) decisions = m.sample();
  ASSERT_EQ(moves(decisions).size(), 1u);
  const Decision& d = decisions[0];
  EXPECT_EQ(d.kind, Decision::Kind::kTakeFromDonor);
  EXPECT_EQ(d.node, 5);  // 56M in use, the fewest pages to move
  EXPECT_EQ(d.node_used_bytes, 56 * kMiB);
  ASSERT_TRUE(d.donor);
  EXPECT_EQ(d.donor->name, "db");
  EXPECT_GE(d.donor->idle_ms, 30 * kSecond);  // not before idle_for
  EXPECT_THAT(formatDecision(d), HasSubstr("take node 5 (256M, 56M in use to move off) from db"));
}

TEST(PolicyTest, WaitsForTheDonorToBeIdleLongEnough) {
  Machine m = webAndDb();
  m["web"].pressure = psi(40);
  std::vector<Decision> decisions;
  for (int i = 0; i < 3; ++i) decisions = m.sample();
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0].kind, Decision::Kind::kNoOp);
  EXPECT_THAT(decisions[0].why,
              HasSubstr("no free node and no idle partition above min (db: idle 2.0s of 30s)"));
}

TEST(PolicyTest, NeverTakesFromABusyDonor) {
  Machine m = webAndDb();
  m["web"].pressure = psi(40);
  m["db"].pressure = psi(5);  // under the grow threshold, above idle
  std::vector<Decision> decisions;
  for (int i = 0; i < 120; ++i) {
    decisions = m.sample();
    ASSERT_TRUE(moves(decisions).empty()) << formatDecision(decisions[0]);
  }
  EXPECT_THAT(decisions[0].why, HasSubstr("(db: not idle)"));
}

TEST(PolicyTest, AnUnreadablePressureIsNeverIdle) {
  Machine m = webAndDb();
  m["web"].pressure = psi(40);
  m["db"].pressure = PressureSample{};
  for (int i = 0; i < 120; ++i) ASSERT_TRUE(moves(m.sample()).empty());
}

TEST(PolicyTest, NeverTakesADonorBelowMin) {
  Machine m = webAndDb();
  m["db"].limits.min_bytes = 3 * kNodeBytes;
  m["web"].pressure = psi(40);
  std::vector<Decision> decisions;
  for (int i = 0; i < 60; ++i) {
    decisions = m.sample();
    ASSERT_TRUE(moves(decisions).empty());
  }
  EXPECT_THAT(decisions[0].why,
              HasSubstr("no free node and no idle partition above min (db: at min"));
}

TEST(PolicyTest, NeverTakesADonorsLastNode) {
  Machine m = webAndDb();
  m["db"].limits = {};  // no min at all: one node still stays
  m["db"].nodes = {node(4)};
  m["web"].pressure = psi(40);
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(moves(m.sample()).empty());
}

TEST(PolicyTest, PrefersAFreeNodeToADonor) {
  Machine m = webAndDb();
  m.input.free_nodes = {node(9, kNodeBytes)};
  m["web"].pressure = psi(40);
  std::vector<Decision> decisions;
  for (int i = 0; i < 40 && moves(decisions).empty(); ++i) decisions = m.sample();
  ASSERT_EQ(moves(decisions).size(), 1u);
  EXPECT_EQ(decisions[0].kind, Decision::Kind::kGrowFromFree);
  EXPECT_EQ(decisions[0].node, 9);
}

TEST(PolicyTest, ReadsV1MemoryPressure) {
  Machine m = webAndDb();
  m["web"].pressure = {PressureSample::Source::kCpusetV1, 0, 0, 1500};
  m["db"].pressure = {PressureSample::Source::kCpusetV1, 0, 0, 0};
  std::vector<Decision> decisions;
  for (int i = 0; i < 40 && moves(decisions).empty(); ++i) decisions = m.sample();
  ASSERT_EQ(moves(decisions).size(), 1u);
  EXPECT_THAT(decisions[0].why, HasSubstr("memory_pressure 1500 >= 1000"));
}

// web and api with free nodes for both, and room for one move a minute.
Machine oneMovePerMinute() {
  Machine m = webAndFreePool();
  m.config.max_moves_per_minute = 1;
  m.input.partitions.push_back(partition("api", {3}, 1, 4));
  return m;
}

TEST(PolicyTest, RateLimitStopsTheSecondMoveAndSaysSo) {
  Machine m = oneMovePerMinute();
  m["web"].pressure = psi(40);
  m["api"].pressure = psi(40);
  std::vector<Decision> decisions;
  for (int i = 0; i < 3; ++i) decisions = m.sample();
  ASSERT_EQ(decisions.size(), 2u);
  EXPECT_EQ(decisions[0].partition.name, "api");  // equal streaks: by name
  EXPECT_EQ(decisions[0].kind, Decision::Kind::kGrowFromFree);
  EXPECT_EQ(decisions[1].kind, Decision::Kind::kNoOp);
  EXPECT_THAT(decisions[1].why, HasSubstr("rate limit 1/min reached"));
}

TEST(PolicyTest, UrgentPartitionsAreServedFirst) {
  Machine m = oneMovePerMinute();
  m["api"].pressure = psi(40);
  m.sample();
  m.sample();
  m["web"].nodes = {node(1, 0), node(2, 0)};
  m["web"].pressure = psi(5);
  auto decisions = m.sample();
  ASSERT_EQ(decisions.size(), 2u);
  EXPECT_EQ(decisions[0].partition.name, "web");
  EXPECT_TRUE(decisions[0].urgent);
  EXPECT_EQ(decisions[0].kind, Decision::Kind::kGrowFromFree);
}

TEST(PolicyTest, CooldownKeepsARecentlyMovedNodeAndSaysHowLongAgo) {
  Machine m = webAndDb();
  m.input.now_ms = 100 * kSecond;
  // The three nodes db could lend all came to it from web lately: giving one back now would be
  // the ping-pong the cooldown is there to stop.
  m.input.recent_moves = {{88 * kSecond, 5, "web", "db"},
                          {80 * kSecond, 4, "web", "db"},
                          {90 * kSecond, 6, "web", "db"}};
  m.memory["db"].idle_since_ms = 0;
  m["web"].pressure = psi(40);
  std::vector<Decision> decisions;
  for (int i = 0; i < 3; ++i) decisions = m.sample();  // the third at 102 s
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0].kind, Decision::Kind::kNoOp);
  // Node 4's cooldown ends first, so the message names it.
  EXPECT_THAT(decisions[0].why, HasSubstr("cooldown: node 4 moved 22.0s ago (cooldown 30s)"));
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(moves(m.sample()).empty());  // up to 109 s
  auto at_110 = m.sample();
  ASSERT_EQ(moves(at_110).size(), 1u);
  EXPECT_EQ(at_110[0].node, 4);
}

// Two partitions pressured in turns for ten minutes with no free node: moves stay within the
// rate limit, and no node moves again inside the cooldown.
TEST(PolicyTest, AlternatingPressureDoesNotThrash) {
  Machine m;
  m.config.idle_for_ms = 5 * kSecond;
  m.input.partitions = {partition("a", {1, 2, 3}, 1, 4), partition("b", {4, 5, 6}, 1, 4)};
  constexpr int64_t kPhase = 20 * kSecond;  // shorter than the cooldown: the hard case
  for (int64_t t = 0; t < 10 * 60 * kSecond; t += m.config.interval_ms) {
    bool a_turn = (t / kPhase) % 2 == 0;
    m["a"].pressure = psi(a_turn ? 60 : 0);
    m["b"].pressure = psi(a_turn ? 0 : 60);
    m.sample();
  }
  ASSERT_GE(m.all_moves.size(), 4u);  // it does balance
  std::map<int, int64_t> last_move;
  for (size_t i = 0; i < m.all_moves.size(); ++i) {
    const Move& move = m.all_moves[i];
    int in_window = 0;
    for (const Move& other : m.all_moves) {
      if (other.time_ms <= move.time_ms && other.time_ms > move.time_ms - 60 * kSecond) ++in_window;
    }
    EXPECT_LE(in_window, m.config.max_moves_per_minute) << "at " << move.time_ms;
    if (auto it = last_move.find(move.node); it != last_move.end()) {
      EXPECT_GE(move.time_ms - it->second, m.config.cooldown_ms) << "node " << move.node;
    }
    last_move[move.node] = move.time_ms;
  }
  for (const char* name : {"a", "b"}) EXPECT_GE(m[name].nodes.size(), 1u);
}

TEST(PolicyTest, MemoryForgetsPartitionsThatAreGone) {
  Machine m = webAndDb();
  m.memory["old"] = PartitionTrack{5, std::nullopt, std::nullopt};
  m.sample();
  EXPECT_EQ(m.memory.count("old"), 0u);
  EXPECT_EQ(m.memory.count("web"), 1u);
}

TEST(PolicyTest, SameInputSameDecisions) {
  Machine m = webAndDb();
  m.input.free_nodes = {node(8, kNodeBytes), node(9, kNodeBytes)};
  m["web"].pressure = psi(40);
  m["db"].pressure = psi(40);
  m.memory["web"].pressured_samples = 5;
  m.memory["db"].pressured_samples = 5;
  auto first = decideMoves(m.config, m.input, m.memory);
  std::reverse(m.input.partitions.begin(), m.input.partitions.end());
  std::reverse(m.input.free_nodes.begin(), m.input.free_nodes.end());
  auto second = decideMoves(m.config, m.input, m.memory);
  ASSERT_EQ(first.decisions.size(), 2u);
  ASSERT_EQ(second.decisions.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(formatDecision(first.decisions[i]), formatDecision(second.decisions[i]));
  }
  EXPECT_EQ(first.decisions[0].partition.name, "db");
  EXPECT_EQ(first.decisions[0].node, 8);
  EXPECT_EQ(first.memory, second.memory);
}

// web was made with nodes 1 and 2 and was lent node 6 (nearly empty now) from the free pool
// 40 s ago; it has been calm since.
Machine webWithALoan() {
  Machine m;
  m.config.idle_for_ms = 10 * kSecond;
  m.input.now_ms = 100 * kSecond;
  m.input.partitions = {partition("web", {1, 2}, 2, 4)};
  m["web"].nodes.push_back(node(6, kNodeBytes - 6 * kMiB));
  m.input.free_nodes = {node(7, kNodeBytes)};
  Move lent{60 * kSecond, 6, std::string(kFreePool), "web"};
  m.input.recent_moves.push_back(lent);
  recordMove(m.state, lent);
  return m;
}

// Samples until a move (at most `limit` samples); the moves of that sample.
std::vector<Decision> firstMoves(Machine& m, int limit) {
  for (int i = 0; i < limit; ++i) {
    auto done = moves(m.sample());
    if (!done.empty()) return done;
  }
  return {};
}

TEST(PolicyTest, GivesALentNodeBackWhenItsBorrowerIdles) {
  Machine m = webWithALoan();
  int64_t start = m.input.now_ms;
  auto done = firstMoves(m, 60);
  ASSERT_EQ(done.size(), 1u);
  const Decision& d = done[0];
  EXPECT_EQ(d.kind, Decision::Kind::kGiveBack);
  EXPECT_EQ(d.node, 6);
  EXPECT_EQ(d.node_used_bytes, 6 * kMiB);
  EXPECT_GE(d.partition.idle_ms, m.config.idle_for_ms);
  EXPECT_EQ(m.all_moves.back().time_ms - start, m.config.idle_for_ms);  // not sooner
  EXPECT_EQ(d.free_after_bytes, 250 * kMiB);  // 256M + 250M free, less the node's 256M
  EXPECT_THAT(formatDecision(d),
              HasSubstr("give back node 6 (256M, 6M in use to move off) from web to the free "
                        "pool: idle 10.0s >= 10s, free 506M, 250M without it >= 138.24M (grow "
                        "threshold 10.24M + a quarter of 512M) [web 3 nodes 768M"));
  EXPECT_EQ(m["web"].nodes.size(), 2u);
  EXPECT_TRUE(m.state.loans.empty());
  EXPECT_EQ(m.input.free_nodes.size(), 2u);
}

TEST(PolicyTest, NeverGivesBackWhileBusy) {
  Machine m = webWithALoan();
  m["web"].pressure = psi(5);  // under the grow threshold, above idle
  EXPECT_TRUE(firstMoves(m, 120).empty());
  m["web"].pressure = psi(0);  // calm, but allocating: its free memory falls every sample
  for (int i = 0; i < 60; ++i) {
    m["web"].nodes[0].free_bytes -= 2 * kMiB;
    ASSERT_TRUE(moves(m.sample()).empty()) << "sample " << i;
  }
}

TEST(PolicyTest, NeverGivesBackWhilePressured) {
  Machine m = webWithALoan();
  m.input.free_nodes.clear();  // nothing to grow by: pressured samples after pressured samples
  m["web"].pressure = psi(40);
  for (int i = 0; i < 120; ++i) {
    for (const Decision& d : m.sample()) ASSERT_EQ(d.kind, Decision::Kind::kNoOp);
  }
}

TEST(PolicyTest, NeverGivesBackBelowMin) {
  Machine m = webWithALoan();
  m["web"].limits.min_bytes = 3 * kNodeBytes;
  EXPECT_TRUE(firstMoves(m, 120).empty());
  EXPECT_EQ(m["web"].nodes.size(), 3u);
}

TEST(PolicyTest, NeverGivesBackInsideTheCooldown) {
  Machine m = webWithALoan();
  m.config.cooldown_ms = 60 * kSecond;  // node 6 came 40 s ago: cool 20 s from now
  int64_t start = m.input.now_ms;
  auto done = firstMoves(m, 60);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].kind, Decision::Kind::kGiveBack);
  EXPECT_EQ(m.all_moves.back().time_ms - start, 20 * kSecond);
}

TEST(PolicyTest, GivesBackOnlyALentNodeNeverOneOfItsOwn) {
  Machine m = webWithALoan();
  m["web"].limits.min_bytes = kNodeBytes;  // room to give any one node
  m["web"].nodes = {node(1, kNodeBytes), node(2, kNodeBytes), node(6, 100 * kMiB)};
  auto done = firstMoves(m, 60);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].node, 6);               // the most used node, yet the only lent one
  EXPECT_TRUE(firstMoves(m, 300).empty());  // and nothing of its own after it
  EXPECT_EQ(m["web"].nodes.size(), 2u);
}

TEST(PolicyTest, APartitionWithoutLoansGivesNothingBack) {
  Machine m = webWithALoan();
  m.state.loans.clear();
  EXPECT_TRUE(firstMoves(m, 120).empty());
}

// The hysteresis: free memory without the node above the grow threshold is not enough; it must
// clear it by a quarter of the partition's memory without the node.
TEST(PolicyTest, KeepsALentNodeWhoseReturnWouldLeaveLittleAboveHeadroom) {
  Machine m = webWithALoan();
  m.config.headroom = SizeOrPercent{0, 30, true};  // 153.6M of the 512M left
  m["web"].nodes[0].free_bytes = 100 * kMiB;
  m["web"].nodes[1].free_bytes = 100 * kMiB;  // 194M without node 6: above 153.6M, under 281.6M
  EXPECT_TRUE(firstMoves(m, 120).empty());
  m["web"].nodes[0].free_bytes = 200 * kMiB;  // 294M without it
  auto done = firstMoves(m, 1);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_THAT(formatDecision(done[0]), HasSubstr(">= 281.60M (grow threshold 153.60M"));
}

// After a give-back the partition, as calm as before, never asks for a node again: the pages
// moved off the node lower its free memory, which is not read as allocating.
TEST(PolicyTest, AGiveBackIsNotUndoneByAGrow) {
  Machine m = webWithALoan();
  m.config.headroom = SizeOrPercent{0, 20, true};
  m.config.sustain = 1;
  m["web"].nodes[0].free_bytes = 200 * kMiB;
  for (int i = 0; i < 600; ++i) m.sample();
  ASSERT_EQ(m.all_moves.size(), 1u);
  EXPECT_EQ(m.all_moves[0].to, kFreePool);
}

TEST(PolicyTest, ADonorThatGaveANodeGivesNothingBackInTheSameSample) {
  Machine m = webAndDb();
  m["db"].nodes.push_back(node(7, kNodeBytes - 80 * kMiB));  // lent, the second least used
  m.state.loans.push_back({7, "db", std::string(kFreePool), 0});
  m["web"].pressure = psi(40);
  m.memory["web"].pressured_samples = 5;
  m.memory["db"].idle_since_ms = -60 * kSecond;
  auto decisions = m.sample();
  ASSERT_EQ(moves(decisions).size(), 1u);
  EXPECT_EQ(decisions[0].kind, Decision::Kind::kTakeFromDonor);
  EXPECT_EQ(decisions[0].node, 5);
  m["web"].pressure = psi(0);
  for (int i = 0; i < 120; ++i) m.sample();  // once db is idle again, node 7 goes back
  EXPECT_TRUE(std::any_of(m.all_moves.begin(), m.all_moves.end(), [](const Move& move) {
    return move.node == 7 && move.from == "db" && move.to == kFreePool;
  }));
}

TEST(PolicyTest, GiveBacksKeepToTheRateLimit) {
  Machine m = webWithALoan();
  m.config.max_moves_per_minute = 1;
  m.input.recent_moves.push_back({95 * kSecond, 9, std::string(kFreePool), "db"});
  int64_t start = m.input.now_ms;
  ASSERT_EQ(firstMoves(m, 120).size(), 1u);
  EXPECT_EQ(m.all_moves.back().time_ms - start, 55 * kSecond);  // the window after 95 s
}

TEST(PolicyTest, LimitsDefaultToTheSpecsMemory) {
  planner::PartitionSpec spec;
  spec.memory_bytes = kGiB;
  PartitionLimits fixed = limitsFromSpec(spec);
  EXPECT_EQ(fixed.min_bytes, kGiB);
  EXPECT_EQ(fixed.max_bytes, kGiB);
  spec.min_bytes = 512 * kMiB;
  spec.max_bytes = 2 * kGiB;
  PartitionLimits elastic = limitsFromSpec(spec);
  EXPECT_EQ(elastic.min_bytes, 512 * kMiB);
  EXPECT_EQ(elastic.max_bytes, 2 * kGiB);
}

}  // namespace
}  // namespace softzone::zoned

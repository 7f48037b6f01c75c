// zoned's balancer as a pure function: sampled partitions, free pool and move history in,
// decisions (grow from the free pool, take from an idle partition, give a lent node back, or why
// not) out. No I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "softzone/planner/spec.h"
#include "softzone/zoned/config.h"

namespace softzone::zoned {

// The name moves use for the pool of nodes no partition owns.
inline constexpr std::string_view kFreePool = "free";

struct NodeSample {
  int id = -1;
  uint64_t size_bytes = 0;  // MemTotal of nodeN/meminfo
  uint64_t free_bytes = 0;  // MemFree of nodeN/meminfo
};

struct PressureSample {
  enum class Source { kNone, kPsi, kCpusetV1 };
  Source source = Source::kNone;  // kNone: unreadable, so never idle (a failure is not calm)
  double some_avg10 = 0;          // PSI percentages
  double full_avg10 = 0;
  uint64_t memory_pressure = 0;  // v1 cpuset.memory_pressure
  int stall_events = 0;          // PSI trigger events since the previous sample (v2)
};

// Bounds a partition is kept within; absent bounds do not limit (every partition keeps 1 node).
struct PartitionLimits {
  std::optional<uint64_t> min_bytes;
  std::optional<uint64_t> max_bytes;
  std::optional<int> min_nodes;
  std::optional<int> max_nodes;
};

// A spec partition's bounds: min and max default to its memory, so a partition the admin gave no
// min/max is neither grown nor shrunk.
PartitionLimits limitsFromSpec(const planner::PartitionSpec& partition);

struct PartitionSample {
  std::string name;
  std::vector<NodeSample> nodes;  // the nodes it owns now
  PartitionLimits limits;
  PressureSample pressure;
  // Workingset refaults over its nodes; read only when refault_rate is set (it costs a read of
  // every partition node's vmstat per sample).
  std::optional<double> refaults_per_second;
  // Nodes zoned lent it that it still holds (the state file's loans): the only nodes it gives
  // back when idle; the nodes it was made with stay, whatever its min.
  std::vector<int> lent_nodes;
};

// A node moving from one owner to another ("free" for the free pool).
struct Move {
  int64_t time_ms = 0;  // on the same clock as PolicyInput::now_ms
  int node = -1;
  std::string from;
  std::string to;
};

struct PolicyInput {
  int64_t now_ms = 0;
  std::vector<PartitionSample> partitions;
  std::vector<NodeSample> free_nodes;
  std::vector<Move> recent_moves;  // at least the last minute and the last cooldown
};

// What the policy carries from one sample to the next, per partition.
struct PartitionTrack {
  int pressured_samples = 0;             // in a row, up to this sample
  std::optional<int64_t> idle_since_ms;  // absent while not idle
  std::optional<uint64_t> free_bytes;    // its free memory at this sample (a fall: allocating)
  friend bool operator==(const PartitionTrack&, const PartitionTrack&) = default;
};
using PolicyMemory = std::map<std::string, PartitionTrack, std::less<>>;

// The numbers a decision rests on, for the log line.
struct PartitionFigures {
  std::string name;
  int nodes = 0;
  uint64_t total_bytes = 0;
  uint64_t free_bytes = 0;
  PressureSample pressure;
  std::optional<double> refaults_per_second;
  int pressured_samples = 0;
  int64_t idle_ms = -1;  // how long it has been idle; -1 when not idle
};

struct Decision {
  // kGiveBack: `partition` idles with a lent node it does not need, which goes back to the free
  // pool (its pages moved off first, as a donor's).
  enum class Kind { kGrowFromFree, kTakeFromDonor, kGiveBack, kNoOp };
  Kind kind = Kind::kNoOp;
  PartitionFigures partition;             // the partition that needs memory (kGiveBack: gives)
  std::optional<PartitionFigures> donor;  // kTakeFromDonor: who gives the node
  int node = -1;
  uint64_t node_bytes = 0;
  uint64_t node_used_bytes = 0;  // pages to move off first (kTakeFromDonor, kGiveBack)
  bool urgent = false;  // free memory under free_low, or a stall event: no wait for `sustain`
  std::string why;      // the trigger, or for kNoOp why nothing happens
  // kGiveBack: the partition's free memory once the node's pages moved onto its other nodes.
  uint64_t free_after_bytes = 0;
};

struct PolicyResult {
  std::vector<Decision> decisions;
  PolicyMemory memory;  // give it back with the next sample
};

// One sample's decisions. Deterministic: the same input and memory give the same result.
PolicyResult decideMoves(const ZonedConfig& config, const PolicyInput& input,
                         const PolicyMemory& memory);

// One log line: "grow web by node 5 (256M) from the free pool: PSI some 23.1% >= 10% for 3 samples,
// free 12M of 512M".
std::string formatDecision(const Decision& decision);

}  // namespace softzone::zoned

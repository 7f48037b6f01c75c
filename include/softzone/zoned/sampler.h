// zoned's eyes: one sample of the live partitions (nodes, free memory, pressure, refault rate) and
// the free pool, read through an FsRoot so fixture trees stand in for a machine in tests.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "softzone/cpuset/partitions.h"
#include "softzone/planner/spec.h"
#include "softzone/zoned/policy.h"
#include "softzone/zones/fs_root.h"

namespace softzone::zoned {

// A partition's bounds: the spec's when the spec names it (limitsFromSpec), else the min/max the
// state file recorded (zonectl create --min/--max), else its nodes now, so a partition nobody
// gave bounds to is never resized.
PartitionLimits limitsFor(const planner::Spec& spec, const cpuset::ZoneView& zone);

// Keeps the refault counters between samples (a rate needs two) and the nodes' MemTotal.
class Sampler {
 public:
  // Reads every partition of the session (its zones reloaded by the caller) and the free pool at
  // `now_ms` (CLOCK_BOOTTIME). Free memory comes from /proc/buddyinfo, one read for every node;
  // MemTotal from each node's meminfo, read again once a minute or when a node is new to it.
  // With `read_refaults`, each partition node's vmstat gives the refault rate; without, the rate
  // is absent. Unreadable pressure is kNone (never idle). A node without a readable meminfo, a
  // node with memory missing from buddyinfo, or an unreadable vmstat fails the sample: the
  // policy must not decide on a machine it did not see.
  Result<PolicyInput> sample(const cpuset::Session& session, const planner::Spec& spec,
                             int64_t now_ms, bool read_refaults);

 private:
  Status refreshNodeTotals(const FsRoot& fs, const NodeSet& nodes, int64_t now_ms);
  Result<std::map<int, NodeSample>> nodeMemory(const FsRoot& fs, const NodeSet& nodes,
                                               int64_t now_ms);

  // Workingset refaults per second over `nodes` since the previous sample (0 on the first).
  double refaultRate(const NodeSet& nodes, const std::map<int, uint64_t>& now,
                     int64_t now_ms) const;

  std::map<int, uint64_t> last_refaults_;  // per node, at last_ms_
  int64_t last_ms_ = -1;
  std::map<int, uint64_t> totals_;  // MemTotal per node, read at totals_ms_
  int64_t totals_ms_ = -1;
};

// The pressure of a partition's cgroup (v2 PSI some/full avg10, or the v1 cpuset's
// memory_pressure), as the policy wants it.
PressureSample pressureOf(const cpuset::Session& session, const cpuset::ZoneView& zone);

}  // namespace softzone::zoned

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

// Keeps the refault counters between samples: a rate needs two.
class Sampler {
 public:
  // Reads every partition of the session (reloaded by the caller) and the free pool at `now_ms`
  // (CLOCK_BOOTTIME). Unreadable pressure is kNone (never idle); an unreadable node vmstat leaves
  // that node out of the refault rate. A node whose meminfo is missing fails the sample: the
  // policy must not decide on a machine it did not see.
  Result<PolicyInput> sample(const cpuset::Session& session, const planner::Spec& spec,
                             int64_t now_ms);

 private:
  // Workingset refaults per second over `nodes` since the previous sample (0 on the first).
  double refaultRate(const NodeSet& nodes, const std::map<int, uint64_t>& now,
                     int64_t now_ms) const;

  std::map<int, uint64_t> last_refaults_;  // per node, at last_ms_
  int64_t last_ms_ = -1;
};

// The pressure of a partition's cgroup (v2 PSI some/full avg10, or the v1 cpuset's
// memory_pressure), as the policy wants it.
PressureSample pressureOf(const cpuset::Session& session, const cpuset::ZoneView& zone);

}  // namespace softzone::zoned

// zoned's metrics in the Prometheus text exposition format: per zone (label `zone`) its nodes,
// memory, bounds, nodes on loan and pressure, and zoned's own counters.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "softzone/zoned/bind_check.h"
#include "softzone/zoned/policy.h"
#include "softzone/zoned/state.h"

namespace softzone::zoned {

// What zoned counted since it started (counters start from zero with each process, as
// Prometheus expects of a restarted target).
struct ZonedCounters {
  uint64_t samples = 0;
  uint64_t sample_failures = 0;
  uint64_t move_failures = 0;
  uint64_t reloads = 0;
  uint64_t reload_failures = 0;
  std::map<std::string, uint64_t, std::less<>> nodes_received;  // by zone, "free" included
  std::map<std::string, uint64_t, std::less<>> nodes_released;
  std::map<std::string, uint64_t, std::less<>> stall_events;  // PSI trigger events, by partition
  double last_sample_seconds = 0;  // how long the last sample and decision took
  KeeperCounters keeper;           // the shared zone's keeper (bind_check)
};

// The exposition text. `sample` is the last successful one (nullptr: none yet, only zoned's own
// counters are written). Names follow the report's JSON keys with a softzone_ prefix.
std::string formatMetrics(const PolicyInput* sample, const ZonedState& state,
                          const ZonedCounters& counters);

// One line for the service manager's status (`systemctl status zoned`): each partition's nodes
// and loans, the free pool, and the counts of moves and samples with their failures.
// "a 4 nodes (3 on loan), b 1 nodes, 0 free; 3 moves, 0 failed; 120 samples, 0 failed"
std::string formatStatusLine(const PolicyInput* sample, const ZonedState& state,
                             const ZonedCounters& counters);

}  // namespace softzone::zoned

// Memory pressure of a partition's cgroup: v2 PSI (memory.pressure) or v1 cpuset.memory_pressure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "softzone/cpuset/cgroup.h"
#include "softzone/zones/fs_root.h"
#include "softzone/zones/result.h"

namespace softzone::report {

struct Pressure {
  enum class Source { kNone, kPsi, kCpusetV1 };
  Source source = Source::kNone;
  // PSI: percentages of wall time some / all tasks stalled on memory (10 s average), and the
  // cumulative stall time in microseconds.
  double some_avg10 = 0;
  double full_avg10 = 0;
  uint64_t some_total_us = 0;
  uint64_t full_total_us = 0;
  // v1: the cpuset's direct-reclaim rate (reclaims per second x 1000, a decaying average).
  uint64_t memory_pressure = 0;
  bool v1_enabled = false;  // cpuset.memory_pressure_enabled at the root: 0 reads 0 everywhere
  std::string why_missing;  // when source is kNone
};

// "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=..." (a "full" line is optional:
// older kernels' cpu.pressure lacks it).
Result<Pressure> parsePsi(std::string_view text);

// The pressure of the cgroup at `cgroup_path` (a host path of the cgroup's directory, under the
// mount of `cgroup`). Never fails: what cannot be read is said in why_missing.
Pressure readPressureAt(const FsRoot& fs, const cpuset::CgroupChoice& cgroup,
                        const std::string& cgroup_path);

}  // namespace softzone::report

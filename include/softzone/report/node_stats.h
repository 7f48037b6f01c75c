// Per-node memory counters (nodeN/meminfo, nodeN/vmstat, nodeN/numastat) as one flat array.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "softzone/zones/fs_root.h"
#include "softzone/zones/result.h"

namespace softzone::report {

// Every per-node number a report shows. A flat enum indexes one array, so summing a zone,
// taking a delta and hiding zero rows are the same loop for every metric.
enum class Metric : int {
  // Gauges from nodeN/meminfo, in bytes.
  kMemTotal,
  kMemFree,
  kMemUsed,
  kFile,
  kAnon,
  kActiveFile,
  kInactiveFile,
  kActiveAnon,
  kInactiveAnon,
  kUnevictable,
  kDirty,
  kWriteback,
  kShmem,
  kSlab,
  kSlabReclaimable,
  kKernelStack,
  kPageTables,
  // Event counters from nodeN/vmstat, in pages.
  kRefaultAnon,
  kRefaultFile,
  kActivateAnon,
  kActivateFile,
  kVmscanWrite,
  kVmscanImmediate,
  // Allocation counters from nodeN/numastat, in pages.
  kNumaHit,
  kNumaMiss,
  kNumaForeign,
  kInterleaveHit,
  kLocalNode,
  kOtherNode,
  // Exact reclaim from the tracepoint vmscan:mm_vmscan_lru_shrink_inactive, in pages / passes.
  kReclaimScanned,
  kReclaimReclaimed,
  kReclaimPasses,
  // CPU time of the node's kswapd thread, in milliseconds.
  kKswapdCpuMs,
  kCount,
};

inline constexpr size_t kMetricCount = static_cast<size_t>(Metric::kCount);

// Gauges are read as they are now; counters only grow, so a report since a snapshot subtracts.
enum class MetricKind { kGauge, kCounter };
// Where a metric comes from, which is also what makes it available or not.
enum class MetricSource { kMeminfo, kVmstat, kNumastat, kReclaimTrace, kKswapd };

struct MetricInfo {
  Metric metric;
  std::string_view key;    // JSON and snapshot key ("file_bytes")
  std::string_view title;  // table row title, unit included ("File (MiB)")
  MetricKind kind;
  MetricSource source;
  bool bytes;  // true: bytes (shown in MiB); false: a count
};

// The table of metrics in enum order.
const std::array<MetricInfo, kMetricCount>& metricInfos() noexcept;
const MetricInfo& metricInfo(Metric metric) noexcept;
// The metric with that key, nullopt when none.
std::optional<Metric> metricByKey(std::string_view key) noexcept;

using MetricValues = std::array<uint64_t, kMetricCount>;

inline uint64_t& at(MetricValues& values, Metric metric) {
  return values[static_cast<size_t>(metric)];
}
inline uint64_t at(const MetricValues& values, Metric metric) {
  return values[static_cast<size_t>(metric)];
}

struct NodeStats {
  int id = 0;
  MetricValues values{};
};

// --- Pure parsers: the text of one file in, values added to `values`. ---

// "Node 3 MemTotal:   123456 kB" lines of node `node`; kB values become bytes. Keys softzone does
// not show are skipped; a line for another node, or a malformed number, is bad input.
Status parseNodeMeminfo(std::string_view text, int node, MetricValues& values);
// "workingset_refault_file 12" lines (nodeN/vmstat). Older kernels' "workingset_refault" counts
// as file refaults.
Status parseNodeVmstat(std::string_view text, MetricValues& values);
// "numa_hit 678" lines (nodeN/numastat).
Status parseNodeNumastat(std::string_view text, MetricValues& values);

// "pgmigrate_success 12" style lines of /proc/vmstat whose key starts with `prefix`.
Result<std::vector<std::pair<std::string, uint64_t>>> parseVmstatPrefixed(std::string_view text,
                                                                          std::string_view prefix);

// /proc/PID/stat: the command (between the first '(' and the last ')'), the task flags and
// utime + stime in clock ticks.
struct ProcStat {
  std::string comm;
  uint64_t flags = 0;  // PF_* (include/linux/sched.h)
  uint64_t cpu_ticks = 0;
};
// PF_KTHREAD: a kernel thread. Any process can name itself "kswapd0" (prctl PR_SET_NAME); only
// the kernel's own threads carry this flag.
inline constexpr uint64_t kTaskFlagKthread = 0x00200000;
Result<ProcStat> parseProcStat(std::string_view text);

// "kswapd12" -> 12; other thread names -> nullopt.
std::optional<int> parseKswapdName(std::string_view comm);

// --- I/O through an FsRoot ---

// What could not be read, and why, for the report's "missing" list.
struct SourceProblem {
  std::string source;  // "nodeN/numastat", "reclaim tracepoint", ...
  std::string why;
};

struct NodeStatsRead {
  std::vector<NodeStats> nodes;  // ascending id
  bool vmstat = true;            // every node had a readable vmstat
  bool numastat = true;
  std::vector<SourceProblem> problems;
};

// Reads meminfo (required), vmstat and numastat (optional) of every node directory. A missing
// node directory is an error; a missing optional file is a problem noted, not an error.
Result<NodeStatsRead> readNodeStatsAt(const FsRoot& fs);

// Where the kswapd threads are (node -> pid), kept between samples of one run: they start at
// boot and stay, so later samples read only their stat instead of scanning /proc again.
struct KswapdPids {
  std::map<int, int> by_node;
};

// kswapdN CPU time in ms by node, from /proc/PID/stat of the kernel threads. Fills
// Metric::kKswapdCpuMs of the matching nodes; returns false when /proc has no kswapd thread.
// With `known`, the pids it holds are read first; the scan runs only when it is empty or one
// of them no longer names its kswapd, and its findings are kept there.
bool readKswapdCpuAt(const FsRoot& fs, std::vector<NodeStats>& nodes, KswapdPids* known = nullptr);

}  // namespace softzone::report

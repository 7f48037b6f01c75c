// Reports per zone: a machine sample (what a snapshot file holds), summing nodes into zones,
// deltas since an earlier sample, and the table / JSON / HTML renderings.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "softzone/cpuset/cgroup.h"
#include "softzone/report/kmsg_oom.h"
#include "softzone/report/node_stats.h"
#include "softzone/report/pressure.h"
#include "softzone/zones/fs_root.h"
#include "softzone/zones/nodeset.h"
#include "softzone/zones/result.h"
#include "softzone/zones/zone_kind.h"

namespace softzone::report {

// A zone as the report sees it (the shape of cpuset::ZoneView); cgroup_path is the host path of
// its cgroup directory ("" for none).
struct ZoneInput {
  std::string name;
  ZoneKind kind = ZoneKind::kPartition;
  NodeSet nodes;
  NodeSet cpus;
  std::string cgroup_path;
};

// Which sources a sample could read; what is missing says why in MachineSample::problems.
struct SourceFlags {
  bool vmstat = false;
  bool numastat = false;
  bool reclaim_trace = false;
  bool kswapd = false;
  bool kmsg = false;
};

// One moment of the machine, everything per node or per cgroup, nothing summed yet: any set of
// zones can be reported from it, which is why a snapshot file stores exactly this.
struct MachineSample {
  int64_t time_ms = 0;  // wall clock (CLOCK_REALTIME), ms since the epoch
  std::vector<NodeStats> nodes;
  uint64_t mem_total_bytes = 0;  // /proc/meminfo MemTotal
  SourceFlags sources;
  uint64_t reclaim_dropped = 0;
  std::vector<OomKill> oom_kills;  // every kill the kernel log still holds
  uint64_t kmsg_next_seq = 0;
  std::map<std::string, uint64_t> pgmigrate;     // /proc/vmstat pgmigrate_* (machine-wide)
  std::map<std::string, Pressure> pressure;      // by zone name
  std::map<std::string, std::vector<int>> pids;  // tasks of each zone's cgroup, by zone name
  std::vector<SourceProblem> problems;
  std::vector<std::string> notes;
};

struct SampleOptions {
  // Install the reclaim hist trigger when it is missing (live root only).
  bool install_reclaim_trigger = true;
  // Read the kernel log (the OOM kills).
  bool read_kmsg = true;
  // Where the kswapd threads were found by an earlier sample of the same run (`run`, `top`):
  // kept up to date here, so only the first sample scans /proc for them.
  KswapdPids* kswapd = nullptr;
};

// Reads a sample. Node meminfo is required (an error when unreadable); every other source is
// optional and noted in problems when missing, with why.
Result<MachineSample> readMachineSampleAt(const FsRoot& fs, const std::vector<ZoneInput>& zones,
                                          const std::optional<cpuset::CgroupChoice>& cgroup,
                                          const SampleOptions& options = {});

// --- The model: pure, from samples ---

struct ZoneReport {
  ZoneInput zone;
  MetricValues values{};  // gauges as of the report; counters since the baseline
  MetricValues peak{};    // the largest gauge values over a run's samples (= values otherwise)
  Pressure pressure;
  uint64_t stall_some_us = 0;  // PSI "some" stall time since the baseline (v2)
  std::vector<OomKill> oom_victims;
  std::vector<int> missing_nodes;  // the zone's nodes the sample has no counters for
};

// The machine a report was taken on, for the HTML page's header and JSON "host"; a field whose
// file cannot be read is empty (0 for cpus).
struct HostInfo {
  std::string hostname;        // /proc/sys/kernel/hostname
  std::string kernel_release;  // /proc/sys/kernel/osrelease
  int cpus_online = 0;         // /sys/devices/system/cpu/online
  std::string cgroup_version;  // "v1" or "v2": the cpuset interface used; "" for none
};
HostInfo readHostInfoAt(const FsRoot& fs, const std::optional<cpuset::CgroupChoice>& cgroup);

struct Report {
  int64_t time_ms = 0;
  std::optional<int64_t> since_ms;  // the baseline's time, when deltas are since a snapshot
  std::string since_snapshot;       // the snapshot file `report --since` was given ("" for none)
  HostInfo host;                    // set by the verbs (buildReport leaves it empty)
  std::vector<ZoneReport> zones;    // as given, plus "unassigned" for nodes in no zone
  MetricValues machine{};           // every node once
  std::vector<NodeStats> nodes;     // per node, counters since the baseline (the node map)
  uint64_t proc_mem_total_bytes = 0;
  SourceFlags sources;
  uint64_t reclaim_dropped = 0;
  std::vector<OomKill> unattributed_kills;
  std::map<std::string, uint64_t> pgmigrate;
  std::vector<SourceProblem> problems;
  std::vector<std::string> notes;
  // Set by `zonectl run`: the command and how it ended.
  std::optional<std::string> command;
  std::optional<int> exit_status;
  // Set by `zonectl report`: zoned's loans and recent moves, one line each as `zonectl list`
  // prints them (zoned's state file is the tools' to read); the HTML page shows them.
  std::vector<std::string> zoned_lines;
};

// Sums nodes into zones. With a baseline, counters and OOM kills are those since it; without,
// counters are since boot (the reclaim trace: since its trigger was installed). With
// `cover_all`, nodes in no zone are reported as a zone "unassigned" (kind free), so the zones
// add up to the machine; a report of selected zones leaves them out.
Report buildReport(const std::vector<ZoneInput>& zones, const MachineSample& now,
                   const MachineSample* baseline = nullptr, bool cover_all = true);

// The zone an OOM kill belongs to, by the victim's pid (in a sample's task lists), then the
// cpuset= of a CONSTRAINT_CPUSET kill, then the victim's task_memcg. nullopt: unattributed.
std::optional<size_t> attributeOomKill(const OomKill& kill, const std::vector<ZoneInput>& zones,
                                       const std::map<std::string, std::vector<int>>& pids);

// Keeps the largest gauge values of `report` in `peak_into` (zones matched by name).
void foldPeaks(Report& peak_into, const Report& report);

// --- Snapshots ---

nlohmann::ordered_json sampleToJson(const MachineSample& sample);
// A snapshot file's text; anything malformed is bad input naming what.
Result<MachineSample> parseSnapshot(std::string_view text);

// --- Renderings ---

struct TableOptions {
  bool show_zero_rows = false;
};
// numastat-like: one column per zone and a total, one row per metric with its unit in the
// title; then pressure, OOM kills and what is missing.
void renderTable(const Report& report, std::ostream& out, const TableOptions& options = {});
// The JSON report (the keys of the interface contract).
nlohmann::ordered_json reportToJson(const Report& report);
enum class Format { kTable, kJson, kHtml };
// "table", "json", "html"; anything else is bad input.
Result<Format> parseFormat(std::string_view text);
// The report in a format (JSON pretty-printed, every format ending in a newline).
std::string renderReport(const Report& report, const std::vector<Report>& series, Format format,
                         const TableOptions& options = {});

// One self-contained HTML page: node map, per-zone bars and, with more than one point in
// `series`, time series of usage, pressure, reclaim and OOM kills.
std::string renderHtml(const Report& report, const std::vector<Report>& series);

}  // namespace softzone::report

namespace softzone::report {

// The zones to report on, from the machine's zone state (cpuset::readMachineZones), with
// cgroup paths made host paths under the mount. When the zones cannot be read (no cpuset
// interface, a tree without cgroups), node 0 is the system zone and the rest is free, and the
// reason is in `problem`.
struct ReportZones {
  std::vector<ZoneInput> zones;
  std::optional<cpuset::CgroupChoice> cgroup;
  std::vector<std::string> drift;
  std::optional<SourceProblem> problem;
};
ReportZones readReportZonesAt(const FsRoot& fs, cpuset::CgroupMode mode);

// Keeps the zones named in `names` (all when empty); an unknown name is bad input.
Result<std::vector<ZoneInput>> selectZones(const std::vector<ZoneInput>& zones,
                                           const std::vector<std::string>& names);

}  // namespace softzone::report

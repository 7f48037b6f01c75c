// Reading a machine sample through an FsRoot, and snapshot files (a sample as JSON) both ways.
#include <time.h>

#include <cerrno>
#include <charconv>
#include <stdexcept>
#include <utility>

#include "report_internal.h"
#include "softzone/report/reclaim_trace.h"
#include "softzone/report/report.h"
#include "softzone/zones/kernel_files.h"
#include "softzone/zones/topology.h"

namespace softzone::report {
namespace {

using json = nlohmann::ordered_json;

constexpr std::string_view kSnapshotFormat = "softzone-snapshot";
constexpr int kSnapshotVersion = 1;

int64_t nowMs() {
  struct timespec ts {};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

bool isPermissionError(const Error& error) {
  return error.code() == std::errc::permission_denied ||
         error.code() == std::errc::operation_not_permitted;
}

void readReclaim(const FsRoot& fs, const SampleOptions& options, MachineSample& sample) {
  const std::string source = "reclaim tracepoint";
  std::optional<std::string> tracefs = findTracefsAt(fs);
  if (!tracefs) {
    // Unprivileged users cannot even look inside tracefs (mode 0700): say so, not "absent".
    auto probe = fs.listDir(kernel::kTracefs);
    if (!probe && isPermissionError(probe.error())) {
      sample.problems.push_back({source, std::string(kernel::kTracefs) +
                                             " is readable by root only: exact per-node reclaim "
                                             "needs root"});
    } else {
      sample.problems.push_back({source, "no tracefs with vmscan events (mount -t tracefs nodev " +
                                             std::string(kernel::kTracefs) +
                                             "): exact per-node reclaim unavailable"});
    }
    return;
  }
  auto hist = readReclaimHistAt(fs, *tracefs);
  if (hist && !hist->found && options.install_reclaim_trigger && fs.isLive()) {
    auto installed = ensureReclaimTriggerAt(fs, *tracefs);
    if (!installed) {
      sample.problems.push_back(
          {source, "cannot install the hist trigger: " + installed.error().describe() +
                       (isPermissionError(installed.error()) ? " (needs root)" : "")});
      return;
    }
    sample.notes.push_back("reclaim counting started now (hist trigger installed on " +
                           std::string(kReclaimEventDir) +
                           "); reclaim before this moment is not counted");
    hist = readReclaimHistAt(fs, *tracefs);
  }
  if (!hist) {
    std::string why = hist.error().describe();
    if (isPermissionError(hist.error())) why += " (needs root)";
    sample.problems.push_back({source, why});
    return;
  }
  if (!hist->found) {
    sample.problems.push_back(
        {source, "no hist trigger keyed by nid on " + std::string(kReclaimEventDir) +
                     (fs.isLive() ? " (zonectl snapshot installs it: counting starts then)"
                                  : " in the --root tree")});
    return;
  }
  for (NodeStats& node : sample.nodes) {
    auto it = hist->nodes.find(node.id);
    if (it == hist->nodes.end()) continue;
    at(node.values, Metric::kReclaimScanned) = it->second.scanned;
    at(node.values, Metric::kReclaimReclaimed) = it->second.reclaimed;
    at(node.values, Metric::kReclaimPasses) = it->second.passes;
  }
  sample.sources.reclaim_trace = true;
  sample.reclaim_dropped = hist->dropped;
  if (hist->dropped > 0) {
    sample.problems.push_back({source, std::to_string(hist->dropped) +
                                           " events dropped by the histogram: totals are low"});
  }
}

void readKmsg(const FsRoot& fs, MachineSample& sample) {
  auto kmsg = readKmsgAt(fs);
  if (!kmsg) {
    std::string why = kmsg.error().describe();
    if (isPermissionError(kmsg.error())) {
      why += " (kernel.dmesg_restrict=1: reading the kernel log needs CAP_SYSLOG)";
    }
    sample.problems.push_back({"OOM kills", why});
    return;
  }
  sample.sources.kmsg = true;
  sample.oom_kills = std::move(kmsg->kills);
  sample.kmsg_next_seq = kmsg->next_seq;
}

std::vector<int> parsePids(std::string_view text) {
  std::vector<int> pids;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    int pid = 0;
    auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), pid);
    if (ec == std::errc() && ptr == line.data() + line.size() && pid > 0) pids.push_back(pid);
  }
  return pids;
}

void readCgroups(const FsRoot& fs, const std::vector<ZoneInput>& zones,
                 const std::optional<cpuset::CgroupChoice>& cgroup, MachineSample& sample) {
  for (const ZoneInput& zone : zones) {
    if (zone.cgroup_path.empty()) continue;
    if (cgroup) {
      Pressure pressure = readPressureAt(fs, *cgroup, zone.cgroup_path);
      if (pressure.source == Pressure::Source::kNone) {
        sample.problems.push_back({"pressure of " + zone.name, pressure.why_missing});
      }
      sample.pressure[zone.name] = pressure;
    }
    auto procs = fs.readFile(kernel::joinPath(zone.cgroup_path, kernel::kCgroupProcsFile));
    if (procs) sample.pids[zone.name] = parsePids(*procs);
  }
}

}  // namespace

Result<MachineSample> readMachineSampleAt(const FsRoot& fs, const std::vector<ZoneInput>& zones,
                                          const std::optional<cpuset::CgroupChoice>& cgroup,
                                          const SampleOptions& options) {
  MachineSample sample;
  sample.time_ms = nowMs();
  SZ_TRY(nodes, readNodeStatsAt(fs));
  sample.nodes = std::move(nodes.nodes);
  sample.sources.vmstat = nodes.vmstat;
  sample.sources.numastat = nodes.numastat;
  sample.problems = std::move(nodes.problems);

  if (auto lines = fs.readLines(kernel::kProcMeminfo)) {
    if (auto meminfo = zones::parseMeminfoFromLines(*lines)) {
      auto total = meminfo->find("MemTotal");
      if (total != meminfo->end()) sample.mem_total_bytes = total->second;
    }
  }
  if (sample.mem_total_bytes == 0) {
    sample.problems.push_back({std::string(kernel::kProcMeminfo), "MemTotal not readable"});
  }
  sample.sources.kswapd = readKswapdCpuAt(fs, sample.nodes, options.kswapd);
  if (!sample.sources.kswapd) {
    sample.problems.push_back({"kswapd CPU time", "no kswapdN thread found in /proc"});
  }
  readReclaim(fs, options, sample);
  if (options.read_kmsg) readKmsg(fs, sample);
  if (auto vmstat = fs.readFile("/proc/vmstat")) {
    if (auto pairs = parseVmstatPrefixed(*vmstat, "pgmigrate_")) {
      for (auto& [key, value] : *pairs) sample.pgmigrate[key] = value;
    }
  }
  readCgroups(fs, zones, cgroup, sample);
  return sample;
}

// --- Snapshot files ---

namespace {

// A snapshot's whole numbers, strictly: the library's get<T>() converts a float with a cast
// (undefined when out of range) and wraps a negative into an unsigned type, where a snapshot must
// hold exact values in range. The parser turns the exception into bad input.
struct NotAWholeNumber : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <typename T>
T wholeNumber(const json& value) {
  if (value.is_number_unsigned()) {
    auto v = value.get<uint64_t>();
    if (std::in_range<T>(v)) return static_cast<T>(v);
  } else if (value.is_number_integer()) {
    auto v = value.get<int64_t>();
    if (std::in_range<T>(v)) return static_cast<T>(v);
  }
  throw NotAWholeNumber("expected a whole number in range, got " + value.dump());
}

Pressure pressureFromJson(const json& value) {
  Pressure pressure;
  const json& source = value.at("source");
  if (source.is_null()) {
    pressure.why_missing = value.value("missing", "");
  } else if (source.get<std::string>() == "psi") {
    pressure.source = Pressure::Source::kPsi;
    pressure.some_avg10 = value.at("some_avg10").get<double>();
    pressure.full_avg10 = value.at("full_avg10").get<double>();
    pressure.some_total_us = wholeNumber<uint64_t>(value.at("some_total_us"));
    pressure.full_total_us = wholeNumber<uint64_t>(value.at("full_total_us"));
  } else {
    pressure.source = Pressure::Source::kCpusetV1;
    pressure.memory_pressure = wholeNumber<uint64_t>(value.at("memory_pressure"));
    pressure.v1_enabled = value.at("enabled").get<bool>();
  }
  return pressure;
}

json sourcesToJson(const SourceFlags& sources) {
  return {{"vmstat", sources.vmstat},
          {"numastat", sources.numastat},
          {"reclaim_trace", sources.reclaim_trace},
          {"kswapd", sources.kswapd},
          {"kmsg", sources.kmsg}};
}

}  // namespace

json pressureToJson(const Pressure& pressure) {
  switch (pressure.source) {
    case Pressure::Source::kPsi:
      return {{"source", "psi"},
              {"some_avg10", pressure.some_avg10},
              {"full_avg10", pressure.full_avg10},
              {"some_total_us", pressure.some_total_us},
              {"full_total_us", pressure.full_total_us}};
    case Pressure::Source::kCpusetV1:
      return {{"source", "cpuset.memory_pressure"},
              {"memory_pressure", pressure.memory_pressure},
              {"enabled", pressure.v1_enabled}};
    case Pressure::Source::kNone:
      break;
  }
  return {{"source", nullptr}, {"missing", pressure.why_missing}};
}

json oomKillToJson(const OomKill& kill) {
  return {{"pid", kill.pid},
          {"task", kill.task},
          {"constraint", kill.constraint},
          {"cpuset", kill.cpuset},
          {"mems_allowed", kill.mems_allowed ? json(kill.mems_allowed->format()) : json(nullptr)},
          {"task_memcg", kill.task_memcg},
          {"oom_memcg", kill.oom_memcg},
          {"uid", kill.uid},
          {"anon_rss_kb", kill.anon_rss_kb},
          {"file_rss_kb", kill.file_rss_kb},
          {"kmsg_seq", kill.seq},
          {"uptime_us", kill.usec}};
}

json sampleToJson(const MachineSample& sample) {
  json nodes = json::array();
  for (const NodeStats& node : sample.nodes) {
    json entry = {{"id", node.id}};
    for (const MetricInfo& info : metricInfos())
      entry[std::string(info.key)] = at(node.values, info.metric);
    nodes.push_back(std::move(entry));
  }
  json kills = json::array();
  for (const OomKill& kill : sample.oom_kills) kills.push_back(oomKillToJson(kill));
  json pressure = json::object();
  for (const auto& [name, value] : sample.pressure) pressure[name] = pressureToJson(value);
  json problems = json::array();
  for (const SourceProblem& problem : sample.problems) {
    problems.push_back({{"source", problem.source}, {"why", problem.why}});
  }
  return {{"format", kSnapshotFormat},
          {"version", kSnapshotVersion},
          {"time_ms", sample.time_ms},
          {"mem_total_bytes", sample.mem_total_bytes},
          {"sources", sourcesToJson(sample.sources)},
          {"reclaim_dropped", sample.reclaim_dropped},
          {"kmsg_next_seq", sample.kmsg_next_seq},
          {"nodes", nodes},
          {"oom_kills", kills},
          {"pgmigrate", sample.pgmigrate},
          {"pressure", pressure},
          {"pids", sample.pids},
          {"problems", problems},
          {"notes", sample.notes}};
}

Result<MachineSample> parseSnapshot(std::string_view text) {
  json root = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) return badInput("not a JSON object");
  auto format = root.find("format");
  if (format == root.end() || !format->is_string() || *format != kSnapshotFormat) {
    return badInput("not a softzone snapshot (no \"format\": \"softzone-snapshot\")");
  }
  // The library reports type and range errors as exceptions; here they are malformed input.
  try {
    if (wholeNumber<int>(root.at("version")) != kSnapshotVersion) {
      return badInput("snapshot version " + root.at("version").dump() + " is not " +
                      std::to_string(kSnapshotVersion));
    }
    MachineSample sample;
    sample.time_ms = wholeNumber<int64_t>(root.at("time_ms"));
    sample.mem_total_bytes = wholeNumber<uint64_t>(root.at("mem_total_bytes"));
    const json& sources = root.at("sources");
    sample.sources = {sources.at("vmstat").get<bool>(), sources.at("numastat").get<bool>(),
                      sources.at("reclaim_trace").get<bool>(), sources.at("kswapd").get<bool>(),
                      sources.at("kmsg").get<bool>()};
    sample.reclaim_dropped = wholeNumber<uint64_t>(root.at("reclaim_dropped"));
    sample.kmsg_next_seq = wholeNumber<uint64_t>(root.at("kmsg_next_seq"));
    for (const json& entry : root.at("nodes")) {
      NodeStats node;
      node.id = wholeNumber<int>(entry.at("id"));
      if (node.id < 0 || node.id > NodeSet::kMaxId) return badInput("node id out of range");
      for (const MetricInfo& info : metricInfos()) {
        // Metrics added after the snapshot was written read as 0.
        auto it = entry.find(std::string(info.key));
        if (it != entry.end()) at(node.values, info.metric) = wholeNumber<uint64_t>(*it);
      }
      sample.nodes.push_back(node);
    }
    for (const json& entry : root.at("oom_kills")) {
      OomKill kill;
      kill.pid = wholeNumber<int>(entry.at("pid"));
      kill.task = entry.at("task").get<std::string>();
      kill.constraint = entry.at("constraint").get<std::string>();
      kill.cpuset = entry.at("cpuset").get<std::string>();
      const json& mems = entry.at("mems_allowed");
      if (!mems.is_null()) {
        SZ_TRY(set, NodeSet::parseKernelList(mems.get<std::string>(), "mems_allowed"));
        kill.mems_allowed = set;
      }
      kill.task_memcg = entry.at("task_memcg").get<std::string>();
      kill.oom_memcg = entry.at("oom_memcg").get<std::string>();
      kill.uid = wholeNumber<long>(entry.at("uid"));
      kill.anon_rss_kb = wholeNumber<uint64_t>(entry.at("anon_rss_kb"));
      kill.file_rss_kb = wholeNumber<uint64_t>(entry.at("file_rss_kb"));
      kill.seq = wholeNumber<uint64_t>(entry.at("kmsg_seq"));
      kill.usec = wholeNumber<uint64_t>(entry.at("uptime_us"));
      sample.oom_kills.push_back(std::move(kill));
    }
    for (const auto& [name, value] : root.at("pgmigrate").items()) {
      sample.pgmigrate[name] = wholeNumber<uint64_t>(value);
    }
    for (const auto& [name, value] : root.at("pressure").items()) {
      sample.pressure[name] = pressureFromJson(value);
    }
    for (const auto& [zone, pids] : root.at("pids").items()) {
      std::vector<int>& list = sample.pids[zone];
      for (const json& pid : pids.get_ref<const json::array_t&>()) {
        list.push_back(wholeNumber<int>(pid));
      }
    }
    for (const json& entry : root.at("problems")) {
      sample.problems.push_back(
          {entry.at("source").get<std::string>(), entry.at("why").get<std::string>()});
    }
    sample.notes = root.at("notes").get<std::vector<std::string>>();
    return sample;
  } catch (const nlohmann::json::exception& error) {
    return badInput(std::string("malformed snapshot: ") + error.what());
  } catch (const NotAWholeNumber& error) {
    return badInput(std::string("malformed snapshot: ") + error.what());
  }
}

}  // namespace softzone::report

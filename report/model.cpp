// The report model: nodes summed into zones, counters since a baseline, OOM kills attributed.
#include <algorithm>
#include <unordered_map>

#include "softzone/report/report.h"

namespace softzone::report {
namespace {

std::string_view baseName(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// task_memcg is a path inside the cgroup hierarchy ("/softzone/A"); a zone's cgroup_path is a
// host path ("/sys/fs/cgroup/softzone/A"). They match when one ends with the other.
bool memcgMatches(std::string_view task_memcg, std::string_view cgroup_path) {
  if (task_memcg.size() <= 1 || cgroup_path.empty()) return false;
  return cgroup_path.size() >= task_memcg.size() &&
         cgroup_path.substr(cgroup_path.size() - task_memcg.size()) == task_memcg;
}

// Counters only grow; a smaller value means a reset (a trigger re-installed, a reboot between
// snapshot and report): the new value is then all there is since.
uint64_t counterDelta(uint64_t now, uint64_t then) { return now >= then ? now - then : now; }

MetricValues subtractCounters(const MetricValues& now, const MetricValues& then) {
  MetricValues result = now;
  for (const MetricInfo& info : metricInfos()) {
    if (info.kind != MetricKind::kCounter) continue;
    size_t i = static_cast<size_t>(info.metric);
    result[i] = counterDelta(now[i], then[i]);
  }
  return result;
}

void addInto(MetricValues& sum, const MetricValues& values) {
  for (size_t i = 0; i < kMetricCount; ++i) sum[i] += values[i];
}

// The zone list with nodes no zone holds gathered in "unassigned" (kind free), so the zones
// always add up to the machine.
std::vector<ZoneInput> coverAllNodes(const std::vector<ZoneInput>& zones,
                                     const MachineSample& sample) {
  std::vector<ZoneInput> covered = zones;
  NodeSet held;
  for (const ZoneInput& zone : zones) held = held.unionWith(zone.nodes);
  NodeSet rest;
  for (const NodeStats& node : sample.nodes) {
    if (!held.contains(node.id)) rest.insert(node.id);
  }
  if (!rest.empty()) covered.push_back({"unassigned", ZoneKind::kFree, rest, {}, ""});
  return covered;
}

}  // namespace

std::optional<size_t> attributeOomKill(const OomKill& kill, const std::vector<ZoneInput>& zones,
                                       const std::map<std::string, std::vector<int>>& pids) {
  // The victim's own cgroup at the last sample is the strongest evidence: it covers kills of a
  // partition's task by a global OOM, whose cpuset= names whoever allocated.
  for (size_t i = 0; i < zones.size(); ++i) {
    auto it = pids.find(zones[i].name);
    if (it != pids.end() &&
        std::find(it->second.begin(), it->second.end(), kill.pid) != it->second.end()) {
      return i;
    }
  }
  if (kill.isCpusetConstrained() && !kill.cpuset.empty()) {
    for (size_t i = 0; i < zones.size(); ++i) {
      if (zones[i].cgroup_path.empty()) continue;
      if (baseName(zones[i].cgroup_path) == kill.cpuset) return i;
    }
    for (size_t i = 0; i < zones.size(); ++i) {
      if (zones[i].name == kill.cpuset) return i;
    }
  }
  for (size_t i = 0; i < zones.size(); ++i) {
    if (memcgMatches(kill.task_memcg, zones[i].cgroup_path)) return i;
  }
  return std::nullopt;
}

namespace {

using NodeValues = std::unordered_map<int, MetricValues>;

// Each node's counters since the baseline (as read without one), summed into the machine's.
NodeValues addNodeDeltas(Report& report, const MachineSample& now, const MachineSample* baseline) {
  std::unordered_map<int, const MetricValues*> then_by_node;
  if (baseline != nullptr) {
    for (const NodeStats& node : baseline->nodes) then_by_node[node.id] = &node.values;
    if (now.sources.reclaim_trace && !baseline->sources.reclaim_trace) {
      report.notes.push_back(
          "the snapshot had no reclaim trace: reclaim counts are since the trigger was installed");
    }
  }
  NodeValues node_values;
  for (const NodeStats& node : now.nodes) {
    auto then = then_by_node.find(node.id);
    MetricValues values =
        then == then_by_node.end() ? node.values : subtractCounters(node.values, *then->second);
    node_values[node.id] = values;
    report.nodes.push_back({node.id, values});
    addInto(report.machine, values);
  }
  return node_values;
}

// A zone's sums over its nodes, and its pressure with the stall time since the baseline.
ZoneReport zoneReport(const ZoneInput& zone, const NodeValues& node_values,
                      const MachineSample& now, const MachineSample* baseline) {
  ZoneReport zone_report;
  zone_report.zone = zone;
  for (int id : zone.nodes.ids()) {
    auto it = node_values.find(id);
    if (it == node_values.end()) {
      zone_report.missing_nodes.push_back(id);
      continue;
    }
    addInto(zone_report.values, it->second);
  }
  zone_report.peak = zone_report.values;
  if (auto it = now.pressure.find(zone.name); it != now.pressure.end()) {
    zone_report.pressure = it->second;
    uint64_t then_us = 0;
    if (baseline != nullptr) {
      if (auto old = baseline->pressure.find(zone.name); old != baseline->pressure.end()) {
        then_us = old->second.some_total_us;
      }
    }
    zone_report.stall_some_us = counterDelta(it->second.some_total_us, then_us);
  } else {
    zone_report.pressure.why_missing = zone.cgroup_path.empty() ? "no cgroup" : "not read";
  }
  return zone_report;
}

// Kills since the baseline: kmsg sequence numbers only grow while the machine runs.
void attributeOomKills(Report& report, const MachineSample& now, const MachineSample* baseline) {
  std::map<std::string, std::vector<int>> pids = now.pids;
  if (baseline != nullptr) {
    for (const auto& [name, list] : baseline->pids) {
      auto& merged = pids[name];
      merged.insert(merged.end(), list.begin(), list.end());
    }
  }
  std::vector<ZoneInput> zone_inputs;
  for (const ZoneReport& zone : report.zones) zone_inputs.push_back(zone.zone);
  for (const OomKill& kill : now.oom_kills) {
    if (baseline != nullptr && baseline->sources.kmsg && kill.seq < baseline->kmsg_next_seq) {
      continue;
    }
    if (auto zone = attributeOomKill(kill, zone_inputs, pids)) {
      report.zones[*zone].oom_victims.push_back(kill);
    } else {
      report.unattributed_kills.push_back(kill);
    }
  }
}

}  // namespace

Report buildReport(const std::vector<ZoneInput>& zones, const MachineSample& now,
                   const MachineSample* baseline, bool cover_all) {
  Report report;
  report.time_ms = now.time_ms;
  if (baseline != nullptr) report.since_ms = baseline->time_ms;
  report.proc_mem_total_bytes = now.mem_total_bytes;
  report.sources = now.sources;
  report.reclaim_dropped = now.reclaim_dropped;
  report.problems = now.problems;
  report.notes = now.notes;

  NodeValues node_values = addNodeDeltas(report, now, baseline);
  for (const ZoneInput& zone : cover_all ? coverAllNodes(zones, now) : zones) {
    report.zones.push_back(zoneReport(zone, node_values, now, baseline));
  }
  attributeOomKills(report, now, baseline);
  for (const auto& [key, value] : now.pgmigrate) {
    uint64_t then = 0;
    if (baseline != nullptr) {
      if (auto it = baseline->pgmigrate.find(key); it != baseline->pgmigrate.end()) {
        then = it->second;
      }
    }
    report.pgmigrate[key] = counterDelta(value, then);
  }
  return report;
}

void foldPeaks(Report& peak_into, const Report& report) {
  for (ZoneReport& zone : peak_into.zones) {
    auto other = std::find_if(report.zones.begin(), report.zones.end(),
                              [&](const ZoneReport& z) { return z.zone.name == zone.zone.name; });
    if (other == report.zones.end()) continue;
    for (const MetricInfo& info : metricInfos()) {
      if (info.kind != MetricKind::kGauge) continue;
      size_t i = static_cast<size_t>(info.metric);
      zone.peak[i] = std::max(zone.peak[i], other->peak[i]);
    }
  }
}

}  // namespace softzone::report

// The report as a numastat-like table (zones as columns, metrics as rows, units in titles) and
// JSON.
#include <algorithm>
#include <cstdio>
#include <sstream>

#include "report_internal.h"
#include "softzone/report/report.h"
#include "softzone/zones/size.h"

namespace softzone::report {
namespace {

using json = nlohmann::ordered_json;

bool sourceAvailable(const SourceFlags& sources, MetricSource source) {
  switch (source) {
    case MetricSource::kMeminfo:
      return true;
    case MetricSource::kVmstat:
      return sources.vmstat;
    case MetricSource::kNumastat:
      return sources.numastat;
    case MetricSource::kReclaimTrace:
      return sources.reclaim_trace;
    case MetricSource::kKswapd:
      return sources.kswapd;
  }
  return false;
}

std::string mibText(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", static_cast<double>(bytes) / static_cast<double>(kMiB));
  return text;
}

std::string metricText(const MetricInfo& info, uint64_t value) {
  return info.bytes ? mibText(value) : std::to_string(value);
}

std::string percentText(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", value);
  return text;
}

std::string pressureText(const Pressure& pressure) {
  switch (pressure.source) {
    case Pressure::Source::kPsi:
      return percentText(pressure.some_avg10) + "/" + percentText(pressure.full_avg10);
    case Pressure::Source::kCpusetV1:
      return pressure.v1_enabled ? std::to_string(pressure.memory_pressure) : "off";
    case Pressure::Source::kNone:
      break;
  }
  return "-";
}

// Columns right-aligned except the first, two spaces apart, like numastat.
void printColumns(const std::vector<std::vector<std::string>>& rows, std::ostream& out) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      if (i > 0) line += "  ";
      std::string pad(widths[i] - row[i].size(), ' ');
      line += i == 0 ? row[i] + pad : pad + row[i];
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << '\n';
  }
}

std::string victimsText(const std::vector<OomKill>& kills) {
  std::string text;
  for (const OomKill& kill : kills) {
    if (!text.empty()) text += ", ";
    text += kill.task + " (pid " + std::to_string(kill.pid) + ", " + kill.constraint + ")";
  }
  return text;
}

json nullableMetric(const Report& report, const ZoneReport& zone, Metric metric) {
  const MetricInfo& info = metricInfo(metric);
  if (!sourceAvailable(report.sources, info.source)) return nullptr;
  return at(zone.values, metric);
}

json zoneToJson(const Report& report, const ZoneReport& zone) {
  json out = {
      {"name", zone.zone.name},
      {"kind", std::string(zoneKindName(zone.zone.kind))},
      {"nodes", zone.zone.nodes.ids()},
      {"cpus", zone.zone.cpus.format()},
      {"cgroup", zone.zone.cgroup_path.empty() ? json(nullptr) : json(zone.zone.cgroup_path)}};
  for (const MetricInfo& info : metricInfos()) {
    out[std::string(info.key)] = nullableMetric(report, zone, info.metric);
  }
  out["refaults"] =
      report.sources.vmstat
          ? json(at(zone.values, Metric::kRefaultAnon) + at(zone.values, Metric::kRefaultFile))
          : json(nullptr);
  out["peak_mem_used_bytes"] = at(zone.peak, Metric::kMemUsed);
  out["oom_kills"] = report.sources.kmsg ? json(zone.oom_victims.size()) : json(nullptr);
  json victims = json::array();
  for (const OomKill& kill : zone.oom_victims) victims.push_back(oomKillToJson(kill));
  out["oom_victims"] = victims;
  out["pressure"] = pressureToJson(zone.pressure);
  out["stall_some_us"] =
      zone.pressure.source == Pressure::Source::kPsi ? json(zone.stall_some_us) : json(nullptr);
  // The zone equivalent of a memory controller's failcnt: how often the kernel had to reclaim
  // from the zone's nodes (exact, tracepoint), see docs/reports.md.
  out["limit_hits"] =
      report.sources.reclaim_trace ? json(at(zone.values, Metric::kReclaimPasses)) : json(nullptr);
  out["missing_nodes"] = zone.missing_nodes;
  return out;
}

}  // namespace

json reportToJson(const Report& report) {
  json partitions = json::array();
  json free = json::array();
  json shared = nullptr;
  json system = nullptr;
  uint64_t zones_total = 0;
  for (const ZoneReport& zone : report.zones) {
    json entry = zoneToJson(report, zone);
    zones_total += at(zone.values, Metric::kMemTotal);
    if (zone.zone.kind == ZoneKind::kShared && shared.is_null()) {
      shared = std::move(entry);
    } else if (zone.zone.kind == ZoneKind::kSystem && system.is_null()) {
      system = std::move(entry);
    } else if (zone.zone.kind == ZoneKind::kFree) {
      free.push_back(std::move(entry));
    } else {
      partitions.push_back(std::move(entry));
    }
  }
  json machine = {{"nodes", report.nodes.size()},
                  {"node_mem_total_bytes", at(report.machine, Metric::kMemTotal)},
                  {"zones_mem_total_bytes", zones_total},
                  {"proc_mem_total_bytes", report.proc_mem_total_bytes},
                  {"mem_used_bytes", at(report.machine, Metric::kMemUsed)},
                  {"mem_free_bytes", at(report.machine, Metric::kMemFree)}};
  if (report.sources.reclaim_trace) {
    machine["reclaim_scanned_pages"] = at(report.machine, Metric::kReclaimScanned);
    machine["reclaim_reclaimed_pages"] = at(report.machine, Metric::kReclaimReclaimed);
  }
  json unattributed = json::array();
  for (const OomKill& kill : report.unattributed_kills) unattributed.push_back(oomKillToJson(kill));
  json missing = json::array();
  for (const SourceProblem& problem : report.problems) {
    missing.push_back({{"source", problem.source}, {"why", problem.why}});
  }
  json out = {{"time_ms", report.time_ms},
              {"since_ms", report.since_ms ? json(*report.since_ms) : json(nullptr)}};
  if (!report.since_snapshot.empty()) out["since_snapshot"] = report.since_snapshot;
  auto textOrNull = [](const std::string& text) {
    return text.empty() ? json(nullptr) : json(text);
  };
  out["host"] = {
      {"hostname", textOrNull(report.host.hostname)},
      {"kernel_release", textOrNull(report.host.kernel_release)},
      {"cpus_online", report.host.cpus_online > 0 ? json(report.host.cpus_online) : json(nullptr)},
      {"cgroup_version", textOrNull(report.host.cgroup_version)}};
  if (report.command) {
    out["command"] = *report.command;
    out["exit_status"] = report.exit_status ? json(*report.exit_status) : json(nullptr);
  }
  out["partitions"] = partitions;
  out["shared"] = shared;
  out["system"] = system;
  out["free"] = free;
  out["machine"] = machine;
  out["unattributed_oom_kills"] = unattributed;
  out["pgmigrate"] = report.pgmigrate;
  out["sources"] = {{"vmstat", report.sources.vmstat},
                    {"numastat", report.sources.numastat},
                    {"reclaim_trace", report.sources.reclaim_trace},
                    {"kswapd", report.sources.kswapd},
                    {"kmsg", report.sources.kmsg}};
  out["missing"] = missing;
  out["notes"] = report.notes;
  return out;
}

namespace {

using Rows = std::vector<std::vector<std::string>>;

// The zone names, an underline, each zone's kind and nodes, and a Total column.
Rows zoneHeaderRows(const Report& report) {
  Rows rows;
  std::vector<std::string> header = {"Per-zone memory"};
  std::vector<std::string> kinds = {"Kind"};
  std::vector<std::string> nodes = {"Nodes"};
  for (const ZoneReport& zone : report.zones) {
    header.push_back(zone.zone.name);
    kinds.emplace_back(zoneKindName(zone.zone.kind));
    nodes.push_back(zone.zone.nodes.format());
  }
  header.push_back("Total");
  kinds.push_back("");
  nodes.push_back(std::to_string(report.nodes.size()) + " nodes");
  rows.push_back(header);
  rows.push_back(std::vector<std::string>(header.size(), ""));
  for (size_t i = 0; i < header.size(); ++i) {
    rows.back()[i] = std::string(header[i].size() < 5 ? 5 : header[i].size(), '-');
  }
  rows.push_back(kinds);
  rows.push_back(nodes);
  return rows;
}

// One row per metric whose source was read (zero rows only when asked), and peak usage.
void addMetricRows(Rows& rows, const Report& report, const TableOptions& options) {
  for (const MetricInfo& info : metricInfos()) {
    if (!sourceAvailable(report.sources, info.source)) continue;
    uint64_t total = at(report.machine, info.metric);
    if (total == 0 && !options.show_zero_rows) continue;
    std::vector<std::string> row = {std::string(info.title)};
    for (const ZoneReport& zone : report.zones)
      row.push_back(metricText(info, at(zone.values, info.metric)));
    row.push_back(metricText(info, total));
    rows.push_back(std::move(row));
  }
  bool any_peak = std::any_of(report.zones.begin(), report.zones.end(), [](const ZoneReport& z) {
    return at(z.peak, Metric::kMemUsed) != at(z.values, Metric::kMemUsed);
  });
  if (any_peak) {
    std::vector<std::string> row = {"Peak MemUsed (MiB)"};
    for (const ZoneReport& zone : report.zones)
      row.push_back(mibText(at(zone.peak, Metric::kMemUsed)));
    row.push_back("");
    rows.push_back(std::move(row));
  }
}

void addPressureRow(Rows& rows, const Report& report) {
  // PSI percentages (v2) and v1's reclaim rate are different measures: the title says which.
  bool any_psi = false;
  bool any_v1 = false;
  for (const ZoneReport& zone : report.zones) {
    any_psi |= zone.pressure.source == Pressure::Source::kPsi;
    any_v1 |= zone.pressure.source == Pressure::Source::kCpusetV1;
  }
  bool any_pressure = any_psi || any_v1;
  std::vector<std::string> pressure = {any_v1 && !any_psi ? "Pressure v1 (reclaims/s x1000)"
                                                          : "Pressure some/full avg10 (%)"};
  for (const ZoneReport& zone : report.zones) pressure.push_back(pressureText(zone.pressure));
  pressure.push_back("");
  if (any_pressure) rows.push_back(std::move(pressure));
}

void addOomRow(Rows& rows, const Report& report, const TableOptions& options) {
  if (report.sources.kmsg) {
    std::vector<std::string> row = {"OOM kills (count)"};
    size_t total = report.unattributed_kills.size();
    for (const ZoneReport& zone : report.zones) {
      row.push_back(std::to_string(zone.oom_victims.size()));
      total += zone.oom_victims.size();
    }
    row.push_back(std::to_string(total));
    if (total > 0 || options.show_zero_rows) rows.push_back(std::move(row));
  }
}

// What the table cannot show: the command, the baseline, victims, missing nodes and sources.
void renderTableNotes(const Report& report, std::ostream& out) {
  if (report.command) {
    out << "\ncommand: " << *report.command << " exited with status "
        << (report.exit_status ? std::to_string(*report.exit_status) : "unknown") << '\n';
  }
  if (report.since_ms) {
    out << "\ncounters since the snapshot of " << (report.time_ms - *report.since_ms) / 1000.0
        << " s ago; memory as of now\n";
  }
  for (const ZoneReport& zone : report.zones) {
    if (!zone.oom_victims.empty())
      out << "OOM victims in " << zone.zone.name << ": " << victimsText(zone.oom_victims) << '\n';
    if (!zone.missing_nodes.empty()) {
      out << "zone " << zone.zone.name << ": no counters for nodes";
      for (int id : zone.missing_nodes) out << ' ' << id;
      out << '\n';
    }
  }
  if (!report.unattributed_kills.empty()) {
    out << "OOM victims outside every zone: " << victimsText(report.unattributed_kills) << '\n';
  }
  if (!report.pgmigrate.empty()) {
    out << "page migrations (machine-wide, pages):";
    for (const auto& [key, value] : report.pgmigrate) out << ' ' << key.substr(10) << '=' << value;
    out << '\n';
  }
  for (const std::string& note : report.notes) out << "note: " << note << '\n';
  for (const SourceProblem& problem : report.problems) {
    out << "missing: " << problem.source << ": " << problem.why << '\n';
  }
}

}  // namespace

void renderTable(const Report& report, std::ostream& out, const TableOptions& options) {
  Rows rows = zoneHeaderRows(report);
  addMetricRows(rows, report, options);
  addPressureRow(rows, report);
  addOomRow(rows, report, options);
  printColumns(rows, out);
  renderTableNotes(report, out);
}

Result<Format> parseFormat(std::string_view text) {
  if (text == "table") return Format::kTable;
  if (text == "json") return Format::kJson;
  if (text == "html") return Format::kHtml;
  return badInput("--format " + quoteInput(text) + ": expected table, json or html");
}

std::string renderReport(const Report& report, const std::vector<Report>& series, Format format,
                         const TableOptions& options) {
  switch (format) {
    case Format::kJson:
      return reportToJson(report).dump(2) + "\n";
    case Format::kHtml:
      return renderHtml(report, series);
    case Format::kTable:
      break;
  }
  std::ostringstream out;
  renderTable(report, out, options);
  return out.str();
}

}  // namespace softzone::report

// The report as one self-contained HTML page: inline CSS and SVG only, nothing fetched.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <numeric>
#include <sstream>

#include "softzone/report/report.h"
#include "softzone/zones/size.h"

namespace softzone::report {
namespace {

// Zone colours: system and free are neutral so the partitions stand out; the node map's
// screenshot test looks for kSystemColor and the first partition colour.
constexpr std::string_view kSystemColor = "#6b7280";
constexpr std::string_view kSharedColor = "#0d9488";
constexpr std::string_view kFreeColor = "#cbd5e1";
constexpr std::string_view kPartitionColors[] = {"#2563eb", "#ea580c", "#9333ea", "#16a34a",
                                                 "#db2777", "#ca8a04", "#0891b2", "#dc2626"};
constexpr int kCell = 40;     // node map cell, px
constexpr int kChartW = 560;  // time series chart, px: two side by side at 1366 px
constexpr int kChartH = 140;

std::string escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string fixed(double value, int digits = 1) {
  char text[48];
  std::snprintf(text, sizeof text, "%.*f", digits, value);
  return text;
}

std::string mib(uint64_t bytes) { return fixed(static_cast<double>(bytes) / kMiB, 1) + " MiB"; }

// "2026-12-08 02:40:00 CET (2026-12-08T01:40:00Z)": the reader's clock and the unambiguous one.
std::string whenText(int64_t time_ms) {
  std::time_t seconds = static_cast<std::time_t>(time_ms / 1000);
  std::tm local{};
  std::tm utc{};
  char local_text[64] = "?";
  char utc_text[32] = "?";
  if (localtime_r(&seconds, &local) != nullptr) {
    std::strftime(local_text, sizeof local_text, "%Y-%m-%d %H:%M:%S %Z", &local);
  }
  if (gmtime_r(&seconds, &utc) != nullptr) {
    std::strftime(utc_text, sizeof utc_text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  }
  return std::string(local_text) + " (" + utc_text + ")";
}

// The zones in node order (by each zone's first node; zones without nodes last): the legend,
// bars and tables read left to right like the node map.
std::vector<size_t> nodeOrder(const Report& report) {
  std::vector<size_t> order(report.zones.size());
  std::iota(order.begin(), order.end(), size_t{0});
  auto first = [&](size_t z) {
    std::vector<int> ids = report.zones[z].zone.nodes.ids();
    return ids.empty() ? NodeSet::kMaxId + 1 : ids.front();
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return first(a) < first(b); });
  return order;
}

// The zone holding a node, as an index into report.zones; report.zones.size() for none.
size_t zoneOfNode(const Report& report, int node) {
  for (size_t z = 0; z < report.zones.size(); ++z) {
    if (report.zones[z].zone.nodes.contains(node)) return z;
  }
  return report.zones.size();
}

std::string oomBadge(size_t kills) {
  return "<span class=\"badge\">OOM &times;" + std::to_string(kills) + "</span>";
}

std::vector<std::string> zoneColors(const Report& report) {
  std::vector<std::string> colors;
  size_t partition = 0;
  for (const ZoneReport& zone : report.zones) {
    if (zone.zone.kind == ZoneKind::kSystem) {
      colors.emplace_back(kSystemColor);
    } else if (zone.zone.kind == ZoneKind::kShared) {
      colors.emplace_back(kSharedColor);
    } else if (zone.zone.kind == ZoneKind::kFree) {
      colors.emplace_back(kFreeColor);
    } else {
      colors.emplace_back(kPartitionColors[partition++ % std::size(kPartitionColors)]);
    }
  }
  return colors;
}

// One square per node, coloured by its zone and filled from the bottom by its used share.
void nodeMap(const Report& report, const std::vector<std::string>& colors, std::ostream& out) {
  int count = static_cast<int>(report.nodes.size());
  int columns = std::max(1, std::min(32, static_cast<int>(std::ceil(std::sqrt(count * 2.0)))));
  int rows = (count + columns - 1) / columns;
  out << "<svg id=\"node-map\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" << columns * kCell
      << "\" height=\"" << std::max(1, rows) * kCell
      << "\" font-family=\"sans-serif\" font-size=\"13\" font-weight=\"bold\">\n";
  for (int i = 0; i < count; ++i) {
    const NodeStats& node = report.nodes[static_cast<size_t>(i)];
    size_t zone_index = zoneOfNode(report, node.id);
    std::string color = zone_index < colors.size() ? colors[zone_index] : std::string(kFreeColor);
    std::string zone_name =
        zone_index < report.zones.size() ? report.zones[zone_index].zone.name : "";
    uint64_t total = at(node.values, Metric::kMemTotal);
    double used = total == 0 ? 0 : static_cast<double>(at(node.values, Metric::kMemUsed)) / total;
    int x = (i % columns) * kCell;
    int y = (i / columns) * kCell;
    int inner = kCell - 4;
    int fill = static_cast<int>(std::lround(used * inner));
    out << "<g><title>node " << node.id << " (" << escape(zone_name)
        << "): " << mib(at(node.values, Metric::kMemUsed)) << " used of " << mib(total)
        << "</title>"
        << "<rect x=\"" << x + 2 << "\" y=\"" << y + 2 << "\" width=\"" << inner << "\" height=\""
        << inner << "\" fill=\"" << color << "\" fill-opacity=\"0.35\" stroke=\"" << color
        << "\" stroke-width=\"1.5\"/>"
        << "<rect x=\"" << x + 2 << "\" y=\"" << y + 2 + inner - fill << "\" width=\"" << inner
        << "\" height=\"" << fill << "\" fill=\"" << color << "\"/>"
        << "<text class=\"node-id\" x=\"" << x + kCell / 2 << "\" y=\"" << y + kCell / 2 + 5
        << "\" text-anchor=\"middle\">" << node.id << "</text></g>\n";
  }
  out << "</svg>\n";
}

// Per zone: a bar of anon / file / other used / free, scaled to the largest zone.
void zoneBars(const Report& report, const std::vector<std::string>& colors, std::ostream& out) {
  uint64_t largest = 1;
  for (const ZoneReport& zone : report.zones)
    largest = std::max(largest, at(zone.values, Metric::kMemTotal));
  constexpr int kLabelW = 160;
  constexpr int kBarW = 480;
  constexpr int kRowH = 26;
  int height = static_cast<int>(report.zones.size()) * kRowH + 24;
  out << "<svg id=\"zone-bars\" xmlns=\"http://www.w3.org/2000/svg\" width=\""
      << kLabelW + kBarW + 240 << "\" height=\"" << height
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
      << "<clipPath id=\"zone-label-clip\"><rect x=\"0\" y=\"0\" width=\"" << kLabelW - 8
      << "\" height=\"" << height << "\"/></clipPath>\n";
  int y = 4;
  for (size_t z : nodeOrder(report)) {
    const ZoneReport& zone = report.zones[z];
    uint64_t total = at(zone.values, Metric::kMemTotal);
    uint64_t anon = at(zone.values, Metric::kAnon);
    uint64_t file = at(zone.values, Metric::kFile);
    uint64_t used = at(zone.values, Metric::kMemUsed);
    uint64_t other = used > anon + file ? used - anon - file : 0;
    double scale = static_cast<double>(kBarW) / static_cast<double>(largest);
    // Long names are cut, and clipped, so they cannot run into the bar; the tables have them whole.
    std::string label =
        zone.zone.name.size() > 22 ? zone.zone.name.substr(0, 21) + "~" : zone.zone.name;
    out << "<text clip-path=\"url(#zone-label-clip)\" x=\"0\" y=\"" << y + 15 << "\"><title>"
        << escape(zone.zone.name) << "</title>" << escape(label) << "</text>\n";
    double x = kLabelW;
    struct Part {
      uint64_t bytes;
      std::string_view color;
      double opacity;
      std::string_view what;
    };
    for (const Part& part : {Part{anon, colors[z], 1.0, "anon"}, Part{file, colors[z], 0.6, "file"},
                             Part{other, colors[z], 0.3, "other used"}}) {
      double w = static_cast<double>(part.bytes) * scale;
      out << "<rect x=\"" << fixed(x) << "\" y=\"" << y << "\" width=\"" << fixed(w)
          << "\" height=\"20\" fill=\"" << part.color << "\" fill-opacity=\"" << part.opacity
          << "\"><title>" << part.what << ": " << mib(part.bytes) << "</title></rect>\n";
      x += w;
    }
    out << "<rect x=\"" << kLabelW << "\" y=\"" << y << "\" width=\""
        << fixed(static_cast<double>(total) * scale)
        << "\" height=\"20\" fill=\"none\" stroke=\"#334155\"/>\n";
    out << "<text x=\"" << kLabelW + kBarW + 8 << "\" y=\"" << y + 15 << "\">" << mib(used) << " / "
        << mib(total);
    if (!zone.oom_victims.empty()) {
      out << " <tspan class=\"oom-label\" fill=\"#dc2626\" font-weight=\"bold\">OOM &#215;"
          << zone.oom_victims.size() << "</tspan>";
    }
    out << "</text>\n";
    y += kRowH;
  }
  out << "</svg>\n";
}

// One line per zone over the samples; OOM kills are red marks at the sample they first appear in.
void chart(const std::vector<Report>& series, const std::vector<std::string>& colors,
           std::string_view title, std::string_view unit, double (*value)(const ZoneReport&),
           std::ostream& out) {
  if (series.size() < 2) return;
  int64_t t0 = series.front().time_ms;
  double span = std::max<double>(1, static_cast<double>(series.back().time_ms - t0));
  double top = 0;
  for (const Report& point : series) {
    for (const ZoneReport& zone : point.zones) top = std::max(top, value(zone));
  }
  if (top <= 0) top = 1;
  constexpr int kPad = 56;
  out << "<div><h3>" << title << " (" << unit
      << ")</h3>\n<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\""
      << kChartW + kPad << "\" height=\"" << kChartH + 20
      << "\" font-family=\"sans-serif\" font-size=\"10\">\n"
      << "<rect x=\"" << kPad << "\" y=\"0\" width=\"" << kChartW << "\" height=\"" << kChartH
      << "\" fill=\"#f8fafc\" stroke=\"#cbd5e1\"/>\n"
      << "<text x=\"" << kPad - 4 << "\" y=\"10\" text-anchor=\"end\">" << fixed(top, 1)
      << "</text><text x=\"" << kPad - 4 << "\" y=\"" << kChartH
      << "\" text-anchor=\"end\">0</text>\n"
      << "<text x=\"" << kPad << "\" y=\"" << kChartH + 14 << "\">0 s</text><text x=\""
      << kPad + kChartW - 40 << "\" y=\"" << kChartH + 14 << "\">" << fixed(span / 1000.0)
      << " s</text>\n";
  auto xOf = [&](int64_t t) { return kPad + static_cast<double>(t - t0) / span * kChartW; };
  auto yOf = [&](double v) { return kChartH - v / top * (kChartH - 4); };
  size_t zones = series.back().zones.size();
  for (size_t z = 0; z < zones && z < colors.size(); ++z) {
    std::string points;
    size_t kills_before = 0;
    for (const Report& point : series) {
      if (z >= point.zones.size()) continue;
      points += fixed(xOf(point.time_ms)) + "," + fixed(yOf(value(point.zones[z]))) + " ";
      size_t kills = point.zones[z].oom_victims.size();
      if (kills > kills_before) {
        out << "<line class=\"oom\" x1=\"" << fixed(xOf(point.time_ms)) << "\" x2=\""
            << fixed(xOf(point.time_ms)) << "\" y1=\"0\" y2=\"" << kChartH
            << "\" stroke=\"#dc2626\" stroke-dasharray=\"4 2\"><title>OOM kill in "
            << escape(point.zones[z].zone.name) << "</title></line>\n";
      }
      kills_before = kills;
    }
    out << "<polyline fill=\"none\" stroke=\"" << colors[z] << "\" stroke-width=\"2\" points=\""
        << points << "\"/>\n";
  }
  out << "</svg></div>\n";
}

double usedMib(const ZoneReport& zone) {
  return static_cast<double>(at(zone.values, Metric::kMemUsed)) / kMiB;
}
double pressureSome(const ZoneReport& zone) { return zone.pressure.some_avg10; }
double reclaimed(const ZoneReport& zone) {
  return static_cast<double>(at(zone.values, Metric::kReclaimReclaimed));
}

constexpr std::string_view kStyle =
    "body{font-family:sans-serif;margin:24px;color:#0f172a;background:#ffffff;max-width:1800px}\n"
    "h1{margin:0 0 6px}h2{margin:28px 0 8px}\n"
    "table{border-collapse:collapse;font-size:13px}td,th{padding:3px 8px;text-align:right;"
    "border-bottom:1px solid #e2e8f0;white-space:nowrap}th{white-space:normal;"
    "vertical-align:bottom}th:first-child,td:first-child{text-align:"
    "left}\n"
    ".facts{display:grid;grid-template-columns:max-content auto;gap:2px 14px;margin:0;"
    "font-size:14px}.facts dt{color:#475569}.facts dd{margin:0}\n"
    ".row{display:flex;flex-wrap:wrap;gap:16px 48px;align-items:flex-start}\n"
    ".scroll{overflow-x:auto;max-width:100%}\n"
    ".legend{font-size:13px;line-height:1.9;margin:6px 0}.legend span.item{margin-right:16px;"
    "white-space:nowrap}\n"
    ".swatch{display:inline-block;width:12px;height:12px;margin-right:6px;vertical-align:"
    "middle;border:1px solid #334155;box-sizing:border-box}\n"
    ".node-id{fill:#0f172a;stroke:#ffffff;stroke-width:3px;paint-order:stroke}\n"
    ".badge{display:inline-block;background:#dc2626;color:#ffffff;font-weight:bold;"
    "font-size:11px;padding:1px 6px;border-radius:8px;margin-left:6px}\n"
    "tr.oom-row td{background:#fee2e2}\n"
    ".oom-alert{border-left:6px solid #dc2626;background:#fef2f2;padding:8px 12px;margin:14px 0}\n"
    "#node-table td:nth-child(2),#node-table th:nth-child(2){text-align:left}\n"
    ".missing{color:#b45309}\n";

// When, on what, and which window the counters cover.
void header(const Report& report, std::ostream& out) {
  out << "<header id=\"report-header\"><h1>softzone report";
  if (!report.host.hostname.empty()) out << ": " << escape(report.host.hostname);
  out << "</h1>\n<dl class=\"facts\">\n<dt>taken</dt><dd>" << whenText(report.time_ms)
      << "</dd>\n<dt>kernel</dt><dd>"
      << (report.host.kernel_release.empty() ? "unknown" : escape(report.host.kernel_release))
      << "</dd>\n<dt>machine</dt><dd>";
  if (!report.host.hostname.empty()) out << escape(report.host.hostname) << ", ";
  out << report.nodes.size() << " nodes, ";
  if (report.host.cpus_online > 0) out << report.host.cpus_online << " CPUs, ";
  out << "MemTotal " << mib(report.proc_mem_total_bytes) << "</dd>\n<dt>cgroup</dt><dd>"
      << (report.host.cgroup_version.empty() ? "no cpuset interface"
                                             : escape(report.host.cgroup_version))
      << "</dd>\n<dt>window</dt><dd>";
  if (report.since_ms && !report.since_snapshot.empty()) {
    out << "since snapshot <code>" << escape(report.since_snapshot) << "</code> taken at "
        << whenText(*report.since_ms);
  } else if (report.since_ms) {
    out << "since the first sample at " << whenText(*report.since_ms);
  } else {
    out << "since boot (reclaim: since its trace trigger was installed)";
  }
  if (report.since_ms) out << ", " << fixed((report.time_ms - *report.since_ms) / 1000.0) << " s";
  out << "</dd>\n";
  if (report.command) {
    out << "<dt>command</dt><dd><code>" << escape(*report.command) << "</code> exited with status "
        << (report.exit_status ? std::to_string(*report.exit_status) : "unknown") << "</dd>\n";
  }
  out << "</dl></header>\n";
}

// Every kill, attributed or not, where the reader looks first.
void oomSection(const Report& report, std::ostream& out) {
  size_t kills = report.unattributed_kills.size();
  for (const ZoneReport& zone : report.zones) kills += zone.oom_victims.size();
  if (kills == 0) return;
  out << "<div class=\"oom-alert\" id=\"oom-kills\"><strong>" << kills << " OOM kill"
      << (kills == 1 ? "" : "s") << "</strong>\n<table><tr><th>zone</th><th>pid</th><th>task</th>"
      << "<th>constraint</th><th>anon-rss (MiB)</th></tr>\n";
  auto row = [&](std::string_view zone, const OomKill& kill) {
    out << "<tr><td>" << escape(zone) << "</td><td>" << kill.pid << "</td><td>" << escape(kill.task)
        << "</td><td>" << escape(kill.constraint) << "</td><td>"
        << fixed(static_cast<double>(kill.anon_rss_kb) / 1024.0) << "</td></tr>\n";
  };
  for (size_t z : nodeOrder(report)) {
    for (const OomKill& kill : report.zones[z].oom_victims) row(report.zones[z].zone.name, kill);
  }
  for (const OomKill& kill : report.unattributed_kills) row("(unattributed)", kill);
  out << "</table></div>\n";
}

void legends(const Report& report, const std::vector<std::string>& colors, std::ostream& out) {
  out << "<div class=\"legend\" id=\"zone-legend\">";
  for (size_t z : nodeOrder(report)) {
    const ZoneReport& zone = report.zones[z];
    out << "<span class=\"item\"><span class=\"swatch\" style=\"background:" << colors[z]
        << "\"></span>" << escape(zone.zone.name) << " ("
        << escape(std::string(zoneKindName(zone.zone.kind))) << ", nodes "
        << zone.zone.nodes.format() << ")";
    if (!zone.oom_victims.empty()) out << oomBadge(zone.oom_victims.size());
    out << "</span> ";
  }
  out << "</div>\n";
}

// What a zone bar's segments are, in the zone's colour at the bar's opacities.
void barLegend(std::ostream& out) {
  out << "<div class=\"legend\" id=\"bar-legend\">";
  struct Segment {
    std::string_view what;
    std::string_view style;
  };
  for (const Segment& segment :
       {Segment{"anon", "background:#475569"}, Segment{"file", "background:rgba(71,85,105,0.6)"},
        Segment{"other used", "background:rgba(71,85,105,0.3)"},
        Segment{"free", "background:#ffffff"}}) {
    out << "<span class=\"item\"><span class=\"swatch\" style=\"" << segment.style << "\"></span>"
        << segment.what << "</span> ";
  }
  out << "<span class=\"item\">(in the zone's colour; bars to scale)</span></div>\n";
}

std::string dashOr(bool known, uint64_t value) { return known ? std::to_string(value) : "-"; }

void zoneTable(const Report& report, std::ostream& out) {
  out << "<div class=\"scroll\"><table id=\"zone-table\"><tr><th>zone</th><th>total (MiB)</th>"
         "<th>used (MiB)</th><th>file (MiB)</th><th>anon (MiB)</th><th>reclaimed (pages)</th>"
         "<th>refaults (pages)</th><th>pressure some avg10 (%)</th><th>OOM kills</th></tr>\n";
  auto cell = [](uint64_t bytes) {
    return "<td>" + fixed(static_cast<double>(bytes) / kMiB) + "</td>";
  };
  for (size_t z : nodeOrder(report)) {
    const ZoneReport& zone = report.zones[z];
    bool killed = !zone.oom_victims.empty();
    out << (killed ? "<tr class=\"oom-row\">" : "<tr>") << "<td>" << escape(zone.zone.name)
        << (killed ? oomBadge(zone.oom_victims.size()) : "") << "</td>"
        << cell(at(zone.values, Metric::kMemTotal)) << cell(at(zone.values, Metric::kMemUsed))
        << cell(at(zone.values, Metric::kFile)) << cell(at(zone.values, Metric::kAnon)) << "<td>"
        << dashOr(report.sources.reclaim_trace, at(zone.values, Metric::kReclaimReclaimed))
        << "</td><td>"
        << dashOr(report.sources.vmstat,
                  at(zone.values, Metric::kRefaultAnon) + at(zone.values, Metric::kRefaultFile))
        << "</td><td>"
        << (zone.pressure.source == Pressure::Source::kPsi ? fixed(zone.pressure.some_avg10, 2)
                                                           : "-")
        << "</td><td>" << dashOr(report.sources.kmsg, zone.oom_victims.size()) << "</td></tr>\n";
  }
  out << "</table></div>\n";
}

// One row per node: its zone, memory and the per-node counters (since the window's start).
void nodeTable(const Report& report, std::ostream& out) {
  out << "<h2>Nodes</h2>\n<div class=\"scroll\"><table id=\"node-table\"><tr><th>node</th>"
         "<th>zone</th><th>MemTotal (MiB)</th><th>used (MiB)</th><th>free (MiB)</th>"
         "<th>file (MiB)</th><th>anon (MiB)</th><th>refaults (pages)</th><th>numa miss (pages)"
         "</th><th>reclaimed (pages)</th><th>kswapd CPU (ms)</th></tr>\n";
  auto cell = [](uint64_t bytes) {
    return "<td>" + fixed(static_cast<double>(bytes) / kMiB) + "</td>";
  };
  for (const NodeStats& node : report.nodes) {
    size_t z = zoneOfNode(report, node.id);
    const MetricValues& v = node.values;
    out << "<tr><td>" << node.id << "</td><td>"
        << (z < report.zones.size() ? escape(report.zones[z].zone.name) : "-") << "</td>"
        << cell(at(v, Metric::kMemTotal)) << cell(at(v, Metric::kMemUsed))
        << cell(at(v, Metric::kMemFree)) << cell(at(v, Metric::kFile)) << cell(at(v, Metric::kAnon))
        << "<td>"
        << dashOr(report.sources.vmstat, at(v, Metric::kRefaultAnon) + at(v, Metric::kRefaultFile))
        << "</td><td>" << dashOr(report.sources.numastat, at(v, Metric::kNumaMiss)) << "</td><td>"
        << dashOr(report.sources.reclaim_trace, at(v, Metric::kReclaimReclaimed)) << "</td><td>"
        << dashOr(report.sources.kswapd, at(v, Metric::kKswapdCpuMs)) << "</td></tr>\n";
  }
  out << "</table></div>\n";
}

}  // namespace

std::string renderHtml(const Report& report, const std::vector<Report>& series) {
  std::vector<std::string> colors = zoneColors(report);
  std::ostringstream out;
  out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width\">\n"
         "<title>softzone report</title>\n<style>\n"
      << kStyle << "</style></head><body>\n";
  header(report, out);
  oomSection(report, out);
  out << "<div class=\"row\"><section><h2>Node map</h2>\n<p>Each square is a node (its number), "
         "coloured by its zone and filled from the bottom by its used memory.</p>\n";
  nodeMap(report, colors, out);
  legends(report, colors, out);
  out << "</section><section><h2>Zones</h2>\n";
  barLegend(out);
  zoneBars(report, colors, out);
  out << "</section></div>\n";
  zoneTable(report, out);
  nodeTable(report, out);
  if (!report.zoned_lines.empty()) {
    out << "<h2>zoned: nodes on loan and recent moves</h2>\n<ul>\n";
    for (const std::string& line : report.zoned_lines) out << "<li>" << escape(line) << "</li>\n";
    out << "</ul>\n";
  }
  if (series.size() > 1) {
    out << "<h2>Over time</h2>\n<div class=\"row\">";
    chart(series, colors, "Used memory", "MiB", usedMib, out);
    chart(series, colors, "Memory pressure, some avg10", "%", pressureSome, out);
    chart(series, colors, "Reclaimed", "pages", reclaimed, out);
    out << "</div>\n";
  }
  if (!report.problems.empty() || !report.notes.empty()) {
    out << "<h2>Sources</h2>\n<ul>\n";
    for (const std::string& note : report.notes) out << "<li>" << escape(note) << "</li>\n";
    for (const SourceProblem& problem : report.problems) {
      out << "<li class=\"missing\">missing: " << escape(problem.source) << ": "
          << escape(problem.why) << "</li>\n";
    }
    out << "</ul>\n";
  }
  out << "</body></html>\n";
  return out.str();
}

}  // namespace softzone::report

// The report as one self-contained HTML page: inline CSS and SVG only, nothing fetched.
#include <algorithm>
#include <cmath>
#include <cstdio>
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
constexpr int kCell = 36;     // node map cell, px
constexpr int kChartW = 640;  // time series chart, px
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
      << "\" height=\"" << std::max(1, rows) * kCell << "\">\n";
  for (int i = 0; i < count; ++i) {
    const NodeStats& node = report.nodes[static_cast<size_t>(i)];
    size_t zone_index = report.zones.size();
    for (size_t z = 0; z < report.zones.size(); ++z) {
      if (report.zones[z].zone.nodes.contains(node.id)) {
        zone_index = z;
        break;
      }
    }
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
        << "\" height=\"" << fill << "\" fill=\"" << color << "\"/></g>\n";
  }
  out << "</svg>\n";
}

// Per zone: a bar of anon / file / other used / free, scaled to the largest zone.
void zoneBars(const Report& report, const std::vector<std::string>& colors, std::ostream& out) {
  uint64_t largest = 1;
  for (const ZoneReport& zone : report.zones)
    largest = std::max(largest, at(zone.values, Metric::kMemTotal));
  constexpr int kLabelW = 120;
  constexpr int kBarW = 480;
  constexpr int kRowH = 26;
  int height = static_cast<int>(report.zones.size()) * kRowH + 24;
  out << "<svg id=\"zone-bars\" xmlns=\"http://www.w3.org/2000/svg\" width=\""
      << kLabelW + kBarW + 160 << "\" height=\"" << height
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  int y = 4;
  for (size_t z = 0; z < report.zones.size(); ++z) {
    const ZoneReport& zone = report.zones[z];
    uint64_t total = at(zone.values, Metric::kMemTotal);
    uint64_t anon = at(zone.values, Metric::kAnon);
    uint64_t file = at(zone.values, Metric::kFile);
    uint64_t used = at(zone.values, Metric::kMemUsed);
    uint64_t other = used > anon + file ? used - anon - file : 0;
    double scale = static_cast<double>(kBarW) / static_cast<double>(largest);
    out << "<text x=\"0\" y=\"" << y + 15 << "\">" << escape(zone.zone.name) << "</text>\n";
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
        << mib(total) << "</text>\n";
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
  constexpr int kPad = 40;
  out << "<h3>" << title << " (" << unit
      << ")</h3>\n<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\""
      << kChartW + kPad << "\" height=\"" << kChartH + 20
      << "\" font-family=\"sans-serif\" font-size=\"10\">\n"
      << "<rect x=\"" << kPad << "\" y=\"0\" width=\"" << kChartW << "\" height=\"" << kChartH
      << "\" fill=\"#f8fafc\" stroke=\"#cbd5e1\"/>\n"
      << "<text x=\"0\" y=\"10\">" << fixed(top, 1) << "</text><text x=\"0\" y=\"" << kChartH
      << "\">0</text>\n"
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
  out << "</svg>\n";
}

double usedMib(const ZoneReport& zone) {
  return static_cast<double>(at(zone.values, Metric::kMemUsed)) / kMiB;
}
double pressureSome(const ZoneReport& zone) { return zone.pressure.some_avg10; }
double reclaimed(const ZoneReport& zone) {
  return static_cast<double>(at(zone.values, Metric::kReclaimReclaimed));
}

}  // namespace

std::string renderHtml(const Report& report, const std::vector<Report>& series) {
  std::vector<std::string> colors = zoneColors(report);
  std::ostringstream out;
  out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
         "<title>softzone report</title>\n<style>\n"
         "body{font-family:sans-serif;margin:24px;color:#0f172a;background:#ffffff}\n"
         "table{border-collapse:collapse;font-size:13px}td,th{padding:3px 10px;text-align:right;"
         "border-bottom:1px solid #e2e8f0}th:first-child,td:first-child{text-align:left}\n"
         ".swatch{display:inline-block;width:12px;height:12px;margin-right:6px;vertical-align:"
         "middle}\n"
         ".missing{color:#b45309}\n</style></head><body>\n"
         "<h1>softzone report</h1>\n";
  if (report.command) {
    out << "<p>command <code>" << escape(*report.command) << "</code> exited with status "
        << (report.exit_status ? std::to_string(*report.exit_status) : "unknown") << "</p>\n";
  }
  out << "<h2>Node map</h2>\n<p>Each square is a node, coloured by its zone and filled by its used "
         "memory.</p>\n";
  nodeMap(report, colors, out);
  out << "<p>";
  for (size_t z = 0; z < report.zones.size(); ++z) {
    out << "<span class=\"swatch\" style=\"background:" << colors[z] << "\"></span>"
        << escape(report.zones[z].zone.name) << " ("
        << escape(std::string(zoneKindName(report.zones[z].zone.kind))) << ", nodes "
        << report.zones[z].zone.nodes.format() << ") &nbsp; ";
  }
  out << "</p>\n<h2>Zones</h2>\n";
  zoneBars(report, colors, out);

  out << "<table><tr><th>zone</th><th>total (MiB)</th><th>used (MiB)</th><th>file (MiB)</th>"
         "<th>anon (MiB)</th><th>reclaimed (pages)</th><th>refaults (pages)</th>"
         "<th>pressure some avg10 (%)</th><th>OOM kills</th></tr>\n";
  for (const ZoneReport& zone : report.zones) {
    auto cell = [](double v) { return "<td>" + fixed(v) + "</td>"; };
    out << "<tr><td>" << escape(zone.zone.name) << "</td>"
        << cell(static_cast<double>(at(zone.values, Metric::kMemTotal)) / kMiB)
        << cell(static_cast<double>(at(zone.values, Metric::kMemUsed)) / kMiB)
        << cell(static_cast<double>(at(zone.values, Metric::kFile)) / kMiB)
        << cell(static_cast<double>(at(zone.values, Metric::kAnon)) / kMiB) << "<td>"
        << (report.sources.reclaim_trace
                ? std::to_string(at(zone.values, Metric::kReclaimReclaimed))
                : "-")
        << "</td><td>"
        << (report.sources.vmstat ? std::to_string(at(zone.values, Metric::kRefaultAnon) +
                                                   at(zone.values, Metric::kRefaultFile))
                                  : "-")
        << "</td><td>"
        << (zone.pressure.source == Pressure::Source::kPsi ? fixed(zone.pressure.some_avg10, 2)
                                                           : "-")
        << "</td><td>" << (report.sources.kmsg ? std::to_string(zone.oom_victims.size()) : "-")
        << "</td></tr>\n";
  }
  out << "</table>\n";
  for (const ZoneReport& zone : report.zones) {
    for (const OomKill& kill : zone.oom_victims) {
      out << "<p>OOM kill in " << escape(zone.zone.name) << ": " << escape(kill.task) << " (pid "
          << kill.pid << ", " << escape(kill.constraint) << ")</p>\n";
    }
  }
  if (!report.zoned_lines.empty()) {
    out << "<h2>zoned: nodes on loan and recent moves</h2>\n<ul>\n";
    for (const std::string& line : report.zoned_lines) out << "<li>" << escape(line) << "</li>\n";
    out << "</ul>\n";
  }
  if (series.size() > 1) {
    out << "<h2>Over time</h2>\n";
    chart(series, colors, "Used memory", "MiB", usedMib, out);
    chart(series, colors, "Memory pressure, some avg10", "%", pressureSome, out);
    chart(series, colors, "Reclaimed", "pages", reclaimed, out);
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

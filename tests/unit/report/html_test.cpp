// The HTML page's parts on synthetic reports: the header, the node numbers, the legends in node
// order, the OOM highlighting and the per-node table, with everything from the machine escaped.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "softzone/report/report.h"

namespace softzone::report {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr uint64_t kNodeBytes = 128 * 1024 * 1024;

NodeStats node(int id, uint64_t used_mib) {
  NodeStats stats;
  stats.id = id;
  at(stats.values, Metric::kMemTotal) = kNodeBytes;
  at(stats.values, Metric::kMemUsed) = used_mib << 20;
  at(stats.values, Metric::kMemFree) = kNodeBytes - (used_mib << 20);
  at(stats.values, Metric::kNumaMiss) = 4000 + static_cast<uint64_t>(id);
  return stats;
}

MachineSample sample() {
  MachineSample s;
  s.time_ms = 1765157400000;  // 2025-12-08T01:30:00Z
  s.sources = {true, true, true, true, true};
  s.nodes = {node(0, 100), node(1, 20), node(2, 60), node(3, 70), node(4, 1), node(5, 1)};
  s.mem_total_bytes = 6 * kNodeBytes;
  return s;
}

// Deliberately not in node order: B holds the higher nodes but comes first.
std::vector<ZoneInput> zones() {
  return {{"B", ZoneKind::kPartition, NodeSet::range(4, 5), NodeSet::of({1}), ""},
          {"A", ZoneKind::kPartition, NodeSet::range(2, 3), NodeSet::of({1}), ""},
          {"system", ZoneKind::kSystem, NodeSet::of({0}), NodeSet::of({0}), ""}};
}

// The text of the element with this id, up to its closing tag.
std::string element(const std::string& html, std::string_view id, std::string_view close) {
  size_t start = html.find("id=\"" + std::string(id) + "\"");
  if (start == std::string::npos) return "";
  size_t end = html.find(close, start);
  return html.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

TEST(HtmlHeader, WhenWhatAndWindowEscaped) {
  Report report = buildReport(zones(), sample());
  report.host = {"<host>&1", "6.12.0-<rc>", 16, "v2"};
  std::string html = renderHtml(report, {});
  std::string header = element(html, "report-header", "</header>");
  EXPECT_THAT(header, HasSubstr("2025-12-08T01:30:00Z"));
  EXPECT_THAT(header, HasSubstr("&lt;host&gt;&amp;1"));
  EXPECT_THAT(header, HasSubstr("6.12.0-&lt;rc&gt;"));
  EXPECT_THAT(header, HasSubstr("16 CPUs"));
  EXPECT_THAT(header, HasSubstr("6 nodes"));
  EXPECT_THAT(header, HasSubstr("MemTotal 768.0 MiB"));
  EXPECT_THAT(header, HasSubstr("<dd>v2</dd>"));
  EXPECT_THAT(header, HasSubstr("since boot"));
  EXPECT_THAT(html, Not(HasSubstr("<host>")));
  EXPECT_THAT(html, Not(HasSubstr("<rc>")));
}

TEST(HtmlHeader, SinceSnapshotNamesTheFileAndItsTime) {
  MachineSample then = sample();
  then.time_ms -= 90'000;
  Report report = buildReport(zones(), sample(), &then);
  report.since_snapshot = "/tmp/<snap>.json";
  std::string header = element(renderHtml(report, {}), "report-header", "</header>");
  EXPECT_THAT(header, HasSubstr("since snapshot <code>/tmp/&lt;snap&gt;.json</code>"));
  EXPECT_THAT(header, HasSubstr("2025-12-08T01:28:30Z"));
  EXPECT_THAT(header, HasSubstr("90.0 s"));
}

TEST(HtmlNodeMap, EveryNodeNumberIsOnItsSquare) {
  std::string map = element(renderHtml(buildReport(zones(), sample()), {}), "node-map", "</svg>");
  for (int id = 0; id <= 5; ++id) {
    EXPECT_THAT(map, HasSubstr("text-anchor=\"middle\">" + std::to_string(id) + "</text>"));
  }
}

TEST(HtmlLegend, ZonesInNodeOrderAndBarSegmentsShown) {
  std::string html = renderHtml(buildReport(zones(), sample()), {});
  std::string legend = element(html, "zone-legend", "</div>");
  size_t system = legend.find("system (");
  size_t a = legend.find("A (");
  size_t b = legend.find("B (");
  ASSERT_NE(system, std::string::npos);
  ASSERT_NE(a, std::string::npos);
  ASSERT_NE(b, std::string::npos);
  EXPECT_LT(system, a);
  EXPECT_LT(a, b);
  std::string bars = element(html, "bar-legend", "</div>");
  for (std::string_view segment : {"anon", "file", "other used", "free"}) {
    EXPECT_THAT(bars, HasSubstr(std::string("</span>") + std::string(segment) + "</span>"));
  }
}

TEST(HtmlOom, KilledZoneIsMarkedAndVictimsListed) {
  Report report = buildReport(zones(), sample());
  OomKill kill;
  kill.task = "<evil>";
  kill.pid = 4242;
  kill.constraint = "CONSTRAINT_CPUSET";
  kill.anon_rss_kb = 2048;
  for (ZoneReport& zone : report.zones) {
    if (zone.zone.name == "A") zone.oom_victims.push_back(kill);
  }
  std::string html = renderHtml(report, {});
  std::string table = element(html, "zone-table", "</table>");
  EXPECT_THAT(table, HasSubstr("<tr class=\"oom-row\"><td>A<span class=\"badge\">OOM &times;1"));
  EXPECT_THAT(table, Not(HasSubstr("<tr class=\"oom-row\"><td>B")));
  EXPECT_THAT(element(html, "zone-legend", "</div>"), HasSubstr("<span class=\"badge\">"));
  std::string kills = element(html, "oom-kills", "</div>");
  EXPECT_THAT(kills, HasSubstr("1 OOM kill<"));
  EXPECT_THAT(kills, HasSubstr("<td>A</td><td>4242</td><td>&lt;evil&gt;</td>"));
  EXPECT_THAT(html, Not(HasSubstr("<evil>")));
  // No kills, no alert and no badge.
  std::string calm = renderHtml(buildReport(zones(), sample()), {});
  EXPECT_THAT(calm, Not(HasSubstr("id=\"oom-kills\"")));
  EXPECT_THAT(calm, Not(HasSubstr("class=\"badge\"")));
}

TEST(HtmlNodes, OneRowPerNodeWithZoneMemoryAndCounters) {
  std::vector<ZoneInput> hostile = zones();
  hostile[1].name = "<A>";
  std::string table =
      element(renderHtml(buildReport(hostile, sample()), {}), "node-table", "</table>");
  EXPECT_THAT(table, HasSubstr("<tr><td>3</td><td>&lt;A&gt;</td><td>128.0</td><td>70.0</td>"
                               "<td>58.0</td>"));
  EXPECT_THAT(table, HasSubstr("<td>4003</td>"));  // node 3's numa misses
  EXPECT_THAT(table, HasSubstr("<tr><td>1</td><td>unassigned</td>"));
}

}  // namespace
}  // namespace softzone::report

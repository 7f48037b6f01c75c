// The report model on synthetic samples: zone sums, coverage, deltas, OOM attribution, snapshots
// and the three renderings.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "softzone/report/report.h"

namespace softzone::report {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr uint64_t kNodeBytes = 128 * 1024 * 1024;

NodeStats node(int id, uint64_t used_mib, uint64_t file_mib, uint64_t reclaimed) {
  NodeStats stats;
  stats.id = id;
  at(stats.values, Metric::kMemTotal) = kNodeBytes;
  at(stats.values, Metric::kMemUsed) = used_mib << 20;
  at(stats.values, Metric::kMemFree) = kNodeBytes - (used_mib << 20);
  at(stats.values, Metric::kFile) = file_mib << 20;
  at(stats.values, Metric::kReclaimReclaimed) = reclaimed;
  at(stats.values, Metric::kReclaimScanned) = reclaimed * 2;
  at(stats.values, Metric::kRefaultFile) = reclaimed / 10;
  return stats;
}

MachineSample sample(int64_t time_ms, uint64_t reclaimed_a) {
  MachineSample s;
  s.time_ms = time_ms;
  s.sources = {true, true, true, true, true};
  s.nodes = {node(0, 100, 10, 0),
             node(1, 20, 20, 0),
             node(2, 60, 50, reclaimed_a),
             node(3, 70, 50, reclaimed_a + 5),
             node(4, 1, 0, 0),
             node(5, 1, 0, 0),
             node(6, 2, 0, 0)};
  s.mem_total_bytes = 7 * kNodeBytes;
  s.kmsg_next_seq = 100;
  return s;
}

std::vector<ZoneInput> zones() {
  return {{"system", ZoneKind::kSystem, NodeSet::of({0}), NodeSet::of({0}), ""},
          {"shared", ZoneKind::kShared, NodeSet::of({1}), NodeSet::of({0, 1}), ""},
          {"A", ZoneKind::kPartition, NodeSet::range(2, 3), NodeSet::of({1}),
           "/sys/fs/cgroup/softzone/A"},
          {"B", ZoneKind::kPartition, NodeSet::range(4, 5), NodeSet::of({1}),
           "/sys/fs/cgroup/softzone/B"}};
}

const ZoneReport& zoneNamed(const Report& report, std::string_view name) {
  for (const ZoneReport& zone : report.zones) {
    if (zone.zone.name == name) return zone;
  }
  ADD_FAILURE() << "no zone " << name;
  std::abort();
}

TEST(BuildReport, SumsNodesAndCoversTheRest) {
  Report report = buildReport(zones(), sample(1000, 300));
  ASSERT_EQ(report.zones.size(), 5u);
  const ZoneReport& a = zoneNamed(report, "A");
  EXPECT_EQ(at(a.values, Metric::kMemTotal), 2 * kNodeBytes);
  EXPECT_EQ(at(a.values, Metric::kMemUsed), 130u << 20);
  EXPECT_EQ(at(a.values, Metric::kReclaimReclaimed), 605u);
  EXPECT_EQ(at(zoneNamed(report, "B").values, Metric::kReclaimReclaimed), 0u);
  // Node 6 is in no zone: it shows up as "unassigned", so the zones add up to the machine.
  const ZoneReport& rest = zoneNamed(report, "unassigned");
  EXPECT_EQ(rest.zone.kind, ZoneKind::kFree);
  EXPECT_EQ(rest.zone.nodes.format(), "6");
  uint64_t sum = 0;
  for (const ZoneReport& zone : report.zones) sum += at(zone.values, Metric::kMemTotal);
  EXPECT_EQ(sum, at(report.machine, Metric::kMemTotal));
  EXPECT_EQ(sum, report.proc_mem_total_bytes);
}

TEST(BuildReport, SelectedZonesOnlyAndMissingNodes) {
  std::vector<ZoneInput> only = {zones()[2]};
  only[0].nodes.insert(9);
  Report report = buildReport(only, sample(1000, 1), nullptr, /*cover_all=*/false);
  ASSERT_EQ(report.zones.size(), 1u);
  EXPECT_EQ(report.zones[0].missing_nodes, std::vector<int>{9});
}

TEST(BuildReport, CountersAreDeltasGaugesAreNow) {
  MachineSample then = sample(1000, 300);
  MachineSample now = sample(3000, 800);
  at(now.nodes[2].values, Metric::kMemUsed) = 90u << 20;
  Report report = buildReport(zones(), now, &then);
  ASSERT_TRUE(report.since_ms);
  EXPECT_EQ(*report.since_ms, 1000);
  const ZoneReport& a = zoneNamed(report, "A");
  EXPECT_EQ(at(a.values, Metric::kReclaimReclaimed), 1000u);  // (800-300) on each of 2 nodes
  EXPECT_EQ(at(a.values, Metric::kReclaimScanned), 2000u);
  EXPECT_EQ(at(a.values, Metric::kMemUsed), 160u << 20);
  // A counter that went down was reset: what it holds now is all since.
  MachineSample reset = sample(4000, 10);
  Report after_reset = buildReport(zones(), reset, &now);
  EXPECT_EQ(at(zoneNamed(after_reset, "A").values, Metric::kReclaimReclaimed), 25u);
}

OomKill kill(std::string constraint, std::string cpuset, int pid, uint64_t seq,
             std::string memcg = "/") {
  OomKill k;
  k.constraint = std::move(constraint);
  k.cpuset = std::move(cpuset);
  k.task = "memhog";
  k.pid = pid;
  k.seq = seq;
  k.task_memcg = std::move(memcg);
  return k;
}

TEST(OomAttribution, CpusetNamePidAndMemcg) {
  std::map<std::string, std::vector<int>> pids = {{"B", {77}}};
  EXPECT_EQ(attributeOomKill(kill("CONSTRAINT_CPUSET", "A", 125, 1), zones(), pids), 2u);
  // A global OOM that killed B's task: the allocating task's cpuset says nothing, the pid does.
  EXPECT_EQ(attributeOomKill(kill("CONSTRAINT_NONE", "/", 77, 1), zones(), pids), 3u);
  EXPECT_EQ(attributeOomKill(kill("CONSTRAINT_NONE", "/", 78, 1, "/softzone/A"), zones(), pids),
            2u);
  EXPECT_EQ(attributeOomKill(kill("CONSTRAINT_NONE", "/", 78, 1), zones(), pids), std::nullopt);
}

TEST(OomAttribution, OnlyKillsSinceTheBaseline) {
  MachineSample then = sample(1000, 0);
  MachineSample now = sample(2000, 0);
  now.oom_kills = {kill("CONSTRAINT_CPUSET", "A", 90, 50), kill("CONSTRAINT_CPUSET", "A", 125, 120),
                   kill("CONSTRAINT_NONE", "/", 400, 130)};
  Report report = buildReport(zones(), now, &then);
  ASSERT_EQ(zoneNamed(report, "A").oom_victims.size(), 1u);
  EXPECT_EQ(zoneNamed(report, "A").oom_victims[0].pid, 125);
  EXPECT_TRUE(zoneNamed(report, "B").oom_victims.empty());
  ASSERT_EQ(report.unattributed_kills.size(), 1u);
  Report since_boot = buildReport(zones(), now);
  EXPECT_EQ(zoneNamed(since_boot, "A").oom_victims.size(), 2u);
}

TEST(Json, ContractKeys) {
  MachineSample now = sample(2000, 10);
  now.oom_kills = {kill("CONSTRAINT_CPUSET", "A", 125, 120)};
  now.pressure["A"] =
      parsePsi(
          "some avg10=1.50 avg60=0 avg300=0 total=10\nfull avg10=0.50 avg60=0 avg300=0 total=5\n")
          .value();
  auto json = reportToJson(buildReport(zones(), now));
  ASSERT_EQ(json["partitions"].size(), 2u);
  const auto& a = json["partitions"][0];
  for (const char* key :
       {"name", "nodes", "cpus", "mem_total_bytes", "mem_used_bytes", "mem_free_bytes",
        "file_bytes", "anon_bytes", "reclaim_scanned_pages", "reclaim_reclaimed_pages", "refaults",
        "oom_kills", "oom_victims", "pressure"}) {
    EXPECT_TRUE(a.contains(key)) << key;
  }
  EXPECT_EQ(a["name"], "A");
  EXPECT_EQ(a["nodes"], nlohmann::json::array({2, 3}));
  EXPECT_EQ(a["oom_kills"], 1);
  EXPECT_EQ(a["oom_victims"][0]["pid"], 125);
  EXPECT_EQ(a["oom_victims"][0]["task"], "memhog");
  EXPECT_EQ(a["pressure"]["source"], "psi");
  EXPECT_DOUBLE_EQ(a["pressure"]["some_avg10"].get<double>(), 1.5);
  EXPECT_EQ(a["reclaim_reclaimed_pages"], 25);
  EXPECT_EQ(json["partitions"][1]["oom_kills"], 0);
  EXPECT_EQ(json["shared"]["name"], "shared");
  EXPECT_EQ(json["system"]["name"], "system");
  EXPECT_EQ(json["free"][0]["name"], "unassigned");
}

TEST(Json, MissingSourcesAreNullAndSaid) {
  MachineSample now = sample(2000, 10);
  now.sources.reclaim_trace = false;
  now.sources.kmsg = false;
  now.problems.push_back({"reclaim tracepoint", "needs root"});
  auto json = reportToJson(buildReport(zones(), now));
  EXPECT_TRUE(json["partitions"][0]["reclaim_reclaimed_pages"].is_null());
  EXPECT_TRUE(json["partitions"][0]["oom_kills"].is_null());
  EXPECT_EQ(json["missing"][0]["why"], "needs root");
  std::ostringstream table;
  renderTable(buildReport(zones(), now), table);
  EXPECT_THAT(table.str(), HasSubstr("missing: reclaim tracepoint: needs root"));
  EXPECT_THAT(table.str(), Not(HasSubstr("Reclaim reclaimed")));
}

TEST(Table, UnitsInTitlesZeroRowsHidden) {
  std::ostringstream out;
  renderTable(buildReport(zones(), sample(1000, 300)), out);
  std::string text = out.str();
  EXPECT_THAT(text, HasSubstr("MemTotal (MiB)"));
  EXPECT_THAT(text, HasSubstr("Reclaim reclaimed (pages)"));
  EXPECT_THAT(text, HasSubstr("256.00"));  // A's MemTotal
  EXPECT_THAT(text, Not(HasSubstr("Dirty (MiB)")));
  std::ostringstream all;
  renderTable(buildReport(zones(), sample(1000, 300)), all, {true});
  EXPECT_THAT(all.str(), HasSubstr("Dirty (MiB)"));
}

TEST(Html, SelfContainedWithNodeMapAndSeries) {
  std::vector<Report> series = {buildReport(zones(), sample(1000, 0)),
                                buildReport(zones(), sample(2000, 50)),
                                buildReport(zones(), sample(3000, 90))};
  series.back().zones[2].oom_victims.push_back(kill("CONSTRAINT_CPUSET", "A", 125, 1));
  std::string html = renderHtml(series.back(), series);
  EXPECT_THAT(html, HasSubstr("<svg id=\"node-map\""));
  EXPECT_THAT(html, HasSubstr("<svg id=\"zone-bars\""));
  EXPECT_THAT(html, HasSubstr("Over time"));
  EXPECT_THAT(html, HasSubstr("class=\"oom\""));
  EXPECT_THAT(html, HasSubstr("#2563eb"));  // the first partition's colour
  // Nothing is fetched: no scripts, links or URLs other than the SVG namespace.
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("<link")));
  EXPECT_THAT(html, Not(HasSubstr("src=")));
  std::string without_ns = html;
  for (size_t at = 0; (at = without_ns.find("http://www.w3.org/2000/svg")) != std::string::npos;) {
    without_ns.erase(at, 26);
  }
  EXPECT_THAT(without_ns, Not(HasSubstr("http")));
  // Names are escaped.
  std::vector<ZoneInput> odd = zones();
  odd[2].name = "<b>A&</b>";
  EXPECT_THAT(renderHtml(buildReport(odd, sample(1, 1)), {}),
              HasSubstr("&lt;b&gt;A&amp;&lt;/b&gt;"));
}

TEST(Snapshot, RoundTrip) {
  MachineSample s = sample(1234, 77);
  s.oom_kills = {kill("CONSTRAINT_CPUSET", "A", 125, 120)};
  s.oom_kills[0].mems_allowed = NodeSet::range(2, 3);
  s.pressure["A"] = parsePsi("some avg10=1.50 avg60=0 avg300=0 total=10\n").value();
  s.pids["A"] = {125, 126};
  s.pgmigrate["pgmigrate_success"] = 9;
  s.problems.push_back({"x", "y"});
  s.notes.push_back("n");
  auto parsed = parseSnapshot(sampleToJson(s).dump());
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(sampleToJson(*parsed), sampleToJson(s));
}

TEST(Snapshot, MalformedIsBadInput) {
  for (std::string_view text : {"", "[]", "{\"format\":\"other\"}", "{\"format\":7}",
                                "{\"format\":\"softzone-snapshot\",\"version\":2}",
                                "{\"format\":\"softzone-snapshot\",\"version\":1}",
                                "{\"format\":\"softzone-snapshot\",\"version\":\"1\"}"}) {
    auto parsed = parseSnapshot(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_TRUE(parsed.error().isBadInput()) << text;
  }
  auto good = sampleToJson(sample(1, 1));
  good["nodes"][0]["id"] = -3;
  EXPECT_FALSE(parseSnapshot(good.dump()));
  good = sampleToJson(sample(1, 1));
  good["nodes"][0]["file_bytes"] = "many";
  EXPECT_FALSE(parseSnapshot(good.dump()));
}

// Whole numbers only, in range: the fuzzer found a time_ms of 1.8e70, which the JSON library's
// own conversion casts to an integer (undefined behaviour); a negative count would wrap.
TEST(Snapshot, NumbersMustBeWholeAndInRange) {
  auto bad = [](const char* key, nlohmann::json value, const char* node_key = nullptr) {
    nlohmann::json doc = sampleToJson(sample(1, 1));
    if (node_key != nullptr) {
      doc["nodes"][0][node_key] = value;
    } else {
      doc[key] = value;
    }
    auto parsed = parseSnapshot(doc.dump());
    EXPECT_FALSE(parsed) << key << " = " << value.dump();
    if (!parsed) {
      EXPECT_TRUE(parsed.error().isBadInput());
      EXPECT_THAT(parsed.error().message(), ::testing::HasSubstr("malformed snapshot"));
    }
  };
  bad("time_ms", 1.79534e+70);
  bad("time_ms", 12.5);
  bad("mem_total_bytes", -1);
  bad("version", 4294967297.0);
  bad("kmsg_next_seq", 1e30);
  bad("nodes", nlohmann::json(3e9), "id");
  bad("nodes", nlohmann::json(-5), "file_bytes");
  bad("nodes", nlohmann::json(2.5), "file_bytes");
  bad("pgmigrate", nlohmann::json{{"pgmigrate_success", -9}});
  bad("pids", nlohmann::json{{"A", nlohmann::json::array({1e20})}});
  bad("pids", nlohmann::json{{"A", 7}});
}

}  // namespace
}  // namespace softzone::report

// zoned's metrics text: families once each with HELP and TYPE, a zone label per partition and the
// free pool, counters named _total, label values escaped.
#include "softzone/zoned/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <sstream>

namespace softzone::zoned {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

PolicyInput sampleWithTwoPartitions() {
  PolicyInput input;
  PartitionSample web;
  web.name = "web";
  web.nodes = {{2, 256 << 20, 64 << 20}, {3, 256 << 20, 0}};
  web.limits.min_bytes = 256 << 20;
  web.limits.max_bytes = 1024 << 20;
  web.pressure = {PressureSample::Source::kPsi, 12.5, 2, 0};
  web.refaults_per_second = 40;
  PartitionSample db;
  db.name = "db";
  db.nodes = {{4, 256 << 20, 200 << 20}};
  db.limits.min_nodes = 1;
  db.limits.max_nodes = 1;
  db.pressure = {PressureSample::Source::kCpusetV1, 0, 0, 3000};
  input.partitions = {web, db};
  input.free_nodes = {{5, 256 << 20, 250 << 20}};
  return input;
}

TEST(ZonedMetricsTest, EveryZoneHasItsGaugesWithAZoneLabel) {
  ZonedState state;
  state.loans = {{3, "web", "free", 1000}};
  PolicyInput input = sampleWithTwoPartitions();
  std::string text = formatMetrics(&input, state, {});
  EXPECT_THAT(text, HasSubstr("softzone_nodes{zone=\"web\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("softzone_nodes{zone=\"free\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("softzone_mem_total_bytes{zone=\"web\"} 536870912\n"));
  EXPECT_THAT(text, HasSubstr("softzone_mem_free_bytes{zone=\"web\"} 67108864\n"));
  EXPECT_THAT(text, HasSubstr("softzone_max_bytes{zone=\"web\"} 1073741824\n"));
  EXPECT_THAT(text, HasSubstr("softzone_max_nodes{zone=\"db\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("softzone_pressure_some_avg10_ratio{zone=\"web\"} 0.125\n"));
  EXPECT_THAT(text, HasSubstr("softzone_memory_pressure{zone=\"db\"} 3000\n"));
  EXPECT_THAT(text, HasSubstr("softzone_nodes_on_loan{zone=\"web\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("softzone_nodes_on_loan{zone=\"db\"} 0\n"));
  // A v1 partition has no PSI line, a v2 one no memory_pressure line.
  EXPECT_THAT(text, Not(HasSubstr("softzone_pressure_some_avg10_ratio{zone=\"db\"}")));
  EXPECT_THAT(text, Not(HasSubstr("softzone_memory_pressure{zone=\"web\"}")));
}

TEST(ZonedMetricsTest, FamiliesAreDeclaredOnceAndCountersEndInTotal) {
  PolicyInput input = sampleWithTwoPartitions();
  ZonedCounters counters;
  counters.samples = 7;
  counters.nodes_received["web"] = 2;
  counters.stall_events["web"] = 3;
  counters.nodes_released["free"] = 2;
  std::string text = formatMetrics(&input, {}, counters);
  std::istringstream lines(text);
  std::set<std::string> declared;
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("# TYPE ", 0) != 0) continue;
    std::istringstream words(line.substr(7));
    std::string name, type;
    words >> name >> type;
    EXPECT_TRUE(declared.insert(name).second) << name << " declared twice";
    EXPECT_EQ(name.rfind("softzone_", 0), 0u) << name;
    bool total = name.size() > 6 && name.substr(name.size() - 6) == "_total";
    EXPECT_EQ(type == "counter", total) << name << " is a " << type;
  }
  EXPECT_THAT(text, HasSubstr("softzone_zoned_samples_total 7\n"));
  EXPECT_THAT(text, HasSubstr("softzone_zoned_nodes_received_total{zone=\"web\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("softzone_zoned_stall_events_total{zone=\"web\"} 3\n"));
}

TEST(ZonedMetricsTest, WithoutASampleOnlyZonedsOwnCountersAreWritten) {
  ZonedCounters counters;
  counters.sample_failures = 3;
  std::string text = formatMetrics(nullptr, {}, counters);
  EXPECT_THAT(text, HasSubstr("softzone_zoned_sample_failures_total 3\n"));
  EXPECT_THAT(text, Not(HasSubstr("softzone_nodes")));
}

TEST(ZonedMetricsTest, TheKeepersCountersCarryTheSharedZoneAndANodeOrReason) {
  ZonedCounters counters;
  counters.keeper.checks = 4;
  counters.keeper.pages_moved = {{1, 2631}, {2, 2764}};
  counters.keeper.failures["busy"] = 2;
  counters.keeper.files = 23;
  counters.keeper.last_check_seconds = 0.25;
  std::string text = formatMetrics(nullptr, {}, counters);
  EXPECT_THAT(text, HasSubstr("softzone_zoned_bind_checks_total{zone=\"shared\"} 4\n"));
  EXPECT_THAT(
      text, HasSubstr("softzone_zoned_bind_pages_moved_total{zone=\"shared\",node=\"1\"} 2631\n"));
  EXPECT_THAT(
      text, HasSubstr("softzone_zoned_bind_pages_moved_total{zone=\"shared\",node=\"2\"} 2764\n"));
  EXPECT_THAT(text,
              HasSubstr("softzone_zoned_bind_failures_total{zone=\"shared\",reason=\"busy\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("softzone_zoned_bind_files{zone=\"shared\"} 23\n"));
  EXPECT_THAT(text,
              HasSubstr("softzone_zoned_last_bind_check_duration_seconds{zone=\"shared\"} 0.25\n"));
}

TEST(ZonedMetricsTest, LabelValuesAreEscaped) {
  PolicyInput input;
  PartitionSample odd;
  odd.name = "a\"b\\c\nd";  // not a name softzone accepts: the writer escapes all the same
  input.partitions = {odd};
  std::string text = formatMetrics(&input, {}, {});
  EXPECT_THAT(text, HasSubstr("softzone_nodes{zone=\"a\\\"b\\\\c\\nd\"} 0\n"));
}

// The line systemctl status shows: nodes and loans per partition, the free pool, the counts.
TEST(ZonedMetricsTest, TheStatusLineSaysNodesLoansAndCounts) {
  ZonedState state;
  state.loans = {{3, "web", "free", 1000}};
  ZonedCounters counters;
  counters.samples = 120;
  counters.sample_failures = 2;
  counters.move_failures = 1;
  counters.nodes_received = {{"web", 2}, {"free", 1}};
  PolicyInput input = sampleWithTwoPartitions();
  EXPECT_EQ(
      formatStatusLine(&input, state, counters),
      "web 2 nodes (1 on loan), db 1 nodes, 1 free; 3 moves, 1 failed; 120 samples, 2 failed");
  EXPECT_EQ(formatStatusLine(nullptr, state, counters),
            "last sample failed; 3 moves, 1 failed; 120 samples, 2 failed");
}

}  // namespace
}  // namespace softzone::zoned

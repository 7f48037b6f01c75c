// Prometheus text for zoned: each family's HELP and TYPE once, then one line per zone.
#include "softzone/zoned/metrics.h"

#include <charconv>
#include <functional>
#include <vector>

namespace softzone::zoned {
namespace {

// A label value as the exposition format wants it: backslash, quote and newline escaped.
std::string labelValue(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

// The shortest text that reads back as the same double ("0.4", not "0.40000000000000002").
std::string number(double value) {
  char text[64];
  auto [end, ec] = std::to_chars(text, text + sizeof text, value);
  return ec == std::errc() ? std::string(text, end) : std::string("NaN");
}

class Exposition {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    name_ = name;
    text_ += "# HELP " + name_ + " " + std::string(help) + "\n";
    text_ += "# TYPE " + name_ + " " + std::string(type) + "\n";
  }
  void value(double value) { text_ += name_ + " " + number(value) + "\n"; }
  void zoneValue(std::string_view zone, double value) {
    text_ += name_ + "{zone=\"" + labelValue(zone) + "\"} " + number(value) + "\n";
  }
  // A second label next to `zone`.
  void zoneValue(std::string_view zone, std::string_view label, std::string_view label_value,
                 double value) {
    text_ += name_ + "{zone=\"" + labelValue(zone) + "\"," + std::string(label) + "=\"" +
             labelValue(label_value) + "\"} " + number(value) + "\n";
  }
  std::string take() { return std::move(text_); }

 private:
  std::string name_;
  std::string text_;
};

struct ZoneFigures {
  std::string name;
  int nodes = 0;
  uint64_t total_bytes = 0;
  uint64_t free_bytes = 0;
  const PartitionSample* partition = nullptr;  // nullptr for the free pool
};

std::vector<ZoneFigures> zoneFigures(const PolicyInput& sample) {
  std::vector<ZoneFigures> zones;
  auto add = [&](const std::string& name, const std::vector<NodeSample>& nodes,
                 const PartitionSample* partition) {
    ZoneFigures figures{name, static_cast<int>(nodes.size()), 0, 0, partition};
    for (const NodeSample& node : nodes) {
      figures.total_bytes += node.size_bytes;
      figures.free_bytes += std::min(node.free_bytes, node.size_bytes);
    }
    zones.push_back(figures);
  };
  for (const PartitionSample& p : sample.partitions) add(p.name, p.nodes, &p);
  add(std::string(kFreePool), sample.free_nodes, nullptr);
  return zones;
}

void zoneGauges(Exposition& out, const std::vector<ZoneFigures>& zones) {
  out.family("softzone_nodes", "gauge", "NUMA nodes the zone holds now (free: the free pool).");
  for (const ZoneFigures& z : zones) out.zoneValue(z.name, z.nodes);
  out.family("softzone_mem_total_bytes", "gauge", "MemTotal summed over the zone's nodes.");
  for (const ZoneFigures& z : zones) out.zoneValue(z.name, static_cast<double>(z.total_bytes));
  out.family("softzone_mem_free_bytes", "gauge",
             "Free memory summed over the zone's nodes (/proc/buddyinfo's free lists).");
  for (const ZoneFigures& z : zones) out.zoneValue(z.name, static_cast<double>(z.free_bytes));
}

void limitGauges(Exposition& out, const std::vector<PartitionSample>& partitions) {
  using Pick = std::function<std::optional<double>(const PartitionLimits&)>;
  auto gauge = [&](std::string_view name, std::string_view help, const Pick& pick) {
    out.family(name, "gauge", help);
    for (const PartitionSample& p : partitions) {
      if (auto value = pick(p.limits)) out.zoneValue(p.name, *value);
    }
  };
  auto bytes = [](const std::optional<uint64_t>& v) -> std::optional<double> {
    return v ? std::optional<double>(static_cast<double>(*v)) : std::nullopt;
  };
  auto count = [](const std::optional<int>& v) -> std::optional<double> {
    return v ? std::optional<double>(*v) : std::nullopt;
  };
  gauge("softzone_min_bytes", "The partition's floor: zoned never takes it below.",
        [&](const PartitionLimits& l) { return bytes(l.min_bytes); });
  gauge("softzone_max_bytes", "The partition's ceiling: zoned never grows it above.",
        [&](const PartitionLimits& l) { return bytes(l.max_bytes); });
  gauge("softzone_min_nodes", "Floor in nodes, for a partition without a min in bytes.",
        [&](const PartitionLimits& l) { return count(l.min_nodes); });
  gauge("softzone_max_nodes", "Ceiling in nodes, for a partition without a max in bytes.",
        [&](const PartitionLimits& l) { return count(l.max_nodes); });
}

void pressureGauges(Exposition& out, const std::vector<PartitionSample>& partitions) {
  using Source = PressureSample::Source;
  out.family("softzone_pressure_some_avg10_ratio", "gauge",
             "PSI memory some avg10 of the partition's cgroup (cgroup v2), 0 to 1.");
  for (const PartitionSample& p : partitions) {
    if (p.pressure.source == Source::kPsi) out.zoneValue(p.name, p.pressure.some_avg10 / 100);
  }
  out.family("softzone_pressure_full_avg10_ratio", "gauge",
             "PSI memory full avg10 of the partition's cgroup (cgroup v2), 0 to 1.");
  for (const PartitionSample& p : partitions) {
    if (p.pressure.source == Source::kPsi) out.zoneValue(p.name, p.pressure.full_avg10 / 100);
  }
  out.family("softzone_memory_pressure", "gauge",
             "The v1 cpuset's memory_pressure: direct reclaims per second x 1000, decaying.");
  for (const PartitionSample& p : partitions) {
    if (p.pressure.source == Source::kCpusetV1) {
      out.zoneValue(p.name, static_cast<double>(p.pressure.memory_pressure));
    }
  }
  out.family("softzone_refault_rate_pages_per_second", "gauge",
             "Workingset refaults on the partition's nodes since the previous sample (with "
             "refault_rate set).");
  for (const PartitionSample& p : partitions) {
    if (p.refaults_per_second) out.zoneValue(p.name, *p.refaults_per_second);
  }
}

int nodesOnLoanTo(const ZonedState& state, std::string_view owner) {
  int loans = 0;
  for (const Loan& loan : state.loans) loans += loan.owner == owner ? 1 : 0;
  return loans;
}

void loanGauges(Exposition& out, const std::vector<PartitionSample>& partitions,
                const ZonedState& state) {
  out.family(
      "softzone_nodes_on_loan", "gauge",
      "Nodes the partition holds that zoned gave it from the free pool or another partition.");
  for (const PartitionSample& p : partitions) out.zoneValue(p.name, nodesOnLoanTo(state, p.name));
}

void zonedCounters(Exposition& out, const ZonedCounters& c) {
  out.family("softzone_zoned_samples_total", "counter", "Samples zoned took.");
  out.value(static_cast<double>(c.samples));
  out.family("softzone_zoned_sample_failures_total", "counter",
             "Samples that could not be read (no decision was taken on them).");
  out.value(static_cast<double>(c.sample_failures));
  out.family("softzone_zoned_move_failures_total", "counter",
             "Moves that failed (nothing changed, or a shrink rolled back).");
  out.value(static_cast<double>(c.move_failures));
  out.family("softzone_zoned_config_reloads_total", "counter", "Configuration reloads (SIGHUP).");
  out.value(static_cast<double>(c.reloads));
  out.family("softzone_zoned_config_reload_failures_total", "counter",
             "Reloads refused for a bad configuration (the old one stays).");
  out.value(static_cast<double>(c.reload_failures));
  out.family("softzone_zoned_nodes_received_total", "counter", "Nodes zoned moved into the zone.");
  for (const auto& [zone, n] : c.nodes_received) out.zoneValue(zone, static_cast<double>(n));
  out.family("softzone_zoned_nodes_released_total", "counter",
             "Nodes zoned moved out of the zone.");
  for (const auto& [zone, n] : c.nodes_released) out.zoneValue(zone, static_cast<double>(n));
  out.family("softzone_zoned_stall_events_total", "counter",
             "PSI stall trigger events of the partition (stall_trigger within stall_window).");
  for (const auto& [zone, n] : c.stall_events) out.zoneValue(zone, static_cast<double>(n));
  out.family("softzone_zoned_last_sample_duration_seconds", "gauge",
             "How long the last sample and its decisions took.");
  out.value(c.last_sample_seconds);
}

// The shared zone's keeper: what its checks looked at, moved back and could not.
void keeperCounters(Exposition& out, const KeeperCounters& k) {
  constexpr std::string_view kShared = "shared";
  out.family("softzone_zoned_bind_checks_total", "counter",
             "Checks of the shared zone's bound trees (bind_check).");
  out.zoneValue(kShared, static_cast<double>(k.checks));
  out.family("softzone_zoned_bind_files_checked_total", "counter",
             "Files of the bound trees whose cached pages a check looked at.");
  out.zoneValue(kShared, static_cast<double>(k.files_checked));
  out.family("softzone_zoned_bind_pages_moved_total", "counter",
             "Cached pages of the bound trees found off the shared zone and moved back, by node.");
  for (const auto& [node, n] : k.pages_moved) {
    out.zoneValue(kShared, "node", std::to_string(node), static_cast<double>(n));
  }
  out.family("softzone_zoned_bind_pages_failed_total", "counter",
             "Cached pages of the bound trees found off the shared zone and not moved.");
  out.zoneValue(kShared, static_cast<double>(k.pages_failed));
  out.family("softzone_zoned_bind_failures_total", "counter",
             "Files that could not be looked at or wholly moved, and walks or checks that "
             "failed, by reason.");
  for (const auto& [reason, n] : k.failures) {
    out.zoneValue(kShared, "reason", reason, static_cast<double>(n));
  }
  out.family("softzone_zoned_bind_files", "gauge", "Files in the bound trees at the last walk.");
  out.zoneValue(kShared, static_cast<double>(k.files));
  out.family("softzone_zoned_bind_changed_files_left", "gauge",
             "New or changed files the last check left for the next (over bind_check_pages).");
  out.zoneValue(kShared, static_cast<double>(k.changed_files_left));
  out.family("softzone_zoned_last_bind_check_duration_seconds", "gauge",
             "How long the last check of the bound trees took.");
  out.zoneValue(kShared, k.last_check_seconds);
}

}  // namespace

std::string formatMetrics(const PolicyInput* sample, const ZonedState& state,
                          const ZonedCounters& counters) {
  Exposition out;
  if (sample != nullptr) {
    zoneGauges(out, zoneFigures(*sample));
    limitGauges(out, sample->partitions);
    pressureGauges(out, sample->partitions);
    loanGauges(out, sample->partitions, state);
  }
  zonedCounters(out, counters);
  keeperCounters(out, counters.keeper);
  return out.take();
}

std::string formatStatusLine(const PolicyInput* sample, const ZonedState& state,
                             const ZonedCounters& counters) {
  std::string line;
  if (sample == nullptr) {
    line = "last sample failed";
  } else {
    for (const PartitionSample& p : sample->partitions) {
      line += p.name + " " + std::to_string(p.nodes.size()) + " nodes";
      if (int lent = nodesOnLoanTo(state, p.name); lent > 0) {
        line += " (" + std::to_string(lent) + " on loan)";
      }
      line += ", ";
    }
    line += std::to_string(sample->free_nodes.size()) + " free";
  }
  uint64_t moved = 0;
  for (const auto& [zone, count] : counters.nodes_received) moved += count;
  line += "; " + std::to_string(moved) + " moves, " + std::to_string(counters.move_failures) +
          " failed; " + std::to_string(counters.samples) + " samples, " +
          std::to_string(counters.sample_failures) + " failed";
  return line;
}

}  // namespace softzone::zoned

// zoned's sample of the machine: the session's zones, the nodes' memory (free memory from
// /proc/buddyinfo, MemTotal kept between samples), each partition's pressure and, with
// refault_rate set, the refault rate from the nodes' vmstat counters.
#include "softzone/zoned/sampler.h"

#include "softzone/report/node_stats.h"
#include "softzone/report/pressure.h"
#include "softzone/zones/buddyinfo.h"
#include "softzone/zones/kernel_files.h"
#include "softzone/zones/topology.h"

namespace softzone::zoned {
namespace {

// MemTotal changes only when memory is hot-added or removed, or late boot frees what was
// reserved: read again at this age, and at once when a node without one shows up.
constexpr int64_t kNodeTotalsMaxAgeMs = 60'000;

// Refaults (anon + file) of each node in `nodes`. A vmstat that cannot be read or parsed fails
// the sample: read as no refaults, it would make a thrashing partition look calm.
Result<std::map<int, uint64_t>> readRefaults(const FsRoot& fs, const NodeSet& nodes) {
  std::map<int, uint64_t> refaults;
  for (int id : nodes.ids()) {
    std::string path = kernel::nodeFile(id, kernel::kNodeVmstatFile);
    auto text = fs.readFile(path);
    if (!text) return std::move(text).error().withContext("refaults of node " + std::to_string(id));
    report::MetricValues values{};
    Status parsed = report::parseNodeVmstat(*text, values);
    if (!parsed) return std::move(parsed).error().withContext(fs.hostPath(path));
    refaults[id] = report::at(values, report::Metric::kRefaultAnon) +
                   report::at(values, report::Metric::kRefaultFile);
  }
  return refaults;
}

PartitionLimits limitsFromState(const cpuset::ZoneView& zone) {
  PartitionLimits limits;
  int nodes = static_cast<int>(zone.nodes.size());
  if (zone.min_bytes) {
    limits.min_bytes = zone.min_bytes;
  } else {
    limits.min_nodes = nodes;
  }
  if (zone.max_bytes) {
    limits.max_bytes = zone.max_bytes;
  } else {
    limits.max_nodes = nodes;
  }
  return limits;
}

}  // namespace

PartitionLimits limitsFor(const planner::Spec& spec, const cpuset::ZoneView& zone) {
  for (const planner::PartitionSpec& partition : spec.partitions) {
    if (partition.name == zone.name) return limitsFromSpec(partition);
  }
  return limitsFromState(zone);
}

PressureSample pressureOf(const cpuset::Session& session, const cpuset::ZoneView& zone) {
  const cpuset::CgroupChoice& cgroup = session.zones.cgroup;
  report::Pressure read = report::readPressureAt(
      *session.fs, cgroup, kernel::joinPath(cgroup.mount_point, zone.cgroup_path));
  PressureSample sample;
  switch (read.source) {
    case report::Pressure::Source::kPsi:
      sample.source = PressureSample::Source::kPsi;
      break;
    case report::Pressure::Source::kCpusetV1:
      // With memory_pressure_enabled off the kernel reads 0 everywhere: that is not calm.
      sample.source =
          read.v1_enabled ? PressureSample::Source::kCpusetV1 : PressureSample::Source::kNone;
      break;
    case report::Pressure::Source::kNone:
      break;
  }
  sample.some_avg10 = read.some_avg10;
  sample.full_avg10 = read.full_avg10;
  sample.memory_pressure = read.memory_pressure;
  return sample;
}

double Sampler::refaultRate(const NodeSet& nodes, const std::map<int, uint64_t>& now,
                            int64_t now_ms) const {
  if (last_ms_ < 0 || now_ms <= last_ms_) return 0;
  uint64_t refaults = 0;
  for (int id : nodes.ids()) {
    auto before = last_refaults_.find(id);
    auto after = now.find(id);
    if (before == last_refaults_.end() || after == now.end()) continue;
    if (after->second > before->second) refaults += after->second - before->second;
  }
  return static_cast<double>(refaults) * 1000.0 / static_cast<double>(now_ms - last_ms_);
}

Status Sampler::refreshNodeTotals(const FsRoot& fs, const NodeSet& nodes, int64_t now_ms) {
  bool stale = totals_ms_ < 0 || now_ms - totals_ms_ >= kNodeTotalsMaxAgeMs;
  for (int id : nodes.ids()) stale = stale || totals_.count(id) == 0;
  if (!stale) return {};
  SZ_TRY(memory, zones::readNodeMemoryAt(fs));
  totals_.clear();
  for (const zones::NodeMemory& node : memory) totals_[node.id] = node.mem_total_bytes;
  totals_ms_ = now_ms;
  return {};
}

Result<std::map<int, NodeSample>> Sampler::nodeMemory(const FsRoot& fs, const NodeSet& nodes,
                                                      int64_t now_ms) {
  SZ_CHECK(refreshNodeTotals(fs, nodes, now_ms));
  SZ_TRY(free, zones::readNodeFreeBytesAt(fs));
  std::map<int, NodeSample> samples;
  for (int id : nodes.ids()) {
    auto total = totals_.find(id);
    if (total == totals_.end()) {
      return errnoError(ENOENT, "node " + std::to_string(id) + " has no readable " +
                                    kernel::nodeFile(id, kernel::kNodeMeminfoFile));
    }
    auto free_bytes = free.find(id);
    // Only a node without memory has no free list: one with memory and no line was misread.
    if (free_bytes == free.end() && total->second > 0) {
      return mismatch("node " + std::to_string(id) + " has " + formatSize(total->second) +
                      " of memory but no line in " + fs.hostPath(kernel::kProcBuddyinfo));
    }
    uint64_t free_now = free_bytes == free.end() ? 0 : free_bytes->second;
    samples[id] = NodeSample{id, total->second, free_now};
  }
  return samples;
}

Result<PolicyInput> Sampler::sample(const cpuset::Session& session, const planner::Spec& spec,
                                    int64_t now_ms, bool read_refaults) {
  PolicyInput input;
  input.now_ms = now_ms;
  const cpuset::ZoneView* free = session.zones.find(cpuset::kFreeZoneName);
  NodeSet partition_nodes;
  for (const cpuset::ZoneView* zone : session.zones.partitions()) {
    partition_nodes = partition_nodes.unionWith(zone->nodes);
  }
  NodeSet sampled = free ? partition_nodes.unionWith(free->nodes) : partition_nodes;
  SZ_TRY(memory, nodeMemory(*session.fs, sampled, now_ms));
  auto samplesOf = [&memory](const NodeSet& nodes) {
    std::vector<NodeSample> samples;
    for (int id : nodes.ids()) samples.push_back(memory.at(id));
    return samples;
  };
  std::map<int, uint64_t> refaults;
  if (read_refaults) {
    SZ_TRY(read, readRefaults(*session.fs, partition_nodes));
    refaults = std::move(read);
  }
  for (const cpuset::ZoneView* zone : session.zones.partitions()) {
    PartitionSample partition;
    partition.name = zone->name;
    partition.nodes = samplesOf(zone->nodes);
    partition.limits = limitsFor(spec, *zone);
    partition.pressure = pressureOf(session, *zone);
    if (read_refaults) partition.refaults_per_second = refaultRate(zone->nodes, refaults, now_ms);
    input.partitions.push_back(std::move(partition));
  }
  if (free) input.free_nodes = samplesOf(free->nodes);
  last_refaults_ = std::move(refaults);
  last_ms_ = read_refaults ? now_ms : -1;
  return input;
}

}  // namespace softzone::zoned

// zoned's sample of the machine: the session's zones and node sizes, each partition's pressure,
// and the refault rate from the nodes' vmstat counters.
#include "softzone/zoned/sampler.h"

#include "softzone/report/node_stats.h"
#include "softzone/report/pressure.h"
#include "softzone/zones/kernel_files.h"

namespace softzone::zoned {
namespace {

Result<NodeSample> nodeSample(const cpuset::Session& session, int id) {
  auto total = session.node_total_bytes.find(id);
  auto free = session.node_free_bytes.find(id);
  if (total == session.node_total_bytes.end() || free == session.node_free_bytes.end()) {
    return errnoError(ENOENT, "node " + std::to_string(id) + " has no readable " +
                                  kernel::nodeFile(id, kernel::kNodeMeminfoFile));
  }
  return NodeSample{id, total->second, free->second};
}

Result<std::vector<NodeSample>> nodeSamples(const cpuset::Session& session, const NodeSet& nodes) {
  std::vector<NodeSample> samples;
  for (int id : nodes.ids()) {
    SZ_TRY(sample, nodeSample(session, id));
    samples.push_back(sample);
  }
  return samples;
}

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

Result<PolicyInput> Sampler::sample(const cpuset::Session& session, const planner::Spec& spec,
                                    int64_t now_ms) {
  PolicyInput input;
  input.now_ms = now_ms;
  NodeSet partition_nodes;
  for (const cpuset::ZoneView* zone : session.zones.partitions()) {
    partition_nodes = partition_nodes.unionWith(zone->nodes);
  }
  SZ_TRY(refaults, readRefaults(*session.fs, partition_nodes));
  for (const cpuset::ZoneView* zone : session.zones.partitions()) {
    PartitionSample partition;
    partition.name = zone->name;
    SZ_TRY(nodes, nodeSamples(session, zone->nodes));
    partition.nodes = std::move(nodes);
    partition.limits = limitsFor(spec, *zone);
    partition.pressure = pressureOf(session, *zone);
    partition.refaults_per_second = refaultRate(zone->nodes, refaults, now_ms);
    input.partitions.push_back(std::move(partition));
  }
  if (const cpuset::ZoneView* free = session.zones.find(cpuset::kFreeZoneName)) {
    SZ_TRY(nodes, nodeSamples(session, free->nodes));
    input.free_nodes = std::move(nodes);
  }
  last_refaults_ = std::move(refaults);
  last_ms_ = now_ms;
  return input;
}

}  // namespace softzone::zoned

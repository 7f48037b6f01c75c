// Builds the Plan for the chosen node count: physical nodes and their fake nodes, the zones in
// reading order, the free pool, and the CPUs each zone gets.
#include "plan_builder.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <string>
#include <utility>

namespace softzone::planner::detail {
namespace {

// Gives out CPUs once the nodes are placed: explicit lists first (they are promises), then counts
// in placement order from each partition's own physical node, sharing only when it runs short.
class CpuAssigner {
 public:
  CpuAssigner(const Machine& machine, const Spec& spec, Plan& plan)
      : machine_(machine), spec_(spec), plan_(plan), all_(machine.allCpus()) {}

  void assign(const std::vector<Demand>& demands, const std::vector<size_t>& zone_of_demand) {
    for (size_t i = 0; i < spec_.partitions.size(); ++i) {
      if (spec_.partitions[i].cpu_list) claimList(i);
    }
    for (size_t d = 0; d < demands.size(); ++d) {
      if (demands[d].kind != ZoneKind::kPartition) continue;
      const PartitionSpec& p = spec_.partitions[static_cast<size_t>(demands[d].partition)];
      PlannedZone& zone = plan_.zones[zone_of_demand[d]];
      if (p.cpu_count > 0) {
        takeCount(p, zone);
      } else if (!p.cpu_list) {
        zone.cpus = packageCpus(zone);  // shared with whoever else lives there
      }
    }
  }

  NodeSet unclaimed() const { return all_.minus(claimed_); }

 private:
  PlannedZone& zoneNamed(const std::string& name) {
    for (PlannedZone& zone : plan_.zones) {
      if (zone.name == name) return zone;
    }
    std::abort();  // every partition has a zone
  }

  void claimList(size_t index) {
    const PartitionSpec& p = spec_.partitions[index];
    PlannedZone& zone = zoneNamed(p.name);
    zone.cpus = *p.cpu_list;
    NodeSet overlap = p.cpu_list->intersectionWith(claimed_);
    if (!overlap.empty()) {
      zone.warnings.push_back("CPUs " + overlap.format() +
                              " are also listed by another partition; they will be shared");
    }
    claimed_ = claimed_.unionWith(*p.cpu_list);
  }

  NodeSet packageCpus(const PlannedZone& zone) const {
    NodeSet cpus;
    for (int physical : zone.physical_nodes.ids()) {
      cpus = cpus.unionWith(machine_.physical_nodes[static_cast<size_t>(physical)].cpus);
    }
    return cpus.empty() ? all_ : cpus;
  }

  void takeCount(const PartitionSpec& p, PlannedZone& zone) {
    NodeSet own = packageCpus(zone);
    NodeSet others = all_.minus(own);
    // In order of preference: free on its package, shared on its package, then other packages.
    const NodeSet tiers[] = {own.minus(claimed_), own.intersectionWith(claimed_),
                             others.minus(claimed_), others.intersectionWith(claimed_)};
    NodeSet taken[4];
    int wanted = p.cpu_count;
    for (int t = 0; t < 4 && wanted > 0; ++t) {
      for (int cpu : tiers[t].ids()) {
        if (wanted == 0) break;
        taken[t].insert(cpu);
        --wanted;
      }
    }
    for (const NodeSet& part : taken) zone.cpus = zone.cpus.unionWith(part);
    claimed_ = claimed_.unionWith(zone.cpus);
    if (!taken[1].empty() || !taken[3].empty()) {
      zone.warnings.push_back("too few free CPUs for " + std::to_string(p.cpu_count) +
                              ": shares CPUs " + taken[1].unionWith(taken[3]).format() +
                              " with other partitions");
    }
    if (!taken[2].empty() || !taken[3].empty()) {
      zone.warnings.push_back("its physical node has too few CPUs: takes CPUs " +
                              taken[2].unionWith(taken[3]).format() + " from other physical nodes");
    }
  }

  const Machine& machine_;
  const Spec& spec_;
  Plan& plan_;
  NodeSet all_;
  NodeSet claimed_;
};

// Builds the Plan for the chosen N from the evaluator's placements.
class PlanBuilder {
 public:
  PlanBuilder(const Machine& machine, const Spec& spec, const PlannerOptions& options)
      : machine_(machine), spec_(spec), options_(options) {}

  Plan build(int n, const std::vector<Demand>& demands, const std::vector<Placement>& placements,
             const Evaluator& geometry) {
    size_t physical_count = machine_.physical_nodes.size();
    plan_.fake_numa.kind =
        physical_count > 1 ? FakeNuma::Kind::kPerPhysical : FakeNuma::Kind::kCount;
    plan_.fake_numa.count = n;
    plan_.fake_numa_arg = formatFakeNumaArg(plan_.fake_numa);
    plan_.nodes_per_physical = n;
    plan_.node_count = n * static_cast<int>(physical_count);
    plan_.size_margin = options_.size_margin;
    plan_.max_nodes_per_partition = options_.max_nodes_per_partition;
    plan_.kernel_image_bytes = spec_.machine.kernel_image_bytes;
    plan_.node_size_from_spec = spec_.machine.node_size_bytes.has_value();
    addPhysicalNodes(n, geometry);
    addZones(demands, placements, geometry);
    addFreePool();
    CpuAssigner cpus(machine_, spec_, plan_);
    cpus.assign(demands, zone_of_demand_);
    finishZones(cpus.unclaimed());
    return std::move(plan_);
  }

 private:
  void addPhysicalNodes(int n, const Evaluator& geometry) {
    bool per_physical = machine_.physical_nodes.size() > 1;
    plan_.node_size_bytes = std::numeric_limits<uint64_t>::max();
    plan_.usable_node_bytes = std::numeric_limits<uint64_t>::max();
    for (size_t p = 0; p < machine_.physical_nodes.size(); ++p) {
      int physical_id = static_cast<int>(p);
      PlannedPhysical physical;
      physical.physical = physical_id;
      physical.mem_bytes = machine_.physical_nodes[p].mem_bytes;
      // The evaluator accepted n, so the split exists.
      PhysicalSplit split =
          *splitPhysical(physical.mem_bytes, n, per_physical, machine_.min_node_bytes);
      physical.node_size_bytes = split.node_bytes;
      physical.last_node_size_bytes = split.last_node_bytes;
      physical.usable_node_bytes = geometry.usable(physical_id).node;
      physical.usable_last_node_bytes = geometry.usable(physical_id).last;
      physical.nodes = NodeSet::range(physical_id * n, physical_id * n + n - 1);
      physical.cpus = machine_.physical_nodes[p].cpus;
      plan_.node_size_bytes = std::min(plan_.node_size_bytes, physical.node_size_bytes);
      plan_.usable_node_bytes = std::min(plan_.usable_node_bytes, physical.usable_node_bytes);
      for (int local = 0; local < n; ++local) {
        bool last = local == n - 1;
        plan_.nodes.push_back(
            {physical_id * n + local, physical_id, std::string(kFreeZone),
             last ? split.last_node_bytes : split.node_bytes,
             last ? physical.usable_last_node_bytes : physical.usable_node_bytes});
      }
      plan_.physical_nodes.push_back(std::move(physical));
    }
  }

  // Zones in the order people read them: system, shared, partitions as the spec lists them.
  void addZones(const std::vector<Demand>& demands, const std::vector<Placement>& placements,
                const Evaluator& geometry) {
    std::vector<size_t> order(demands.size());
    for (size_t d = 0; d < demands.size(); ++d) order[d] = d;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return demands[a].partition < demands[b].partition;  // system and shared are -1
    });
    zone_of_demand_.assign(demands.size(), 0);
    for (size_t d : order) {
      zone_of_demand_[d] = plan_.zones.size();
      plan_.zones.push_back(zoneFor(demands[d], placements[d], geometry));
    }
  }

  PlannedZone zoneFor(const Demand& demand, const Placement& placement, const Evaluator& geometry) {
    PlannedZone zone;
    zone.name = std::string(demand.name);
    zone.kind = demand.kind;
    zone.requested_bytes = demand.requested;
    zone.local = placement.local;
    int n = plan_.nodes_per_physical;
    for (const Span& span : placement.spans) {
      zone.physical_nodes.insert(span.physical);
      zone.capacity_bytes += geometry.spanBytes(span.physical, span.first, span.count);
      for (int i = 0; i < span.count; ++i) {
        int id = span.physical * n + span.first + i;
        zone.nodes.insert(id);
        plan_.nodes[static_cast<size_t>(id)].zone = zone.name;
      }
    }
    if (!placement.local) zone.warnings.push_back(placement.split_reason);
    plan_.waste_bytes += zone.capacity_bytes - demand.bytes;  // the allowance is not waste
    if (demand.kind == ZoneKind::kShared) zone.bind_paths = spec_.shared.bind_paths;
    if (demand.kind == ZoneKind::kPartition) {
      const PartitionSpec& p = spec_.partitions[static_cast<size_t>(demand.partition)];
      zone.min_bytes = p.min_bytes;
      zone.max_bytes = p.max_bytes;
      zone.mem_hardwall = p.mem_hardwall;
      if (zone.nodes.size() > options_.max_nodes_per_partition) {
        zone.warnings.push_back(
            "spans " + std::to_string(zone.nodes.size()) + " nodes, more than the " +
            std::to_string(options_.max_nodes_per_partition) +
            " per partition that keep allocation cheap" +
            (plan_.node_size_from_spec ? "; a larger node_size would avoid it" : ""));
      }
    }
    return zone;
  }

  void addFreePool() {
    PlannedZone free;
    free.name = std::string(kFreeZone);
    free.kind = ZoneKind::kFree;
    for (const PlannedNode& node : plan_.nodes) {
      if (node.zone != kFreeZone) continue;
      PlannedPhysical& physical = plan_.physical_nodes[static_cast<size_t>(node.physical)];
      physical.free_nodes.insert(node.id);
      physical.free_bytes += node.usable_bytes;
      free.nodes.insert(node.id);
      free.physical_nodes.insert(node.physical);
      free.capacity_bytes += node.usable_bytes;
    }
    free.local = free.physical_nodes.size() <= 1;
    plan_.zones.push_back(std::move(free));
  }

  void finishZones(const NodeSet& unclaimed) {
    NodeSet system_cpus = unclaimed;
    uint64_t free_bytes = plan_.zones.back().capacity_bytes;
    for (PlannedZone& zone : plan_.zones) {
      if (zone.kind == ZoneKind::kSystem && system_cpus.empty()) {
        system_cpus = machine_.allCpus();
        zone.warnings.push_back("partitions took every CPU; the host shares all of them");
      }
      if (zone.kind == ZoneKind::kSystem || zone.kind == ZoneKind::kShared) zone.cpus = system_cpus;
      if (zone.max_bytes && *zone.max_bytes > zone.capacity_bytes + free_bytes) {
        zone.warnings.push_back("max " + readableSize(*zone.max_bytes) +
                                " is more than the free pool could ever give it (" +
                                readableSize(zone.capacity_bytes) + " + " +
                                readableSize(free_bytes) +
                                " free = " + readableSize(zone.capacity_bytes + free_bytes) + ")");
      }
    }
  }

  const Machine& machine_;
  const Spec& spec_;
  const PlannerOptions& options_;
  Plan plan_;
  std::vector<size_t> zone_of_demand_;
};

}  // namespace

Plan buildPlan(const Machine& machine, const Spec& spec, const PlannerOptions& options, int n,
               const std::vector<Demand>& demands, const std::vector<Placement>& placements,
               const Evaluator& geometry) {
  return PlanBuilder(machine, spec, options).build(n, demands, placements, geometry);
}

}  // namespace softzone::planner::detail

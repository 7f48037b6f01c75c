// What every plan must satisfy, checked from the outside; shared by the planner and property tests.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "softzone/planner/fake_numa.h"
#include "softzone/planner/plan.h"
#include "softzone/planner/spec.h"

namespace softzone::planner::testing {

// "p7": built by appending, since g++ 12 -O3 warns falsely (-Wrestrict) on "p" + std::string&&.
inline std::string numbered(std::string_view prefix, int i) {
  std::string name(prefix);
  name += std::to_string(i);
  return name;
}

inline PartitionSpec partition(std::string name, uint64_t memory_bytes, int cpu_count = 0) {
  PartitionSpec p;
  p.name = std::move(name);
  p.memory_bytes = memory_bytes;
  p.cpu_count = cpu_count;
  return p;
}

// `physical` equal physical nodes of `mem_each`, each with `cpus_each` CPUs numbered in order.
inline Machine machine(int physical, uint64_t mem_each, int cpus_each = 4,
                       int max_nodes = kMaxFakeNodes) {
  Machine m;
  m.max_nodes = max_nodes;
  for (int p = 0; p < physical; ++p) {
    m.physical_nodes.push_back(
        {p, mem_each, NodeSet::range(p * cpus_each, p * cpus_each + cpus_each - 1)});
  }
  return m;
}

// No kernel-image allowance, so tests of the geometry read in whole nodes; the allowance has
// tests of its own and the property tests draw it at random.
inline Spec spec(uint64_t reserve, uint64_t shared, std::vector<PartitionSpec> partitions) {
  Spec s;
  s.machine.reserve_bytes = reserve;
  s.machine.kernel_image_bytes = 0;
  s.shared.size_bytes = shared;
  s.partitions = std::move(partitions);
  return s;
}

inline uint64_t usableOf(const Plan& plan, const NodeSet& nodes) {
  uint64_t bytes = 0;
  for (int id : nodes.ids()) bytes += plan.nodes[static_cast<size_t>(id)].usable_bytes;
  return bytes;
}

// The invariants the issue asks for, and the bookkeeping that makes them checkable.
inline ::testing::AssertionResult planHolds(const Machine& machine, const Spec& spec,
                                            const Plan& plan) {
  if (plan.nodes.empty()) return ::testing::AssertionFailure() << "no plan";
  auto fail = [&](const std::string& what) {
    return ::testing::AssertionFailure() << what << "\n" << formatPlanText(plan);
  };
  size_t physical = machine.physical_nodes.size();
  int n = plan.nodes_per_physical;
  if (n < 1 || plan.node_count != n * static_cast<int>(physical)) return fail("node count");
  if (plan.node_count > machine.max_nodes) return fail("more nodes than the kernel allows");
  if (plan.nodes.size() != static_cast<size_t>(plan.node_count)) return fail("node list size");
  std::string arg = std::to_string(n) + (physical > 1 ? "U" : "");
  if (plan.fake_numa_arg != arg) return fail("fake_numa_arg " + plan.fake_numa_arg + " != " + arg);
  if (formatKernelCmdline(plan) != "numa=fake=" + arg) return fail("cmdline");
  auto parsed = parseFakeNumaArg(plan.fake_numa_arg);
  if (!parsed || parsed->count != n) return fail("fake_numa_arg does not parse back");
  for (size_t i = 0; i < plan.nodes.size(); ++i) {
    const PlannedNode& node = plan.nodes[i];
    if (node.id != static_cast<int>(i) || node.physical != node.id / n) return fail("node ids");
    if (node.size_bytes < machine.min_node_bytes) {
      return fail("node " + std::to_string(node.id) + " below the kernel minimum");
    }
    if (node.usable_bytes > node.size_bytes) return fail("usable above size");
  }
  if (plan.zones.empty() || plan.zones.front().kind != ZoneKind::kSystem ||
      plan.zones.back().kind != ZoneKind::kFree) {
    return fail("zone order");
  }
  const PlannedZone& system = plan.zones.front();
  if (!system.nodes.contains(0)) return fail("node 0 is not in the system zone");
  // Every zone holds its request plus the kernel-image allowance, which is not waste.
  uint64_t image = spec.machine.kernel_image_bytes;
  if (plan.kernel_image_bytes != image) return fail("kernel_image_bytes");
  if (system.capacity_bytes < spec.machine.reserve_bytes + image) {
    return fail("system below reserve and kernel image");
  }
  NodeSet seen;
  uint64_t waste = 0;
  for (const PlannedZone& zone : plan.zones) {
    if (zone.nodes.intersects(seen)) return fail("zone " + zone.name + " shares a node");
    seen = seen.unionWith(zone.nodes);
    if (usableOf(plan, zone.nodes) != zone.capacity_bytes) return fail(zone.name + " capacity");
    for (int id : zone.nodes.ids()) {
      if (plan.nodes[static_cast<size_t>(id)].zone != zone.name) return fail("node zone names");
    }
    if (zone.kind != ZoneKind::kFree) {
      if (zone.nodes.empty()) return fail(zone.name + " has no nodes");
      if (zone.capacity_bytes < zone.requested_bytes + image) return fail(zone.name + " is short");
      waste += zone.capacity_bytes - zone.requested_bytes - image;
      if (zone.local != (zone.physical_nodes.size() == 1)) return fail(zone.name + " local flag");
    }
  }
  if (seen.size() != plan.node_count) return fail("a node is in no zone");
  if (waste != plan.waste_bytes) return fail("waste_bytes");
  if (plan.waste_lower_bound_bytes > plan.best_feasible_waste_bytes ||
      plan.best_feasible_waste_bytes > plan.waste_bytes) {
    return fail("lower bound <= best feasible <= waste");
  }
  if (spec.shared.size_bytes > 0) {
    const PlannedZone* shared = plan.zone(kSharedZone);
    if (!shared || shared->requested_bytes != spec.shared.size_bytes) return fail("shared zone");
  } else if (plan.zone(kSharedZone)) {
    return fail("a shared zone nobody asked for");
  }
  // Free capacity left on each physical node at the end: it only shrinks while zones are placed,
  // so a split partition must not fit in what any physical node still has free.
  std::vector<uint64_t> free_bytes(physical, 0);
  for (const PlannedPhysical& p : plan.physical_nodes) {
    free_bytes[static_cast<size_t>(p.physical)] = usableOf(plan, p.free_nodes);
  }
  for (const PartitionSpec& p : spec.partitions) {
    const PlannedZone* zone = plan.zone(p.name);
    if (!zone || zone->kind != ZoneKind::kPartition)
      return fail("partition " + p.name + " missing");
    if (zone->capacity_bytes < p.memory_bytes + image) {
      return fail("partition " + p.name + " is short");
    }
    if (zone->requested_bytes != p.memory_bytes) return fail(p.name + " requested");
    if (!zone->local) {
      for (size_t q = 0; q < physical; ++q) {
        if (free_bytes[q] >= p.memory_bytes) {
          return fail(p.name + " is split but physical node " + std::to_string(q) +
                      " still has room for it");
        }
      }
    }
    if (p.cpu_list && zone->cpus != *p.cpu_list) return fail(p.name + " cpus != its list");
    if (p.cpu_count > 0 && zone->cpus.size() != p.cpu_count) return fail(p.name + " cpu count");
    if (zone->min_bytes != p.min_bytes || zone->max_bytes != p.max_bytes) return fail("min/max");
  }
  // Nodes are handed out from the low end of each physical node: a zone's nodes on one physical
  // node are contiguous.
  for (const PlannedZone& zone : plan.zones) {
    if (zone.kind == ZoneKind::kFree) continue;
    for (int q : zone.physical_nodes.ids()) {
      NodeSet here = zone.nodes.intersectionWith(NodeSet::range(q * n, q * n + n - 1));
      if (here.last() - here.first() + 1 != here.size()) return fail(zone.name + " not contiguous");
    }
  }
  if (!machine.allCpus().empty() && system.cpus.empty()) return fail("system zone has no CPUs");
  return ::testing::AssertionSuccess();
}

}  // namespace softzone::planner::testing

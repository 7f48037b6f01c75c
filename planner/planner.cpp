// The planner: check the spec, search numa=fake= node counts for the best placement, explain
// misfits.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include "placement.h"
#include "plan_builder.h"
#include "softzone/planner/plan.h"

namespace softzone::planner {

using detail::Beat;
using detail::buildPlan;
using detail::ceilDiv;
using detail::Demand;
using detail::Evaluator;
using detail::fakeArgFor;
using detail::kNoWaste;
using detail::kPpm;
using detail::neededText;
using detail::Outcome;
using detail::Placement;
using detail::plural;
using detail::splitPhysical;
using detail::usableBytes;
using detail::UsableSplit;
using detail::usableSplits;
using detail::wasteLowerBound;

namespace {

// Beyond this the "usable" part of a node is too small for the estimate to mean anything.
constexpr double kMaxSizeMargin = 0.9;

std::string percent(double fraction) {
  double value = fraction * 100;
  char buf[32];
  if (value == std::floor(value)) {
    std::snprintf(buf, sizeof(buf), "%.0f%%", value);
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f%%", value);
  }
  return buf;
}

uint64_t saturatingAdd(uint64_t a, uint64_t b) {
  return a + b < a ? std::numeric_limits<uint64_t>::max() : a + b;
}

// Turns the spec into demands in placement order: system, shared, then partitions largest first
// (ties by name, so the plan does not depend on the file's order).
// Every zone also gets room for the kernel image: KASLR puts it in a node no plan can predict.
std::vector<Demand> demandsFor(const Spec& spec) {
  uint64_t image = spec.machine.kernel_image_bytes;
  auto demand = [image](ZoneKind kind, int partition, uint64_t requested, std::string_view name) {
    return Demand{kind, partition, saturatingAdd(requested, image), name, requested};
  };
  std::vector<Demand> demands;
  demands.push_back(demand(ZoneKind::kSystem, -1, spec.machine.reserve_bytes, kSystemZone));
  if (spec.shared.size_bytes > 0) {
    demands.push_back(demand(ZoneKind::kShared, -1, spec.shared.size_bytes, kSharedZone));
  }
  size_t first = demands.size();
  for (size_t i = 0; i < spec.partitions.size(); ++i) {
    const PartitionSpec& p = spec.partitions[i];
    demands.push_back(demand(ZoneKind::kPartition, static_cast<int>(i), p.memory_bytes, p.name));
  }
  std::sort(demands.begin() + static_cast<std::ptrdiff_t>(first), demands.end(),
            [](const Demand& a, const Demand& b) {
              return a.bytes != b.bytes ? a.bytes > b.bytes : a.name < b.name;
            });
  return demands;
}

std::string partitionWhere(const Spec& spec, const PartitionSpec& p, int line) {
  return specLocation(spec.file_name, line) + "[partition." + p.name + "] ";
}

// Checks a spec that may have been built in code rather than parsed, and the options.
Status checkInputs(const Machine& machine, const Spec& spec, const PlannerOptions& options) {
  if (!(options.size_margin >= 0 && options.size_margin <= kMaxSizeMargin)) {
    return badInput("size margin " + std::to_string(options.size_margin) + " is outside 0 to " +
                    std::to_string(kMaxSizeMargin));
  }
  if (options.max_nodes_per_partition < 1) {
    return badInput("max nodes per partition must be at least 1");
  }
  if (machine.physical_nodes.empty()) return badInput("the machine has no physical NUMA node");
  if (machine.max_nodes < 1) return badInput("the machine's maximum node count must be at least 1");
  if (machine.min_node_bytes == 0) return badInput("the minimum node size must be above 0");
  if (spec.partitions.empty()) return badInput(specLocation(spec.file_name, 0) + "no partitions");
  std::map<std::string_view, int> seen;
  for (const PartitionSpec& p : spec.partitions) {
    if (auto problem = checkPartitionName(p.name)) {
      return badInput(specLocation(spec.file_name, p.line) + *problem);
    }
    if (!seen.emplace(p.name, p.line).second) {
      return badInput(specLocation(spec.file_name, p.line) + "partition " + p.name +
                      " is given twice");
    }
    if (p.memory_bytes == 0) {
      return badInput(partitionWhere(spec, p, p.line) + "memory must be above 0");
    }
  }
  return {};
}

// Explicit CPU lists must name CPUs the machine has: a typo would otherwise pin a partition to
// nothing at apply time. Counts must be satisfiable at all, even by sharing.
Status checkCpus(const Machine& machine, const Spec& spec) {
  NodeSet all = machine.allCpus();
  for (const PartitionSpec& p : spec.partitions) {
    if (p.cpu_list) {
      NodeSet missing = p.cpu_list->minus(all);
      if (!missing.empty()) {
        return badInput(partitionWhere(spec, p, p.cpus_line) + "cpus = " + p.cpu_list->format() +
                        ": CPU " + std::to_string(missing.first()) +
                        " is not on this machine (it has CPUs " +
                        (all.empty() ? std::string("none") : all.format()) + ")");
      }
    } else if (p.cpu_count > all.size()) {
      return infeasible("partition " + p.name + " asks for " + plural(p.cpu_count, "CPU", "CPUs") +
                        "; the machine has " + std::to_string(all.size()));
    }
  }
  return {};
}

uint64_t totalRequested(const std::vector<Demand>& demands) {
  uint64_t total = 0;
  for (const Demand& d : demands) total = saturatingAdd(total, d.bytes);
  return total;
}

// The explanations that hold whatever N is chosen, checked in the order an admin would fix them.
std::optional<std::string> explainWholeMachine(const Machine& machine, const Spec& spec,
                                               const std::vector<Demand>& demands,
                                               const PlannerOptions& options, uint64_t keep_ppm,
                                               int max_n) {
  uint64_t mem = 0;
  uint64_t usable = 0;
  for (const PhysicalNodeInfo& node : machine.physical_nodes) {
    mem += node.mem_bytes;
    usable += usableBytes(node.mem_bytes, keep_ppm);
  }
  uint64_t most_nodes = static_cast<uint64_t>(max_n) * machine.physical_nodes.size();
  if (demands.size() > most_nodes) {
    return plural(spec.partitions.size(), "partition", "partitions") +
           (spec.shared.size_bytes > 0 ? ", the system zone and the shared zone"
                                       : " and the system zone") +
           " need at least " + std::to_string(demands.size()) +
           " nodes, one each; the machine can have at most " + std::to_string(most_nodes) +
           " (the kernel's " + std::to_string(machine.max_nodes) + " nodes, at least " +
           readableSize(machine.min_node_bytes) + " each)";
  }
  uint64_t reserve = spec.machine.reserve_bytes;
  uint64_t image = spec.machine.kernel_image_bytes;
  uint64_t total = totalRequested(demands);
  uint64_t asked = 0;
  for (const Demand& d : demands) asked = saturatingAdd(asked, d.requested);
  uint64_t images = total - std::min(total, asked);
  uint64_t rest = total - std::min(total, reserve + images);
  if (total > usable) {
    std::string margin = options.size_margin > 0
                             ? ", " + readableSize(usable) + " usable after the " +
                                   percent(options.size_margin) + " margin for unequal fake nodes"
                             : "";
    std::string allowance = image > 0
                                ? ", and " + readableSize(image) + " in each of the " +
                                      std::to_string(demands.size()) +
                                      " zones for the kernel image (" + readableSize(images) + ")"
                                : "";
    return "needs " + readableSize(rest) + " for partitions" +
           (spec.shared.size_bytes > 0 ? " and the shared zone" : "") + " after a " +
           readableSize(reserve) + " reserve" + allowance + "; the machine has " +
           readableSize(mem) + margin + " (" +
           readableSize(usable - std::min(usable, reserve + images)) +
           (image > 0 ? " after the reserve and the allowance)" : " after the reserve)");
  }
  uint64_t physical0 = usableBytes(machine.physical_nodes[0].mem_bytes, keep_ppm);
  if (demands[0].bytes > physical0) {
    return "the " + neededText(demands[0]) + " reserve does not fit on physical node 0 (" +
           readableSize(machine.physical_nodes[0].mem_bytes) + ", " + readableSize(physical0) +
           " usable): the system zone holds node 0 and stays on its physical node";
  }
  return std::nullopt;
}

// Node counts the kernel accepts: N per physical node, N * physical <= max_nodes, nodes >= the
// minimum. 0 when none.
int maxNodesPerPhysical(const Machine& machine) {
  uint64_t max_n = static_cast<uint64_t>(machine.max_nodes) / machine.physical_nodes.size();
  for (const PhysicalNodeInfo& node : machine.physical_nodes) {
    max_n = std::min(max_n, node.mem_bytes / machine.min_node_bytes);
  }
  return static_cast<int>(max_n);
}

Result<int> nodesFromNodeSize(const Machine& machine, uint64_t node_size) {
  if (node_size < machine.min_node_bytes) {
    return infeasible("node_size " + readableSize(node_size) + " is below the kernel's " +
                      readableSize(machine.min_node_bytes) + " minimum");
  }
  uint64_t n = std::numeric_limits<uint64_t>::max();
  for (size_t p = 0; p < machine.physical_nodes.size(); ++p) {
    uint64_t mem = machine.physical_nodes[p].mem_bytes;
    if (mem < node_size) {
      return infeasible("node_size " + readableSize(node_size) + " is larger than physical node " +
                        std::to_string(p) + " (" + readableSize(mem) + ")");
    }
    n = std::min(n, mem / node_size);
  }
  uint64_t physical = machine.physical_nodes.size();
  if (n * physical > static_cast<uint64_t>(machine.max_nodes)) {
    return infeasible("node_size " + readableSize(node_size) + " gives " + std::to_string(n) +
                      " nodes per physical node x " + std::to_string(physical) + " = " +
                      std::to_string(n * physical) + ", more than the kernel's " +
                      std::to_string(machine.max_nodes) + " nodes");
  }
  return static_cast<int>(n);
}

// Lower is better: the planner's priorities after feasibility, in order.
bool betterThan(const Outcome& a, int a_n, const Outcome& b, int b_n) {
  return std::tie(a.over_cap, a.split, a.waste, a_n) < std::tie(b.over_cap, b.split, b.waste, b_n);
}

// Why the kernel cannot make n nodes of each physical node, for a node_size from the spec.
std::string explainSplit(const Machine& machine, int n) {
  bool per_physical = machine.physical_nodes.size() > 1;
  for (size_t p = 0; p < machine.physical_nodes.size(); ++p) {
    uint64_t mem = machine.physical_nodes[p].mem_bytes;
    if (splitPhysical(mem, n, per_physical, machine.min_node_bytes)) continue;
    uint64_t step = machine.min_node_bytes;
    uint64_t node = ceilDiv(std::max(mem / static_cast<uint64_t>(n), step), step) * step;
    return "numa=fake=" + fakeArgFor(machine.physical_nodes.size(), n) + " rounds nodes up to " +
           readableSize(node) + " (a multiple of " + readableSize(step) + "), and " +
           std::to_string(n - 1) + " of them leave less than " + readableSize(step) +
           " of physical node " + std::to_string(p) + " (" + readableSize(mem) +
           ") for the last; the kernel would refuse it or make a useless node";
  }
  return "numa=fake=" + fakeArgFor(machine.physical_nodes.size(), n) + " cannot be laid out";
}

}  // namespace

NodeSet Machine::allCpus() const {
  NodeSet all;
  for (const PhysicalNodeInfo& node : physical_nodes) all = all.unionWith(node.cpus);
  return all;
}

const PlannedZone* Plan::zone(std::string_view name) const noexcept {
  for (const PlannedZone& z : zones) {
    if (z.name == name) return &z;
  }
  return nullptr;
}

Result<Plan> planZones(const Machine& machine, const Spec& spec, const PlannerOptions& options) {
  SZ_CHECK(checkInputs(machine, spec, options));
  SZ_CHECK(checkCpus(machine, spec));
  uint64_t keep_ppm = kPpm - static_cast<uint64_t>(std::llround(options.size_margin * kPpm));
  std::vector<Demand> demands = demandsFor(spec);
  int max_n = maxNodesPerPhysical(machine);
  if (max_n == 0) {
    return infeasible("the machine cannot be split: " +
                      plural(machine.physical_nodes.size(), "physical node", "physical nodes") +
                      ", the kernel allows " + std::to_string(machine.max_nodes) +
                      " nodes of at least " + readableSize(machine.min_node_bytes) + " each");
  }
  int first_n = 1;
  int last_n = max_n;
  if (spec.machine.node_size_bytes) {
    SZ_TRY(n, nodesFromNodeSize(machine, *spec.machine.node_size_bytes));
    std::vector<UsableSplit> probe;
    if (!usableSplits(machine, n, keep_ppm, probe)) {
      return infeasible("node_size " + readableSize(*spec.machine.node_size_bytes) + ": " +
                        explainSplit(machine, n));
    }
    first_n = last_n = n;
  }

  Evaluator evaluator(machine, demands, keep_ppm, options.max_nodes_per_partition);
  int best_n = 0;
  Outcome best;
  int closest_n = 0;
  int closest_placed = -1;
  uint64_t best_feasible_waste = kNoWaste;
  Beat beat;
  // Largest first: fine granularity usually wastes least, so good plans come early and cut the
  // evaluation of worse ones short.
  for (int n = last_n; n >= first_n; --n) {
    Outcome outcome = evaluator.evaluate(n, nullptr, false, best_n == 0 ? nullptr : &beat);
    if (outcome.beaten) continue;
    if (!outcome.feasible) {
      if (outcome.valid_geometry && outcome.placed > closest_placed) {
        closest_placed = outcome.placed;
        closest_n = n;
      }
      continue;
    }
    best_feasible_waste = std::min(best_feasible_waste, outcome.waste);
    if (best_n == 0 || betterThan(outcome, n, best, best_n)) {
      best = outcome;
      best_n = n;
    }
    beat = {best.over_cap, best.split, best.waste, best_feasible_waste};
  }
  if (best_n == 0) {
    if (auto reason = explainWholeMachine(machine, spec, demands, options, keep_ppm, max_n)) {
      return infeasible(*reason);
    }
    if (closest_n == 0) {
      return infeasible("the kernel cannot split this machine into nodes of at least " +
                        readableSize(machine.min_node_bytes));
    }
    std::string failure = evaluator.evaluate(closest_n, nullptr, true).failure;
    if (spec.machine.node_size_bytes) {
      return infeasible("node_size " + readableSize(*spec.machine.node_size_bytes) +
                        " does not fit the spec: " + failure);
    }
    return infeasible("no numa=fake= node count fits every zone; the closest: " + failure);
  }

  std::vector<Placement> placements;
  evaluator.evaluate(best_n, &placements, false);
  Plan plan = buildPlan(machine, spec, options, best_n, demands, placements, evaluator);
  plan.waste_lower_bound_bytes = wasteLowerBound(machine, demands, keep_ppm, max_n);
  plan.best_feasible_waste_bytes = best_feasible_waste;
  return plan;
}

}  // namespace softzone::planner

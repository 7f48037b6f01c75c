// Planning an apply (pure): the actions that turn the live partitions into the spec's, in order.
#include <algorithm>
#include <map>

#include "softzone/cpuset/partitions.h"

namespace softzone::cpuset {

namespace {

// Whether a live partition already has the spec's settings other than nodes.
bool settingsMatch(const ZoneView& zone, const StatePartition* record, const DesiredPartition& p) {
  if (record == nullptr || record->min_bytes != p.min_bytes || record->max_bytes != p.max_bytes) {
    return false;
  }
  if (zone.cpus == p.cpus && zone.mem_hardwall == p.mem_hardwall) return true;
  // v2 reports a partition without CPUs of its own by its effective CPUs: compare by record.
  return record->cpus == p.cpus && record->mem_hardwall == p.mem_hardwall;
}

// Live partitions the spec lacks: destroyed first with --prune, else kept unless they hold nodes
// the spec gives to another zone (bad input).
Status planPartitionsTheSpecLacks(const MachineZones& zones, const DesiredZones& desired,
                                  const NodeSet& reserved, bool prune, ApplyPlan& plan,
                                  std::map<std::string, NodeSet>& holds) {
  NodeSet wanted_by_spec = reserved;
  for (const DesiredPartition& p : desired.partitions)
    wanted_by_spec = wanted_by_spec.unionWith(p.nodes);
  for (const ZoneView* zone : zones.partitions()) {
    bool in_spec = std::any_of(desired.partitions.begin(), desired.partitions.end(),
                               [&](const DesiredPartition& p) { return p.name == zone->name; });
    if (in_spec) continue;
    if (prune) {
      plan.actions.push_back(
          {"destroy", DesiredPartition{zone->name, {}, {}, {}, {}, false}, zone->nodes});
      holds.erase(zone->name);
      continue;
    }
    NodeSet clash = zone->nodes.intersectionWith(wanted_by_spec);
    if (!clash.empty()) {
      return badInput("partition " + zone->name + " is not in the spec and holds nodes " +
                      clash.format() +
                      " the spec gives to another zone; add --prune to destroy "
                      "partitions the spec lacks");
    }
    plan.kept.push_back(zone->name);
  }
  return {};
}

}  // namespace

Result<ApplyPlan> planApply(const MachineZones& zones, const DesiredZones& desired, bool prune) {
  for (const DesiredPartition& p : desired.partitions) {
    if (auto clash = checkPartitionCgroupName(p.name)) return badInput(*clash);
  }
  ApplyPlan plan;
  NodeSet reserved = desired.system.nodes;
  if (desired.shared) reserved = reserved.unionWith(desired.shared->nodes);
  const StateFile* state = zones.state ? &*zones.state : nullptr;
  plan.zones_change = state == nullptr || state->system.nodes != desired.system.nodes ||
                      state->shared.has_value() != desired.shared.has_value() ||
                      (desired.shared && state->shared->nodes != desired.shared->nodes);
  // The nodes each live partition holds, updated as the simulated actions run.
  std::map<std::string, NodeSet> holds;
  for (const ZoneView* zone : zones.partitions()) holds[zone->name] = zone->nodes;
  SZ_CHECK(planPartitionsTheSpecLacks(zones, desired, reserved, prune, plan, holds));
  auto freeNow = [&]() {
    NodeSet free = zones.machine_nodes.minus(reserved);
    for (const auto& [name, nodes] : holds) free = free.minus(nodes);
    return free;
  };
  std::vector<const DesiredPartition*> pending;
  for (const DesiredPartition& p : desired.partitions) {
    auto held = holds.find(p.name);
    if (held == holds.end() || held->second != p.nodes) {
      pending.push_back(&p);
      continue;
    }
    const StatePartition* record = state ? state->partition(p.name) : nullptr;
    if (!settingsMatch(*zones.find(p.name), record, p))
      plan.actions.push_back({"update", p, p.nodes});
  }
  bool shrunk_once = false;
  while (!pending.empty()) {
    bool progress = false;
    for (auto it = pending.begin(); it != pending.end();) {
      const DesiredPartition& p = **it;
      auto held = holds.find(p.name);
      NodeSet has = held == holds.end() ? NodeSet() : held->second;
      if (!p.nodes.minus(has).isSubsetOf(freeNow())) {
        ++it;
        continue;
      }
      plan.actions.push_back({held == holds.end() ? "create" : "resize", p, has});
      holds[p.name] = p.nodes;
      it = pending.erase(it);
      progress = true;
    }
    if (progress) continue;
    if (shrunk_once) {
      std::string names;
      for (const DesiredPartition* p : pending) names += (names.empty() ? "" : ", ") + p->name;
      return infeasible("apply cannot order the changes for " + names +
                        ": each needs nodes another still holds; destroy one of them first");
    }
    // Deadlock: partitions waiting on each other's nodes give up what they won't keep first.
    shrunk_once = true;
    for (const DesiredPartition* p : pending) {
      auto held = holds.find(p->name);
      if (held == holds.end()) continue;
      NodeSet keep = held->second.intersectionWith(p->nodes);
      if (keep.empty() || keep == held->second) continue;
      DesiredPartition shrink = *p;
      shrink.nodes = keep;
      plan.actions.push_back({"shrink", shrink, held->second});
      held->second = keep;
    }
  }
  return plan;
}

}  // namespace softzone::cpuset

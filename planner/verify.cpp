// Verify a plan against the running kernel: the parameter, the node layout, then what the plan
// only modelled (real node sizes) against what it promised (every zone its memory).
#include "softzone/planner/verify.h"

#include <nlohmann/json.hpp>

#include "softzone/zones/kernel_files.h"
#include "softzone/zones/topology.h"
#include "text_table.h"

namespace softzone::planner {
namespace {

using Outcome = VerifyCheck::Outcome;

constexpr std::string_view kNone = "(none)";

VerifyCheck check(std::string subject, std::string planned, std::string running, bool holds,
                  std::string note = {}) {
  return {std::move(subject), std::move(planned), std::move(running),
          holds ? Outcome::kOk : Outcome::kFailed, holds ? std::string() : std::move(note)};
}

std::string param(const std::string& arg) { return std::string(kernel::kFakeNumaParam) + arg; }

// The running kernel's numa=fake= against the plan's. Equal forms pass even when spelt
// differently; a value the kernel ignores (numa=off) counts as absent.
VerifyCheck checkFakeNuma(const Plan& plan, const zones::Topology& topology) {
  std::string planned = param(plan.fake_numa_arg);
  std::string fix =
      "boot with " + planned + " (zonectl plan SPEC --format grub writes the GRUB drop-in)";
  if (!topology.fakeNumaActive()) {
    std::string running = topology.numa_cmdline.numa_off ? "numa=off" : std::string(kNone);
    return check("numa=fake", planned, running, false, "fake NUMA is not active; " + fix);
  }
  const std::string& arg = *topology.numa_cmdline.fake_numa_arg;
  auto booted = parseFakeNumaArg(arg);
  bool same = booted && *booted == plan.fake_numa;
  return check("numa=fake", planned, param(arg), same,
               "the kernel was booted with another split; " + fix);
}

int physicalNodesWithMemory(const zones::Topology& topology) {
  int count = 0;
  for (const zones::PhysicalNode& node : topology.physical_nodes) {
    if (node.mem_total_bytes > 0) ++count;
  }
  return count;
}

// Node i of the plan sits on the plan's physical node p: on the running kernel it must share a
// physical node with the plan's other nodes of p, and a node's MemTotal should reach what the
// plan counted on (a warning when not: the zone checks decide).
void checkNodes(const Plan& plan, const zones::Topology& topology, std::vector<VerifyCheck>& out) {
  for (const PlannedNode& planned : plan.nodes) {
    const zones::NodeInfo* node = topology.node(planned.id);
    std::string subject = "node " + std::to_string(planned.id);
    if (node == nullptr) {
      out.push_back(check(subject, readableSize(planned.usable_bytes), std::string(kNone), false,
                          "the running kernel has no node " + std::to_string(planned.id)));
      continue;
    }
    const PlannedPhysical& physical = plan.physical_nodes.at(static_cast<size_t>(planned.physical));
    const zones::NodeInfo* first = topology.node(physical.nodes.first());
    if (first != nullptr && first->physical_node != node->physical_node) {
      out.push_back(check(subject, "on physical node " + std::to_string(planned.physical),
                          "on physical node of node " + std::to_string(node->physical_node), false,
                          "the kernel laid nodes out differently from the plan"));
      continue;
    }
    VerifyCheck size = check(subject, ">= " + readableSize(planned.usable_bytes),
                             readableSize(node->mem_total_bytes), true);
    if (node->mem_total_bytes < planned.usable_bytes) {
      size.outcome = Outcome::kWarning;
      size.note = "smaller than the plan's margin allowed for; see the zone checks";
    }
    out.push_back(std::move(size));
  }
}

uint64_t realCapacity(const NodeSet& nodes, const zones::Topology& topology) {
  uint64_t bytes = 0;
  for (int id : nodes.ids()) {
    if (const zones::NodeInfo* node = topology.node(id)) bytes += node->mem_total_bytes;
  }
  return bytes;
}

void checkZones(const Plan& plan, const zones::Topology& topology, std::vector<VerifyCheck>& out) {
  for (const PlannedZone& zone : plan.zones) {
    if (zone.kind == ZoneKind::kFree) continue;
    uint64_t capacity = realCapacity(zone.nodes, topology);
    std::string subject = "zone " + zone.name;
    out.push_back(check(
        subject, ">= " + readableSize(zone.requested_bytes) + " on nodes " + zone.nodes.format(),
        readableSize(capacity), capacity >= zone.requested_bytes,
        "nodes " + zone.nodes.format() + " hold " + readableSize(capacity) + ", the zone needs " +
            readableSize(zone.requested_bytes) +
            "; raise kernel_image or size_margin, or set a larger node_size, and re-plan"));
    if (zone.cpus.empty()) continue;
    NodeSet missing = zone.cpus.minus(topology.cpus);
    out.push_back(check(subject + " cpus", zone.cpus.format(),
                        zone.cpus.intersectionWith(topology.cpus).format(), missing.empty(),
                        "CPUs " + missing.format() + " are not online"));
  }
}

std::string outcomeMark(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk:
      return "ok";
    case Outcome::kWarning:
      return "WARNING";
    case Outcome::kFailed:
      return "DIFFERS";
  }
  return "ok";
}

}  // namespace

int Verification::count(VerifyCheck::Outcome outcome) const noexcept {
  int n = 0;
  for (const VerifyCheck& c : checks) n += c.outcome == outcome ? 1 : 0;
  return n;
}

Verification verifyPlan(const Plan& plan, const zones::Topology& topology) {
  Verification result;
  result.kernel_release = topology.kernel_release;
  std::vector<VerifyCheck>& checks = result.checks;
  checks.push_back(checkFakeNuma(plan, topology));
  if (!topology.fakeNumaActive()) return result;

  int physical = physicalNodesWithMemory(topology);
  checks.push_back(check("physical nodes", std::to_string(plan.physical_nodes.size()),
                         std::to_string(physical),
                         physical == static_cast<int>(plan.physical_nodes.size()),
                         "this is not the machine the plan was made for"));
  int nodes = static_cast<int>(topology.nodes.size());
  checks.push_back(check("nodes", std::to_string(plan.node_count), std::to_string(nodes),
                         nodes == plan.node_count,
                         "node numbers differ from the plan's, so zones cannot be placed"));
  if (nodes != plan.node_count) return result;
  checkNodes(plan, topology, checks);
  checkZones(plan, topology, checks);
  return result;
}

std::string_view verifyOutcomeName(VerifyCheck::Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk:
      return "ok";
    case Outcome::kWarning:
      return "warning";
    case Outcome::kFailed:
      return "failed";
  }
  return "ok";
}

std::string formatVerificationText(const Verification& verification, std::string_view spec_name) {
  TextTable table({"CHECK", "PLANNED", "RUNNING", "RESULT"});
  for (const VerifyCheck& c : verification.checks) {
    table.add({c.subject, c.planned, c.running, outcomeMark(c.outcome)});
  }
  std::string text =
      "verify " + std::string(spec_name) + " against the running kernel" +
      (verification.kernel_release.empty() ? "" : " (" + verification.kernel_release + ")") +
      "\n\n" + table.render();
  int failed = verification.count(Outcome::kFailed);
  int warnings = verification.count(Outcome::kWarning);
  if (failed > 0) {
    text += "\n--- planned (" + std::string(spec_name) + ")\n+++ running kernel\n";
    for (const VerifyCheck& c : verification.checks) {
      if (c.outcome != Outcome::kFailed) continue;
      text += "- " + c.subject + ": " + c.planned + "\n+ " + c.subject + ": " + c.running + "\n  " +
              c.note + "\n";
    }
  }
  for (const VerifyCheck& c : verification.checks) {
    if (c.outcome == Outcome::kWarning) text += "warning: " + c.subject + ": " + c.note + "\n";
  }
  size_t total = verification.checks.size();
  text += "\n";
  if (failed == 0) {
    text += "verify: OK, the running kernel matches the plan (" + std::to_string(total) +
            " checks" + (warnings > 0 ? ", " + std::to_string(warnings) + " warnings" : "") + ")\n";
  } else {
    text += "verify: FAILED, " + std::to_string(failed) + " of " + std::to_string(total) +
            " checks differ from the plan\n";
  }
  return text;
}

nlohmann::json verificationToJson(const Verification& verification, std::string_view spec_name) {
  nlohmann::json checks = nlohmann::json::array();
  for (const VerifyCheck& c : verification.checks) {
    checks.push_back({{"check", c.subject},
                      {"planned", c.planned},
                      {"running", c.running},
                      {"result", std::string(verifyOutcomeName(c.outcome))},
                      {"note", c.note}});
  }
  return {{"ok", verification.ok()},
          {"spec", std::string(spec_name)},
          {"kernel_release", verification.kernel_release},
          {"failures", verification.count(Outcome::kFailed)},
          {"warnings", verification.count(Outcome::kWarning)},
          {"checks", std::move(checks)}};
}

}  // namespace softzone::planner

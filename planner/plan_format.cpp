// Printing a plan: the kernel parameter, a GRUB drop-in, a table for people and JSON for tools.
#include <algorithm>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "softzone/planner/plan.h"
#include "text_table.h"

namespace softzone::planner {
namespace {

constexpr std::string_view kNone = "-";

std::string percent(double fraction) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g%%", fraction * 100);
  return buf;
}

std::string orNone(const std::string& text) { return text.empty() ? std::string(kNone) : text; }

std::string joined(const std::vector<std::string>& parts, std::string_view separator) {
  std::string text;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) text += separator;
    text += parts[i];
  }
  return text;
}

std::string kernelImageLine(const Plan& plan) {
  if (plan.kernel_image_bytes == 0) return "";
  return "each zone also holds " + readableSize(plan.kernel_image_bytes) +
         " for the kernel image, which KASLR may load into any node (kernel_image)\n";
}

// Short facts for the table's last column; the long explanations go under the table.
std::string zoneNotes(const PlannedZone& zone) {
  std::vector<std::string> notes;
  if (zone.min_bytes) notes.push_back("min " + readableSize(*zone.min_bytes));
  if (zone.max_bytes) notes.push_back("max " + readableSize(*zone.max_bytes));
  if (zone.mem_hardwall) notes.push_back("hardwall");
  if (zone.kind != ZoneKind::kFree && !zone.local) notes.push_back("split");
  if (!zone.bind_paths.empty()) notes.push_back("bind " + joined(zone.bind_paths, " "));
  if (zone.kind == ZoneKind::kFree) notes.push_back("for growth and zoned");
  if (!zone.warnings.empty()) notes.push_back("see below");
  return joined(notes, ", ");
}

// "256M" or "288M (last 64M)": the sizes the kernel will make on one physical node.
std::string splitSizes(uint64_t node, uint64_t last) {
  return readableSize(node) + (last == node ? "" : " (last " + readableSize(last) + ")");
}

std::string nodeSizeLine(const Plan& plan) {
  if (plan.physical_nodes.empty()) return "no nodes\n";
  const PlannedPhysical& first = plan.physical_nodes.front();
  bool equal = std::all_of(plan.physical_nodes.begin(), plan.physical_nodes.end(),
                           [&](const PlannedPhysical& p) {
                             return p.node_size_bytes == first.node_size_bytes &&
                                    p.last_node_size_bytes == first.last_node_size_bytes;
                           });
  std::string margin = " with a " + percent(plan.size_margin) + " margin for unequal fake nodes";
  std::string source = plan.node_size_from_spec ? " (node_size from the spec)" : "";
  if (equal) {
    return "node size " + splitSizes(first.node_size_bytes, first.last_node_size_bytes) + source +
           ", usable " + splitSizes(first.usable_node_bytes, first.usable_last_node_bytes) +
           margin + "\n";
  }
  std::string text = "node sizes by physical node" + source + ", usable" + margin + ":\n";
  for (const PlannedPhysical& p : plan.physical_nodes) {
    text += "  physical " + std::to_string(p.physical) + ": " +
            splitSizes(p.node_size_bytes, p.last_node_size_bytes) + ", usable " +
            splitSizes(p.usable_node_bytes, p.usable_last_node_bytes) + "\n";
  }
  return text;
}

nlohmann::json optionalBytes(const std::optional<uint64_t>& bytes) {
  return bytes ? nlohmann::json(*bytes) : nlohmann::json(nullptr);
}

nlohmann::json zoneToJson(const PlannedZone& zone) {
  return {
      {"name", zone.name},
      {"kind", std::string(zoneKindName(zone.kind))},
      {"nodes", zone.nodes.format()},
      {"node_count", zone.nodes.size()},
      {"physical_nodes", zone.physical_nodes.format()},
      {"cpus", zone.cpus.format()},
      {"capacity_bytes", zone.capacity_bytes},
      {"requested_bytes", zone.requested_bytes},
      {"min_bytes", optionalBytes(zone.min_bytes)},
      {"max_bytes", optionalBytes(zone.max_bytes)},
      {"local", zone.local},
      {"mem_hardwall", zone.mem_hardwall},
      {"bind", zone.bind_paths},
      {"warnings", zone.warnings},
  };
}

nlohmann::json physicalToJson(const PlannedPhysical& p) {
  return {
      {"physical", p.physical},
      {"mem_bytes", p.mem_bytes},
      {"node_size_bytes", p.node_size_bytes},
      {"last_node_size_bytes", p.last_node_size_bytes},
      {"usable_node_bytes", p.usable_node_bytes},
      {"usable_last_node_bytes", p.usable_last_node_bytes},
      {"nodes", p.nodes.format()},
      {"cpus", p.cpus.format()},
      {"free_nodes", p.free_nodes.format()},
      {"free_bytes", p.free_bytes},
  };
}

// Two decimals of `unit`, rounded half up ("22.13G"): for sizes no short exact form shows.
std::string roundedSize(uint64_t bytes, uint64_t unit, char letter) {
  uint64_t whole = bytes / unit;
  uint64_t hundredths = (bytes % unit * 100 + unit / 2) / unit;  // bytes % unit < 2^40
  if (hundredths == 100) {
    ++whole;
    hundredths = 0;
  }
  // 1023.999M rounds to 1024.00M: say 1.00G instead.
  if (whole == 1024 && letter != 'T') return std::string("1.00") + (letter == 'M' ? 'G' : 'T');
  return std::to_string(whole) + "." + (hundredths < 10 ? "0" : "") + std::to_string(hundredths) +
         letter;
}

}  // namespace

std::string readableSize(uint64_t bytes) {
  static constexpr std::pair<uint64_t, char> kUnits[] = {{kTiB, 'T'}, {kGiB, 'G'}, {kMiB, 'M'}};
  for (const auto& [unit, letter] : kUnits) {
    if (bytes < unit || bytes % unit == 0) continue;
    // Exact in hundredths of the unit: whole, then one or two decimals without trailing zeros.
    // Otherwise whole megabytes stay exact ("1100M": close sizes compared in one message must
    // not round to the same text), and finer ones are rounded to hundredths, so a message or
    // table does not mix "24683748K" with "22.13G".
    if (bytes > std::numeric_limits<uint64_t>::max() / 100 || bytes * 100 % unit != 0) {
      if (bytes % kMiB == 0) break;
      return roundedSize(bytes, unit, letter);
    }
    uint64_t hundredths = bytes * 100 / unit;
    std::string text = std::to_string(hundredths / 100) + "." +
                       std::to_string(hundredths % 100 / 10) +
                       (hundredths % 10 != 0 ? std::to_string(hundredths % 10) : "");
    return text + letter;
  }
  return formatSize(bytes);
}

std::string formatKernelCmdline(const Plan& plan) { return "numa=fake=" + plan.fake_numa_arg; }

std::string formatGrubDropIn(const Plan& plan) {
  std::string cmdline = formatKernelCmdline(plan);
  return "# /etc/default/grub.d/softzone.cfg: written by softzone (zonectl plan --format grub).\n"
         "# Boots with " +
         std::to_string(plan.node_count) + " fake NUMA nodes of about " +
         readableSize(plan.node_size_bytes) + " (" + describeFakeNuma(plan.fake_numa) +
         ") for software zones.\n"
         "# Apply: run update-grub and reboot, then check with zonectl verify SPEC.\n"
         "# Undo: delete this file and run update-grub.\n"
         "GRUB_CMDLINE_LINUX_DEFAULT=\"${GRUB_CMDLINE_LINUX_DEFAULT} " +
         cmdline + "\"\n";
}

std::string formatPlanText(const Plan& plan) {
  std::string text = formatKernelCmdline(plan) + ": " + describeFakeNuma(plan.fake_numa);
  if (plan.physical_nodes.size() > 1) {
    text += " on " + std::to_string(plan.physical_nodes.size()) + " physical nodes, " +
            std::to_string(plan.node_count) + " in all";
  }
  text += "\n";
  text += nodeSizeLine(plan) + kernelImageLine(plan) + "\n";
  TextTable table({"ZONE", "NODES", "PHYSICAL", "CAPACITY", "REQUESTED", "CPUS", "NOTES"});
  for (const PlannedZone& zone : plan.zones) {
    bool free = zone.kind == ZoneKind::kFree;
    table.add({zone.name, orNone(zone.nodes.format()), orNone(zone.physical_nodes.format()),
               readableSize(zone.capacity_bytes),
               free ? std::string(kNone) : readableSize(zone.requested_bytes),
               orNone(zone.cpus.format()), zoneNotes(zone)});
  }
  text += table.render() + "\n";
  if (plan.physical_nodes.size() > 1) {
    text += "free pool by physical node:";
    for (const PlannedPhysical& p : plan.physical_nodes) {
      // Appended piecewise: g++ 12 -O3 warns falsely (-Wrestrict) on "literal" + std::string&&.
      text += ' ';
      text += std::to_string(p.physical) + ": " + readableSize(p.free_bytes) + " (" +
              orNone(p.free_nodes.format()) + ");";
    }
    text.back() = '\n';
  }
  text += "waste: " + readableSize(plan.waste_bytes) + " (lower bound " +
          readableSize(plan.waste_lower_bound_bytes) + "; least of any feasible node count " +
          readableSize(plan.best_feasible_waste_bytes) + ")\n";
  std::vector<std::string> warnings = plan.warnings;
  for (const PlannedZone& zone : plan.zones) {
    for (const std::string& warning : zone.warnings) warnings.push_back(zone.name + ": " + warning);
  }
  if (!warnings.empty()) {
    text += "\nwarnings:\n";
    for (const std::string& warning : warnings) text += "  " + warning + "\n";
  }
  text += "\nkernel parameter: " + formatKernelCmdline(plan) + "\n";
  return text;
}

nlohmann::json planToJson(const Plan& plan) {
  nlohmann::json physical = nlohmann::json::array();
  for (const PlannedPhysical& p : plan.physical_nodes) physical.push_back(physicalToJson(p));
  nlohmann::json nodes = nlohmann::json::array();
  for (const PlannedNode& node : plan.nodes) {
    nodes.push_back({{"id", node.id},
                     {"physical", node.physical},
                     {"zone", node.zone},
                     {"size_bytes", node.size_bytes},
                     {"usable_bytes", node.usable_bytes}});
  }
  nlohmann::json zones = nlohmann::json::array();
  for (const PlannedZone& zone : plan.zones) zones.push_back(zoneToJson(zone));
  return {
      {"kernel_cmdline", formatKernelCmdline(plan)},
      {"fake_numa_arg", plan.fake_numa_arg},
      {"fake_numa_kind", std::string(fakeNumaKindName(plan.fake_numa.kind))},
      {"nodes_per_physical", plan.nodes_per_physical},
      {"node_count", plan.node_count},
      {"node_size_bytes", plan.node_size_bytes},
      {"usable_node_bytes", plan.usable_node_bytes},
      {"node_size_from_spec", plan.node_size_from_spec},
      {"size_margin", plan.size_margin},
      {"kernel_image_bytes", plan.kernel_image_bytes},
      {"max_nodes_per_partition", plan.max_nodes_per_partition},
      {"physical_nodes", physical},
      {"nodes", nodes},
      {"zones", zones},
      {"waste_bytes", plan.waste_bytes},
      {"waste_lower_bound_bytes", plan.waste_lower_bound_bytes},
      {"best_feasible_waste_bytes", plan.best_feasible_waste_bytes},
      {"warnings", plan.warnings},
  };
}

}  // namespace softzone::planner

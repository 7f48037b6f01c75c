// Inputs of the planning verbs: planner options, the running machine, a machine file.
#include "plan_inputs.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "softzone/zones/hwloc_machine.h"
#include "softzone/zones/kernel_files.h"
#include "softzone/zones/topology.h"

namespace softzone::tools {
namespace po = boost::program_options;

namespace {

// The first character that is not white space, or '\0'.
char firstSignificantChar(const std::string& text) {
  size_t at = text.find_first_not_of(" \t\r\n");
  return at == std::string::npos ? '\0' : text[at];
}

Result<std::string> readWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return badInput("--machine " + quoteInput(path) + ": cannot read it (" + std::strerror(errno) +
                    ")");
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

Result<MachineSource> machineFromJsonText(const std::string& path, const std::string& text) {
  auto document = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) {
    return badInput("--machine " + quoteInput(path) + ": not valid JSON");
  }
  auto machine = planner::machineFromTopologyJson(document);
  if (!machine) return badInput("--machine " + quoteInput(path) + ": " + machine.error().message());
  return MachineSource{std::move(*machine), path + " (zonectl topology JSON)", "", ""};
}

Result<MachineSource> machineFromXml(const std::string& path) {
  SZ_TRY(hwloc, zones::readHwlocXml(path));
  planner::Machine machine = planner::machineFromHwloc(hwloc);
  if (machine.physical_nodes.empty()) {
    return badInput("--machine " + quoteInput(path) + ": no NUMA node with memory in it");
  }
  MachineSource source{std::move(machine), path + " (hwloc XML)", "", ""};
  if (hwloc.numbering_has_gaps) {
    // What numa=fake=NU leaves in an XML: hwloc shows one fake node per physical node.
    source.warning = "NUMA node numbers in " + path +
                     " have gaps, as hwloc writes them on a machine booted with numa=fake= (it "
                     "shows one fake node per physical node, so memory is understated); capture "
                     "the XML with fake NUMA off, or use `zonectl --json topology` there";
  }
  return source;
}

}  // namespace

void addPlannerOptions(po::options_description& options) {
  options.add_options()  //
      ("max-nodes-per-partition",
       po::value<int>()->default_value(planner::kDefaultMaxNodesPerPartition)->value_name("N"),
       "prefer plans where no partition spans more than N nodes (allocation cost grows with the "
       "nodes a cpuset spans; see docs/benchmarks.md)")  //
      ("size-margin",
       po::value<double>()->default_value(planner::kDefaultSizeMargin, "0.06")->value_name("F"),
       "share of each fake node assumed lost to holes and unequal splitting (0 to 0.9)");
}

Result<planner::PlannerOptions> plannerOptionsFrom(const po::variables_map& values) {
  planner::PlannerOptions options;
  options.max_nodes_per_partition = values["max-nodes-per-partition"].as<int>();
  options.size_margin = values["size-margin"].as<double>();
  if (options.max_nodes_per_partition < 1 ||
      options.max_nodes_per_partition > planner::kMaxFakeNodes) {
    return badInput("--max-nodes-per-partition " + std::to_string(options.max_nodes_per_partition) +
                    ": expected 1 to " + std::to_string(planner::kMaxFakeNodes));
  }
  if (!(options.size_margin >= 0 && options.size_margin <= 0.9)) {
    return badInput("--size-margin: expected a fraction from 0 to 0.9");
  }
  return options;
}

namespace {

// Whether the kernel that would boot with the plan honours numa=fake=: its build config says.
std::string fakeNumaCaution(const zones::Topology& topology) {
  if (topology.fakeNumaActive()) return "";  // it honours it now
  if (topology.config.numa_emu == true) return "";
  const std::string release =
      topology.kernel_release.empty() ? "$(uname -r)" : topology.kernel_release;
  if (topology.config.numa_emu == false) {
    return "this kernel (" + release + ") is built without " + std::string(kernel::kConfigNumaEmu) +
           " (" + topology.config_path +
           "): it would ignore numa=fake=; boot a kernel built with " +
           std::string(kernel::kConfigNumaEmu) + "=y";
  }
  return "could not check that this kernel supports numa=fake= (no readable /boot/config-" +
         release + "); it needs " + std::string(kernel::kConfigNumaEmu) + "=y";
}

}  // namespace

Result<MachineSource> runningMachine(const Context& ctx) {
  auto topology = zones::readTopologyAt(ctx.fs);
  if (!topology) return readError(ctx, std::move(topology).error());
  std::string where =
      ctx.fs.isLive() ? "the running machine" : "the machine in " + ctx.fs.rootPath();
  if (!topology->kernel_release.empty()) where += " (" + topology->kernel_release + ")";
  return MachineSource{planner::machineFromTopology(*topology), where, "",
                       fakeNumaCaution(*topology)};
}

Result<MachineSource> machineFromFile(const std::string& path) {
  SZ_TRY(text, readWholeFile(path));
  switch (firstSignificantChar(text)) {
    case '{':
      return machineFromJsonText(path, text);
    case '<':
      return machineFromXml(path);
    default:
      return badInput("--machine " + quoteInput(path) +
                      ": neither an hwloc XML (`lstopo FILE.xml`) nor zonectl topology JSON "
                      "(`zonectl --json topology`)");
  }
}

std::string describeMachine(const planner::Machine& machine) {
  uint64_t bytes = 0;
  for (const planner::PhysicalNodeInfo& node : machine.physical_nodes) bytes += node.mem_bytes;
  size_t count = machine.physical_nodes.size();
  std::string cpus = machine.allCpus().format();
  char mib[32];
  std::snprintf(mib, sizeof(mib), "%.1f MiB",
                static_cast<double>(bytes) / static_cast<double>(kMiB));
  return std::to_string(count) + (count == 1 ? " physical node, " : " physical nodes, ") + mib +
         ", CPUs " + (cpus.empty() ? "none" : cpus);
}

}  // namespace softzone::tools

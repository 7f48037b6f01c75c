// zonectl topology: the machine's nodes (fake and physical), memory, CPUs and cpuset interfaces.
#include <nlohmann/json.hpp>
#include <optional>

#include "command.h"
#include "softzone/planner/fake_numa.h"
#include "softzone/zones/kernel_files.h"
#include "softzone/zones/size.h"
#include "softzone/zones/topology.h"
#include "table.h"

namespace softzone::tools {
namespace po = boost::program_options;
// ordered_json keeps keys in the order written here, which reads better than sorted.
using json = nlohmann::ordered_json;

namespace {

// Everything the verb shows, gathered once so text and JSON cannot disagree.
struct TopologyView {
  zones::Topology topology;
  cpuset::CgroupInterfaces cgroup;
  cpuset::CgroupMode mode = cpuset::CgroupMode::kAuto;
  Result<cpuset::CgroupChoice> choice;
  std::optional<Result<planner::FakeNuma>> fake_form;  // set when numa=fake= is present
};

std::string plural(size_t count, std::string_view one, std::string_view many) {
  return std::to_string(count) + " " + std::string(count == 1 ? one : many);
}

std::string mib(uint64_t bytes) { return std::to_string((bytes + kMiB / 2) / kMiB); }

std::string joinInts(const std::vector<int>& values) {
  std::string text;
  for (int value : values) {
    if (!text.empty()) text += ' ';
    text += std::to_string(value);
  }
  return text;
}

// "numa=fake=8 (8 nodes over all RAM)", or why the value is not understood.
std::string describeFakeArg(const TopologyView& view) {
  const std::string& arg = *view.topology.numa_cmdline.fake_numa_arg;
  std::string text = std::string(kernel::kFakeNumaParam) + arg;
  if (view.fake_form && *view.fake_form) {
    text += " (" + planner::describeFakeNuma(**view.fake_form) + ")";
  } else if (view.fake_form) {
    text += " (a form softzone does not understand: " + view.fake_form->error().message() + ")";
  }
  return text;
}

std::string fakeNumaLine(const TopologyView& view) {
  const zones::Topology& topology = view.topology;
  if (topology.fakeNumaActive()) return "active, " + describeFakeArg(view);
  if (!topology.numa_cmdline.fake_numa_arg) {
    return "not active (no numa=fake= on the kernel command line): this machine has " +
           plural(topology.nodes.size(), "real NUMA node", "real NUMA nodes") +
           "; softzone needs a kernel booted with numa=fake=, see `zonectl plan`";
  }
  if (topology.numa_cmdline.numa_off) {
    return "not active: " + describeFakeArg(view) +
           " is on the kernel command line but numa=off turns NUMA off";
  }
  return "not active: " + describeFakeArg(view) +
         " is on the kernel command line but this kernel lacks CONFIG_NUMA_EMU (see " +
         topology.config_path + ")";
}

std::string maxNodesLine(const zones::Topology& topology) {
  if (auto max = topology.maxNodes()) {
    return std::to_string(*max) + " (" + std::string(kernel::kConfigNodesShift) + "=" +
           std::to_string(*topology.config.nodes_shift) + ")";
  }
  if (topology.kernel_release.empty()) return "unknown (kernel release unknown)";
  return "unknown (" + kernel::kernelConfigPath(topology.kernel_release) + " is not readable)";
}

std::string cpusetLine(const cpuset::CgroupInterfaces& cgroup) {
  std::vector<std::string> parts;
  if (cgroup.v2) {
    parts.push_back("v2 at " + *cgroup.v2 +
                    (cgroup.v2_cpuset_controller ? " (cpuset controller available)"
                                                 : " (no cpuset controller)"));
  }
  if (cgroup.v1_cpuset) parts.push_back("v1 at " + *cgroup.v1_cpuset);
  if (parts.empty()) return "none";
  std::string text = parts[0];
  for (size_t i = 1; i < parts.size(); ++i) text += "; " + parts[i];
  return text;
}

std::string cgroupChoiceLine(const TopologyView& view) {
  std::string mode = "(--cgroup " + std::string(cpuset::formatCgroupMode(view.mode)) + ")";
  if (!view.choice) return "none (" + view.choice.error().message() + ")";
  return std::string(cpuset::formatCgroupVersion(view.choice->version)) + " at " +
         view.choice->mount_point + " " + mode;
}

std::string memoryLine(const zones::Topology& topology) {
  std::string text = mib(topology.mem_total_bytes) + " MiB total, " + mib(topology.mem_free_bytes) +
                     " MiB free, in " + plural(topology.nodes.size(), "node", "nodes") + " on " +
                     plural(topology.physical_nodes.size(), "physical node", "physical nodes");
  return text + "; CPUs " + (topology.cpus.empty() ? "unknown" : topology.cpus.format());
}

void renderText(const TopologyView& view, std::ostream& out) {
  const zones::Topology& topology = view.topology;
  std::vector<std::pair<std::string, std::string>> header = {
      {"kernel release", topology.kernel_release.empty() ? "unknown" : topology.kernel_release},
      {"fake NUMA", fakeNumaLine(view)},
      {"max nodes", maxNodesLine(topology)},
      {"cpuset interfaces", cpusetLine(view.cgroup)},
      {"cgroup backend", cgroupChoiceLine(view)},
      {"memory", memoryLine(topology)},
  };
  if (!topology.numa_sysfs) {
    header.emplace_back("NUMA sysfs", "absent (no " + std::string(kernel::kNodeDir) +
                                          "): one node holding all of " +
                                          std::string(kernel::kProcMeminfo));
  }
  size_t width = 0;
  for (const auto& [label, value] : header) width = std::max(width, label.size() + 1);
  for (const auto& [label, value] : header) {
    out << label << ':' << std::string(width - label.size(), ' ') << value << '\n';
  }
  out << '\n';

  Table table;
  table.addColumn("NODE", Table::Align::kRight);
  table.addColumn("PHYS", Table::Align::kRight);
  table.addColumn("SIZE (MiB)", Table::Align::kRight);
  table.addColumn("FREE (MiB)", Table::Align::kRight);
  table.addColumn("CPUS");
  table.addColumn("DISTANCES");
  for (const zones::NodeInfo& node : topology.nodes) {
    table.addRow({std::to_string(node.id), std::to_string(node.physical_node),
                  mib(node.mem_total_bytes), mib(node.mem_free_bytes),
                  node.cpus.empty() ? "-" : node.cpus.format(), joinInts(node.distances)});
  }
  table.render(out);
}

json optionalString(const std::optional<std::string>& value) {
  return value ? json(*value) : json(nullptr);
}

json fakeNumaJson(const TopologyView& view) {
  const zones::NumaCmdline& cmdline = view.topology.numa_cmdline;
  json fake = {{"active", view.topology.fakeNumaActive()},
               {"arg", optionalString(cmdline.fake_numa_arg)},
               {"numa_off", cmdline.numa_off},
               {"form", nullptr},
               {"form_error", nullptr}};
  if (view.fake_form && *view.fake_form) {
    const planner::FakeNuma& form = **view.fake_form;
    bool sized = form.kind == planner::FakeNuma::Kind::kSize;
    fake["form"] = {{"kind", planner::fakeNumaKindName(form.kind)},
                    {"count", sized ? json(nullptr) : json(form.count)},
                    {"size_bytes", sized ? json(form.size_bytes) : json(nullptr)},
                    {"distances", form.distances},
                    {"description", planner::describeFakeNuma(form)}};
  } else if (view.fake_form) {
    fake["form_error"] = view.fake_form->error().message();
  }
  return fake;
}

json cgroupJson(const TopologyView& view) {
  json selected = nullptr;
  if (view.choice) {
    selected = {{"version", cpuset::formatCgroupVersion(view.choice->version)},
                {"mount_point", view.choice->mount_point}};
  }
  return {{"v1_cpuset", optionalString(view.cgroup.v1_cpuset)},
          {"v2", optionalString(view.cgroup.v2)},
          {"v2_cpuset_controller", view.cgroup.v2_cpuset_controller},
          {"mode", cpuset::formatCgroupMode(view.mode)},
          {"selected", selected},
          {"selected_error", view.choice ? json(nullptr) : json(view.choice.error().message())}};
}

json renderJson(const TopologyView& view) {
  const zones::Topology& topology = view.topology;
  json physical = json::array();
  for (const zones::PhysicalNode& group : topology.physical_nodes) {
    physical.push_back({{"id", group.id},
                        {"nodes", group.nodes.ids()},
                        {"cpus", group.cpus.format()},
                        {"mem_total_bytes", group.mem_total_bytes}});
  }
  json nodes = json::array();
  for (const zones::NodeInfo& node : topology.nodes) {
    nodes.push_back({{"id", node.id},
                     {"physical_node", node.physical_node},
                     {"mem_total_bytes", node.mem_total_bytes},
                     {"mem_free_bytes", node.mem_free_bytes},
                     {"cpus", node.cpus.format()},
                     {"distances", node.distances}});
  }
  auto max_nodes = topology.maxNodes();
  return {
      {"kernel_release",
       topology.kernel_release.empty() ? json(nullptr) : json(topology.kernel_release)},
      {"kernel_config", topology.config_path.empty() ? json(nullptr) : json(topology.config_path)},
      {"fake_numa", fakeNumaJson(view)},
      {"max_nodes", max_nodes ? json(*max_nodes) : json(nullptr)},
      {"nodes_shift",
       topology.config.nodes_shift ? json(*topology.config.nodes_shift) : json(nullptr)},
      {"numa_sysfs", topology.numa_sysfs},
      {"physical_nodes", physical},
      {"nodes", nodes},
      {"mem_total_bytes", topology.mem_total_bytes},
      {"mem_free_bytes", topology.mem_free_bytes},
      {"cpus", topology.cpus.format()},
      {"cgroup", cgroupJson(view)},
  };
}

}  // namespace

Status cmdTopology(Context& ctx, const std::vector<std::string>& args) {
  po::options_description options("topology options");
  po::variables_map values;
  if (!parseVerbOptions(ctx, "topology", "", options, {}, args, values)) return {};

  auto topology = zones::readTopologyAt(ctx.fs);
  if (!topology) return readError(ctx, std::move(topology).error());
  auto cgroup = cpuset::detectCgroupInterfacesAt(ctx.fs);
  if (!cgroup) return readError(ctx, std::move(cgroup).error());

  // topology only reports which backend --cgroup would pick; failing to pick one is no error here.
  auto choice = cpuset::resolveCgroupMode(ctx.cgroup_mode, *cgroup);
  TopologyView view{std::move(*topology), std::move(*cgroup), ctx.cgroup_mode, std::move(choice),
                    std::nullopt};
  if (const auto& arg = view.topology.numa_cmdline.fake_numa_arg) {
    view.fake_form = planner::parseFakeNumaArg(*arg);
  }
  if (ctx.json) {
    ctx.out << renderJson(view).dump(2) << '\n';
  } else {
    renderText(view, ctx.out);
  }
  return {};
}

}  // namespace softzone::tools

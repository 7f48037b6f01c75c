// zonectl apply SPEC [--dry-run] [--prune]: reconciles the live partitions with a spec's plan,
// idempotently (a second run finds nothing to do). Refuses when the kernel was booted with
// another numa=fake= than the plan's: node numbers would not mean what the plan means.
#include "partition_view.h"
#include "plan_inputs.h"
#include "softzone/zones/kernel_files.h"
#include "softzone/zones/topology.h"

namespace softzone::tools {
namespace po = boost::program_options;
using json = nlohmann::ordered_json;

namespace {

cpuset::DesiredZones desiredFromPlan(const planner::Plan& plan, const planner::Spec& spec,
                                     const std::string& spec_path) {
  cpuset::DesiredZones desired;
  desired.spec = spec_path;
  for (const planner::PlannedZone& zone : plan.zones) {
    switch (zone.kind) {
      case planner::ZoneKind::kSystem:
        desired.system = {zone.nodes, zone.cpus, {}};
        break;
      case planner::ZoneKind::kShared:
        desired.shared = cpuset::StateZone{zone.nodes, zone.cpus, zone.bind_paths};
        break;
      case planner::ZoneKind::kPartition: {
        const planner::PartitionSpec* asked = spec.partition(zone.name);
        bool own_cpus = asked != nullptr && (asked->cpu_count > 0 || asked->cpu_list);
        // Without CPUs of its own a partition shares its parent's: an empty cpuset.cpus (v2).
        desired.partitions.push_back({zone.name, zone.nodes, own_cpus ? zone.cpus : NodeSet(),
                                      zone.min_bytes, zone.max_bytes, zone.mem_hardwall});
        break;
      }
      case planner::ZoneKind::kFree:
        break;
    }
  }
  return desired;
}

std::string describeAction(const cpuset::ApplyAction& action) {
  const std::string& name = action.target.name;
  if (action.verb == "destroy") return "destroy " + name + " (nodes " + action.from.format() + ")";
  if (action.verb == "create")
    return "create " + name + " on nodes " + action.target.nodes.format();
  if (action.verb == "update") return "update " + name + " (CPUs, limits or mem_hardwall)";
  return action.verb + " " + name + ": nodes " + action.from.format() + " -> " +
         action.target.nodes.format();
}

}  // namespace

Status cmdApply(Context& ctx, const std::vector<std::string>& args) {
  po::options_description options("apply options");
  options.add_options()                                                                    //
      ("spec", po::value<std::string>()->required()->value_name("SPEC"), "the spec file")  //
      ("dry-run", po::bool_switch(), "print what would change, change nothing")            //
      ("prune", po::bool_switch(), "destroy live partitions the spec does not name");
  addPlannerOptions(options);
  po::positional_options_description positional;
  positional.add("spec", 1);
  po::variables_map values;
  if (!parseVerbOptions(ctx, "apply", "SPEC [--dry-run] [--prune]", options, positional, args,
                        values)) {
    return {};
  }
  SZ_TRY(planner_options, plannerOptionsFrom(values));
  const std::string& spec_path = values["spec"].as<std::string>();
  SZ_TRY(spec, planner::readSpecFile(spec_path));
  bool dry_run = values["dry-run"].as<bool>();
  bool prune = values["prune"].as<bool>();

  auto topology = zones::readTopologyAt(ctx.fs);
  if (!topology) return readError(ctx, std::move(topology).error());
  SZ_TRY(plan, planner::planZones(planner::machineFromTopology(*topology), spec, planner_options));
  const auto& booted = topology->numa_cmdline.fake_numa_arg;
  if (!booted || *booted != plan.fake_numa_arg) {
    return mismatch(
        "the plan for " + spec_path + " needs the kernel booted with " +
        std::string(kernel::kFakeNumaParam) + plan.fake_numa_arg + ", this one has " +
        (booted ? std::string(kernel::kFakeNumaParam) + *booted : std::string("no numa=fake=")) +
        "; install the parameter (`zonectl plan " + spec_path +
        " --format grub`) and reboot, then apply");
  }
  cpuset::DesiredZones desired = desiredFromPlan(plan, spec, spec_path);
  SZ_TRY(session, openPartitionSession(ctx, !dry_run));
  SZ_TRY(actions, cpuset::planApply(session.zones, desired, prune));

  std::vector<std::string> done;
  if (!dry_run) SZ_CHECK(cpuset::runApply(session, desired, actions, done));
  if (ctx.json) {
    json planned = json::array();
    for (const cpuset::ApplyAction& action : actions.actions) {
      planned.push_back({{"action", action.verb},
                         {"name", action.target.name},
                         {"from", action.from.format()},
                         {"nodes", action.target.nodes.format()},
                         {"cpus", action.target.cpus.format()}});
    }
    json out = {{"spec", spec_path},
                {"dry_run", dry_run},
                {"actions", planned},
                {"kept", actions.kept},
                {"zones_change", actions.zones_change},
                {"done", done}};
    ctx.out << out.dump(2) << '\n';
    return {};
  }
  ctx.out << (dry_run ? "would apply " : "applied ") << spec_path << ": " << actions.actions.size()
          << " partition change(s)"
          << (actions.zones_change ? ", system/shared zones recorded" : "") << "\n";
  for (const cpuset::ApplyAction& action : actions.actions) {
    ctx.out << "  " << describeAction(action) << "\n";
  }
  for (const std::string& name : actions.kept) {
    ctx.out << "  keep " << name << " (not in the spec; --prune destroys it)\n";
  }
  return {};
}

}  // namespace softzone::tools

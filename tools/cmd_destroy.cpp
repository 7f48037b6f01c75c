// zonectl destroy NAME [--to OTHER] [--force]: its tasks go to the cgroup root (or partition
// OTHER), its nodes back to the free pool; --force also for a partition with cgroups below it.
#include "partition_view.h"

namespace softzone::tools {
namespace po = boost::program_options;

Status cmdDestroy(Context& ctx, const std::vector<std::string>& args) {
  po::options_description options("destroy options");
  options.add_options()                                                                          //
      ("name", po::value<std::string>()->required()->value_name("NAME"), "partition name")       //
      ("to", po::value<std::string>()->value_name("OTHER"), "move its tasks to this partition")  //
      ("force", po::bool_switch(),
       "also when cgroups were made below it (a container runtime's): their processes leave "
       "too and those cgroups are removed");
  po::positional_options_description positional;
  positional.add("name", 1);
  po::variables_map values;
  if (!parseVerbOptions(ctx, "destroy", "NAME [--to OTHER] [--force]", options, positional, args,
                        values)) {
    return {};
  }
  std::string name = values["name"].as<std::string>();
  SZ_CHECK(checkName(name));
  std::string to = values.count("to") > 0 ? values["to"].as<std::string>() : "";
  if (!to.empty()) SZ_CHECK(checkName(to));
  SZ_TRY(session, openPartitionSession(ctx, true));
  SZ_TRY(report, cpuset::destroyPartition(session, name, to, values["force"].as<bool>()));
  if (ctx.json) {
    nlohmann::ordered_json out = {
        {"name", name},
        {"to", to.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(to)},
        {"moved_pids", report.moved},
        {"removed_cgroups", report.removed_cgroups},
        {"freed_nodes", report.freed.format()}};
    ctx.out << out.dump(2) << '\n';
  } else {
    ctx.out << "destroyed partition " << name << ": " << report.moved.size()
            << " process(es) moved to " << (to.empty() ? "the cgroup root" : "partition " + to)
            << ", nodes " << report.freed.format() << " free";
    if (!report.removed_cgroups.empty()) {
      ctx.out << "; cgroups removed below it: " << report.removed_cgroups.size();
    }
    ctx.out << "\n";
  }
  return {};
}

}  // namespace softzone::tools

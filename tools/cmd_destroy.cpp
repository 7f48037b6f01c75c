// zonectl destroy NAME [--to OTHER]: its tasks go to the cgroup root (or partition OTHER), its
// nodes back to the free pool.
#include "partition_view.h"

namespace softzone::tools {
namespace po = boost::program_options;

Status cmdDestroy(Context& ctx, const std::vector<std::string>& args) {
  po::options_description options("destroy options");
  options.add_options()                                                                  //
      ("name", po::value<std::string>()->required()->value_name("NAME"), "partition name")  //
      ("to", po::value<std::string>()->value_name("OTHER"), "move its tasks to this partition");
  po::positional_options_description positional;
  positional.add("name", 1);
  po::variables_map values;
  if (!parseVerbOptions(ctx, "destroy", "NAME [--to OTHER]", options, positional, args, values)) {
    return {};
  }
  std::string name = values["name"].as<std::string>();
  SZ_CHECK(checkName(name));
  std::string to = values.count("to") > 0 ? values["to"].as<std::string>() : "";
  if (!to.empty()) SZ_CHECK(checkName(to));
  SZ_TRY(session, openPartitionSession(ctx, true));
  SZ_TRY(report, cpuset::destroyPartition(session, name, to));
  if (ctx.json) {
    nlohmann::ordered_json out = {{"name", name},
                                  {"to", to.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(to)},
                                  {"moved_pids", report.moved},
                                  {"freed_nodes", report.freed.format()}};
    ctx.out << out.dump(2) << '\n';
  } else {
    ctx.out << "destroyed partition " << name << ": " << report.moved.size() << " process(es) moved to "
            << (to.empty() ? "the cgroup root" : "partition " + to) << ", nodes "
            << report.freed.format() << " free\n";
  }
  return {};
}

}  // namespace softzone::tools

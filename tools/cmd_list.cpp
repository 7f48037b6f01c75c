// zonectl list: every zone (system, shared, partitions, free) with nodes, CPUs, tasks, memory,
// and any drift between the state file and the cgroup tree.
#include "partition_view.h"

namespace softzone::tools {
namespace po = boost::program_options;

Status cmdList(Context& ctx, const std::vector<std::string>& args) {
  po::options_description options("list options");
  po::variables_map values;
  if (!parseVerbOptions(ctx, "list", "", options, {}, args, values)) return {};
  SZ_TRY(session, openPartitionSession(ctx, false));
  if (ctx.json) {
    ctx.out << zonesJson(session, nullptr).dump(2) << '\n';
  } else {
    renderZonesText(session, nullptr, ctx.out);
  }
  return {};
}

}  // namespace softzone::tools

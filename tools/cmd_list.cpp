// zonectl list: every zone (system, shared, partitions, free) with nodes, CPUs, tasks, memory,
// any drift between the state file and the cgroup tree, and the nodes zoned has lent.
#include "partition_view.h"
#include "zoned_view.h"

namespace softzone::tools {
namespace po = boost::program_options;

Status cmdList(Context& ctx, const std::vector<std::string>& args) {
  po::options_description options("list options");
  po::variables_map values;
  if (!parseVerbOptions(ctx, "list", "", options, {}, args, values)) return {};
  SZ_TRY(session, openPartitionSession(ctx, false));
  ZonedView zoned = readZonedView(ctx.fs);
  if (ctx.json) {
    nlohmann::ordered_json out = zonesJson(session, nullptr);
    addZonedJson(zoned, nullptr, out);
    ctx.out << out.dump(2) << '\n';
  } else {
    renderZonesText(session, nullptr, ctx.out);
    renderZonedText(zoned, nullptr, ctx.out);
  }
  return {};
}

}  // namespace softzone::tools

// zonectl status [NAME]: one zone (or all) in detail: nodes, CPUs, tasks, memory used and free,
// the drift that concerns it, and zoned's loans and moves that concern it.
#include "partition_view.h"
#include "zoned_view.h"

namespace softzone::tools {
namespace po = boost::program_options;

Status cmdStatus(Context& ctx, const std::vector<std::string>& args) {
  po::options_description options("status options");
  options.add_options()("name", po::value<std::string>()->value_name("NAME"), "a zone's name");
  po::positional_options_description positional;
  positional.add("name", 1);
  po::variables_map values;
  if (!parseVerbOptions(ctx, "status", "[NAME]", options, positional, args, values)) return {};
  SZ_TRY(session, openPartitionSession(ctx, false));
  const cpuset::ZoneView* only = nullptr;
  if (values.count("name") > 0) {
    const std::string& name = values["name"].as<std::string>();
    only = session.zones.find(name);
    if (only == nullptr) {
      auto missing = cpuset::findPartition(session, name);
      if (!missing) return std::move(missing).error();
    }
  }
  ZonedView zoned = readZonedView(ctx.fs);
  if (ctx.json) {
    nlohmann::ordered_json out = zonesJson(session, only);
    addZonedJson(zoned, only, out);
    if (only != nullptr && only->kind == ZoneKind::kPartition) {
      auto pids = cpuset::partitionProcesses(session, *only);
      out["pids"] = pids ? nlohmann::ordered_json(*pids) : nlohmann::ordered_json(nullptr);
    }
    ctx.out << out.dump(2) << '\n';
  } else {
    renderZonesText(session, only, ctx.out);
    renderZonedText(zoned, only, ctx.out);
  }
  return {};
}

}  // namespace softzone::tools

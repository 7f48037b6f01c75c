// zonectl resize NAME --nodes NODES | --size SIZE [--force]: grow onto free nodes, or shrink by
// first moving the partition's pages off the nodes it gives up, then verifying none is left.
#include "partition_view.h"
#include "softzone/zones/size.h"

namespace softzone::tools {
namespace po = boost::program_options;
using json = nlohmann::ordered_json;

Status cmdResize(Context& ctx, const std::vector<std::string>& args) {
  po::options_description options("resize options");
  options.add_options()                                                                     //
      ("name", po::value<std::string>()->required()->value_name("NAME"), "partition name")  //
      ("nodes", po::value<std::string>()->value_name("NODES"), "its nodes from now on")     //
      ("size", po::value<std::string>()->value_name("SIZE"), "its memory from now on")      //
      ("force", po::bool_switch(),
       "shrink even when the nodes it keeps cannot hold its memory on the others");
  addWorkersOption(options);
  po::positional_options_description positional;
  positional.add("name", 1);
  po::variables_map values;
  if (!parseVerbOptions(ctx, "resize", "NAME --nodes NODES|--size SIZE", options, positional, args,
                        values)) {
    return {};
  }
  std::string name = values["name"].as<std::string>();
  SZ_CHECK(checkName(name));
  bool by_nodes = values.count("nodes") > 0;
  if (by_nodes == (values.count("size") > 0)) {
    return badInput("give exactly one of --nodes NODES and --size SIZE");
  }
  SZ_TRY(workers, workersOption(values));
  NodeSet nodes;
  std::optional<uint64_t> size;
  if (by_nodes) {
    SZ_TRY(parsed, parseList(values["nodes"].as<std::string>(), "--nodes"));
    nodes = parsed;
  } else {
    SZ_TRY(bytes, parseMemorySize(values["size"].as<std::string>(), "--size"));
    size = bytes;
  }
  SZ_TRY(session, openPartitionSession(ctx, true));
  SZ_TRY(zone, cpuset::findPartition(session, name));
  if (size) {
    std::vector<cpuset::NodeCapacity> all;
    for (const auto& [node, total] : session.node_total_bytes) all.push_back({node, total});
    SZ_TRY(picked, cpuset::resizeNodesForSize(
                       zone->nodes, all, session.zones.find(cpuset::kFreeZoneName)->nodes, *size));
    nodes = picked;
  }
  if (!zone->nodes.minus(nodes).empty()) {
    // A shrink moves its processes' pages off the nodes given up: never on a tree's pids.
    SZ_TRY(pids, cpuset::partitionProcesses(session, *zone));
    SZ_CHECK(ctx.fs.checkCanActOnProcesses("resize (shrinking)", pids.size()));
  }
  SZ_TRY(report,
         cpuset::resizePartition(session, name, nodes,
                                 cpuset::ResizeOptions{values["force"].as<bool>(), workers}));
  if (ctx.json) {
    json out = {{"name", name},
                {"from", report.from.format()},
                {"to", report.to.format()},
                {"added", report.added.format()},
                {"released", report.released.format()},
                {"bytes_to_move", report.bytes_to_move},
                {"room_bytes", report.room_bytes},
                {"forced", report.forced},
                {"migration", migrationJson(report.migration)},
                {"notes", report.notes}};
    ctx.out << out.dump(2) << '\n';
    return {};
  }
  ctx.out << "resized partition " << name << ": nodes " << report.from.format() << " -> "
          << report.to.format();
  if (!report.added.empty()) ctx.out << " (added " << report.added.format() << ")";
  if (!report.released.empty()) ctx.out << " (released " << report.released.format() << ")";
  ctx.out << "\n";
  if (!report.released.empty()) {
    ctx.out << describeMigration(report.migration, report.released) << "\n";
  }
  for (const std::string& note : report.notes) ctx.out << "note: " << note << "\n";
  return {};
}

}  // namespace softzone::tools

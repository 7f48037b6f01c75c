// zonectl create NAME --nodes NODES | --size SIZE [--cpus CPUS]: a partition (a cpuset) on free
// nodes.
#include "partition_view.h"
#include "softzone/zones/size.h"

namespace softzone::tools {
namespace po = boost::program_options;

namespace {

std::vector<cpuset::NodeCapacity> freeCapacities(const cpuset::Session& session) {
  std::vector<cpuset::NodeCapacity> nodes;
  for (int node : session.zones.find(cpuset::kFreeZoneName)->nodes.ids()) {
    auto total = session.node_total_bytes.find(node);
    nodes.push_back({node, total == session.node_total_bytes.end() ? 0 : total->second});
  }
  return nodes;
}

}  // namespace

Status cmdCreate(Context& ctx, const std::vector<std::string>& args) {
  po::options_description options("create options");
  options.add_options()                                                                        //
      ("name", po::value<std::string>()->required()->value_name("NAME"), "partition name")     //
      ("nodes", po::value<std::string>()->value_name("NODES"), "free nodes to use (0-3,7)")    //
      ("size", po::value<std::string>()->value_name("SIZE"), "memory; free nodes are picked")  //
      ("cpus", po::value<std::string>()->value_name("CPUS"), "its own CPUs (default: all)")    //
      ("mem-hardwall", po::bool_switch(), "v1: kernel allocations stay on its nodes too")      //
      ("min", po::value<std::string>()->value_name("SIZE"), "overcommit floor (zoned)")        //
      ("max", po::value<std::string>()->value_name("SIZE"), "overcommit ceiling (zoned)");
  po::positional_options_description positional;
  positional.add("name", 1);
  po::variables_map values;
  if (!parseVerbOptions(ctx, "create", "NAME --nodes NODES|--size SIZE [--cpus CPUS]", options,
                        positional, args, values)) {
    return {};
  }
  cpuset::CreateRequest request;
  request.name = values["name"].as<std::string>();
  SZ_CHECK(checkName(request.name));
  if (auto clash = cpuset::checkPartitionCgroupName(request.name)) return badInput(*clash);
  bool by_nodes = values.count("nodes") > 0;
  bool by_size = values.count("size") > 0;
  if (by_nodes == by_size) return badInput("give exactly one of --nodes NODES and --size SIZE");
  std::optional<uint64_t> size;
  if (by_nodes) {
    SZ_TRY(nodes, parseList(values["nodes"].as<std::string>(), "--nodes"));
    request.nodes = nodes;
  } else {
    SZ_TRY(bytes, parseMemorySize(values["size"].as<std::string>(), "--size"));
    size = bytes;
  }
  if (values.count("cpus") > 0) {
    SZ_TRY(cpus, parseList(values["cpus"].as<std::string>(), "--cpus"));
    request.cpus = cpus;
  }
  request.mem_hardwall = values["mem-hardwall"].as<bool>();
  for (const char* key : {"min", "max"}) {
    if (values.count(key) == 0) continue;
    SZ_TRY(bytes, parseMemorySize(values[key].as<std::string>(), std::string("--") + key));
    (std::string(key) == "min" ? request.min_bytes : request.max_bytes) = bytes;
  }
  SZ_TRY(session, openPartitionSession(ctx, true));
  if (request.mem_hardwall && !session.backend->hasMemHardwall()) {
    return badInput("--mem-hardwall: cgroup v2 has no mem_hardwall (see docs/partitions.md)");
  }
  if (size) {
    SZ_TRY(nodes, cpuset::pickNodesForSize(freeCapacities(session), *size));
    request.nodes = nodes;
  }
  SZ_CHECK(cpuset::createPartition(session, request));
  const cpuset::ZoneView* zone = session.zones.find(request.name);
  if (zone == nullptr) return mismatch("partition " + request.name + " is not there after create");
  if (ctx.json) {
    ctx.out << zoneJson(session, *zone).dump(2) << '\n';
  } else {
    ctx.out << "created partition " << zone->name << ": nodes " << zone->nodes.format() << ", cpus "
            << (zone->cpus.empty() ? "-" : zone->cpus.format()) << " (cgroup " << zone->cgroup_path
            << ")\n";
  }
  return {};
}

}  // namespace softzone::tools

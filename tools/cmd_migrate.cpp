// zonectl migrate (--pid PID | NAME) --to NODES: moves a process's (or a partition's) pages to
// NODES with move_pages, leaving the page cache others share, then counts what is left elsewhere.
#include "partition_view.h"
#include "softzone/zones/text_parse.h"

namespace softzone::tools {
namespace po = boost::program_options;

Status cmdMigrate(Context& ctx, const std::vector<std::string>& args) {
  po::options_description options("migrate options");
  options.add_options()                                                                  //
      ("name", po::value<std::string>()->value_name("NAME"), "a partition's processes")  //
      ("pid", po::value<std::string>()->value_name("PID"), "one process")                //
      ("to", po::value<std::string>()->required()->value_name("NODES"), "target nodes");
  addWorkersOption(options);
  po::positional_options_description positional;
  positional.add("name", 1);
  po::variables_map values;
  if (!parseVerbOptions(ctx, "migrate", "(--pid PID | NAME) --to NODES", options, positional, args,
                        values)) {
    return {};
  }
  bool by_name = values.count("name") > 0;
  if (by_name == (values.count("pid") > 0))
    return badInput("give exactly one of NAME and --pid PID");
  SZ_TRY(workers, workersOption(values));
  SZ_TRY(to, parseList(values["to"].as<std::string>(), "--to"));
  std::vector<pid_t> pids;
  std::string name;
  std::string cgroup;  // the partition's: each pid is confirmed in it after its pidfd is open
  NodeSet own;         // the partition's nodes: shared pages already on them move as asked
  if (by_name) {
    name = values["name"].as<std::string>();
    SZ_CHECK(checkName(name));
  } else {
    const std::string& text = values["pid"].as<std::string>();
    auto pid = parseNumber<pid_t>(text);
    if (!pid || *pid <= 0) {
      return badInput("--pid: expected a process id, got " + quoteInput(text));
    }
    pids.push_back(*pid);
  }
  SZ_TRY(session, openPartitionSession(ctx, true));
  NodeSet absent = to.minus(session.zones.machine_nodes);
  if (!absent.empty()) return badInput("--to: nodes " + absent.format() + " do not exist");
  if (by_name) {
    SZ_TRY(zone, cpuset::findPartition(session, name));
    if (!to.isSubsetOf(zone->nodes)) {
      return badInput("--to " + to.format() + ": partition " + name + " has nodes " +
                      zone->nodes.format() + " only; resize it first");
    }
    SZ_TRY(found, cpuset::partitionProcesses(session, *zone));
    pids = found;
    cgroup = zone->cgroup_path;
    own = zone->nodes;
  }
  SZ_CHECK(ctx.fs.checkCanActOnProcesses("migrate", pids.size()));
  if (!by_name && !ctx.fs.exists("/proc/" + std::to_string(pids[0]))) {
    return badInput("--pid: no process " + std::to_string(pids[0]));
  }
  NodeSet from = session.zones.machine_nodes.minus(to);
  // What attach leaves, migrate leaves too: page cache outside the partition that is on the
  // shared zone's nodes or mapped by processes outside those moved (libc, trees bound to the
  // shared zone) is everyone's, not theirs to take along (zones::staysOnAttach).
  const cpuset::ZoneView* shared = session.zones.find(cpuset::kSharedZoneName);
  SZ_TRY(leave, zones::findPagesToLeave(*session.fs, pids, from.minus(own),
                                        shared != nullptr ? shared->nodes : NodeSet()));
  cpuset::MigrationTotals totals = cpuset::migrateProcesses(
      session, pids, from, to, workers, cpuset::Verify::kStatusQuery, leave, cgroup);
  uint64_t shared_left = 0;
  for (const zones::PagesToLeave& entry : leave) shared_left += entry.pages();
  if (ctx.json) {
    nlohmann::ordered_json out = {{"to", to.format()},
                                  {"migration", migrationJson(totals)},
                                  {"pages_shared_left", shared_left}};
    ctx.out << out.dump(2) << '\n';
  } else {
    ctx.out << describeMigration(totals, from) << "\n"
            << shared_left << " shared pages left in place (page cache on the shared zone's "
            << "nodes or mapped by other processes)\n";
  }
  // The pages were moved as far as they could be; a migration that left some, or could not act
  // on or count a process, did not do what was asked (exit 1).
  std::vector<std::string> notes;
  return cpuset::checkMigrationComplete(totals, "the processes", from, /*force=*/false, notes);
}

}  // namespace softzone::tools

// Shared pieces of the partition verbs: sessions, argument checks, zone tables and JSON.
#include "partition_view.h"

#include "softzone/planner/spec.h"
#include "softzone/zones/page_placement.h"
#include "softzone/zones/size.h"
#include "table.h"

namespace softzone::tools {
using json = nlohmann::ordered_json;
namespace po = boost::program_options;

namespace {

struct ZoneMemory {
  uint64_t total = 0;
  uint64_t free = 0;
};

ZoneMemory memoryOf(const cpuset::Session& session, const NodeSet& nodes) {
  ZoneMemory memory;
  for (int node : nodes.ids()) {
    auto total = session.node_total_bytes.find(node);
    auto free = session.node_free_bytes.find(node);
    if (total != session.node_total_bytes.end()) memory.total += total->second;
    if (free != session.node_free_bytes.end()) memory.free += free->second;
  }
  return memory;
}

// The tasks of a partition's whole subtree; nullopt for a zone without a cgroup. A subtree that
// could not be read (a user's cgroups deeper than zonectl walks, say) is an error to show, never
// a count of 0.
std::optional<Result<size_t>> taskCount(const cpuset::Session& session,
                                        const cpuset::ZoneView& zone) {
  if (zone.kind != ZoneKind::kPartition) return std::nullopt;
  auto pids = cpuset::partitionProcesses(session, zone);  // the cgroups below it too
  if (!pids) return Result<size_t>(std::move(pids).error());
  return Result<size_t>(pids->size());
}

std::string tasksCell(const std::optional<Result<size_t>>& tasks) {
  return tasks && *tasks ? std::to_string(**tasks) : "-";
}

std::string mib(uint64_t bytes) { return std::to_string((bytes + kMiB / 2) / kMiB); }

json optionalBytes(const std::optional<uint64_t>& value) {
  return value ? json(*value) : json(nullptr);
}

}  // namespace

Result<cpuset::Session> openPartitionSession(Context& ctx, bool mutate) {
  auto session = cpuset::openSession(ctx.fs, ctx.cgroup_mode, mutate, ctx.err);
  if (!session && !mutate) return readError(ctx, std::move(session).error());
  return session;
}

Status checkName(std::string_view name) {
  if (auto problem = planner::checkPartitionName(name)) return badInput(*problem);
  return {};
}

Result<NodeSet> parseList(const std::string& text, std::string_view what) {
  return NodeSet::parse(text, what);
}

void addWorkersOption(po::options_description& options) {
  options.add_options()("workers", po::value<int>()->value_name("N"),
                        "threads moving each process's pages (default: one per CPU zonectl may "
                        "run on, at most 8; 1: one migrate_pages(2) call per node)");
}

Result<int> workersOption(const po::variables_map& values) {
  if (values.count("workers") == 0) return 0;
  int workers = values["workers"].as<int>();
  if (workers < 1 || workers > 64) return badInput("--workers: expected 1 to 64");
  return workers;
}

json zoneJson(const cpuset::Session& session, const cpuset::ZoneView& zone) {
  ZoneMemory memory = memoryOf(session, zone.nodes);
  auto tasks = taskCount(session, zone);
  json out = {{"name", zone.name},
              {"kind", std::string(zoneKindName(zone.kind))},
              {"nodes", zone.nodes.format()},
              {"cpus", zone.cpus.format()},
              {"cgroup", zone.cgroup_path.empty() ? json(nullptr) : json(zone.cgroup_path)},
              {"tasks", tasks && *tasks ? json(**tasks) : json(nullptr)},
              {"mem_total_bytes", memory.total},
              {"mem_used_bytes", memory.total - std::min(memory.total, memory.free)},
              {"mem_free_bytes", memory.free}};
  if (zone.kind == ZoneKind::kPartition) {
    out["min_bytes"] = optionalBytes(zone.min_bytes);
    out["max_bytes"] = optionalBytes(zone.max_bytes);
    out["mem_hardwall"] = zone.mem_hardwall;
    out["in_state"] = zone.in_state;
    if (tasks && !*tasks) out["tasks_error"] = tasks->error().describe();
  }
  return out;
}

namespace {

json problemsJson(const std::vector<cpuset::ProcessProblem>& problems) {
  json list = json::array();
  for (const cpuset::ProcessProblem& problem : problems) {
    list.push_back({{"pid", problem.pid}, {"error", problem.error}});
  }
  return list;
}

}  // namespace

json migrationJson(const cpuset::MigrationTotals& totals) {
  json failures = json::object();
  for (const auto& [err, count] : totals.failures) failures[zones::errnoName(err)] = count;
  return {{"processes", totals.processes},
          {"pages_found", totals.pages_found},
          {"pages_moved", totals.pages_moved},
          {"pages_failed", totals.pages_failed},
          {"pages_left", totals.pages_left},
          {"processes_verified", totals.processes_verified},
          {"processes_failed", problemsJson(totals.processes_failed)},
          {"processes_unverified", problemsJson(totals.processes_unverified)},
          {"failures", failures},
          {"elapsed_ms", totals.elapsed_ms}};
}

std::string describeMigration(const cpuset::MigrationTotals& totals, const NodeSet& from) {
  uint64_t page = 4096;
  std::string text = "moved " + std::to_string(totals.pages_moved) + " pages (" +
                     formatSize(totals.pages_moved * page) + ") of " +
                     std::to_string(totals.processes) + " process(es) in " +
                     std::to_string(static_cast<long>(totals.elapsed_ms)) + " ms, " +
                     std::to_string(totals.pages_failed) + " failed";
  for (const auto& [err, count] : totals.failures) {
    text += " (" + zones::errnoName(err) + ": " + std::to_string(count) + ")";
  }
  // "0 left" only when something was counted: a count that could not be made is said so.
  if (totals.processes_unverified.empty()) {
    text += ", " + std::to_string(totals.pages_left) + " left on nodes " + from.format();
  } else {
    text += ", " + std::to_string(totals.pages_left) + " left on nodes " + from.format() + " in " +
            std::to_string(totals.processes_verified) + " process(es) checked; " +
            std::to_string(totals.processes_unverified.size()) +
            " process(es) could not be checked: " +
            cpuset::describeProblems(totals.processes_unverified);
  }
  if (!totals.processes_failed.empty()) {
    text += "; " + std::to_string(totals.processes_failed.size()) +
            " process(es) could not be moved: " + cpuset::describeProblems(totals.processes_failed);
  }
  return text;
}

void renderZonesText(const cpuset::Session& session, const cpuset::ZoneView* only,
                     std::ostream& out) {
  const cpuset::MachineZones& zones = session.zones;
  out << "cgroup " << cpuset::formatCgroupVersion(zones.cgroup.version) << " at "
      << zones.cgroup.mount_point << ", partitions under " << zones.parent << "\n";
  Table table;
  table.addColumn("ZONE");
  table.addColumn("KIND");
  table.addColumn("NODES");
  table.addColumn("CPUS");
  table.addColumn("TASKS", Table::Align::kRight);
  table.addColumn("TOTAL (MiB)", Table::Align::kRight);
  table.addColumn("USED (MiB)", Table::Align::kRight);
  table.addColumn("FREE (MiB)", Table::Align::kRight);
  std::vector<std::string> uncounted;
  for (const cpuset::ZoneView& zone : zones.zones) {
    if (only != nullptr && only != &zone) continue;
    ZoneMemory memory = memoryOf(session, zone.nodes);
    auto tasks = taskCount(session, zone);
    if (tasks && !*tasks)
      uncounted.push_back(zone.name + ": tasks not counted: " + tasks->error().describe());
    table.addRow({zone.name, std::string(zoneKindName(zone.kind)),
                  zone.nodes.empty() ? "-" : zone.nodes.format(),
                  zone.cpus.empty() ? "-" : zone.cpus.format(), tasksCell(tasks), mib(memory.total),
                  mib(memory.total - std::min(memory.total, memory.free)), mib(memory.free)});
  }
  table.render(out);
  for (const std::string& line : uncounted) out << line << "\n";
  if (only != nullptr && only->kind == ZoneKind::kPartition) {
    out << "cgroup: " << only->cgroup_path << "\n";
    if (only->min_bytes) out << "min: " << formatSize(*only->min_bytes) << "\n";
    if (only->max_bytes) out << "max: " << formatSize(*only->max_bytes) << "\n";
    if (session.backend->hasMemHardwall()) {
      out << "mem_hardwall: " << (only->mem_hardwall ? "on" : "off") << "\n";
    }
  }
  for (const std::string& line : zones.drift) {
    if (only != nullptr && line.find(" " + only->name) == std::string::npos) continue;
    out << "drift: " << line << "\n";
  }
}

json zonesJson(const cpuset::Session& session, const cpuset::ZoneView* only) {
  const cpuset::MachineZones& zones = session.zones;
  json partitions = json::array();
  json system = nullptr;
  json shared = nullptr;
  json free = nullptr;
  for (const cpuset::ZoneView& zone : zones.zones) {
    if (only != nullptr && only != &zone) continue;
    json one = zoneJson(session, zone);
    if (zone.kind == ZoneKind::kPartition) {
      partitions.push_back(one);
    } else if (zone.kind == ZoneKind::kSystem) {
      system = one;
    } else if (zone.kind == ZoneKind::kShared) {
      shared = one;
    } else {
      free = one;
    }
  }
  return {{"cgroup",
           {{"version", cpuset::formatCgroupVersion(zones.cgroup.version)},
            {"mount_point", zones.cgroup.mount_point},
            {"parent", zones.parent}}},
          {"system", system},
          {"shared", shared},
          {"partitions", partitions},
          {"free", free},
          {"drift", zones.drift}};
}

}  // namespace softzone::tools

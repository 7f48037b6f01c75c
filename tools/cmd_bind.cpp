// zonectl bind: put the page cache of file trees on a zone's nodes (populate, migrate, lock).
#include <unistd.h>

#include <future>
#include <nlohmann/json.hpp>
#include <optional>

#include "command.h"
#include "softzone/cache/page_cache.h"
#include "softzone/cpuset/zone_state.h"
#include "softzone/zones/size.h"
#include "softzone/zones/topology.h"

namespace softzone::tools {
namespace po = boost::program_options;
using json = nlohmann::ordered_json;

namespace {

constexpr std::string_view kDefaultZone = cpuset::kSharedZoneName;
// Where `--lock` records its keepers, one pid file per zone.
constexpr std::string_view kKeeperDir = "/run/softzone";

struct Target {
  std::optional<std::string> zone;  // the zone named, or none with --nodes
  NodeSet nodes;
};

// The nodes --nodes names must be online nodes with memory: a typo should not become a policy
// the kernel refuses halfway through.
Result<Target> checkNodes(const std::vector<zones::NodeMemory>& memory, Target target,
                          std::string_view what) {
  NodeSet known;
  for (const zones::NodeMemory& node : memory) {
    if (node.mem_total_bytes > 0) known.insert(node.id);
  }
  NodeSet unknown = target.nodes.minus(known);
  if (!unknown.empty()) {
    return badInput(std::string(what) + ": node(s) " + unknown.format() +
                    " do not exist or have no memory (nodes with memory: " + known.format() +
                    "; see `zonectl topology`)");
  }
  return target;
}

Result<Target> zoneTarget(const Context& ctx, const std::string& name) {
  auto machine = cpuset::readMachineZones(ctx.fs, ctx.cgroup_mode);
  if (!machine) return std::move(machine).error().withContext("reading the zones");
  const cpuset::ZoneView* zone = machine->find(name);
  if (zone == nullptr && name == cpuset::kSharedZoneName) {
    return badInput(
        "no shared zone on this machine: a spec's [shared] section and `zonectl "
        "apply SPEC` make one; or name the nodes with --nodes");
  }
  if (zone == nullptr) {
    std::string known;
    for (const cpuset::ZoneView& view : machine->zones) {
      if (view.kind == ZoneKind::kShared || view.kind == ZoneKind::kPartition)
        known += (known.empty() ? "" : ", ") + view.name;
    }
    return badInput("unknown zone " + quoteInput(name) + " (zones: " +
                    (known.empty() ? "none" : known) + "; or name nodes with --nodes)");
  }
  if (zone->nodes.empty()) {
    return badInput("zone " + quoteInput(name) +
                    " has no nodes yet (`zonectl apply` or "
                    "`zonectl create` gives it some; or name nodes with --nodes)");
  }
  // The shared zone's nodes must never be in a partition's mems: an OOM in that partition
  // would pick victims among every task whose mems intersect (see docs/shared-zone.md).
  if (zone->kind == ZoneKind::kShared) {
    for (const cpuset::ZoneView& view : machine->zones) {
      if (view.kind == ZoneKind::kPartition && view.nodes.intersects(zone->nodes)) {
        return mismatch("the shared zone's nodes " + zone->nodes.format() + " overlap partition " +
                        view.name + "'s mems " + view.nodes.format() +
                        ": fix the partition before binding to the shared zone");
      }
    }
  }
  return Target{name, zone->nodes};
}

std::string mib(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB",
                static_cast<double>(bytes) / static_cast<double>(kMiB));
  return text;
}

std::string perNode(const std::map<int, uint64_t>& pages) {
  std::string text;
  for (const auto& [node, count] : pages) {
    text += (text.empty() ? "" : ", ") + std::string("node ") + std::to_string(node) + ": " +
            std::to_string(count);
  }
  return text.empty() ? "-" : text;
}

// What the walk left out of a tree, for its line in the report ("" when nothing).
std::string skippedText(const cache::TreeWalk& walk) {
  std::string text;
  auto add = [&text](uint64_t count, std::string_view what) {
    if (count > 0) text += ", " + std::to_string(count) + " " + std::string(what);
  };
  add(walk.duplicates_skipped, "hard links to files already listed");
  add(walk.symlinks_skipped, "symlinks not followed");
  add(walk.mounts_skipped, "entries on other filesystems not walked (--cross-mounts walks them)");
  add(walk.changed_skipped, "entries that changed while walked, skipped");
  add(walk.others_skipped, "fifos, sockets or devices skipped");
  return text;
}

struct BindView {
  Target target;
  std::vector<cache::TreeWalk> walks;
  cache::BindReport report;
  std::optional<Result<cache::KeeperReport>> keeper;
};

void renderText(const BindView& view, std::ostream& out) {
  const cache::BindReport& report = view.report;
  std::string where = "nodes " + view.target.nodes.format();
  if (view.target.zone) where += " (zone " + *view.target.zone + ")";
  out << "bind to " << where << ": " << report.files << " files, " << mib(report.size_bytes) << ", "
      << report.pages << " pages, in " << static_cast<uint64_t>(report.elapsed_ms) << " ms\n";
  for (const cache::TreeWalk& walk : view.walks) {
    out << "  tree " << walk.root << ": " << walk.files.size() << " files, "
        << mib(walk.size_bytes);
    out << skippedText(walk) << "\n";
  }
  out << "pages already in place: " << report.pages_in_place << "\n"
      << "pages populated:        " << report.pages_populated << "\n"
      << "pages migrated:         " << report.pages_migrated << " (" << report.move_calls
      << " move_pages calls; moved to " << perNode(report.migrated_to) << ")\n"
      << "pages failed:           " << report.pages_failed;
  if (!report.failed_by_reason.empty()) {
    std::string reasons;
    for (const auto& [reason, count] : report.failed_by_reason) {
      reasons += (reasons.empty() ? "" : ", ") + std::string(cache::failReasonName(reason)) + ": " +
                 std::to_string(count);
    }
    out << " (" << reasons << ")";
  }
  out << "\n";
  if (!report.file_failures.empty()) {
    out << "files not wholly bound: " << report.file_failures.size() << "\n";
    for (const cache::FileFailure& failure : report.file_failures) {
      out << "  " << failure.path << ": " << cache::failReasonName(failure.reason) << ": "
          << failure.detail << "\n";
    }
  }
  if (report.stopped_by) out << "stopped early: " << report.stopped_by->describe() << "\n";
  if (view.keeper && *view.keeper) {
    const cache::KeeperReport& keeper = **view.keeper;
    out << "locked: " << keeper.files << " files, " << mib(keeper.locked_bytes)
        << " held resident by keeper pid " << keeper.pid;
    if (keeper.replaced) out << " (replaced pid " << *keeper.replaced << ")";
    out << "\n";
    for (const cache::FileFailure& failure : keeper.file_failures) {
      out << "  not locked: " << failure.path << ": " << failure.detail << "\n";
    }
  } else if (view.keeper) {
    out << "not locked: " << view.keeper->error().describe() << "\n";
  }
}

json nodeCounts(const std::map<int, uint64_t>& pages) {
  json counts = json::object();
  for (const auto& [node, count] : pages) counts[std::to_string(node)] = count;
  return counts;
}

json renderJson(const BindView& view) {
  const cache::BindReport& report = view.report;
  json trees = json::array();
  for (const cache::TreeWalk& walk : view.walks) {
    trees.push_back({{"path", walk.root},
                     {"files", walk.files.size()},
                     {"size_bytes", walk.size_bytes},
                     {"duplicates_skipped", walk.duplicates_skipped},
                     {"symlinks_skipped", walk.symlinks_skipped},
                     {"mounts_skipped", walk.mounts_skipped},
                     {"changed_skipped", walk.changed_skipped},
                     {"others_skipped", walk.others_skipped}});
  }
  json reasons = json::object();
  for (const auto& [reason, count] : report.failed_by_reason) {
    reasons[std::string(cache::failReasonName(reason))] = count;
  }
  json failures = json::array();
  for (const cache::FileFailure& failure : report.file_failures) {
    failures.push_back({{"path", failure.path},
                        {"reason", cache::failReasonName(failure.reason)},
                        {"detail", failure.detail}});
  }
  json keeper = nullptr;
  if (view.keeper && *view.keeper) {
    const cache::KeeperReport& held = **view.keeper;
    keeper = {{"pid", held.pid},
              {"files", held.files},
              {"locked_bytes", held.locked_bytes},
              {"replaced_pid", held.replaced ? json(*held.replaced) : json(nullptr)},
              {"files_not_locked", held.file_failures.size()}};
  } else if (view.keeper) {
    keeper = {{"error", view.keeper->error().describe()}};
  }
  return {{"zone", view.target.zone ? json(*view.target.zone) : json(nullptr)},
          {"nodes", view.target.nodes.format()},
          {"trees", trees},
          {"files", report.files},
          {"size_bytes", report.size_bytes},
          {"pages", report.pages},
          {"pages_in_place", report.pages_in_place},
          {"pages_populated", report.pages_populated},
          {"pages_migrated", report.pages_migrated},
          {"pages_failed", report.pages_failed},
          {"failed_by_reason", reasons},
          {"file_failures", failures},
          {"migrated_to", nodeCounts(report.migrated_to)},
          {"move_calls", report.move_calls},
          {"elapsed_ms", report.elapsed_ms},
          {"phases_ms",
           {{"look", report.look_ms},
            {"read", report.read_ms},
            {"move", report.move_ms},
            {"unmap", report.unmap_ms}}},
          {"complete", report.complete()},
          {"stopped_by", report.stopped_by ? json(report.stopped_by->describe()) : json(nullptr)},
          {"lock", keeper}};
}

Result<Target> resolveTarget(const Context& ctx, const po::variables_map& values,
                             const std::vector<zones::NodeMemory>& memory) {
  bool have_zone = values.count("zone") > 0;
  bool have_nodes = values.count("nodes") > 0;
  if (have_zone && have_nodes) return badInput("give --zone or --nodes, not both");
  if (have_nodes) {
    SZ_TRY(nodes, NodeSet::parse(values["nodes"].as<std::string>(), "--nodes"));
    return checkNodes(memory, Target{std::nullopt, nodes}, "--nodes");
  }
  std::string name = have_zone ? values["zone"].as<std::string>() : std::string(kDefaultZone);
  SZ_TRY(target, zoneTarget(ctx, name));
  return checkNodes(memory, std::move(target), "zone " + name);
}

// Free memory per target node, to spread migrated pages where there is room.
std::map<int, uint64_t> freeBytesOn(const std::vector<zones::NodeMemory>& memory,
                                    const NodeSet& nodes) {
  std::map<int, uint64_t> free;
  for (const zones::NodeMemory& node : memory) {
    if (nodes.contains(node.id)) free[node.id] = node.mem_free_bytes;
  }
  return free;
}

// Where the pages go: the target's nodes and the free memory on each.
struct Placement {
  Target target;
  std::map<int, uint64_t> free_bytes;
  uint64_t total_bytes = 0;  // the target nodes' memory
};

Result<Placement> placementOf(const Context& ctx, const po::variables_map& values) {
  auto memory = zones::readNodeMemoryAt(ctx.fs);
  if (!memory) return readError(ctx, std::move(memory).error());
  SZ_TRY(target, resolveTarget(ctx, values, *memory));
  std::map<int, uint64_t> free = freeBytesOn(*memory, target.nodes);
  uint64_t total = 0;
  for (const zones::NodeMemory& node : *memory) {
    if (target.nodes.contains(node.id)) total += node.mem_total_bytes;
  }
  return Placement{std::move(target), std::move(free), total};
}

// By default --lock may hold half of the target nodes' memory: locked page cache is never
// reclaimed, so the rest is what is left there for everything else, and a symlink or a mount
// slipped into a tree cannot make it pin a whole filesystem.
constexpr uint64_t kDefaultLockShareDivisor = 2;

uint64_t lockedBytesOf(const std::vector<cache::TreeFile>& files) {
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  uint64_t bytes = 0;
  for (const cache::TreeFile& file : files) bytes += (file.size_bytes + page - 1) / page * page;
  return bytes;
}

// --lock over its limit is refused before anything is read, moved or locked.
Status checkLockLimit(const po::variables_map& values, const Placement& placement,
                      const std::vector<cache::TreeFile>& files) {
  uint64_t asked = lockedBytesOf(files);
  std::string where = "nodes " + placement.target.nodes.format();
  if (placement.target.zone) where += " (zone " + *placement.target.zone + ")";
  uint64_t limit = placement.total_bytes / kDefaultLockShareDivisor;
  std::string whose = "half of the " + formatSize(placement.total_bytes) + " of " + where;
  if (values.count("lock-limit") > 0) {
    SZ_TRY(given, parseMemorySize(values["lock-limit"].as<std::string>(), "--lock-limit"));
    limit = given;
    whose = "--lock-limit";
  }
  if (asked <= limit) return {};
  return badInput("--lock would hold " + formatSize(asked) + " (" + std::to_string(files.size()) +
                  " files) but may hold at most " + formatSize(limit) + " (" + whose +
                  "); nothing was done: bind less, or raise the limit with --lock-limit SIZE");
}

Error incompleteError(const BindView& view) {
  const cache::BindReport& report = view.report;
  if (report.stopped_by) {
    return Error(*report.stopped_by)
        .withContext("stopped after " + std::to_string(report.files) +
                     " files (the report above says what was done)");
  }
  std::string first;
  if (!report.file_failures.empty()) {
    const cache::FileFailure& failure = report.file_failures.front();
    first = "; first: " + failure.path + ": " + std::string(cache::failReasonName(failure.reason));
  }
  return infeasible(
      std::to_string(report.pages_failed) + " pages and " +
      std::to_string(report.file_failures.size()) + " files not wholly bound" + first +
      " (the report above says what was done; run bind again once the cause is gone)");
}

po::options_description bindOptions() {
  po::options_description options("bind options");
  options.add_options()("zone", po::value<std::string>(),
                        "the zone whose nodes get the pages (default: shared)")(
      "nodes", po::value<std::string>(), "bind to these nodes instead of a zone's (0-3,7)")(
      "lock",
      "keep the pages resident: a keeper process mlocks them (costs their size in "
      "RAM; RLIMIT_MEMLOCK or CAP_IPC_LOCK)")(
      "lock-limit", po::value<std::string>(),
      "the most --lock may hold (SIZE; default: half of the target nodes' memory); more is "
      "refused before anything is done")(
      "cross-mounts",
      "walk into filesystems mounted below a PATH (default: a tree ends at its PATH's "
      "filesystem)")("path", po::value<std::vector<std::string>>(),
                     "files or directories to bind (symlinks below a PATH are not followed)");
  return options;
}

// --lock waits for the zones (read while the trees were walked) to check its limit before
// anything is read, moved or locked.
Status checkLockBeforeBind(const std::shared_future<Result<Placement>>& placement,
                           const po::variables_map& values,
                           const std::vector<cache::TreeFile>& files) {
  if (values.count("lock") == 0) return {};
  const Result<Placement>& placed = placement.get();
  if (!placed) return placed.error();
  return checkLockLimit(values, *placed, files);
}

}  // namespace

Status cmdBind(Context& ctx, const std::vector<std::string>& args) {
  po::options_description options = bindOptions();
  po::positional_options_description positional;
  positional.add("path", -1);
  po::variables_map values;
  if (!parseVerbOptions(ctx, "bind",
                        "PATH... [--zone NAME | --nodes NODES] [--lock [--lock-limit SIZE]] "
                        "[--cross-mounts]",
                        options, positional, args, values)) {
    return {};
  }
  if (!ctx.fs.isLive()) {
    return badInput("bind changes the running system's page cache; it does not work with --root");
  }
  if (values.count("path") == 0) return badInput("bind needs at least one PATH");
  if (values.count("lock-limit") > 0 && values.count("lock") == 0) {
    return badInput("--lock-limit limits --lock: give both, or neither");
  }
  // The zones and the nodes' memory are read while the trees are walked and the first files are
  // opened and looked at: none of that needs them (under emulation reading them took 40-55 ms
  // of a 430 ms bind). Missing paths and loops are refused before anything is done, an unknown
  // zone before any page is read or moved.
  std::shared_future<Result<Placement>> placement =
      std::async(std::launch::async, [&] { return placementOf(ctx, values); }).share();
  cache::WalkOptions walk_options;
  walk_options.cross_mounts = values.count("cross-mounts") > 0;
  SZ_TRY(walks, cache::walkTrees(values["path"].as<std::vector<std::string>>(), walk_options));

  std::vector<cache::TreeFile> files;
  for (const cache::TreeWalk& walk : walks)
    files.insert(files.end(), walk.files.begin(), walk.files.end());
  SZ_CHECK(checkLockBeforeBind(placement, values, files));
  // The holders' exits (each unmaps the pages it mapped) overlap the report: waited for when
  // this returns, after the report is printed.
  cache::ExitingHolders exiting;
  cache::BindOptions bind_options;
  bind_options.exiting = &exiting;
  bind_options.await_targets = [&placement](cache::BindOptions& awaited) -> Status {
    const Result<Placement>& placed = placement.get();
    if (!placed) return placed.error();
    awaited.targets = placed->target.nodes;
    awaited.free_bytes = placed->free_bytes;
    return {};
  };
  bind_options.proc = &ctx.fs;
  for (const cache::TreeFile& file : files) {
    if (bind_options.readahead_bytes.count(file.device) > 0) continue;
    // 0 (the kernel's default readahead size) where sysfs does not say: looked up once.
    bind_options.readahead_bytes[file.device] =
        cache::readaheadCallBytesAt(ctx.fs, file.device).value_or(0);
  }
  cache::BindReport report = cache::bindFiles(files, bind_options);
  // A zone that could not be resolved stopped the bind before anything was read or moved (or
  // there was nothing to bind): the error alone, as when it is refused up front.
  const Result<Placement>& placed = placement.get();
  if (!placed) return placed.error();
  const Target& target = placed->target;
  BindView view{target, std::move(walks), std::move(report), std::nullopt};
  if (values.count("lock") > 0 && !view.report.stopped_by) {
    std::string name = target.zone ? *target.zone : "nodes-" + target.nodes.format();
    view.keeper = cache::startKeeper(name, files, target.nodes, std::string(kKeeperDir), ctx.fs);
  }
  if (ctx.json) {
    ctx.out << renderJson(view).dump(2) << '\n';
  } else {
    renderText(view, ctx.out);
  }
  ctx.out.flush();
  if (!view.report.complete()) return incompleteError(view);
  if (view.keeper && !*view.keeper) return Error(view.keeper->error()).withContext("--lock");
  return {};
}

}  // namespace softzone::tools

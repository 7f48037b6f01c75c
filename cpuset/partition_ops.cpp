// Partition lifecycle: sessions (root check, v1 mount, lock, recovery), create, resize with
// migration first, destroy, attach, and the journal-driven recovery of each.
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <numeric>

#include "softzone/kernel_files.h"
#include "softzone/node_leftovers.h"
#include "softzone/page_placement.h"
#include "softzone/partitions.h"
#include "softzone/process_handle.h"
#include "softzone/size.h"
#include "softzone/topology.h"

namespace softzone::cpuset {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// Where zonectl mounts a v1 cpuset hierarchy when asked for v1 and none is mounted: never under
// a cgroup2 mount (a mkdir there would make a cgroup).
constexpr std::string_view kV1MountPoint = "/run/softzone/cpuset";
// Per kept node, what a shrink leaves free beyond the pages it moves: the kernel's watermarks
// and whatever the tasks allocate meanwhile.
constexpr uint64_t kShrinkHeadroomPerNodeBytes = 8 * kMiB;
// A process forking while its cgroup is emptied: read cgroup.procs again, this many times.
constexpr int kEmptyRounds = 20;

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::string cgroupOf(const Session& session, const std::string& name) {
  return session.zones.parent + "/" + name;
}

// Which zone holds `node`, for messages: "partition web", "the system zone".
std::string ownerOf(const MachineZones& zones, int node) {
  for (const ZoneView& zone : zones.zones) {
    if (zone.kind == "free" || !zone.nodes.contains(node)) continue;
    if (zone.kind == "partition") return "partition " + zone.name;
    return "the " + zone.name + " zone";
  }
  return "nobody";
}

const ZoneView& freeZone(const MachineZones& zones) {
  const ZoneView* free = zones.find(kFreeZoneName);
  if (free == nullptr) std::abort();  // buildMachineZones always adds it
  return *free;
}

// Nodes in `wanted` that are neither free nor in `own`: bad input naming their owners.
Status checkNodesAvailable(const MachineZones& zones, const NodeSet& wanted, const NodeSet& own,
                           std::string_view what) {
  if (wanted.empty()) return badInput(std::string(what) + ": the node list is empty");
  NodeSet absent = wanted.minus(zones.machine_nodes);
  if (!absent.empty()) {
    return badInput(std::string(what) + ": nodes " + absent.format() +
                    " do not exist on this machine (its nodes: " + zones.machine_nodes.format() +
                    ")");
  }
  NodeSet taken = wanted.minus(own).minus(freeZone(zones).nodes);
  if (!taken.empty()) {
    std::string owners;
    for (int node : taken.ids()) {
      if (!owners.empty()) owners += ", ";
      owners += "node " + std::to_string(node) + " is " + ownerOf(zones, node) + "'s";
    }
    return badInput(std::string(what) + ": nodes " + taken.format() + " are not free (" + owners +
                    "); free nodes: " +
                    (freeZone(zones).nodes.empty() ? "none" : freeZone(zones).nodes.format()));
  }
  return {};
}

std::string journalPrefix(const std::string& op) { return op + "."; }

// Writes the journal for `entry`; inside apply, as apply's current action.
Status journalStep(Session& session, JournalEntry& entry, const std::string& step,
                   const std::optional<JournalEntry>& outer) {
  entry.step = step;
  entry.parent = session.zones.parent;
  if (outer) {
    JournalEntry wrapped = *outer;
    wrapped.parent = session.zones.parent;
    wrapped.args["current"] = {{"op", entry.op}, {"args", entry.args}, {"step", entry.step}};
    SZ_CHECK(writeJournalAt(*session.fs, wrapped));
  } else {
    SZ_CHECK(writeJournalAt(*session.fs, entry));
  }
  if (!step.empty()) stopPointForTests(journalPrefix(entry.op) + step);
  return {};
}

// The apply entry whose current action is being run, when there is one.
std::optional<JournalEntry>& outerJournal() {
  static std::optional<JournalEntry> outer;
  return outer;
}

// An operation that neither completed nor rolled back: exit 1 (never 2: the request was fine),
// naming what failed and the journal left for the next run.
// Inside apply, the apply (or its recovery) says so once for all.
Error journalKept(const Error& error, std::string_view what) {
  if (outerJournal()) return Error(error).withContext(what);
  std::error_code code = error.isBadInput() ? make_error_code(Errc::kMismatch) : error.code();
  return Error(code, std::string(what) + ": " + error.message() + "; the journal " +
                         std::string(kJournalFile) +
                         " stays: fix the cause and run `zonectl recover`");
}

Status finishJournal(Session& session) {
  if (outerJournal()) {
    // Inside apply: the action is done; apply's own "done" index moves on right after.
    outerJournal()->args.erase("current");
    return writeJournalAt(*session.fs, *outerJournal());
  }
  return clearJournalAt(*session.fs);
}

Result<NodeSet> nodesArg(const json& args, const char* key) {
  auto it = args.find(key);
  if (it == args.end() || !it->is_string()) {
    return mismatch(std::string("the journal has no \"") + key + "\"");
  }
  return NodeSet::parseKernelList(it->get<std::string>(), key);
}

std::string stringArg(const json& args, const char* key) {
  auto it = args.find(key);
  return it != args.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<uint64_t> bytesArg(const json& args, const char* key) {
  auto it = args.find(key);
  if (it == args.end() || !it->is_number_unsigned()) return std::nullopt;
  return it->get<uint64_t>();
}

Status mountV1Cpuset(const FsRoot& fs) {
  SZ_CHECK(fs.makeDirs(kV1MountPoint, 0755));
  std::string target = fs.hostPath(kV1MountPoint);
  if (::mount("cpuset", target.c_str(), "cgroup", MS_NOSUID | MS_NODEV | MS_NOEXEC, "cpuset") !=
      0) {
    return errnoError(errno, "mounting a cgroup v1 cpuset hierarchy at " + target +
                                 " (the kernel may lack v1 cpusets, or cpuset is bound to v2)");
  }
  return {};
}

// --- create ---

Status runCreate(Session& session, JournalEntry& entry, const std::optional<JournalEntry>& outer) {
  const json& args = entry.args;
  std::string name = stringArg(args, "name");
  SZ_TRY(nodes, nodesArg(args, "nodes"));
  SZ_TRY(cpus, nodesArg(args, "cpus"));
  CgroupSettings settings{nodes, cpus, args.value("mem_hardwall", false)};
  std::string cgroup = cgroupOf(session, name);
  SZ_CHECK(session.backend->prepareParent(session.zones.parent));
  if (session.backend->exists(cgroup)) {
    SZ_CHECK(session.backend->configureCgroup(cgroup, settings));
  } else {
    SZ_CHECK(session.backend->createCgroup(cgroup, settings));
  }
  SZ_CHECK(journalStep(session, entry, "cgroup", outer));
  StateFile state = baseState(session);
  state.putPartition({name, nodes, cpus, bytesArg(args, "min_bytes"), bytesArg(args, "max_bytes"),
                      settings.mem_hardwall});
  SZ_CHECK(writeStateFileAt(*session.fs, state));
  SZ_CHECK(journalStep(session, entry, "state", outer));
  return {};
}

// Undoes a create: the cgroup goes (when it holds no task) and so does its state record.
Status rollBackCreate(Session& session, const std::string& name) {
  std::string cgroup = cgroupOf(session, name);
  if (session.backend->exists(cgroup)) SZ_CHECK(session.backend->removeCgroup(cgroup));
  StateFile state = baseState(session);
  if (state.partition(name) != nullptr) {
    state.removePartition(name);
    SZ_CHECK(writeStateFileAt(*session.fs, state));
  }
  return {};
}

// --- resize ---

// After the mems write: one more pass over what the tasks allocated on released nodes until then
// (the kernel now keeps them off), the count that decides, and the page cache the nodes still
// hold that no task maps (no page move reaches it).
Status finishShrink(Session& session, const std::string& name, const NodeSet& released,
                    const NodeSet& target, const json& args, ResizeReport& report) {
  std::string cgroup = cgroupOf(session, name);
  bool force = args.value("force", false);
  // The tasks may have allocated on released nodes until the mems write: one more pass now that
  // the kernel keeps them off, then the count that decides.
  SZ_TRY(after, session.backend->readSubtreeProcs(cgroup));
  MigrationTotals check = migrateProcesses(
      session, after, released, target, args.value("workers", 0), Verify::kStatusQuery, {}, cgroup);
  report.migration.pages_moved += check.pages_moved;
  report.migration.pages_left = check.pages_left;
  report.migration.elapsed_ms += check.elapsed_ms;
  report.migration.processes_verified = check.processes_verified;
  report.migration.processes_unverified = check.processes_unverified;
  report.migration.processes_failed = check.processes_failed;  // the first pass's may be retried
  report.verified = true;
  // A shrink hands the released nodes to others: pages left there, or processes that could not
  // be moved or counted, fail it (rolled back) unless forced.
  SZ_CHECK(
      checkMigrationComplete(report.migration, "partition " + name, released, force, report.notes));
  auto leftovers = readNodeLeftoversAt(*session.fs, released);
  if (!leftovers) {
    report.notes.push_back("the page cache left on nodes " + released.format() +
                           " was not checked: " + leftovers.error().message());
    return {};
  }
  report.node_leftovers = *leftovers;
  std::string left = describeLeftovers(*leftovers);
  if (!left.empty()) report.notes.push_back(left);
  return {};
}

// The forward path of a resize, safe to run again from any step: grow to old+new, move pages off
// the released nodes, write the new nodes, verify, record. The released nodes are the journal's
// `from` less `to` (with any other node the cgroup has): after a kill past the mems write the
// cgroup alone no longer says which nodes must end up empty.
Status runResize(Session& session, JournalEntry& entry, const std::optional<JournalEntry>& outer,
                 ResizeReport& report) {
  const json& args = entry.args;
  std::string name = stringArg(args, "name");
  SZ_TRY(target, nodesArg(args, "to"));
  SZ_TRY(from, nodesArg(args, "from"));
  int workers = args.value("workers", 0);
  std::string cgroup = cgroupOf(session, name);
  SZ_TRY(current, session.backend->readMems(cgroup));
  NodeSet all = current.unionWith(target);
  if (all != current) SZ_CHECK(session.backend->writeSubtreeMems(cgroup, current, all));
  SZ_CHECK(journalStep(session, entry, "grow", outer));

  NodeSet released = from.unionWith(current).minus(target);
  report.released = released;
  SZ_TRY(pids, session.backend->readSubtreeProcs(cgroup));
  if (!released.empty()) {
    // Verified once, after the second pass below: the count that decides is that one.
    report.migration =
        migrateProcesses(session, pids, released, target, workers, Verify::kLater, {}, cgroup);
  }
  SZ_CHECK(journalStep(session, entry, "migrate", outer));

  SZ_CHECK(session.backend->writeSubtreeMems(cgroup, all, target));
  SZ_CHECK(journalStep(session, entry, "shrink", outer));

  if (!released.empty()) SZ_CHECK(finishShrink(session, name, released, target, args, report));
  SZ_CHECK(journalStep(session, entry, "verify", outer));

  StateFile state = baseState(session);
  StatePartition record;
  if (const StatePartition* old = state.partition(name)) record = *old;
  record.name = name;
  record.nodes = target;
  SZ_TRY(cpus, session.backend->readCpus(cgroup));
  if (!state.partition(name)) record.cpus = cpus;
  state.putPartition(record);
  SZ_CHECK(writeStateFileAt(*session.fs, state));
  SZ_CHECK(journalStep(session, entry, "state", outer));
  return {};
}

// Undoes a resize: the old nodes again (a superset of the kept ones: nothing has to move).
Status rollBackResize(Session& session, const json& args) {
  std::string name = stringArg(args, "name");
  SZ_TRY(from, nodesArg(args, "from"));
  std::string cgroup = cgroupOf(session, name);
  if (!session.backend->exists(cgroup)) return {};
  return session.backend->writeMems(cgroup, from);
}

// --- destroy ---

// Every process of every cgroup in the partition's subtree goes to `destination`, each by
// pidfd and only while it is still in the subtree (a pid read earlier may be another's now).
// Processes forking meanwhile are caught by reading again, kEmptyRounds times.
Status emptySubtree(const Session& session, const std::string& cgroup,
                    const std::string& destination, DestroyReport& report) {
  for (int round = 0; round < kEmptyRounds; ++round) {
    SZ_TRY(pids, session.backend->readSubtreeProcs(cgroup));
    if (pids.empty()) return {};
    for (pid_t pid : pids) {
      Status moved = session.backend->moveProcessFrom(*session.fs, cgroup, destination, pid);
      if (moved) {
        report.moved.push_back(pid);
      } else if (moved.error().code() != std::errc::no_such_process) {
        return std::move(moved).error().withContext("moving process " + std::to_string(pid));
      }
    }
  }
  return {};  // what is left makes the rmdir fail (EBUSY), which says so
}

// The cgroups below the partition (made by a container runtime or systemd), deepest first.
Status removeChildCgroups(const Session& session, const std::string& cgroup,
                          DestroyReport& report) {
  SZ_TRY(subtree, session.backend->readSubtree(cgroup));
  for (auto it = subtree.rbegin(); it != subtree.rend(); ++it) {
    if (it->cgroup == cgroup) continue;
    Status removed = session.backend->removeCgroup(it->cgroup);
    if (!removed && removed.error().code() != std::errc::no_such_file_or_directory) {
      return std::move(removed).error().withContext("removing cgroup " + it->cgroup);
    }
    report.removed_cgroups.push_back(it->cgroup);
  }
  return {};
}

Status runDestroy(Session& session, JournalEntry& entry, const std::optional<JournalEntry>& outer,
                  DestroyReport& report) {
  const json& args = entry.args;
  std::string name = stringArg(args, "name");
  std::string to = stringArg(args, "to");
  std::string cgroup = cgroupOf(session, name);
  std::string destination = to.empty() ? std::string() : cgroupOf(session, to);
  if (session.backend->exists(cgroup)) {
    SZ_CHECK(emptySubtree(session, cgroup, destination, report));
    SZ_CHECK(journalStep(session, entry, "tasks", outer));
    // Without force, destroyPartition refused a subtree: a child made since stays, and the
    // rmdir below fails on it (EBUSY) rather than removing a runtime's cgroup unasked.
    if (args.value("force", false)) SZ_CHECK(removeChildCgroups(session, cgroup, report));
    Status removed = session.backend->removeCgroup(cgroup);
    if (!removed && removed.error().code() != std::errc::no_such_file_or_directory) {
      return removed;
    }
  }
  SZ_CHECK(journalStep(session, entry, "rmdir", outer));
  StateFile state = baseState(session);
  state.removePartition(name);
  SZ_CHECK(writeStateFileAt(*session.fs, state));
  SZ_CHECK(journalStep(session, entry, "state", outer));
  report.to = to;
  return {};
}

// What running a journaled operation came to when it did not end half-way: completed, or
// rolled back (`ran` then holds why it had to be).
struct EntryOutcome {
  Status ran;
  std::string line;  // "completed: ..." or "rolled back: ..."
};

// What a completed resize did on the released nodes, for recovery's report.
std::string resizeLine(const std::string& name, const json& args, const ResizeReport& report) {
  std::string line = "completed: resize " + name + " to nodes " + stringArg(args, "to");
  if (report.released.empty()) return line;
  line += "; nodes " + report.released.format() +
          " released: " + std::to_string(report.migration.pages_moved) + " pages moved, " +
          (report.verified ? std::to_string(report.migration.pages_left) + " left"
                           : std::string("not verified"));
  for (const std::string& note : report.notes) line += "; " + note;
  return line;
}

// Runs one journaled operation from its journal entry (fresh or found by recovery). An error
// means it neither completed nor rolled back (the rollback or a destroy failed): the journal
// must stay for the next run.
Result<EntryOutcome> runEntry(Session& session, JournalEntry& entry,
                              const std::optional<JournalEntry>& outer) {
  std::string name = stringArg(entry.args, "name");
  if (entry.op == "create") {
    Status created = runCreate(session, entry, outer);
    if (created) return EntryOutcome{{}, "completed: create " + name};
    Status undone = rollBackCreate(session, name);
    if (!undone) {
      return std::move(undone).error().withContext("rolling back create " + name +
                                                   " after: " + created.error().message());
    }
    std::string why = created.error().message();
    return EntryOutcome{std::move(created), "rolled back: create " + name + " (" + why + ")"};
  }
  if (entry.op == "resize") {
    ResizeReport report;
    Status resized = runResize(session, entry, outer, report);
    if (resized) return EntryOutcome{{}, resizeLine(name, entry.args, report)};
    Status undone = rollBackResize(session, entry.args);
    if (!undone) {
      return std::move(undone).error().withContext("rolling back resize " + name +
                                                   " after: " + resized.error().message());
    }
    std::string line = "rolled back: resize " + name + " (nodes " + stringArg(entry.args, "from") +
                       " again: " + resized.error().message() + ")";
    return EntryOutcome{std::move(resized), line};
  }
  if (entry.op == "destroy") {
    DestroyReport report;
    Status destroyed = runDestroy(session, entry, outer, report);
    if (!destroyed) return std::move(destroyed).error().withContext("destroying " + name);
    return EntryOutcome{{}, "completed: destroy " + name};
  }
  return mismatch("the journal names an unknown operation " + quoteInput(entry.op));
}

NodeSet jsonNodes(const json& value) {
  if (!value.is_string()) return NodeSet();
  return NodeSet::parseKernelList(value.get<std::string>(), "journal").value_or(NodeSet());
}

// --- apply ---

json partitionJson(const DesiredPartition& p) {
  json out = {{"name", p.name},
              {"nodes", p.nodes.format()},
              {"cpus", p.cpus.format()},
              {"mem_hardwall", p.mem_hardwall}};
  if (p.min_bytes) out["min_bytes"] = *p.min_bytes;
  if (p.max_bytes) out["max_bytes"] = *p.max_bytes;
  return out;
}

DesiredPartition partitionFromJson(const json& value) {
  DesiredPartition p;
  p.name = stringArg(value, "name");
  p.nodes = jsonNodes(value.value("nodes", json()));
  p.cpus = jsonNodes(value.value("cpus", json()));
  p.mem_hardwall = value.value("mem_hardwall", false);
  p.min_bytes = bytesArg(value, "min_bytes");
  p.max_bytes = bytesArg(value, "max_bytes");
  return p;
}

json zoneJson(const StateZone& zone) {
  return {{"nodes", zone.nodes.format()}, {"cpus", zone.cpus.format()}, {"bind", zone.bind}};
}

StateZone zoneFromJson(const json& value) {
  StateZone zone{
      jsonNodes(value.value("nodes", json())), jsonNodes(value.value("cpus", json())), {}};
  for (const json& path : value.value("bind", json::array())) {
    if (path.is_string()) zone.bind.push_back(path.get<std::string>());
  }
  return zone;
}

// Writes the desired system and shared zones (and the spec's name) into the state file.
Status writeZonesState(Session& session, const json& desired) {
  StateFile state = baseState(session);
  state.system = zoneFromJson(desired.value("system", json::object()));
  auto shared = desired.find("shared");
  if (shared != desired.end() && shared->is_object()) {
    state.shared = zoneFromJson(*shared);
  } else {
    state.shared.reset();
  }
  state.spec = stringArg(desired, "spec");
  SZ_CHECK(writeStateFileAt(*session.fs, state));
  return reloadSession(session);
}

// Settings that are not nodes: CPUs, mem_hardwall, min/max (one cgroup write, one state write).
Status updatePartition(Session& session, const DesiredPartition& target) {
  std::string cgroup = cgroupOf(session, target.name);
  SZ_TRY(mems, session.backend->readMems(cgroup));
  SZ_CHECK(session.backend->configureCgroup(
      cgroup, CgroupSettings{mems, target.cpus, target.mem_hardwall}));
  StateFile state = baseState(session);
  state.putPartition(
      {target.name, mems, target.cpus, target.min_bytes, target.max_bytes, target.mem_hardwall});
  SZ_CHECK(writeStateFileAt(*session.fs, state));
  return reloadSession(session);
}

Status runAction(Session& session, const ApplyAction& action, std::vector<std::string>& done) {
  const DesiredPartition& target = action.target;
  const ZoneView* zone = session.zones.find(target.name);
  bool exists = zone != nullptr && zone->kind == "partition";
  if (action.verb == "destroy") {
    if (exists) {
      auto destroyed = destroyPartition(session, target.name, "", /*force=*/false);
      if (!destroyed) return std::move(destroyed).error();
    }
    done.push_back("destroyed " + target.name);
    return {};
  }
  if (action.verb == "create" && !exists) {
    SZ_CHECK(createPartition(
        session, CreateRequest{target.name, target.nodes, target.cpus, target.mem_hardwall,
                               target.min_bytes, target.max_bytes}));
    done.push_back("created " + target.name + " on nodes " + target.nodes.format());
    return {};
  }
  if (!exists) return mismatch("partition " + target.name + " vanished during apply");
  if (action.verb == "shrink" || action.verb == "resize" || action.verb == "create") {
    SZ_TRY(report, resizePartition(session, target.name, target.nodes, ResizeOptions{}));
    done.push_back(action.verb + " " + target.name + ": nodes " + report.from.format() + " -> " +
                   report.to.format() + ", " + std::to_string(report.migration.pages_moved) +
                   " pages moved");
    if (action.verb == "shrink") return {};
  }
  SZ_CHECK(updatePartition(session, target));
  if (action.verb == "update") done.push_back("updated " + target.name);
  return {};
}

json actionJson(const ApplyAction& action) {
  return {{"verb", action.verb},
          {"target", partitionJson(action.target)},
          {"from", action.from.format()}};
}

ApplyAction actionFromJson(const json& value) {
  return ApplyAction{stringArg(value, "verb"), partitionFromJson(value.value("target", json())),
                     jsonNodes(value.value("from", json()))};
}

// Runs the actions of the apply journal in outerJournal() from its "done" index, then clears it.
Status continueApply(Session& session, std::vector<std::string>& done) {
  std::optional<JournalEntry>& outer = outerJournal();
  json& args = outer->args;
  if (!args.value("zones_done", false)) {
    SZ_CHECK(writeZonesState(session, args.value("desired", json::object())));
    args["zones_done"] = true;
    SZ_CHECK(writeJournalAt(*session.fs, *outer));
    stopPointForTests("apply.zones");
  }
  const json actions = args.value("actions", json::array());
  for (size_t i = args.value("done", 0); i < actions.size(); ++i) {
    SZ_CHECK(runAction(session, actionFromJson(actions[i]), done));
    args["done"] = i + 1;
    args.erase("current");
    SZ_CHECK(writeJournalAt(*session.fs, *outer));
    stopPointForTests("apply.action." + std::to_string(i + 1));
  }
  // The spec's settings once more: a recovered create or resize writes its own record.
  SZ_CHECK(writeZonesState(session, args.value("desired", json::object())));
  return {};
}
}  // namespace

Result<Session> openSession(const FsRoot& fs, CgroupMode mode, bool mutate, std::ostream& log) {
  if (mutate && fs.isLive() && ::geteuid() != 0) {
    return errnoError(EPERM,
                      "needs root: it changes cgroups and /var/lib/softzone; nothing was changed");
  }
  Session session;
  session.fs = &fs;
  session.log = &log;
  SZ_TRY(interfaces, detectCgroupInterfacesAt(fs));
  auto choice = resolveCgroupMode(mode, interfaces);
  if (!choice && mutate && fs.isLive() && mode != CgroupMode::kV2 && !interfaces.v1_cpuset &&
      !(interfaces.v2 && interfaces.v2_cpuset_controller)) {
    Status mounted = mountV1Cpuset(fs);
    if (!mounted) return std::move(choice).error();
    log << "zonectl: mounted a cgroup v1 cpuset hierarchy at " << kV1MountPoint << "\n";
    SZ_TRY(again, detectCgroupInterfacesAt(fs));
    choice = resolveCgroupMode(mode, again);
  }
  if (!choice) return std::move(choice).error();
  if (mutate) {
    SZ_TRY(lock, OpLock::acquire(fs));
    session.lock.emplace(std::move(lock));
  }
  SZ_TRY(backend, CgroupBackend::open(fs, *choice));
  session.backend = std::move(backend);
  SZ_CHECK(reloadSession(session));
  if (mutate) {
    SZ_TRY(recovered, recoverJournal(session));
    for (const std::string& line : recovered) log << "zonectl: recovered: " << line << "\n";
  }
  return session;
}

Status reloadSession(Session& session) {
  SZ_TRY(zones, readMachineZonesWith(*session.fs, CgroupChoice{session.backend->version(),
                                                               session.backend->mountPoint()}));
  session.zones = std::move(zones);
  session.node_total_bytes.clear();
  session.node_free_bytes.clear();
  auto memory = zones::readNodeMemoryAt(*session.fs);
  if (memory) {
    for (const zones::NodeMemory& node : *memory) {
      session.node_total_bytes[node.id] = node.mem_total_bytes;
      session.node_free_bytes[node.id] = node.mem_free_bytes;
    }
  }
  return {};
}

StateFile baseState(const Session& session) {
  if (session.zones.state) {
    StateFile state = *session.zones.state;
    state.cgroup_version = std::string(formatCgroupVersion(session.backend->version()));
    state.mount_point = session.backend->mountPoint();
    state.parent = session.zones.parent;
    // Records of partitions whose cgroups are gone are dropped: the tree is the truth.
    std::vector<StatePartition> kept;
    for (const StatePartition& p : state.partitions) {
      if (session.zones.find(p.name) != nullptr) kept.push_back(p);
    }
    state.partitions = kept;
    return state;
  }
  StateFile state;
  state.cgroup_version = std::string(formatCgroupVersion(session.backend->version()));
  state.mount_point = session.backend->mountPoint();
  state.parent = session.zones.parent;
  const ZoneView* system = session.zones.find(kSystemZoneName);
  state.system = {system->nodes, system->cpus, {}};
  return state;
}

Result<NodeSet> pickNodesForSize(const std::vector<NodeCapacity>& free_nodes, uint64_t bytes) {
  auto usable = [](const NodeCapacity& node) {
    return static_cast<uint64_t>(static_cast<double>(node.total_bytes) * (1.0 - kNodeSizeMargin));
  };
  uint64_t all = 0;
  for (const NodeCapacity& node : free_nodes) all += usable(node);
  if (bytes == 0) return badInput("--size: the size is 0");
  if (all < bytes) {
    return infeasible("the free nodes hold " + formatSize(all) + " usable, less than the " +
                      formatSize(bytes) + " asked for (free nodes lose " +
                      std::to_string(static_cast<int>(kNodeSizeMargin * 100)) +
                      "% to holes and kernel use); destroy or shrink a partition first");
  }
  // The shortest run of consecutive ids (one stretch of one physical node, usually).
  std::optional<std::pair<size_t, size_t>> best;
  for (size_t first = 0; first < free_nodes.size(); ++first) {
    uint64_t sum = 0;
    for (size_t last = first; last < free_nodes.size(); ++last) {
      if (last > first && free_nodes[last].id != free_nodes[last - 1].id + 1) break;
      sum += usable(free_nodes[last]);
      if (sum >= bytes) {
        if (!best || last - first < best->second - best->first) best = {first, last};
        break;
      }
    }
  }
  NodeSet picked;
  if (best) {
    for (size_t i = best->first; i <= best->second; ++i) picked.insert(free_nodes[i].id);
    return picked;
  }
  std::vector<NodeCapacity> by_size = free_nodes;
  std::stable_sort(by_size.begin(), by_size.end(),
                   [](const auto& a, const auto& b) { return a.total_bytes > b.total_bytes; });
  uint64_t sum = 0;
  for (const NodeCapacity& node : by_size) {
    if (sum >= bytes) break;
    picked.insert(node.id);
    sum += usable(node);
  }
  return picked;
}

Result<NodeSet> resizeNodesForSize(const NodeSet& current,
                                   const std::vector<NodeCapacity>& all_nodes,
                                   const NodeSet& free_nodes, uint64_t bytes) {
  if (bytes == 0) return badInput("--size: the size is 0");
  std::map<int, uint64_t> usable;
  for (const NodeCapacity& node : all_nodes) {
    usable[node.id] =
        static_cast<uint64_t>(static_cast<double>(node.total_bytes) * (1.0 - kNodeSizeMargin));
  }
  NodeSet result;
  uint64_t sum = 0;
  for (int node : current.ids()) {
    if (sum >= bytes) break;
    result.insert(node);
    sum += usable[node];
  }
  std::vector<int> candidates = free_nodes.ids();
  while (sum < bytes) {
    if (candidates.empty()) {
      return infeasible("the partition and the free nodes hold " + formatSize(sum) +
                        " usable, less than the " + formatSize(bytes) + " asked for");
    }
    // The free node nearest to the partition's nodes, lowest id on a tie.
    auto distance = [&](int id) {
      int best = 1 << 20;
      for (int have : result.ids()) best = std::min(best, std::abs(have - id));
      return best;
    };
    auto nearest = std::min_element(candidates.begin(), candidates.end(),
                                    [&](int a, int b) { return distance(a) < distance(b); });
    result.insert(*nearest);
    sum += usable[*nearest];
    candidates.erase(nearest);
  }
  return result;
}

Result<const ZoneView*> findPartition(const Session& session, const std::string& name) {
  const ZoneView* zone = session.zones.find(name);
  if (zone != nullptr && zone->kind == "partition") return zone;
  std::string known;
  for (const ZoneView* p : session.zones.partitions()) {
    known += (known.empty() ? "" : ", ") + p->name;
  }
  if (zone != nullptr) {
    return badInput(quoteInput(name) + " is the " + zone->kind + " zone, not a partition");
  }
  return badInput("unknown partition " + quoteInput(name) + "; partitions: " +
                  (known.empty() ? "none (zonectl create NAME makes one)" : known));
}

Result<std::vector<pid_t>> partitionProcesses(const Session& session, const ZoneView& zone) {
  return session.backend->readSubtreeProcs(zone.cgroup_path);
}

uint64_t bytesOnNodes(const Session& session, const std::vector<pid_t>& pids,
                      const NodeSet& nodes) {
  uint64_t pages = 0;
  for (pid_t pid : pids) {
    auto entries = zones::readNumaMapsAt(*session.fs, pid);
    if (!entries) continue;  // gone, or a kernel thread
    for (const zones::NumaMapsEntry& entry : *entries) {
      for (const auto& [node, count] : entry.pages_per_node) {
        if (nodes.contains(node)) pages += count;
      }
    }
  }
  return pages * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

namespace {

// The pages of `pid` that `leave` keeps where they are; nullptr when none.
const zones::PagesToLeave* pagesLeftBy(const std::vector<zones::PagesToLeave>& leave, pid_t pid) {
  for (const zones::PagesToLeave& entry : leave) {
    if (entry.pid == pid && entry.pages() > 0) return &entry;
  }
  return nullptr;
}

const zones::PageSyscalls& pageSyscalls(const Session& session) {
  return session.page_syscalls != nullptr ? *session.page_syscalls : zones::kernelPageSyscalls();
}

// Only ESRCH says a process is gone (with nothing left to move or count); EPERM, EACCES,
// EINVAL... say it is there and could not be acted on.
bool isGone(const Error& error) {
  return error.code() == std::error_code(ESRCH, std::generic_category());
}

// Pages of `pid` on `nodes` by the status query, less those `kept` leaves there. An error when
// they could not be counted (ESRCH: the process is gone).
Result<uint64_t> pagesLeftOn(const Session& session, pid_t pid, const NodeSet& nodes,
                             const zones::PagesToLeave* kept) {
  SZ_TRY(maps, zones::readMapsAt(*session.fs, pid));
  std::vector<zones::MapRange> ranges = zones::movableRanges(maps);
  // numa_maps only thins out huge sparse ranges; without it every address is asked about.
  auto numa = zones::readNumaMapsAt(*session.fs, pid);
  if (numa) ranges = zones::denseRanges(ranges, *numa);
  SZ_TRY(pages, zones::listPagesOn(pid, ranges, nodes, nullptr, pageSyscalls(session)));
  uint64_t left = 0;
  for (const zones::PageLocation& page : pages) {
    if (kept == nullptr || !kept->contains(page.address)) ++left;
  }
  return left;
}

zones::MoveOptions moveOptionsFor(const Session& session, const NodeSet& to, int workers) {
  zones::MoveOptions options;
  options.workers = workers > 0 ? workers : zones::defaultMoveWorkers();
  // The copy is the cost: several CPUs copying disjoint pages beat the kernel's single-threaded
  // migrate_pages(2) (1.5x with two, docs/benchmarks.md). Alone, migrate_pages(2) per source node
  // is the faster method: it walks the page tables once instead of looking up every address.
  options.method =
      options.workers > 1 ? zones::MoveMethod::kMovePages : zones::MoveMethod::kMigratePages;
  // MOVE_ALL takes pages shared with other processes too: the nodes a shrink releases must end
  // up empty, not just of this partition's private pages.
  options.flags = MPOL_MF_MOVE_ALL;
  options.syscalls = session.page_syscalls;
  for (int node : to.ids()) {
    auto free = session.node_free_bytes.find(node);
    if (free != session.node_free_bytes.end()) options.free_bytes[node] = free->second;
  }
  return options;
}

// Holds `pid` by a pidfd and, when `cgroup` is given, confirms after opening that the process is
// in it or below: a pid read from cgroup.procs earlier may since name another process. ESRCH
// when it is gone or has left (not this partition's to move any more).
Result<zones::ProcessHandle> holdProcess(const Session& session, pid_t pid,
                                         std::string_view cgroup) {
  if (cgroup.empty()) return zones::ProcessHandle::open(pid);
  return zones::holdProcessIn(*session.fs, pid, cgroup, session.backend->procCgroupController());
}

// Files a per-process error: ESRCH is a process that is gone, anything else goes to `problems`.
void fileError(pid_t pid, const Error& error, std::vector<ProcessProblem>& problems) {
  if (!isGone(error)) problems.push_back({pid, error.describe()});
}

// Moves one process's pages while a pidfd holds it; a process that exited meanwhile is gone (the
// calls after its exit may have met a newer process with its number: logged).
void moveProcess(const Session& session, pid_t pid, const NodeSet& from, const NodeSet& to,
                 std::string_view cgroup, const zones::MoveOptions& options,
                 MigrationTotals& totals) {
  auto held = holdProcess(session, pid, cgroup);
  if (!held) return fileError(pid, held.error(), totals.processes_failed);
  auto moved = zones::movePages(*session.fs, pid, from, to, options);
  if (held->exited()) {
    if (session.log != nullptr) {
      *session.log << "zonectl: pid " << pid << " exited while its pages were moved\n";
    }
    return;
  }
  if (!moved) return fileError(pid, moved.error(), totals.processes_failed);
  ++totals.processes;
  totals.pages_found += moved->pages_found;
  totals.pages_moved += moved->pages_moved + moved->pages_swept;
  totals.pages_failed += moved->pages_failed;
  for (const auto& [err, count] : moved->failures) totals.failures[err] += count;
}

// The verification: move_pages' status query on every mapped page of each process, each held
// by a pidfd across the count.
void verifyProcesses(const Session& session, const std::vector<pid_t>& pids, const NodeSet& from,
                     std::string_view cgroup, const std::vector<zones::PagesToLeave>& leave,
                     MigrationTotals& totals) {
  for (pid_t pid : pids) {
    auto held = holdProcess(session, pid, cgroup);
    if (!held) {
      fileError(pid, held.error(), totals.processes_unverified);
      continue;
    }
    auto left = pagesLeftOn(session, pid, from, pagesLeftBy(leave, pid));
    if (held->exited()) continue;  // gone: nothing of it is left anywhere
    if (!left) {
      fileError(pid, left.error(), totals.processes_unverified);
      continue;
    }
    totals.pages_left += *left;
    ++totals.processes_verified;
  }
}

}  // namespace

MigrationTotals migrateProcesses(const Session& session, const std::vector<pid_t>& pids,
                                 const NodeSet& from, const NodeSet& to, int workers, Verify verify,
                                 const std::vector<zones::PagesToLeave>& leave,
                                 std::string_view cgroup) {
  MigrationTotals totals;
  auto start = Clock::now();
  // A tree's pids name live processes: none is acted on (the verbs refuse before this).
  Status live = session.fs->checkCanActOnProcesses("moving pages", pids.size());
  if (!live) {
    for (pid_t pid : pids) totals.processes_failed.push_back({pid, live.error().describe()});
    return totals;
  }
  zones::MoveOptions options = moveOptionsFor(session, to, workers);
  for (pid_t pid : pids) {
    const zones::PagesToLeave* kept = pagesLeftBy(leave, pid);
    options.leave = nullptr;
    if (kept != nullptr) {
      options.leave = [kept](uint64_t address) { return kept->contains(address); };
    }
    moveProcess(session, pid, from, to, cgroup, options, totals);
  }
  if (verify == Verify::kStatusQuery) verifyProcesses(session, pids, from, cgroup, leave, totals);
  totals.elapsed_ms = msSince(start);
  return totals;
}

std::string describeProblems(const std::vector<ProcessProblem>& problems) {
  std::string text;
  for (const ProcessProblem& problem : problems) {
    text += (text.empty() ? "" : ", ") + std::string("pid ") + std::to_string(problem.pid) + " (" +
            problem.error + ")";
  }
  return text;
}

std::string incompleteMigration(const MigrationTotals& totals, const std::string& what,
                                const NodeSet& from) {
  std::string text;
  auto add = [&text](const std::string& problem) { text += (text.empty() ? "" : "; ") + problem; };
  if (totals.pages_left > 0) {
    add(std::to_string(totals.pages_left) + " pages of " + what + " are still on nodes " +
        from.format() + " (pages the kernel would not move: pinned, busy or out of room)");
  }
  if (!totals.processes_failed.empty()) {
    add(std::to_string(totals.processes_failed.size()) +
        " process(es) could not be moved: " + describeProblems(totals.processes_failed));
  }
  if (!totals.processes_unverified.empty()) {
    add(std::to_string(totals.processes_unverified.size()) +
        " process(es) could not be checked for pages left on nodes " + from.format() + ": " +
        describeProblems(totals.processes_unverified));
  }
  return text;
}

Status checkMigrationComplete(const MigrationTotals& totals, const std::string& what,
                              const NodeSet& from, bool force, std::vector<std::string>& notes) {
  std::string problems = incompleteMigration(totals, what, from);
  if (problems.empty()) return {};
  if (!force) return infeasible(problems);
  notes.push_back(problems +
                  " (--force: going on; the kernel reclaims or moves what stays as "
                  "memory there is needed)");
  return {};
}

Status checkCreate(const Session& session, const CreateRequest& request) {
  if (auto clash = checkPartitionCgroupName(request.name)) return badInput(*clash);
  if (const ZoneView* zone = session.zones.find(request.name)) {
    return badInput("partition " + quoteInput(request.name) + " exists (nodes " +
                    zone->nodes.format() + "); resize it, or destroy it first");
  }
  if (session.backend->exists(cgroupOf(session, request.name))) {
    return badInput("cgroup " + cgroupOf(session, request.name) + " exists already");
  }
  SZ_CHECK(checkNodesAvailable(session.zones, request.nodes, NodeSet(), "--nodes"));
  NodeSet missing = request.cpus.minus(session.zones.machine_cpus);
  if (!missing.empty()) {
    return badInput("--cpus: CPUs " + missing.format() +
                    " do not exist (online: " + session.zones.machine_cpus.format() + ")");
  }
  if (request.min_bytes && request.max_bytes && *request.min_bytes > *request.max_bytes) {
    return badInput("min is above max");
  }
  return {};
}

Status createPartition(Session& session, const CreateRequest& request) {
  SZ_CHECK(checkCreate(session, request));
  json args = {{"name", request.name},
               {"nodes", request.nodes.format()},
               {"cpus", request.cpus.format()},
               {"mem_hardwall", request.mem_hardwall}};
  if (request.min_bytes) args["min_bytes"] = *request.min_bytes;
  if (request.max_bytes) args["max_bytes"] = *request.max_bytes;
  JournalEntry entry{"create", args, "", ""};
  const std::optional<JournalEntry>& outer = outerJournal();
  SZ_CHECK(journalStep(session, entry, "journal", outer));
  auto outcome = runEntry(session, entry, outer);
  if (!outcome) return journalKept(outcome.error(), "create " + request.name);
  SZ_CHECK(finishJournal(session));
  SZ_CHECK(reloadSession(session));
  return std::move(outcome->ran);
}

Status checkResize(const Session& session, const std::string& name, const NodeSet& nodes) {
  SZ_TRY(zone, findPartition(session, name));
  return checkNodesAvailable(session.zones, nodes, zone->nodes, "--nodes");
}

Result<ResizeReport> resizePartition(Session& session, const std::string& name,
                                     const NodeSet& nodes, const ResizeOptions& options) {
  SZ_CHECK(checkResize(session, name, nodes));
  SZ_TRY(zone, findPartition(session, name));
  ResizeReport report;
  report.from = zone->nodes;
  report.to = nodes;
  report.added = nodes.minus(zone->nodes);
  report.released = zone->nodes.minus(nodes);
  report.forced = options.force;
  if (report.from == report.to) {
    report.notes.push_back("partition " + name + " has nodes " + nodes.format() + " already");
    return report;
  }
  SZ_TRY(pids, partitionProcesses(session, *zone));
  if (!report.released.empty()) {
    report.bytes_to_move = bytesOnNodes(session, pids, report.released);
    uint64_t room = 0;
    for (int node : nodes.ids()) {
      uint64_t free = session.node_free_bytes.count(node) ? session.node_free_bytes[node] : 0;
      room += free > kShrinkHeadroomPerNodeBytes ? free - kShrinkHeadroomPerNodeBytes : 0;
    }
    report.room_bytes = room;
    if (report.bytes_to_move > room && !options.force) {
      return infeasible(
          "partition " + name + " holds " + formatSize(report.bytes_to_move) + " on nodes " +
          report.released.format() + " that it would give up, and nodes " + nodes.format() +
          " have only " + formatSize(room) +
          " free; nothing was changed. Keep more nodes, free memory in the partition first, or "
          "add --force to shrink anyway (what does not fit then stays on the released nodes "
          "until the partition's own reclaim, swap or OOM killer makes room)");
    }
  }
  json args = {{"name", name},
               {"from", report.from.format()},
               {"to", nodes.format()},
               {"force", options.force},
               {"workers", options.workers}};
  JournalEntry entry{"resize", args, "", ""};
  const std::optional<JournalEntry>& outer = outerJournal();
  SZ_CHECK(journalStep(session, entry, "journal", outer));
  Status resized = runResize(session, entry, outer, report);
  if (!resized) {
    Status undone = rollBackResize(session, entry.args);
    if (!undone) {
      return journalKept(undone.error(),
                         "rolling back resize " + name + " after: " + resized.error().message());
    }
    SZ_CHECK(finishJournal(session));
    SZ_CHECK(reloadSession(session));
    return std::move(resized).error().withContext("resize rolled back to nodes " +
                                                  report.from.format());
  }
  SZ_CHECK(finishJournal(session));
  SZ_CHECK(reloadSession(session));
  return report;
}

// Refuses to destroy a partition with cgroups below it unless forced: they belong to whoever
// made them (a container runtime, systemd), which would find them gone.
Status checkChildCgroups(const Session& session, const ZoneView& zone, bool force) {
  if (force) return {};
  SZ_TRY(subtree, session.backend->readSubtree(zone.cgroup_path));
  if (subtree.size() <= 1) return {};
  std::string children;
  size_t tasks = 0;
  for (const CgroupTasks& one : subtree) {
    tasks += one.pids.size();
    if (one.cgroup == zone.cgroup_path) continue;
    if (!children.empty()) children += ", ";
    children += one.cgroup;
  }
  return infeasible("partition " + zone.name + " has cgroups below it (" + children + "; " +
                    std::to_string(tasks) +
                    " process(es) in all), made by a container runtime "
                    "or systemd; nothing was changed. Stop what runs there first, or add --force: "
                    "every process of the subtree then goes to the destination and the cgroups "
                    "below the partition are removed");
}

Result<DestroyReport> destroyPartition(Session& session, const std::string& name,
                                       const std::string& to, bool force) {
  SZ_TRY(zone, findPartition(session, name));
  if (!to.empty()) {
    if (to == name) return badInput("--to: the tasks cannot go to the partition being destroyed");
    SZ_TRY(other, findPartition(session, to));
    (void)other;
  }
  SZ_CHECK(checkChildCgroups(session, *zone, force));
  DestroyReport report;
  report.freed = zone->nodes;
  JournalEntry entry{"destroy", {{"name", name}, {"to", to}, {"force", force}}, "", ""};
  const std::optional<JournalEntry>& outer = outerJournal();
  SZ_CHECK(journalStep(session, entry, "journal", outer));
  Status destroyed = runDestroy(session, entry, outer, report);
  if (!destroyed) return journalKept(destroyed.error(), "destroy " + name);
  SZ_CHECK(finishJournal(session));
  SZ_CHECK(reloadSession(session));
  return report;
}

Status moveWithoutMigrating(const CgroupBackend& backend, const std::string& cgroup,
                            const std::vector<pid_t>& pids, std::vector<pid_t>& moved) {
  // Every signal that can be held waits until memory_migrate is on again: a Ctrl-C or SIGTERM
  // between the two writes would leave it off, and the partition's next resize would then move
  // nothing of its tasks (SIGKILL cannot be held; the caller's lock keeps others out meanwhile).
  sigset_t all;
  sigset_t before;
  ::sigfillset(&all);
  ::sigprocmask(SIG_BLOCK, &all, &before);
  Status done = backend.moveProcesses(cgroup, pids, /*migrate=*/false, moved);
  ::sigprocmask(SIG_SETMASK, &before, nullptr);
  return done;
}

namespace {

// Writes each pid into the cgroup; where the kernel would migrate on the way in and can be told
// not to (v1's memory_migrate), it is told not to (moveWithoutMigrating).
Status moveIntoCgroup(const Session& session, const std::string& cgroup,
                      const std::vector<pid_t>& pids, bool kernel_migrates, AttachReport& report) {
  Status moved = kernel_migrates
                     ? session.backend->moveProcesses(cgroup, pids, true, report.pids)
                     : moveWithoutMigrating(*session.backend, cgroup, pids, report.pids);
  if (!moved && !report.pids.empty()) {
    return std::move(moved).error().withContext("attaching (earlier processes moved)");
  }
  return moved;
}

// The shared pages the kernel's attach migration moved, back where they were. A failure leaves
// them in the partition, counted: the process is attached either way.
void putBack(const Session& session, const zones::PagesToLeave& leave, AttachReport& report) {
  auto put = zones::putBackPages(*session.fs, leave);
  if (!put) {
    report.pages_put_back_failed += leave.pages();
    if (session.log != nullptr) {
      *session.log << "zonectl: pid " << leave.pid
                   << ": shared pages not put back: " << put.error().message() << "\n";
    }
    return;
  }
  report.pages_put_back += put->pages_put_back;
  report.pages_put_back_failed += put->pages_failed;
  report.pages_never_moved += put->pages_never_moved;
}

// Pages of `pid`'s anonymous ranges on `nodes`, by numa_maps. Those ranges hold none of the pages
// attach leaves, so after attach's pass any such page is one move_pages(2) could not see: on 6.1
// a page whose PTE NUMA balancing made PROT_NONE (the engine's sweep is for them).
uint64_t anonymousPagesOn(const Session& session, pid_t pid, const NodeSet& nodes) {
  auto maps = zones::readMapsAt(*session.fs, pid);
  auto numa = zones::readNumaMapsAt(*session.fs, pid);
  if (!maps || !numa) return 0;
  std::vector<zones::MapRange> anonymous;
  for (const zones::MapRange& range : zones::movableRanges(*maps)) {
    if (range.anonymous()) anonymous.push_back(range);
  }
  uint64_t pages = 0;
  for (const auto& [node, count] : zones::numaMapsPagesIn(*numa, anonymous)) {
    if (nodes.contains(node)) pages += count;
  }
  return pages;
}

// v1 only (on v2 the kernel's attach migration already walked the page tables). What move_pages
// could not see is swept with migrate_pages(2), which moves every page on the nodes, shared
// ones included; those are then put back as on v2. Costs nothing when nothing is hidden.
void sweepHidden(const Session& session, const std::vector<pid_t>& pids, const NodeSet& outside,
                 const NodeSet& nodes, const std::vector<zones::PagesToLeave>& leave,
                 AttachReport& report) {
  for (pid_t pid : pids) {
    uint64_t before = anonymousPagesOn(session, pid, outside);
    if (before == 0) continue;
    if (!zones::migrateProcessPages(pid, outside, nodes)) continue;
    uint64_t after = anonymousPagesOn(session, pid, outside);
    report.migration.pages_moved += before > after ? before - after : 0;
    if (const zones::PagesToLeave* kept = pagesLeftBy(leave, pid)) putBack(session, *kept, report);
  }
}

}  // namespace

Result<AttachReport> attachProcesses(Session& session, const std::string& name,
                                     const std::vector<pid_t>& pids, bool migrate) {
  SZ_TRY(zone, findPartition(session, name));
  for (pid_t pid : pids) {
    if (pid <= 0 || !session.fs->exists("/proc/" + std::to_string(pid))) {
      return badInput("no process " + std::to_string(pid));
    }
  }
  std::string cgroup = zone->cgroup_path;
  NodeSet nodes = zone->nodes;
  AttachReport report;
  if (!migrate) {
    SZ_CHECK(moveIntoCgroup(session, cgroup, pids, /*kernel_migrates=*/false, report));
    return report;
  }
  // The kernel's own attach migration (v1 memory_migrate, always on v2) moves every page the
  // process maps with MPOL_MF_MOVE_ALL: the page cache of libc, mapped by every process, and of
  // trees bound to the shared zone would land on this partition's nodes. Only the process's own
  // pages are this partition's business (zones::staysOnAttach says which): the shared ones are
  // found first, the kernel's migration is kept off where it can be (v1) and undone for those
  // pages where it can't (v2), and softzone's own pass leaves them alone.
  NodeSet outside = session.zones.machine_nodes.minus(nodes);
  const ZoneView* shared = session.zones.find(kSharedZoneName);
  SZ_TRY(leave, zones::findPagesToLeave(*session.fs, pids, outside,
                                        shared != nullptr ? shared->nodes : NodeSet()));
  bool kernel_migrates = session.backend->version() != CgroupVersion::kV1;
  SZ_CHECK(moveIntoCgroup(session, cgroup, pids, kernel_migrates, report));
  for (const zones::PagesToLeave& entry : leave) {
    report.pages_shared_left += entry.pages();
    if (kernel_migrates) putBack(session, entry, report);
  }
  report.migrated = true;
  report.migration =
      migrateProcesses(session, pids, outside, nodes, 0, Verify::kStatusQuery, leave, cgroup);
  if (!kernel_migrates) sweepHidden(session, pids, outside, nodes, leave, report);
  return report;
}

// Whether the apply journal in outerJournal() still names an action that neither completed nor
// rolled back (its own journal step then stays in the apply entry).
bool applyActionUnresolved() { return outerJournal() && outerJournal()->args.contains("current"); }

// Finishes an interrupted apply: its current action, then the actions not yet done, then its
// zones. A current action that neither completes nor rolls back leaves the journal in place.
Result<std::vector<std::string>> recoverApply(Session& session, const JournalEntry& entry) {
  std::vector<std::string> done;
  outerJournal() = entry;
  if (auto current = entry.args.find("current"); current != entry.args.end()) {
    JournalEntry action{current->value("op", ""), current->value("args", json::object()),
                        current->value("step", ""), entry.parent};
    auto outcome = runEntry(session, action, outerJournal());
    if (!outcome) {
      outerJournal().reset();
      return std::move(outcome).error();
    }
    done.push_back(outcome->line);
    outerJournal()->args.erase("current");
  }
  SZ_CHECK(reloadSession(session));
  if (!entry.parent.empty()) session.zones.parent = entry.parent;
  Status rest = continueApply(session, done);
  bool unresolved = !rest && applyActionUnresolved();
  outerJournal().reset();
  if (unresolved) return std::move(rest).error();
  SZ_CHECK(clearJournalAt(*session.fs));
  SZ_CHECK(reloadSession(session));
  // Every action before the failed one is done and the failed one rolled back: the zones are
  // sound, the spec is not reached; `apply` again says why.
  if (!rest) done.push_back("apply could not finish (rolled back): " + rest.error().message());
  return done;
}

// Completes or rolls back the journal's operation under the cgroup parent it recorded. When it
// does neither (a failed rollback, a destroy that fails again), the journal stays and the error
// says what failed: the next run tries again, and nothing reads the failure as nothing to do.
Result<std::vector<std::string>> recoverEntry(Session& session, JournalEntry entry) {
  if (!entry.parent.empty()) session.zones.parent = entry.parent;
  Result<std::vector<std::string>> done = std::vector<std::string>();
  if (entry.op == "apply") {
    done = recoverApply(session, entry);
  } else {
    auto outcome = runEntry(session, entry, std::nullopt);
    if (outcome) {
      SZ_CHECK(clearJournalAt(*session.fs));
      done = std::vector<std::string>{outcome->line};
    } else {
      done = std::move(outcome).error();
    }
  }
  if (!done) return journalKept(done.error(), "recovering the interrupted " + entry.op);
  SZ_CHECK(reloadSession(session));
  return done;
}

Result<std::vector<std::string>> recoverJournal(Session& session) {
  SZ_TRY(found, readJournalAt(*session.fs));
  if (!found) return std::vector<std::string>{};
  // The journal is zonectl's own file, but a value of the wrong type in it (a hand edit, a
  // damaged disk) must end in a message, not in the JSON library's exception.
  try {
    return recoverEntry(session, *found);
  } catch (const nlohmann::json::exception& error) {
    return mismatch("the journal " + std::string(kJournalFile) + " is damaged (" + error.what() +
                    "); check the partitions with `zonectl status` and remove it");
  }
}

namespace {

// Whether a live partition already has the spec's settings other than nodes.
bool settingsMatch(const ZoneView& zone, const StatePartition* record, const DesiredPartition& p) {
  if (record == nullptr || record->min_bytes != p.min_bytes || record->max_bytes != p.max_bytes) {
    return false;
  }
  if (zone.cpus == p.cpus && zone.mem_hardwall == p.mem_hardwall) return true;
  // v2 reports a partition without CPUs of its own by its effective CPUs: compare by record.
  return record->cpus == p.cpus && record->mem_hardwall == p.mem_hardwall;
}

// Live partitions the spec lacks: destroyed first with --prune, else kept unless they hold nodes
// the spec gives to another zone (bad input).
Status planPartitionsTheSpecLacks(const MachineZones& zones, const DesiredZones& desired,
                                  const NodeSet& reserved, bool prune, ApplyPlan& plan,
                                  std::map<std::string, NodeSet>& holds) {
  NodeSet wanted_by_spec = reserved;
  for (const DesiredPartition& p : desired.partitions)
    wanted_by_spec = wanted_by_spec.unionWith(p.nodes);
  for (const ZoneView* zone : zones.partitions()) {
    bool in_spec = std::any_of(desired.partitions.begin(), desired.partitions.end(),
                               [&](const DesiredPartition& p) { return p.name == zone->name; });
    if (in_spec) continue;
    if (prune) {
      plan.actions.push_back(
          {"destroy", DesiredPartition{zone->name, {}, {}, {}, {}, false}, zone->nodes});
      holds.erase(zone->name);
      continue;
    }
    NodeSet clash = zone->nodes.intersectionWith(wanted_by_spec);
    if (!clash.empty()) {
      return badInput("partition " + zone->name + " is not in the spec and holds nodes " +
                      clash.format() +
                      " the spec gives to another zone; add --prune to destroy "
                      "partitions the spec lacks");
    }
    plan.kept.push_back(zone->name);
  }
  return {};
}

}  // namespace

Result<ApplyPlan> planApply(const MachineZones& zones, const DesiredZones& desired, bool prune) {
  for (const DesiredPartition& p : desired.partitions) {
    if (auto clash = checkPartitionCgroupName(p.name)) return badInput(*clash);
  }
  ApplyPlan plan;
  NodeSet reserved = desired.system.nodes;
  if (desired.shared) reserved = reserved.unionWith(desired.shared->nodes);
  const StateFile* state = zones.state ? &*zones.state : nullptr;
  plan.zones_change = state == nullptr || state->system.nodes != desired.system.nodes ||
                      state->shared.has_value() != desired.shared.has_value() ||
                      (desired.shared && state->shared->nodes != desired.shared->nodes);
  // The nodes each live partition holds, updated as the simulated actions run.
  std::map<std::string, NodeSet> holds;
  for (const ZoneView* zone : zones.partitions()) holds[zone->name] = zone->nodes;
  SZ_CHECK(planPartitionsTheSpecLacks(zones, desired, reserved, prune, plan, holds));
  auto freeNow = [&]() {
    NodeSet free = zones.machine_nodes.minus(reserved);
    for (const auto& [name, nodes] : holds) free = free.minus(nodes);
    return free;
  };
  std::vector<const DesiredPartition*> pending;
  for (const DesiredPartition& p : desired.partitions) {
    auto held = holds.find(p.name);
    if (held == holds.end() || held->second != p.nodes) {
      pending.push_back(&p);
      continue;
    }
    const StatePartition* record = state ? state->partition(p.name) : nullptr;
    if (!settingsMatch(*zones.find(p.name), record, p))
      plan.actions.push_back({"update", p, p.nodes});
  }
  bool shrunk_once = false;
  while (!pending.empty()) {
    bool progress = false;
    for (auto it = pending.begin(); it != pending.end();) {
      const DesiredPartition& p = **it;
      auto held = holds.find(p.name);
      NodeSet has = held == holds.end() ? NodeSet() : held->second;
      if (!p.nodes.minus(has).isSubsetOf(freeNow())) {
        ++it;
        continue;
      }
      plan.actions.push_back({held == holds.end() ? "create" : "resize", p, has});
      holds[p.name] = p.nodes;
      it = pending.erase(it);
      progress = true;
    }
    if (progress) continue;
    if (shrunk_once) {
      std::string names;
      for (const DesiredPartition* p : pending) names += (names.empty() ? "" : ", ") + p->name;
      return infeasible("apply cannot order the changes for " + names +
                        ": each needs nodes another still holds; destroy one of them first");
    }
    // Deadlock: partitions waiting on each other's nodes give up what they won't keep first.
    shrunk_once = true;
    for (const DesiredPartition* p : pending) {
      auto held = holds.find(p->name);
      if (held == holds.end()) continue;
      NodeSet keep = held->second.intersectionWith(p->nodes);
      if (keep.empty() || keep == held->second) continue;
      DesiredPartition shrink = *p;
      shrink.nodes = keep;
      plan.actions.push_back({"shrink", shrink, held->second});
      held->second = keep;
    }
  }
  return plan;
}

Status runApply(Session& session, const DesiredZones& desired, const ApplyPlan& plan,
                std::vector<std::string>& done) {
  json desired_json = {{"system", zoneJson(desired.system)},
                       {"shared", desired.shared ? zoneJson(*desired.shared) : json(nullptr)},
                       {"spec", desired.spec}};
  json actions = json::array();
  for (const ApplyAction& action : plan.actions) actions.push_back(actionJson(action));
  outerJournal() = JournalEntry{
      "apply",
      {{"desired", desired_json}, {"actions", actions}, {"done", 0}, {"zones_done", false}},
      "",
      session.zones.parent};
  SZ_CHECK(writeJournalAt(*session.fs, *outerJournal()));
  stopPointForTests("apply.journal");
  Status ran = continueApply(session, done);
  bool unresolved = !ran && applyActionUnresolved();
  outerJournal().reset();
  if (unresolved) return journalKept(ran.error(), "apply");
  SZ_CHECK(clearJournalAt(*session.fs));
  SZ_CHECK(reloadSession(session));
  return ran;
}

}  // namespace softzone::cpuset

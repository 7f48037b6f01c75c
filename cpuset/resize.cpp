// Resizing a partition: grow, move the pages off released nodes, shrink, verify, record.
#include "partition_internal.h"
#include "softzone/cpuset/node_leftovers.h"
#include "softzone/zones/size.h"

namespace softzone::cpuset {

namespace {

// Per kept node, what a shrink leaves free beyond the pages it moves: the kernel's watermarks
// and whatever the tasks allocate meanwhile.
constexpr uint64_t kShrinkHeadroomPerNodeBytes = 8 * kMiB;

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

}  // namespace

// The forward path of a resize, safe to run again from any step: grow to old+new, move pages off
// the released nodes, write the new nodes, verify, record. The released nodes are the journal's
// `from` less `to` (with any other node the cgroup has): after a kill past the mems write the
// cgroup alone no longer says which nodes must end up empty.
Status runResize(Session& session, JournalEntry& entry, ResizeReport& report) {
  const json& args = entry.args;
  std::string name = stringArg(args, "name");
  SZ_TRY(target, nodesArg(args, "to"));
  SZ_TRY(from, nodesArg(args, "from"));
  int workers = args.value("workers", 0);
  std::string cgroup = cgroupOf(session, name);
  SZ_TRY(current, session.backend->readMems(cgroup));
  NodeSet all = current.unionWith(target);
  if (all != current) SZ_CHECK(session.backend->writeSubtreeMems(cgroup, current, all));
  SZ_CHECK(journalStep(session, entry, "grow"));

  NodeSet released = from.unionWith(current).minus(target);
  report.released = released;
  SZ_TRY(pids, session.backend->readSubtreeProcs(cgroup));
  if (!released.empty()) {
    // Verified once, after the second pass below: the count that decides is that one.
    report.migration =
        migrateProcesses(session, pids, released, target, workers, Verify::kLater, {}, cgroup);
  }
  SZ_CHECK(journalStep(session, entry, "migrate"));

  SZ_CHECK(session.backend->writeSubtreeMems(cgroup, all, target));
  SZ_CHECK(journalStep(session, entry, "shrink"));

  if (!released.empty()) SZ_CHECK(finishShrink(session, name, released, target, args, report));
  SZ_CHECK(journalStep(session, entry, "verify"));

  StateFile state = baseState(session);
  StatePartition record;
  if (const StatePartition* old = state.partition(name)) record = *old;
  record.name = name;
  record.nodes = target;
  SZ_TRY(cpus, session.backend->readCpus(cgroup));
  if (!state.partition(name)) record.cpus = cpus;
  state.putPartition(record);
  SZ_CHECK(writeStateFileAt(*session.fs, state));
  SZ_CHECK(journalStep(session, entry, "state"));
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
  SZ_CHECK(journalStep(session, entry, "journal"));
  Status resized = runResize(session, entry, report);
  if (!resized) {
    Status undone = rollBackResize(session, entry.args);
    if (!undone) {
      return journalKept(session, undone.error(),
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

}  // namespace softzone::cpuset

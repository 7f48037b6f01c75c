// Destroying a partition: its processes leave, the cgroups below it go (forced), then its own.
#include "partition_internal.h"

namespace softzone::cpuset {

namespace {

// A process forking while its cgroup is emptied: read cgroup.procs again, this many times.
constexpr int kEmptyRounds = 20;

// Every process of every cgroup in the partition's subtree goes to `destination`, each by
// pidfd and only while it is still in the subtree (a pid read earlier may be another's now).
// Processes forking meanwhile are caught by reading again, kEmptyRounds times.
Status emptySubtree(const Session& session, const std::string& cgroup,
                    const std::string& destination, DestroyReport& report) {
  for (int round = 0; round < kEmptyRounds; ++round) {
    SZ_TRY(pids, session.backend->readSubtreeProcs(cgroup));
    if (pids.empty()) return {};
    stopPointForTests("destroy.procs");
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

}  // namespace

Status runDestroy(Session& session, JournalEntry& entry, DestroyReport& report) {
  const json& args = entry.args;
  std::string name = stringArg(args, "name");
  std::string to = stringArg(args, "to");
  std::string cgroup = cgroupOf(session, name);
  std::string destination = to.empty() ? std::string() : cgroupOf(session, to);
  if (session.backend->exists(cgroup)) {
    SZ_CHECK(emptySubtree(session, cgroup, destination, report));
    SZ_CHECK(journalStep(session, entry, "tasks"));
    // Without force, destroyPartition refused a subtree: a child made since stays, and the
    // rmdir below fails on it (EBUSY) rather than removing a runtime's cgroup unasked.
    if (args.value("force", false)) SZ_CHECK(removeChildCgroups(session, cgroup, report));
    Status removed = session.backend->removeCgroup(cgroup);
    if (!removed && removed.error().code() != std::errc::no_such_file_or_directory) {
      return removed;
    }
  }
  SZ_CHECK(journalStep(session, entry, "rmdir"));
  StateFile state = baseState(session);
  state.removePartition(name);
  SZ_CHECK(writeStateFileAt(*session.fs, state));
  SZ_CHECK(journalStep(session, entry, "state"));
  report.to = to;
  return {};
}

namespace {

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

}  // namespace

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
  SZ_CHECK(journalStep(session, entry, "journal"));
  Status destroyed = runDestroy(session, entry, report);
  if (!destroyed) return journalKept(session, destroyed.error(), "destroy " + name);
  SZ_CHECK(finishJournal(session));
  SZ_CHECK(reloadSession(session));
  return report;
}

}  // namespace softzone::cpuset

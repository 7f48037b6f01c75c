// Attaching processes to a partition: the move into its cgroup and the pass over their pages.
#include <signal.h>

#include "partition_internal.h"
#include "softzone/page_placement.h"

namespace softzone::cpuset {

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
  bool kernel_migrates = !session.backend->canMoveWithoutMigrating();
  SZ_CHECK(moveIntoCgroup(session, cgroup, pids, kernel_migrates, report));
  for (const zones::PagesToLeave& entry : leave) {
    report.pages_shared_left += entry.pages();
    if (kernel_migrates) putBack(session, entry, report);
  }
  report.migrated = true;
  report.migration =
      migrateProcesses(session, pids, outside, nodes, 0, Verify::kLater, leave, cgroup);
  if (!kernel_migrates) sweepHidden(session, pids, outside, nodes, leave, report);
  // Counted after the sweep: before it, the pages it moves would be counted as left.
  verifyMigration(session, pids, outside, cgroup, leave, report.migration);
  return report;
}

}  // namespace softzone::cpuset

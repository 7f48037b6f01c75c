// Attaching processes to a partition: the move into its cgroup and the pass over their pages.
#include <signal.h>

#include "partition_internal.h"
#include "softzone/zones/page_placement.h"
#include "softzone/zones/process_handle.h"

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

std::vector<pid_t> pidsArg(const json& args) {
  std::vector<pid_t> pids;
  auto it = args.find("pids");
  if (it == args.end() || !it->is_array()) return pids;
  for (const json& pid : *it) {
    if (pid.is_number_integer() && pid.get<int64_t>() > 0) pids.push_back(pid.get<pid_t>());
  }
  return pids;
}

// softzone's own pass over the pages of `pids`, which are in the partition already, with the
// shared pages `leave` names kept where they are.
void movePagesIn(const Session& session, const std::string& cgroup, const NodeSet& nodes,
                 const std::vector<pid_t>& pids, const std::vector<zones::PagesToLeave>& leave,
                 AttachReport& report) {
  NodeSet outside = session.zones.machine_nodes.minus(nodes);
  report.migrated = true;
  report.migration =
      migrateProcesses(session, pids, outside, nodes, 0, Verify::kLater, leave, cgroup);
  if (session.backend->canMoveWithoutMigrating()) {
    sweepHidden(session, pids, outside, nodes, leave, report);
  }
  // Counted after the sweep: before it, the pages it moves would be counted as left.
  verifyMigration(session, pids, outside, cgroup, leave, report.migration);
}

// The shared pages of `pids` (zones::staysOnAttach), found before the cgroup move.
Result<std::vector<zones::PagesToLeave>> pagesToLeave(const Session& session, const NodeSet& nodes,
                                                      const std::vector<pid_t>& pids) {
  const ZoneView* shared = session.zones.find(kSharedZoneName);
  return zones::findPagesToLeave(*session.fs, pids, session.zones.machine_nodes.minus(nodes),
                                 shared != nullptr ? shared->nodes : NodeSet());
}

}  // namespace

// The forward path of an attach (journal steps "cgroup", "pages").
Status runAttach(Session& session, JournalEntry& entry, AttachReport& report) {
  std::string name = stringArg(entry.args, "name");
  std::vector<pid_t> pids = pidsArg(entry.args);
  SZ_TRY(zone, findPartition(session, name));
  std::string cgroup = zone->cgroup_path;
  NodeSet nodes = zone->nodes;
  if (!entry.args.value("migrate", true)) {
    SZ_CHECK(moveIntoCgroup(session, cgroup, pids, /*kernel_migrates=*/false, report));
    return journalStep(session, entry, "cgroup");
  }
  // The kernel's own attach migration (v1 memory_migrate, always on v2) moves every page the
  // process maps with MPOL_MF_MOVE_ALL: the page cache of libc, mapped by every process, and of
  // trees bound to the shared zone would land on this partition's nodes. Only the process's own
  // pages are this partition's business (zones::staysOnAttach says which): the shared ones are
  // found first, the kernel's migration is kept off where it can be (v1) and undone for those
  // pages where it can't (v2), and softzone's own pass leaves them alone.
  SZ_TRY(leave, pagesToLeave(session, nodes, pids));
  bool kernel_migrates = !session.backend->canMoveWithoutMigrating();
  SZ_CHECK(moveIntoCgroup(session, cgroup, pids, kernel_migrates, report));
  SZ_CHECK(journalStep(session, entry, "cgroup"));
  for (const zones::PagesToLeave& one : leave) {
    report.pages_shared_left += one.pages();
    if (kernel_migrates) putBack(session, one, report);
  }
  movePagesIn(session, cgroup, nodes, pids, leave, report);
  return journalStep(session, entry, "pages");
}

// An attach killed half-way: v1's memory_migrate is on again (a kill while it was off would leave
// the partition's next resize moving nothing of its tasks), and the journal's processes that are
// in the partition have their pages moved in. A pid not in it now is not moved in: it may name
// another process by now (the attach stays undone for it; attach it again).
Result<std::string> recoverAttach(Session& session, const JournalEntry& entry) {
  std::string name = stringArg(entry.args, "name");
  const ZoneView* zone = session.zones.find(name);
  if (zone == nullptr) return "completed: attach " + name + " (the partition is gone)";
  std::string cgroup = zone->cgroup_path;
  SZ_CHECK(session.backend->setMemoryMigrate(cgroup, true));
  // A --root tree's pids name whatever live process has that number now: none is touched.
  if (!session.fs->canActOnProcesses()) return "completed: attach " + name + " (memory_migrate)";
  std::vector<pid_t> in;
  for (pid_t pid : pidsArg(entry.args)) {
    if (zones::holdProcessIn(*session.fs, pid, cgroup, session.backend->procCgroupController())) {
      in.push_back(pid);
    }
  }
  std::string line = "completed: attach " + name + ": " + std::to_string(in.size()) + " of " +
                     std::to_string(pidsArg(entry.args).size()) + " process(es) in the partition";
  if (!entry.args.value("migrate", true) || in.empty()) return line;
  AttachReport report;
  SZ_TRY(leave, pagesToLeave(session, zone->nodes, in));
  movePagesIn(session, cgroup, zone->nodes, in, leave, report);
  line += "; " + std::to_string(report.migration.pages_moved) + " pages moved in";
  std::string incomplete = incompleteMigration(report.migration, "the attached processes",
                                               session.zones.machine_nodes.minus(zone->nodes));
  return incomplete.empty() ? line : line + "; " + incomplete;
}

Result<AttachReport> attachProcesses(Session& session, const std::string& name,
                                     const std::vector<pid_t>& pids, bool migrate) {
  SZ_CHECK(findPartition(session, name));
  for (pid_t pid : pids) {
    if (pid <= 0 || !session.fs->exists("/proc/" + std::to_string(pid))) {
      return badInput("no process " + std::to_string(pid));
    }
  }
  JournalEntry entry{"attach", {{"name", name}, {"pids", pids}, {"migrate", migrate}}, "", ""};
  SZ_CHECK(journalStep(session, entry, "journal"));
  AttachReport report;
  Status attached = runAttach(session, entry, report);
  if (!attached) {
    // What moved stays moved (an attach is not undone): the error says how far it got.
    SZ_CHECK(finishJournal(session));
    return std::move(attached).error();
  }
  SZ_CHECK(finishJournal(session));
  return report;
}

}  // namespace softzone::cpuset

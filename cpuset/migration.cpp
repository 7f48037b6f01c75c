// Moving processes' pages between nodes and verifying none is left, with what went wrong.
#include <cerrno>
#include <chrono>
#include <functional>

#include "partition_internal.h"
#include "softzone/zones/page_placement.h"
#include "softzone/zones/process_handle.h"

namespace softzone::cpuset {

namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

// The pages of `pid` that `leave` keeps where they are; nullptr when none.
const zones::PagesToLeave* pagesLeftBy(const std::vector<zones::PagesToLeave>& leave, pid_t pid) {
  for (const zones::PagesToLeave& entry : leave) {
    if (entry.pid == pid && entry.pages() > 0) return &entry;
  }
  return nullptr;
}

namespace {

const zones::PageSyscalls& pageSyscalls(const Session& session) {
  return session.page_syscalls != nullptr ? *session.page_syscalls : zones::kernelPageSyscalls();
}

// Only ESRCH says a process is gone (with nothing left to move or count); EPERM, EACCES,
// EINVAL... say it is there and could not be acted on.
bool isGone(const Error& error) {
  return error.code() == std::error_code(ESRCH, std::generic_category());
}

// The pages `kept` leaves where they are, as MoveOptions::leave takes them.
std::function<bool(uint64_t)> leaving(const zones::PagesToLeave* kept) {
  if (kept == nullptr) return nullptr;
  return [kept](uint64_t address) { return kept->contains(address); };
}

// Pages of `pid` on `nodes`, less those `kept` leaves there, by numa_maps and the status query
// together (zones::countPagesLeftOn: neither alone sees every page). An error when they could
// not be counted (ESRCH: the process is gone).
Result<uint64_t> pagesLeftOn(const Session& session, pid_t pid, const NodeSet& nodes,
                             const zones::PagesToLeave* kept) {
  return zones::countPagesLeftOn(*session.fs, pid, nodes, leaving(kept), pageSyscalls(session));
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

}  // namespace

void verifyMigration(const Session& session, const std::vector<pid_t>& pids, const NodeSet& from,
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
  stopPointForTests("pages.pids");
  zones::MoveOptions options = moveOptionsFor(session, to, workers);
  for (pid_t pid : pids) {
    const zones::PagesToLeave* kept = pagesLeftBy(leave, pid);
    options.leave = leaving(kept);
    options.leave_nodes = kept != nullptr ? kept->nodes() : NodeSet();
    moveProcess(session, pid, from, to, cgroup, options, totals);
  }
  if (verify == Verify::kStatusQuery) verifyMigration(session, pids, from, cgroup, leave, totals);
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

}  // namespace softzone::cpuset

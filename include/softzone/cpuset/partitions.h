// Partitions at run time: create, resize (migrating first), destroy, attach, migrate and recover,
// each a journaled sequence of named steps under the operation lock.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "softzone/cpuset/cgroup_backend.h"
#include "softzone/cpuset/journal.h"
#include "softzone/cpuset/node_leftovers.h"
#include "softzone/cpuset/op_lock.h"
#include "softzone/cpuset/zone_state.h"
#include "softzone/zones/page_sharing.h"

namespace softzone::cpuset {

// Share of a node counted as unusable when sizing by bytes (holes, watermarks, kernel use).
inline constexpr double kNodeSizeMargin = 0.06;

// Everything a verb works with: the tree, the backend, the zones as read, the lock when held.
struct Session {
  const FsRoot* fs = nullptr;
  std::unique_ptr<CgroupBackend> backend;
  MachineZones zones;
  std::optional<OpLock> lock;
  std::ostream* log = nullptr;  // progress and recovery notes (stderr)
  // Per node, from nodeN/meminfo when readable.
  std::map<int, uint64_t> node_total_bytes;
  std::map<int, uint64_t> node_free_bytes;
  // move_pages(2) and migrate_pages(2) for the pages of the partitions' processes; nullptr: the
  // running kernel. Tests stand in a kernel that refuses.
  const zones::PageSyscalls* page_syscalls = nullptr;
  // While an apply runs (or is recovered): its journal entry, which each action's own steps are
  // written into as its current action. Empty otherwise: an operation writes its own entry.
  std::optional<JournalEntry> apply_journal;
};

// Opens a session. `mutate`: on the live system it needs root ("needs root", exit 1), mounts the
// v1 cpuset hierarchy when v1 is asked for and absent, takes the lock and completes or rolls
// back an interrupted operation first (reported on `log`).
Result<Session> openSession(const FsRoot& fs, CgroupMode mode, bool mutate, std::ostream& log);

// Re-reads the zones and node sizes (after a change).
Status reloadSession(Session& session);

// Re-reads the zones only (the cgroups and the state file): what zoned needs every sample, when
// it reads the nodes' memory its own cheaper way and node_total_bytes/node_free_bytes go stale.
Status reloadZones(Session& session);

// The state file to write next: the one read, or a fresh one for this machine.
StateFile baseState(const Session& session);

// --- choosing nodes (pure) ---

struct NodeCapacity {
  int id = 0;
  uint64_t total_bytes = 0;
};
// The fewest free nodes whose usable bytes (total less kNodeSizeMargin) reach `bytes`: the
// shortest run of consecutive ids, lowest first; otherwise the largest nodes. Infeasible with the
// numbers when the free pool is too small.
Result<NodeSet> pickNodesForSize(const std::vector<NodeCapacity>& free_nodes, uint64_t bytes);
// A partition's nodes resized to `bytes`: keeps its nodes from the lowest, adds free nodes
// (nearest ids first) to grow, drops the highest to shrink (never below one node).
Result<NodeSet> resizeNodesForSize(const NodeSet& current,
                                   const std::vector<NodeCapacity>& all_nodes,
                                   const NodeSet& free_nodes, uint64_t bytes);

// --- operations (the session must be mutating) ---

struct CreateRequest {
  std::string name;  // already checked (planner::checkPartitionName)
  NodeSet nodes;
  NodeSet cpus;  // empty: its parent's
  bool mem_hardwall = false;
  std::optional<uint64_t> min_bytes;
  std::optional<uint64_t> max_bytes;
};
// Bad input for nodes that are not free (naming who has them) or CPUs the machine lacks.
Status checkCreate(const Session& session, const CreateRequest& request);
Status createPartition(Session& session, const CreateRequest& request);

// A process a migration could not act on or count, and the kernel's reason.
struct ProcessProblem {
  pid_t pid = 0;
  std::string error;
};

struct MigrationTotals {
  int processes = 0;  // processes whose pages were looked at and moved (gone ones not counted)
  uint64_t pages_found = 0;
  uint64_t pages_moved = 0;
  uint64_t pages_failed = 0;
  // On the nodes given up, by the verification (status query), in the processes_verified only.
  uint64_t pages_left = 0;
  int processes_verified = 0;
  std::map<int, uint64_t> failures;  // errno -> pages
  // Processes the move refused as a whole (EPERM, EACCES, EINVAL...): their pages are where they
  // were. Only ESRCH means the process is gone, with nothing left to move.
  std::vector<ProcessProblem> processes_failed;
  // Processes whose pages the verification could not count: pages_left says nothing of them.
  std::vector<ProcessProblem> processes_unverified;
  double elapsed_ms = 0;

  // Every process still there was moved and counted: pages_left is the whole truth.
  bool complete() const { return processes_failed.empty() && processes_unverified.empty(); }
};

struct ResizeReport {
  NodeSet from;
  NodeSet to;
  NodeSet added;
  NodeSet released;
  uint64_t bytes_to_move = 0;  // the partition's pages on released nodes before the move
  uint64_t room_bytes = 0;     // free on the kept and added nodes
  MigrationTotals migration;
  bool verified = false;  // the final status query ran (migration.pages_left is its count)
  // Per released node, the page cache and shared memory it still holds after the move (read
  // from nodeN/meminfo; empty when not read).
  std::map<int, NodeLeftovers> node_leftovers;
  bool forced = false;
  std::vector<std::string> notes;
};

struct ResizeOptions {
  bool force = false;  // shrink even when the kept nodes cannot hold what is on released ones
  int workers = 0;     // move_pages threads per process; 0: defaultMoveWorkers()
};
// Bad input for nodes that are another zone's, an empty target, or an unknown partition.
Status checkResize(const Session& session, const std::string& name, const NodeSet& nodes);
Result<ResizeReport> resizePartition(Session& session, const std::string& name,
                                     const NodeSet& nodes, const ResizeOptions& options);

struct DestroyReport {
  std::vector<pid_t> moved;  // from every cgroup of the partition's subtree
  std::string to;            // the partition the tasks went to, "" for the cgroup root
  NodeSet freed;
  std::vector<std::string> removed_cgroups;  // below the partition (--force), deepest first
};
// A partition with cgroups below it (a container runtime's, systemd's) is refused, nothing
// changed, unless `force`: then the processes of every cgroup of the subtree leave and the
// cgroups below it are removed, deepest first.
Result<DestroyReport> destroyPartition(Session& session, const std::string& name,
                                       const std::string& to, bool force);

struct AttachReport {
  std::vector<pid_t> pids;
  MigrationTotals migration;
  bool migrated = false;
  // Pages outside the partition left where they are because they are shared (page cache on the
  // shared zone's nodes or mapped by processes outside the attached set: zones::staysOnAttach).
  uint64_t pages_shared_left = 0;
  // cgroup v2, whose attach moves every page: of those, the pages zonectl put back on their
  // nodes after the kernel had moved them, those it could not, and those the kernel had not
  // moved.
  uint64_t pages_put_back = 0;
  uint64_t pages_put_back_failed = 0;
  uint64_t pages_never_moved = 0;
};
Result<AttachReport> attachProcesses(Session& session, const std::string& name,
                                     const std::vector<pid_t>& pids, bool migrate);

// Moves whole processes into `cgroup` without the kernel's attach migration (v1: memory_migrate
// off for the writes and on again after, on every path: CgroupBackend::moveProcesses), with
// every signal held meanwhile so none can end zonectl while it is off. The caller holds the op
// lock (OpLock), so no other zonectl run sees it off. v2 cannot be told (unsupported).
Status moveWithoutMigrating(const CgroupBackend& backend, const std::string& cgroup,
                            const std::vector<pid_t>& pids, std::vector<pid_t>& moved);

// Moves every page of `pids` that is on `from` to `to`, then verifies that none is left on
// `from` (verifyMigration). `leave` (one entry per process, from zones::findPagesToLeave) names
// pages that stay where they are: not moved, not counted as left. With more than one worker (0:
// defaultMoveWorkers()), move_pages grouped by target with the pages split between the workers;
// with one, one migrate_pages(2) call per source node, which walks the page tables once and is
// the faster single-threaded method (not with `leave`: migrate_pages(2) can't leave pages out).
// kLater skips the status query (pages_left stays 0) for a pass that another, verified, follows.
// Each process is held by a pidfd while its pages are moved and counted; with `cgroup` (relative
// to the mount) it is first confirmed to be in that cgroup or below, else skipped as gone. A
// process that exits meanwhile is gone; one the kernel refuses (not ESRCH) is in
// processes_failed or processes_unverified. On a tree (FsRoot::canActOnProcesses false) every
// process is refused.
enum class Verify { kStatusQuery, kLater };
MigrationTotals migrateProcesses(const Session& session, const std::vector<pid_t>& pids,
                                 const NodeSet& from, const NodeSet& to, int workers,
                                 Verify verify = Verify::kStatusQuery,
                                 const std::vector<zones::PagesToLeave>& leave = {},
                                 std::string_view cgroup = {});

// The verification of a migration: the pages of each of `pids` still on `from`, less those
// `leave` keeps there, counted by numa_maps and move_pages' status query together
// (zones::countPagesLeftOn), into totals.pages_left; each process held by a pidfd (and confirmed
// in `cgroup` when given) across the count. For a Verify::kLater pass, once what follows is done.
void verifyMigration(const Session& session, const std::vector<pid_t>& pids, const NodeSet& from,
                     std::string_view cgroup, const std::vector<zones::PagesToLeave>& leave,
                     MigrationTotals& totals);

// What a migration did not do, "" when nothing: pages left on `from`, processes that could not be
// moved or counted (with pids and reasons). `what` names whose pages ("partition web").
std::string incompleteMigration(const MigrationTotals& totals, const std::string& what,
                                const NodeSet& from);
// Whether a migration's outcome lets a change that needs `from` empty go on: fails (infeasible,
// naming the pids and reasons) when pages are left on `from` or a process could not be moved or
// counted; with `force`, says the same in `notes` and lets it go on. `what` names whose pages.
Status checkMigrationComplete(const MigrationTotals& totals, const std::string& what,
                              const NodeSet& from, bool force, std::vector<std::string>& notes);

// "pid 12 (reason), pid 13 (reason)": the processes of a MigrationTotals list, for messages.
std::string describeProblems(const std::vector<ProcessProblem>& problems);

// --- apply: reconciling the live partitions with a desired layout ---

// A partition as the spec's plan wants it: exactly what the state file records of one.
using DesiredPartition = StatePartition;

struct DesiredZones {
  StateZone system;
  std::optional<StateZone> shared;
  std::vector<DesiredPartition> partitions;
  std::string spec;  // the spec file, recorded in the state
};

struct ApplyAction {
  std::string verb;  // "destroy", "shrink" (to the nodes it keeps), "resize", "create", "update"
  DesiredPartition target;
  NodeSet from;  // its nodes before the action (resize, shrink, destroy)
};

struct ApplyPlan {
  std::vector<ApplyAction> actions;  // in the order they run: every step finds its nodes free
  std::vector<std::string> kept;     // live partitions the spec lacks, left alone (no --prune)
  bool zones_change = false;         // the system or shared zone differs from the state file
};

// Pure: the actions that turn `zones` into `desired`, ordered so each finds its nodes free.
// Bad input when a partition the spec lacks holds nodes the spec gives away and there is no
// --prune; infeasible when no order works.
Result<ApplyPlan> planApply(const MachineZones& zones, const DesiredZones& desired, bool prune);

// Runs the plan under one journal (op "apply"): the zones first, then each action; an
// interruption at any step is completed by recoverJournal. `done` gets a line per action.
Status runApply(Session& session, const DesiredZones& desired, const ApplyPlan& plan,
                std::vector<std::string>& done);

// Completes (or, when completing fails, rolls back) the operation in the journal. Returns a line
// per thing done; empty when there was nothing to recover.
Result<std::vector<std::string>> recoverJournal(Session& session);

// The processes in a partition's cgroup and in every cgroup below it.
Result<std::vector<pid_t>> partitionProcesses(const Session& session, const ZoneView& zone);

// "unknown partition NAME; partitions: a, b" (bad input) when `name` is not a partition.
Result<const ZoneView*> findPartition(const Session& session, const std::string& name);

// Bytes of the partition's (or any) processes' pages on `nodes`, by numa_maps.
uint64_t bytesOnNodes(const Session& session, const std::vector<pid_t>& pids, const NodeSet& nodes);

}  // namespace softzone::cpuset

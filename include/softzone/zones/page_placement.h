// Page placement: which node holds each page of a process, and moving pages between nodes.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "softzone/zones/fs_root.h"
#include "softzone/zones/nodeset.h"
#include "softzone/zones/numa_syscalls.h"
#include "softzone/zones/result.h"

namespace softzone::zones {

// --- /proc/PID/maps and /proc/PID/task ---

// One line of /proc/PID/maps.
struct MapRange {
  uint64_t start = 0;  // first byte
  uint64_t end = 0;    // one past the last byte
  std::string perms;   // "rw-p": read, write, execute, then p(rivate) or s(hared)
  uint64_t offset = 0;
  std::string device;  // "fe:01"
  uint64_t inode = 0;
  // "" for plain anonymous memory, "[heap]", "[stack]", "[anon:name]", "/usr/lib/x.so",
  // "/tmp/a b (deleted)". Kept exactly as the kernel printed it, spaces included.
  std::string path;

  bool readable() const noexcept { return !perms.empty() && perms[0] == 'r'; }
  bool shared() const noexcept { return perms.size() == 4 && perms[3] == 's'; }
  // No file behind it: the heap, stacks, named and unnamed anonymous memory.
  bool anonymous() const noexcept;
  // A file unlinked after it was mapped; its pages are still the process's.
  bool deleted() const noexcept;
  // The kernel's own mappings ([vdso], [vvar], [vsyscall], [uprobes]): pages the process shares
  // with every other one, or no pages at all. Never worth moving.
  bool kernelMapping() const noexcept;
  uint64_t bytes() const noexcept { return end - start; }

  friend bool operator==(const MapRange&, const MapRange&) = default;
};

// Lines of /proc/PID/maps (without newlines) -> ranges; a malformed line is bad input naming
// its line number. Empty lines are skipped.
Result<std::vector<MapRange>> parseProcMaps(const std::vector<std::string>& lines);

// /proc/PID/maps through `root`. A vanished process is ESRCH ("the process is gone").
Result<std::vector<MapRange>> readMapsAt(const FsRoot& root, pid_t pid);

// The thread ids of a process (/proc/PID/task), ascending. A vanished process is ESRCH.
Result<std::vector<pid_t>> listThreadsAt(const FsRoot& root, pid_t pid);

// One line of /proc/PID/numa_maps: where one mapping's pages are, by the kernel's own page walk.
// It sees pages the move_pages(2) status query cannot: on 6.1 a page whose PTE NUMA balancing
// has made PROT_NONE (a hinting fault pending) reads as -ENOENT there, and cannot be moved by
// move_pages(2) either, though migrate_pages(2) moves it.
struct NumaMapsEntry {
  uint64_t start = 0;
  std::string policy;                      // "default", "bind:2-3", "interleave:0-3", ...
  std::map<int, uint64_t> pages_per_node;  // in base pages (huge pages counted as many)

  friend bool operator==(const NumaMapsEntry&, const NumaMapsEntry&) = default;
};

// Lines of /proc/PID/numa_maps -> entries; `page_bytes` is the base page size.
Result<std::vector<NumaMapsEntry>> parseNumaMaps(const std::vector<std::string>& lines,
                                                 uint64_t page_bytes);
Result<std::vector<NumaMapsEntry>> readNumaMapsAt(const FsRoot& root, pid_t pid);

// Pages per node of the entries that start one of `ranges`.
std::map<int, uint64_t> numaMapsPagesIn(const std::vector<NumaMapsEntry>& entries,
                                        const std::vector<MapRange>& ranges);

// The nodes a process may allocate on (its cpuset's mems), from the Mems_allowed_list line of
// /proc/PID/status; no such line is bad input.
Result<NodeSet> parseMemsAllowed(const std::vector<std::string>& status_lines);
Result<NodeSet> readMemsAllowedAt(const FsRoot& root, pid_t pid);

// The ranges whose pages belong to the process and can move: readable, and not the kernel's own
// mappings. Unreadable ranges are guard pages and reservations that hold no memory.
std::vector<MapRange> movableRanges(const std::vector<MapRange>& ranges);

// --- the kernel interface, replaceable in tests ---

// move_pages(2) and migrate_pages(2). Implementations must be safe to call from several threads.
class PageSyscalls {
 public:
  virtual ~PageSyscalls() = default;
  // move_pages(2): `nodes == nullptr` asks where each page is. Returns what the kernel returns
  // (0, or the number of pages not migrated), or -errno when the call failed as a whole.
  virtual long movePages(pid_t pid, std::span<void* const> pages, const int* nodes, int* status,
                         int flags) const = 0;
  // migrate_pages(2): the number of pages that could not be moved, or -errno.
  virtual long migratePages(pid_t pid, const NodeSet& from, const NodeSet& to) const = 0;
};

// The running kernel.
const PageSyscalls& kernelPageSyscalls();

// Addresses per status query call: big enough that the syscall cost vanishes, small enough that
// the arrays stay in cache (16K pages = 128 KiB of addresses for 64 MiB of memory).
inline constexpr size_t kQueryBatchPages = 16384;

// Where each of `pages` of process `pid` (0: this one) is: move_pages(2)'s status query,
// kQueryBatchPages per call; `status` has one slot per page. Fails at the first call the kernel
// refuses as a whole (the slots of the calls before it are filled).
Status queryStatuses(const PageSyscalls& syscalls, pid_t pid, std::span<void* const> pages,
                     std::span<int> status);

// --- where pages are ---

struct PageCensus {
  uint64_t pages_scanned = 0;              // addresses the status query looked at
  std::map<int, uint64_t> pages_per_node;  // node -> pages there
  // -ENOENT (never touched, swapped out) and -EFAULT (the zero page, VM_IO/VM_PFNMAP maps).
  uint64_t pages_not_present = 0;
  std::map<int, uint64_t> errors;  // errno -> pages with that status, the two above included

  uint64_t pagesOn(const NodeSet& nodes) const;
  uint64_t pagesPresent() const;
};

// Whether a range is too sparse to ask about address by address: at least 1 GiB with fewer
// than one resident page (numa_maps' count) in 16. A sanitizer's shadow or a reserved heap
// would have the status query walk billions of empty addresses.
bool isSparseRange(const MapRange& range, uint64_t resident_pages);

// `ranges` without the sparse ones by `numa_maps` (ranges it does not list are kept).
std::vector<MapRange> denseRanges(const std::vector<MapRange>& ranges,
                                  const std::vector<NumaMapsEntry>& numa_maps);

// Where every page of `ranges` is, by move_pages(2)'s status query in batches: it asks about
// every address, so pass denseRanges() for a process that may hold huge sparse mappings. pid 0
// is the calling process. Fails as a whole only when the kernel refuses the call (ESRCH,
// EPERM...).
Result<PageCensus> queryPageNodes(pid_t pid, const std::vector<MapRange>& ranges,
                                  const PageSyscalls& syscalls = kernelPageSyscalls());

struct PageLocation {
  uint64_t address = 0;
  int node = 0;

  friend bool operator==(const PageLocation&, const PageLocation&) = default;
};

// The pages of `ranges` that sit on `nodes`, ascending by address; fills `census` (when given)
// from the same query.
Result<std::vector<PageLocation>> listPagesOn(pid_t pid, const std::vector<MapRange>& ranges,
                                              const NodeSet& nodes, PageCensus* census = nullptr,
                                              const PageSyscalls& syscalls = kernelPageSyscalls());

// --- moving pages ---

// How movePages takes the pages off `from`.
enum class MoveMethod {
  // move_pages(2) on the pages found, one call per target node, split by address over the
  // workers: the finest control (every page's target chosen, balanced over workers), at the
  // price of a page-table lookup per address in the kernel.
  kMovePages,
  // migrate_pages(2) first, one call per source node (each to one target, chosen by room), the
  // calls running concurrently on up to `workers` threads: the kernel walks the page tables
  // once per call, which costs less per page than move_pages' lookups, but the work splits only
  // by source node. Whatever it leaves (a target that filled up, a busy page) then goes through
  // the kMovePages steps, so the result is the same. migrate_pages(2) decides by capability, not
  // by flag: with CAP_SYS_NICE it also moves pages shared with other processes, as
  // MPOL_MF_MOVE_ALL does (what a partition shrink wants: the released nodes must empty).
  kMigratePages,
};

// Workers for a move when the caller does not say: one per CPU this process may run on, at most
// 8. On a 2-CPU guest with free CPUs, move_pages from two threads moved 256 MiB 1.5x faster than
// one migrate_pages(2) call (docs/benchmarks.md); on a busy host both were within the noise.
int defaultMoveWorkers() noexcept;

// Calls `item(i)` for every i < `items` on up to `workers` threads, the calling thread one of
// them: each takes the next index no thread has taken, so unequal items still finish together.
// To stop early, have `item` return at once once it should.
void onWorkers(size_t items, size_t workers, const std::function<void(size_t)>& item);

struct MoveOptions {
  // Threads issuing move_pages calls, each on its own pages. The page copy is the cost, so more
  // workers pay off as long as there are CPUs for them.
  int workers = 1;
  MoveMethod method = MoveMethod::kMovePages;
  // MPOL_MF_MOVE moves pages only this process maps; MPOL_MF_MOVE_ALL also pages shared with
  // other processes (shared libraries' page cache, shmem) and needs CAP_SYS_NICE.
  int flags = MPOL_MF_MOVE;
  // Free bytes per target node: pages are spread in proportion. Empty: an equal spread.
  std::map<int, uint64_t> free_bytes;
  const PageSyscalls* syscalls = nullptr;  // nullptr: the running kernel
  // Pages the caller wants left where they are, by address (attach and migrate leave the page
  // cache a process shares with others: zones::findPagesToLeave). They are neither moved nor
  // counted as left. Everything else on `from` is counted, wherever it appeared: numa_maps'
  // count less the pages left on purpose, or the status query's, whichever is larger per range.
  // migrate_pages(2) cannot leave pages out, so such a move has no MoveMethod::kMigratePages
  // step, and its sweep of pages only numa_maps sees takes only from the source nodes that hold
  // no page left on purpose (`leave_nodes`, and those the move itself sees holding one); what
  // stays on the others is counted as left.
  std::function<bool(uint64_t address)> leave;
  NodeSet leave_nodes;  // the nodes the pages to leave were found on (PagesToLeave::nodes())
};

struct MoveReport {
  // Pages looked at to find them: by the status query, or by numa_maps for ranges it shows
  // wholly on `from` (ranges it shows without a page there are skipped).
  uint64_t pages_scanned = 0;
  uint64_t pages_found = 0;          // pages on `from` and not on `to`: what had to move
  uint64_t pages_left_as_asked = 0;  // pages on `from` that MoveOptions::leave kept out of it
  uint64_t pages_moved = 0;          // of those, on a `to` node afterwards
  uint64_t pages_failed = 0;         // of those, still where they were
  uint64_t pages_gone = 0;           // of those, unmapped (or moved by someone else) meanwhile
  std::map<int, uint64_t> failures;  // errno -> failed pages: EBUSY, EACCES, ENOMEM, EFAULT...
  std::map<int, uint64_t> moved_to;  // target node -> pages moved there
  // The verification: pages of the process on `from` and not on `to` after the move. More than
  // pages_failed when the process allocated there meanwhile (its policy may still point there).
  // Counted by numa_maps when it can be read (it sees every page; less the pages left on
  // purpose, per range and never below the status query's count), else by the status query.
  // When numa_maps counts none, the calls' own statuses give the other counts; otherwise every
  // page is looked at again.
  uint64_t pages_left_on_from = 0;
  // Pages the verification found on `from` and asked for once more: new ones (a huge page
  // khugepaged collapsed there during the move, memory touched meanwhile) and ones that failed
  // for a reason other than room.
  uint64_t pages_retried = 0;
  // Pages left on `from` after the move that numa_maps sees and the status query does not (NUMA
  // balancing's hinting PTEs on 6.1); a migrate_pages(2) sweep moves them.
  uint64_t pages_hidden = 0;
  // Pages on `from` before the sweep minus after it. Moved pages get fresh PTEs the status query
  // sees, so those the move had asked for count in pages_moved as well.
  uint64_t pages_swept = 0;
  uint64_t move_calls = 0;  // move_pages calls that moved pages (queries not counted)
  double scan_ms = 0;       // finding the pages
  double move_ms = 0;       // moving them
  double sweep_ms = 0;      // the migrate_pages sweep, when there was one
  double verify_ms = 0;     // the verification (numa_maps, then the status query if needed)
  double elapsed_ms = 0;    // all of it
  // MoveMethod::kMigratePages: pages its migrate_pages(2) calls took off `from` (by numa_maps,
  // else by the status query, before and after), included in pages_found, pages_moved and
  // moved_to; the calls made and their time (included in move_ms).
  uint64_t pages_migrated = 0;
  uint64_t migrate_calls = 0;
  double migrate_ms = 0;
};

// Moves every page of `pid` on `from` to the nodes of `to`:
//  1. find: numa_maps says which ranges hold pages on `from` (all of a range: take every
//     address); the status query finds them in the rest;
//  2. move: one move_pages call per target node with all its pages, in address order, split over
//     the workers (the kernel cuts its internal batches whenever the target changes or a page is
//     already in place, so pages are grouped by target and those already on `to` are skipped);
//     a target that runs out of memory hands its pages to the others, and what nobody can take
//     fails with ENOMEM;
//  3. verify: numa_maps counts what is left on `from`; when anything is, the status query
//     classifies every page, what is left (but not for want of room) is asked for once more, and
//     pages that only numa_maps can see are swept with one migrate_pages(2) call.
// With MoveMethod::kMigratePages, migrate_pages(2) calls per source node come first, and steps
// 1-3 take what they left (usually nothing: then step 1 finds no range to look at).
// Errors that stop the whole move (ESRCH, EPERM, a target outside the process's cpuset...) are
// returned as an Error. Reads /proc through `root`, which must be the live system
// (FsRoot::canActOnProcesses; bad input otherwise): the syscalls reach the live process.
Result<MoveReport> movePages(const FsRoot& root, pid_t pid, const NodeSet& from, const NodeSet& to,
                             const MoveOptions& options = {});

// Reads a process's numa_maps; movePagesIn takes one so tests can stand in for procfs.
using NumaMapsReader = std::function<Result<std::vector<NumaMapsEntry>>()>;
// Reads the nodes a process may use (readMemsAllowedAt). MoveMethod::kMigratePages checks `to`
// against them first: migrate_pages(2) run with CAP_SYS_NICE does not, where move_pages(2)
// refuses (EACCES) a target outside the process's cpuset.
using MemsAllowedReader = std::function<Result<NodeSet>()>;

// The same over ranges the caller read (tests, callers that already hold them); without a
// numa_maps reader there is no sweep and the verification is the status query's.
Result<MoveReport> movePagesIn(pid_t pid, const std::vector<MapRange>& ranges, const NodeSet& from,
                               const NodeSet& to, const MoveOptions& options = {},
                               const NumaMapsReader& numa_maps = {},
                               const MemsAllowedReader& mems_allowed = {});

// The verification after a move: pages of `pid` on `nodes` that `leave` (when given) does not
// keep there. Per range, the larger of the status query's count and numa_maps' count less the
// pages left on purpose that the query finds there (or cannot see): the status query misses
// pages NUMA balancing has hidden (6.1) and sparse ranges, numa_maps cannot tell pages left on
// purpose from the rest. Without numa_maps (not readable), the status query's count. Live system
// only; ESRCH when the process is gone.
Result<uint64_t> countPagesLeftOn(const FsRoot& root, pid_t pid, const NodeSet& nodes,
                                  const std::function<bool(uint64_t)>& leave = {},
                                  const PageSyscalls& syscalls = kernelPageSyscalls());

// How `pages` pages spread over the nodes of `to`: in proportion to `free_bytes` (nodes absent
// from it get nothing unless it is empty, which means an equal spread), largest remainders
// first, in node order. Nodes with no share are left out.
struct TargetShare {
  int node = 0;
  uint64_t pages = 0;

  friend bool operator==(const TargetShare&, const TargetShare&) = default;
};
std::vector<TargetShare> shareByFreeMemory(uint64_t pages, const NodeSet& to,
                                           const std::map<int, uint64_t>& free_bytes);

// MoveMethod::kMigratePages' plan: each source node (with its page count) goes to one target,
// largest first, to the target with the most room left: free_bytes (in pages of `page_bytes`)
// minus what is already planned for it, or, with free_bytes empty, the fewest pages planned so
// far. Ties go to the lower node. Sources without pages are left out.
struct NodePair {
  int from = 0;
  int to = 0;
  uint64_t pages = 0;

  friend bool operator==(const NodePair&, const NodePair&) = default;
};
std::vector<NodePair> pairSourcesWithTargets(const std::map<int, uint64_t>& pages_per_source,
                                             const NodeSet& to,
                                             const std::map<int, uint64_t>& free_bytes,
                                             uint64_t page_bytes);

// migrate_pages(2): moves all pages of `pid` on `from` to `to`, node by node as the kernel maps
// them. Returns the number of pages that could not be moved.
Result<uint64_t> migrateProcessPages(pid_t pid, const NodeSet& from, const NodeSet& to,
                                     const PageSyscalls& syscalls = kernelPageSyscalls());

// "ENOMEM" for ENOMEM; the number for errnos without a name here.
std::string errnoName(int err);

}  // namespace softzone::zones

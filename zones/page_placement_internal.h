// Page placement internals shared by its files: workers, a process's snapshot, counting.
#pragma once

#include <sys/types.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "softzone/zones/page_placement.h"

namespace softzone::zones::internal {

using Clock = std::chrono::steady_clock;

// The kernel never writes this into a status slot (nodes are >= 0, errors are -errno), so a slot
// still holding it after a call is one the kernel did not get to.
constexpr int kStatusUnset = INT_MIN;
// A positive move_pages return says migrate_pages() gave up on that many pages without saying
// why per page; the causes (elevated refcount, a pin, writeback) are what EBUSY means.
constexpr int kNotMigratedErrno = EBUSY;

double msSince(Clock::time_point start);
uint64_t pageSizeBytes();
inline void* asPointer(uint64_t address) { return reinterpret_cast<void*>(address); }
inline uint64_t asAddress(void* page) { return reinterpret_cast<uint64_t>(page); }

// The message for a call the kernel refused as a whole, saying what to do about it.
Error syscallError(int err, std::string_view call, pid_t pid);
// Errors after which the same call can make progress later or elsewhere; the rest stop the move.
bool isRecoverable(int err);
Status validateNodes(const NodeSet& nodes, std::string_view what);

// Hands every page address of `ranges` with its status to `visit(address, status)`, querying a
// batch at a time so memory use does not grow with the process.
Status scanPages(const PageSyscalls& syscalls, pid_t pid, const std::vector<MapRange>& ranges,
                 const std::function<void(uint64_t, int)>& visit);

// What the workers of one move saw: why each page that did not move failed, as the kernel said
// it, and where the pages the kernel confirmed went. A page is in `failures` until a status
// confirms it on a target, so what is left there at the end is what no call confirmed.
struct WorkerLog {
  std::unordered_map<uint64_t, int> failures;  // address -> errno
  std::map<int, uint64_t> moved_to;            // node -> pages

  void merge(WorkerLog& other) {
    failures.merge(other.failures);
    for (const auto& [node, pages] : other.moved_to) moved_to[node] += pages;
  }
};

struct WorkersOutcome {
  WorkerLog log;
  uint64_t move_calls = 0;  // move_pages calls that asked for moves
};

// Moves `pages` (ascending) to the targets of `shares` (TargetShare::pages each, in order) on
// `workers` threads, one move_pages call per target and worker; a target that runs out of memory
// hands its pages to the other nodes of `to`. An error stops every worker (ESRCH, EPERM...).
Result<WorkersOutcome> moveOnWorkers(const PageSyscalls& syscalls, pid_t pid, int flags,
                                     const NodeSet& to, const std::vector<void*>& pages,
                                     const std::vector<TargetShare>& shares, int workers);

// The process as one read of /proc shows it.
struct Snapshot {
  std::vector<MapRange> ranges;
  std::optional<std::vector<NumaMapsEntry>> numa_maps;  // none: not readable, status query only

  // numa_maps lists the ranges in address order, as maps does.
  const NumaMapsEntry* entryFor(const MapRange& range) const;
};

// Pages of `entry` on `nodes` (all of them when nullptr).
uint64_t pagesIn(const NumaMapsEntry& entry, const NodeSet* nodes);

// The ranges the status query may walk: all but the sparse ones.
std::vector<MapRange> scannableRanges(const Snapshot& snapshot);

// What is left on some nodes after a move, counted so that neither of the two ways of seeing it
// hides a page: move_pages(2)'s status query cannot see a page whose PTE NUMA balancing made
// PROT_NONE (6.1) nor the sparse ranges it is not asked about, and numa_maps counts pages by
// range, the ones a caller leaves there on purpose included. Fed the statuses of one pass over
// the scannable ranges of `snapshot`, it counts per range the larger of the status query's count
// (pages on the nodes not left on purpose) and numa_maps' count less the pages left on purpose
// that the same pass held there. Why per range and not in total, and why the larger: a page left
// on purpose that the pass cannot place (evicted meanwhile, or hidden itself) is subtracted, and
// may then hide a leftover only in its own range, where the status query still sees the visible
// ones; new pages (a fault after the first scan, a huge page khugepaged collapsed on the source)
// are in both counts whatever their address, because both are read after the move.
class LeftoverCount {
 public:
  LeftoverCount(const Snapshot& snapshot, const NodeSet& nodes,
                const std::function<bool(uint64_t)>& leave);
  // One page's status from the pass.
  void add(uint64_t address, int status);
  uint64_t byStatus() const { return by_status_; }
  // The count described above; none without numa_maps (then byStatus() is all there is).
  std::optional<uint64_t> total() const;
  // Nodes the pass saw holding pages left on purpose.
  const NodeSet& leftOnPurposeOn() const { return held_on_; }

 private:
  struct RangeCount {
    uint64_t by_status = 0;
    uint64_t held = 0;  // pages left on purpose that are on the nodes, or that no status places
  };
  size_t rangeOf(uint64_t address) const;

  const Snapshot& snapshot_;
  const NodeSet nodes_;
  const std::function<bool(uint64_t)>& leave_;
  std::vector<RangeCount> per_range_;
  uint64_t by_status_ = 0;
  NodeSet held_on_;
};

}  // namespace softzone::zones::internal

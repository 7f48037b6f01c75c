// Page placement: one process's move: find its pages on the source nodes, move, verify, sweep.
#include <algorithm>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "page_placement_internal.h"

namespace softzone::zones {
namespace {

using internal::asAddress;
using internal::asPointer;
using internal::Clock;
using internal::isRecoverable;
using internal::kNotMigratedErrno;
using internal::kStatusUnset;
using internal::msSince;
using internal::pagesIn;
using internal::pageSizeBytes;
using internal::scannableRanges;
using internal::scanPages;
using internal::Snapshot;
using internal::syscallError;
using internal::validateNodes;
using internal::WorkerLog;

// A thread per CPU is the useful limit; this only stops a typo from starting thousands.
constexpr int kMaxWorkers = 256;

using RangeSource = std::function<Result<std::vector<MapRange>>()>;

// How a move sees the process: its ranges (read again for the verification, so memory mapped
// meanwhile is checked too) and, when it can be read, numa_maps.
struct ProcessReaders {
  RangeSource ranges;
  NumaMapsReader numa_maps;
  MemsAllowedReader mems_allowed;
};

// What the verification found; kept apart from the report so a second verification (after a
// sweep) replaces the first.
struct Verification {
  uint64_t moved = 0;
  uint64_t failed = 0;
  uint64_t gone = 0;
  uint64_t left_by_status = 0;
  std::optional<uint64_t> left_by_numa_maps;
  std::map<int, uint64_t> failures;
  std::map<int, uint64_t> moved_to;
  // Pages on the source nodes worth asking for once more: new ones (a huge page khugepaged
  // collapsed there, memory the process touched) and ones that failed other than for room.
  std::vector<void*> retry;
};

// What numa_maps says about a range's pages on the source nodes.
enum class RangePlan {
  kNone,    // none there: nothing to find
  kWhole,   // all of its pages are there: every address is one to move
  kMixed,   // some: the status query finds them
  kSparse,  // too few pages for its size to ask page by page: the migrate_pages sweep's
};

// Sweeps at most, and the pause between them: see sweepHidden.
constexpr int kSweepRounds = 3;
constexpr std::chrono::milliseconds kSweepPause{20};

// One movePages call: find, move, verify, and sweep what the status query cannot see.
class PageMove {
 public:
  PageMove(pid_t pid, ProcessReaders readers, const NodeSet& to, const MoveOptions& options,
           NodeSet source)
      : pid_(pid),
        readers_(std::move(readers)),
        to_(to),
        options_(options),
        syscalls_(options.syscalls != nullptr ? *options.syscalls : kernelPageSyscalls()),
        source_(std::move(source)),
        leave_on_(options.leave_nodes) {}

  Result<MoveReport> run() {
    const auto start = Clock::now();
    if (options_.method == MoveMethod::kMigratePages && !options_.leave) {
      SZ_CHECK(migrateBySourceNode());
      if (migrate_emptied_source_) {
        // numa_maps, which sees every page, already shows the source nodes empty: that count was
        // the verification, and finding pages again would read the same file to find none.
        addMigrated();
        report_.elapsed_ms = msSince(start);
        return report_;
      }
    }
    const auto find_start = Clock::now();
    SZ_CHECK(findPages());
    report_.scan_ms = msSince(find_start);
    SZ_CHECK(moveFound());
    const auto verify_start = Clock::now();
    SZ_TRY(snapshot, takeSnapshot());
    std::optional<uint64_t> numa_left = numaPagesOnSource(snapshot);
    if (numa_left && *numa_left == 0) {
      // The kernel's own count says nothing is on the source nodes, not even pages left there on
      // purpose: what the calls reported is the whole story, and a page-by-page query would only
      // repeat it.
      SZ_CHECK(recordFromCalls());
      report_.verify_ms = msSince(verify_start);
    } else {
      SZ_TRY(verified, verify(snapshot));
      report_.verify_ms = msSince(verify_start);
      if (!verified.retry.empty()) {
        SZ_TRY(again, retryLeftovers(std::move(verified.retry)));
        verified = std::move(again);
      }
      if (verified.left_by_numa_maps && *verified.left_by_numa_maps > verified.left_by_status) {
        report_.pages_hidden = *verified.left_by_numa_maps - verified.left_by_status;
        NodeSet sweep_from = source_.minus(leave_on_);
        if (!sweep_from.empty()) {
          SZ_TRY(swept, sweepHidden(sweep_from, *verified.left_by_numa_maps));
          verified = std::move(swept);
        }
      }
      record(verified);
    }
    addMigrated();
    report_.elapsed_ms = msSince(start);
    return report_;
  }

 private:
  Result<Snapshot> takeSnapshot() const {
    Snapshot snapshot;
    SZ_TRY(ranges, readers_.ranges());
    snapshot.ranges = std::move(ranges);
    if (readers_.numa_maps) {
      // Unreadable numa_maps (a kernel without NUMA) leaves the status query to do it all.
      if (auto entries = readers_.numa_maps()) snapshot.numa_maps = std::move(*entries);
    }
    return snapshot;
  }

  // Finds the pages to move: numa_maps tells which ranges hold none on the source nodes (a
  // large reservation elsewhere costs nothing) and which are wholly resident there (every address
  // is one to move); the status query asks page by page about the rest.
  Status findPages() {
    SZ_TRY(snapshot, takeSnapshot());
    std::vector<MapRange> mixed;
    const uint64_t page = pageSizeBytes();
    for (const MapRange& range : snapshot.ranges) {
      RangePlan plan = planRange(snapshot, range);
      if (plan == RangePlan::kMixed) mixed.push_back(range);
      if (plan != RangePlan::kWhole) continue;
      for (uint64_t address = range.start; address < range.end; address += page) {
        ++report_.pages_scanned;
        if (leaves(address)) {
          ++report_.pages_left_as_asked;
          for (const auto& [node, pages] : snapshot.entryFor(range)->pages_per_node) {
            if (source_.contains(node)) leave_on_.insert(node);
          }
        } else {
          found_.push_back(asPointer(address));
        }
      }
    }
    SZ_CHECK(scanPages(syscalls_, pid_, mixed, [&](uint64_t address, int status) {
      ++report_.pages_scanned;
      if (status < 0 || !source_.contains(status)) return;
      if (leaves(address)) {
        ++report_.pages_left_as_asked;
        leave_on_.insert(status);
      } else {
        found_.push_back(asPointer(address));
      }
    }));
    std::sort(found_.begin(), found_.end());
    report_.pages_found = found_.size();
    return {};
  }

  bool leaves(uint64_t address) const { return options_.leave && options_.leave(address); }

  RangePlan planRange(const Snapshot& snapshot, const MapRange& range) const {
    const NumaMapsEntry* entry = snapshot.entryFor(range);
    if (entry == nullptr) return RangePlan::kMixed;
    uint64_t present = pagesIn(*entry, nullptr);
    uint64_t on_source = pagesIn(*entry, &source_);
    if (on_source == 0) return RangePlan::kNone;
    if (isSparseRange(range, present)) return RangePlan::kSparse;
    // Every page present and on the source nodes; anything odd (a page gone meanwhile) only
    // costs a status the move reports, never a page left unmoved.
    bool whole = on_source == present && present * pageSizeBytes() == range.bytes();
    return whole ? RangePlan::kWhole : RangePlan::kMixed;
  }

  // MoveMethod::kMigratePages' first step: one migrate_pages(2) call per source node, run
  // concurrently; what it took is counted from where the pages are before and after.
  Status migrateBySourceNode() {
    const auto start = Clock::now();
    SZ_CHECK(checkTargetsAllowed());
    SZ_TRY(before, countPagesByNode());
    std::map<int, uint64_t> on_source;
    for (const auto& [node, pages] : before) {
      if (source_.contains(node)) on_source[node] = pages;
    }
    SZ_CHECK(
        runPairs(pairSourcesWithTargets(on_source, to_, options_.free_bytes, pageSizeBytes())));
    const auto after_start = Clock::now();
    SZ_TRY(after, countPagesByNode());
    uint64_t left = 0;
    for (const auto& [node, pages] : after) {
      if (source_.contains(node)) left += pages;
    }
    migrate_emptied_source_ = left == 0 && counted_by_numa_maps_;
    if (migrate_emptied_source_) report_.verify_ms = msSince(after_start);
    uint64_t was = 0;
    for (const auto& [node, pages] : on_source) was += pages;
    report_.pages_migrated = was > left ? was - left : 0;
    for (int node : to_.ids()) {
      uint64_t gained = after[node] > before[node] ? after[node] - before[node] : 0;
      if (gained > 0) migrated_to_[node] = gained;
    }
    report_.migrate_ms = msSince(start);
    return {};
  }

  // move_pages(2) refuses a target outside the process's cpuset; migrate_pages(2) with
  // CAP_SYS_NICE would put pages there, so the same refusal is made here, before anything moves.
  Status checkTargetsAllowed() const {
    if (!readers_.mems_allowed) return {};
    SZ_TRY(allowed, readers_.mems_allowed());
    NodeSet outside = to_.minus(allowed);
    if (outside.empty()) return {};
    return errnoError(EACCES, "migrate_pages pid " + std::to_string(pid_) + ": nodes " +
                                  outside.format() + " are not in the process's cpuset mems (" +
                                  allowed.format() + "): add them first");
  }

  // Pages per node: numa_maps' count when it can be read, else the status query's.
  Result<std::map<int, uint64_t>> countPagesByNode() {
    SZ_TRY(snapshot, takeSnapshot());
    counted_by_numa_maps_ = snapshot.numa_maps.has_value();
    if (snapshot.numa_maps) return numaMapsPagesIn(*snapshot.numa_maps, snapshot.ranges);
    SZ_TRY(census, queryPageNodes(pid_, scannableRanges(snapshot), syscalls_));
    return census.pages_per_node;
  }

  // The pairs on up to `workers` threads, largest first. A call that moved only part of its
  // pages is not an error: the move_pages steps after it take the rest.
  Status runPairs(const std::vector<NodePair>& pairs) {
    std::mutex mutex;
    std::optional<Error> fatal;
    onWorkers(pairs.size(), static_cast<size_t>(options_.workers), [&](size_t i) {
      {
        std::lock_guard lock(mutex);
        if (fatal) return;  // every later call would fail the same way
      }
      long rc =
          syscalls_.migratePages(pid_, NodeSet::of({pairs[i].from}), NodeSet::of({pairs[i].to}));
      std::lock_guard lock(mutex);
      ++report_.migrate_calls;
      if (rc < 0 && !isRecoverable(static_cast<int>(-rc)) && !fatal) {
        fatal = syscallError(static_cast<int>(-rc), "migrate_pages", pid_);
      }
    });
    if (fatal) return std::move(*fatal);
    return {};
  }

  // The migrate_pages step's pages join the report's counts (and its time the move's).
  void addMigrated() {
    report_.pages_found += report_.pages_migrated;
    report_.pages_moved += report_.pages_migrated;
    for (const auto& [node, pages] : migrated_to_) report_.moved_to[node] += pages;
    report_.move_ms += report_.migrate_ms;
  }

  Status moveFound() {
    const auto start = Clock::now();
    auto shares = shareByFreeMemory(found_.size(), to_, options_.free_bytes);
    SZ_TRY(moved, internal::moveOnWorkers(syscalls_, pid_, options_.flags, to_, found_, shares,
                                          options_.workers));
    log_ = std::move(moved.log);
    report_.move_calls = moved.move_calls;
    report_.move_ms = msSince(start);
    return {};
  }

  // What became of each page that had to move, and what is left on the source nodes.
  Result<Verification> verify(const Snapshot& snapshot) {
    Verification verified;
    std::vector<bool> seen(found_.size(), false);
    internal::LeftoverCount left(snapshot, source_, options_.leave);
    SZ_CHECK(
        scanPages(syscalls_, pid_, scannableRanges(snapshot), [&](uint64_t address, int status) {
          classify(address, status, seen, verified);
          left.add(address, status);
        }));
    verified.gone += static_cast<uint64_t>(std::count(seen.begin(), seen.end(), false));
    // Not numaPagesOnSource: pages left on purpose are in numa_maps' counts, and only this pass
    // can take them out (LeftoverCount says how, and why it misses none of the rest).
    verified.left_by_numa_maps = left.total();
    for (int node : left.leftOnPurposeOn().ids()) leave_on_.insert(node);
    return verified;
  }

  void classify(uint64_t address, int status, std::vector<bool>& seen, Verification& verified) {
    // Left as asked: never in found_, neither left over nor worth another try.
    if (status >= 0 && source_.contains(status) && leaves(address)) return;
    if (status >= 0 && source_.contains(status)) {
      ++verified.left_by_status;
      auto why = log_.failures.find(address);
      if (why == log_.failures.end() || why->second != ENOMEM) {
        verified.retry.push_back(asPointer(address));
      }
    }
    auto at = std::lower_bound(found_.begin(), found_.end(), asPointer(address));
    if (at == found_.end() || *at != asPointer(address)) return;
    seen[static_cast<size_t>(at - found_.begin())] = true;
    if (status >= 0 && to_.contains(status)) {
      ++verified.moved;
      ++verified.moved_to[status];
    } else if (status >= 0 && source_.contains(status)) {
      ++verified.failed;
      auto why = log_.failures.find(address);
      ++verified.failures[why == log_.failures.end() ? kNotMigratedErrno : why->second];
    } else {
      ++verified.gone;
    }
  }

  // One more move of what the verification found still on the source nodes, then another
  // verification. Once only: what fails twice is reported.
  Result<Verification> retryLeftovers(std::vector<void*> pages) {
    std::sort(pages.begin(), pages.end());
    report_.pages_retried = pages.size();
    auto shares = shareByFreeMemory(pages.size(), to_, options_.free_bytes);
    SZ_TRY(moved, internal::moveOnWorkers(syscalls_, pid_, options_.flags, to_, pages, shares,
                                          options_.workers));
    report_.move_calls += moved.move_calls;
    for (const auto& [address, err] : moved.log.failures) log_.failures[address] = err;
    SZ_TRY(snapshot, takeSnapshot());
    return verify(snapshot);
  }

  // migrate_pages(2) walks the page tables itself and moves pages the status query can't see
  // (or wasn't asked about: sparse ranges). It cannot leave pages out, so with pages left on
  // purpose it only sweeps `from`, the source nodes where none of them is.
  // A page the kernel is migrating itself at that moment (NUMA balancing's hinting fault, as
  // seen once in 6.1 guests: one 2 MiB page left) is isolated and skipped: the sweep is tried
  // again, a little later, while it leaves pages and makes progress.
  Result<Verification> sweepHidden(const NodeSet& from, uint64_t left_before) {
    const auto start = Clock::now();
    long rc = 0;
    Verification verified;
    uint64_t left_after = left_before;
    for (int round = 0; round < kSweepRounds; ++round) {
      if (round > 0) std::this_thread::sleep_for(kSweepPause);
      rc = syscalls_.migratePages(pid_, from, to_);
      SZ_TRY(snapshot, takeSnapshot());
      SZ_TRY(checked, verify(snapshot));
      verified = std::move(checked);
      uint64_t left = verified.left_by_numa_maps.value_or(verified.left_by_status);
      bool progress = left < left_after;
      left_after = left;
      if (left_after == 0 || rc < 0 || !progress) break;
    }
    report_.sweep_ms = msSince(start);
    report_.pages_swept = left_before > left_after ? left_before - left_after : 0;
    // The sweep's pages have no status of their own: a refusal is charged to what it left.
    if (rc < 0 && left_after > verified.left_by_status) {
      verified.failures[static_cast<int>(-rc)] += left_after - verified.left_by_status;
    }
    return verified;
  }

  // Every page on the source nodes by numa_maps, pages left on purpose included; none when
  // numa_maps can't be read.
  std::optional<uint64_t> numaPagesOnSource(const Snapshot& snapshot) const {
    if (!snapshot.numa_maps) return std::nullopt;
    uint64_t pages = 0;
    for (const MapRange& range : snapshot.ranges) {
      if (const NumaMapsEntry* entry = snapshot.entryFor(range)) pages += pagesIn(*entry, &source_);
    }
    return pages;
  }

  // The counts from the calls' statuses. Pages no status confirmed (the kernel stopped before
  // them, then the follow-up query caught them mid-migration, as when compaction moves a page on
  // a nearly full target) are looked up once: nothing is left on the source, so each is on a
  // target or really gone.
  Status recordFromCalls() {
    report_.moved_to = log_.moved_to;
    std::vector<void*> unconfirmed;
    for (const auto& [address, err] : log_.failures) unconfirmed.push_back(asPointer(address));
    std::sort(unconfirmed.begin(), unconfirmed.end());
    std::vector<int> status(unconfirmed.size(), kStatusUnset);
    SZ_CHECK(queryStatuses(syscalls_, pid_, unconfirmed, status));
    for (int node : status) {
      if (node >= 0 && to_.contains(node)) ++report_.moved_to[node];
    }
    uint64_t moved = 0;
    for (const auto& [node, pages] : report_.moved_to) moved += pages;
    report_.pages_moved = moved;
    report_.pages_gone = found_.size() > moved ? found_.size() - moved : 0;
    return {};
  }

  void record(const Verification& verified) {
    report_.pages_moved = verified.moved;
    report_.pages_failed = verified.failed;
    report_.pages_gone = verified.gone;
    report_.failures = verified.failures;
    report_.moved_to = verified.moved_to;
    report_.pages_left_on_from = verified.left_by_numa_maps.value_or(verified.left_by_status);
  }

  const pid_t pid_;
  const ProcessReaders readers_;
  const NodeSet to_;
  const MoveOptions& options_;
  const PageSyscalls& syscalls_;
  const NodeSet source_;
  NodeSet leave_on_;          // source nodes holding pages left on purpose: never swept
  std::vector<void*> found_;  // ascending
  WorkerLog log_;
  std::map<int, uint64_t> migrated_to_;  // target -> pages the migrate_pages step put there
  bool counted_by_numa_maps_ = false;    // the last countPagesByNode read numa_maps
  bool migrate_emptied_source_ = false;  // and after the migrate_pages step it showed none left
  MoveReport report_;
};

Status validateMove(const NodeSet& from, const NodeSet& to, const MoveOptions& options) {
  SZ_CHECK(validateNodes(from, "pages to move from"));
  SZ_CHECK(validateNodes(to, "pages to move to"));
  if (options.workers < 1 || options.workers > kMaxWorkers) {
    return badInput("workers must be 1 to " + std::to_string(kMaxWorkers) + ", not " +
                    std::to_string(options.workers));
  }
  if (options.flags != MPOL_MF_MOVE && options.flags != MPOL_MF_MOVE_ALL) {
    return badInput("move flags must be MPOL_MF_MOVE or MPOL_MF_MOVE_ALL");
  }
  if (options.method != MoveMethod::kMovePages && options.method != MoveMethod::kMigratePages) {
    return badInput("move method must be move_pages or migrate_pages");
  }
  return {};
}

Result<MoveReport> moveProcessPages(pid_t pid, ProcessReaders readers, const NodeSet& from,
                                    const NodeSet& to, const MoveOptions& options) {
  SZ_CHECK(validateMove(from, to, options));
  // Pages on nodes in both sets are already where they may stay.
  PageMove move(pid, std::move(readers), to, options, from.minus(to));
  return move.run();
}

}  // namespace
Result<MoveReport> movePages(const FsRoot& root, pid_t pid, const NodeSet& from, const NodeSet& to,
                             const MoveOptions& options) {
  SZ_CHECK(root.checkCanActOnProcesses("moving pages", 1));
  ProcessReaders readers;
  readers.ranges = [&root, pid]() -> Result<std::vector<MapRange>> {
    SZ_TRY(ranges, readMapsAt(root, pid));
    return movableRanges(ranges);
  };
  readers.numa_maps = [&root, pid]() { return readNumaMapsAt(root, pid); };
  readers.mems_allowed = [&root, pid]() { return readMemsAllowedAt(root, pid); };
  return moveProcessPages(pid, std::move(readers), from, to, options);
}

Result<MoveReport> movePagesIn(pid_t pid, const std::vector<MapRange>& ranges, const NodeSet& from,
                               const NodeSet& to, const MoveOptions& options,
                               const NumaMapsReader& numa_maps,
                               const MemsAllowedReader& mems_allowed) {
  ProcessReaders readers;
  readers.ranges = [&ranges]() -> Result<std::vector<MapRange>> { return ranges; };
  readers.numa_maps = numa_maps;
  readers.mems_allowed = mems_allowed;
  return moveProcessPages(pid, std::move(readers), from, to, options);
}

}  // namespace softzone::zones

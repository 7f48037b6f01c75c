// Page placement: move_pages(2) status queries, grouped and parallel page moves, migrate_pages(2).
#include "softzone/page_placement.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>

namespace softzone::zones {
namespace {

using Clock = std::chrono::steady_clock;

// The kernel never writes this into a status slot (nodes are >= 0, errors are -errno), so a slot
// still holding it after a call is one the kernel did not get to.
constexpr int kStatusUnset = INT_MIN;
// A thread per CPU is the useful limit; this only stops a typo from starting thousands.
constexpr int kMaxWorkers = 256;
// Retries of a target's remaining pages after a call that moved some but not all of them.
constexpr int kMaxPassesPerTarget = 8;
// A positive move_pages return says migrate_pages() gave up on that many pages without saying
// why per page; the causes (elevated refcount, a pin, writeback) are what EBUSY means.
constexpr int kNotMigratedErrno = EBUSY;
constexpr uint64_t kMaxWeightTotal = uint64_t{1} << 20;
// A range this big with fewer than one resident page in kSparseFactor is not walked address by
// address (ASan's 16 TiB shadow would take hours): numa_maps and migrate_pages(2) cover it.
constexpr uint64_t kSparseMinBytes = uint64_t{1} << 30;
constexpr uint64_t kSparseFactor = 16;

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

uint64_t pageSizeBytes() {
  static const uint64_t kSize = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return kSize;
}

void* asPointer(uint64_t address) { return reinterpret_cast<void*>(address); }
uint64_t asAddress(void* page) { return reinterpret_cast<uint64_t>(page); }

class KernelPageSyscalls final : public PageSyscalls {
 public:
  long movePages(pid_t pid, std::span<void* const> pages, const int* nodes, int* status,
                 int flags) const override {
    return movePagesCall(pid, pages.size(), pages.data(), nodes, status, flags);
  }

  long migratePages(pid_t pid, const NodeSet& from, const NodeSet& to) const override {
    return migratePagesCall(pid, from, to);
  }
};

// The message for a call the kernel refused as a whole, saying what to do about it.
Error syscallError(int err, std::string_view call, pid_t pid) {
  std::string context = std::string(call) + " pid " + std::to_string(pid);
  switch (err) {
    case ESRCH:
      return errnoError(err, context + ": the process is gone");
    case EPERM:
    case EACCES:
      return errnoError(err, context +
                                 ": not permitted: another user's process (and moving shared "
                                 "pages with MPOL_MF_MOVE_ALL) needs CAP_SYS_NICE, and target "
                                 "nodes must be in the process's cpuset mems");
    case ENODEV:
      return errnoError(err, context + ": a target node is not online");
    case EINVAL:
      return errnoError(err, context + ": the kernel refused the flags or node ids");
    default:
      return errnoError(err, context);
  }
}

// Errors after which the same call can make progress later or elsewhere; the rest stop the move.
bool isRecoverable(int err) {
  return err == ENOMEM || err == EBUSY || err == EAGAIN || err == EINTR;
}

Status validateNodes(const NodeSet& nodes, std::string_view what) {
  if (nodes.empty()) return badInput(std::string(what) + ": no nodes given");
  if (nodes.last() >= kMaxNodes) {
    return badInput(std::string(what) + ": node " + std::to_string(nodes.last()) +
                    " is beyond the kernel's " + std::to_string(kMaxNodes) + " nodes");
  }
  return {};
}

// Shifts byte weights right until they sum below kMaxWeightTotal, so that pages * weight fits
// in 64 bits for any page count below 2^44 (64 PiB); the shares lose nothing that matters.
uint64_t scaleWeights(std::vector<uint64_t>& weights) {
  for (;;) {
    uint64_t total = 0;
    bool fits = true;
    for (uint64_t weight : weights) {
      fits = fits && weight < kMaxWeightTotal && total < kMaxWeightTotal;
      total += std::min(weight, kMaxWeightTotal);
    }
    if (fits && total < kMaxWeightTotal) return total;
    for (uint64_t& weight : weights) weight >>= 1;
  }
}

// Hands every page address of `ranges` with its status to `visit(address, status)`, querying a
// batch at a time so memory use does not grow with the process.
Status scanPages(const PageSyscalls& syscalls, pid_t pid, const std::vector<MapRange>& ranges,
                 const std::function<void(uint64_t, int)>& visit) {
  const uint64_t page = pageSizeBytes();
  std::vector<void*> batch;
  batch.reserve(kQueryBatchPages);
  std::vector<int> status(kQueryBatchPages);
  auto flush = [&]() -> Status {
    SZ_CHECK(queryStatuses(syscalls, pid, batch, std::span(status).first(batch.size())));
    for (size_t i = 0; i < batch.size(); ++i) visit(asAddress(batch[i]), status[i]);
    batch.clear();
    return {};
  };
  for (const MapRange& range : ranges) {
    for (uint64_t address = range.start & ~(page - 1); address < range.end; address += page) {
      batch.push_back(asPointer(address));
      if (batch.size() == kQueryBatchPages) SZ_CHECK(flush());
    }
  }
  return flush();
}

void countStatus(PageCensus& census, int status) {
  ++census.pages_scanned;
  if (status >= 0) {
    ++census.pages_per_node[status];
    return;
  }
  ++census.errors[-status];
  if (status == -ENOENT || status == -EFAULT) ++census.pages_not_present;
}

// One target node's share of the pages, or a worker's part of it.
struct WorkItem {
  int node = 0;
  std::vector<void*> pages;
};

// Contiguous slices of `pages` (ascending) per target, each cut into one piece per worker.
// Worker w gets piece w of every slice, starting at slice w so that workers begin on different
// target nodes and don't all allocate from one node at once.
std::vector<std::vector<WorkItem>> planWork(const std::vector<void*>& pages,
                                            const std::vector<TargetShare>& shares, int workers) {
  std::vector<std::vector<WorkItem>> plan(static_cast<size_t>(workers));
  size_t begin = 0;
  for (size_t s = 0; s < shares.size(); ++s) {
    size_t length = shares[s].pages;
    for (size_t w = 0; w < plan.size(); ++w) {
      size_t from = begin + length * w / plan.size();
      size_t to = begin + length * (w + 1) / plan.size();
      if (from == to) continue;
      plan[w].push_back({shares[s].node,
                         {pages.begin() + static_cast<ptrdiff_t>(from),
                          pages.begin() + static_cast<ptrdiff_t>(to)}});
    }
    begin += length;
  }
  for (size_t w = 0; w < plan.size(); ++w) {
    if (!plan[w].empty()) {
      std::rotate(plan[w].begin(), plan[w].begin() + static_cast<ptrdiff_t>(w % plan[w].size()),
                  plan[w].end());
    }
  }
  return plan;
}

// What one worker saw: why each page that did not move failed, as the kernel said it, and where
// the pages the kernel confirmed went. One per worker, merged after. A page is in `failures` until
// a status confirms it on a target, so what is left there at the end is what no call confirmed.
struct WorkerLog {
  std::unordered_map<uint64_t, int> failures;  // address -> errno
  std::map<int, uint64_t> moved_to;            // node -> pages

  void merge(WorkerLog& other) {
    failures.merge(other.failures);
    for (const auto& [node, pages] : other.moved_to) moved_to[node] += pages;
  }
};

// The moving part of movePages: workers run their items through it concurrently; it owns what
// they share (exhausted targets, the first fatal error, the call count).
class MoveRun {
 public:
  MoveRun(const PageSyscalls& syscalls, pid_t pid, int flags, const NodeSet& targets)
      : syscalls_(syscalls), pid_(pid), flags_(flags), targets_(targets.ids()) {}

  void runItems(const std::vector<WorkItem>& items, WorkerLog& log) {
    for (const WorkItem& item : items) {
      if (stop_.load()) return;
      moveToNode(item.pages, item.node, log);
    }
  }

  std::optional<Error> takeFatal() {
    std::lock_guard lock(mutex_);
    return std::move(fatal_);
  }
  uint64_t moveCalls() const { return move_calls_.load(); }

 private:
  // One target's pages: one call, then, when the kernel stopped short, another with what is left
  // (on another target when this one ran out of memory).
  void moveToNode(std::vector<void*> pending, int node, WorkerLog& log) {
    int passes = 0;
    while (!pending.empty() && !stop_.load()) {
      if (isExhausted(node)) {
        std::optional<int> next = nextTarget(node);
        if (!next) return record(pending, ENOMEM, log);
        node = *next;
      }
      std::vector<int> nodes(pending.size(), node);
      std::vector<int> status(pending.size(), kStatusUnset);
      long rc = syscalls_.movePages(pid_, pending, nodes.data(), status.data(), flags_);
      if (rc < 0 && !isRecoverable(static_cast<int>(-rc))) {
        return setFatal(syscallError(static_cast<int>(-rc), "move_pages", pid_));
      }
      ++move_calls_;
      // Pages the kernel did not get to, or could not take right now, are looked at again.
      const int call_error = rc < 0 ? static_cast<int>(-rc) : kNotMigratedErrno;
      bool out_of_memory = rc == -ENOMEM;
      std::vector<void*> unsettled;
      for (size_t i = 0; i < pending.size(); ++i) {
        if (status[i] >= 0) {
          ++log.moved_to[status[i]];
          if (!log.failures.empty()) log.failures.erase(asAddress(pending[i]));
          continue;
        }
        int err = status[i] == kStatusUnset ? call_error : -status[i];
        log.failures[asAddress(pending[i])] = err;
        out_of_memory = out_of_memory || err == ENOMEM;
        if (status[i] == kStatusUnset || isRecoverable(err)) unsettled.push_back(pending[i]);
      }
      if (unsettled.empty()) return;
      auto still = notYetOn(node, unsettled, log);
      if (!still) return setFatal(std::move(still).error());
      bool progressed = still->size() < pending.size();
      if (out_of_memory) {
        // This node is full: the rest goes to the other targets, each tried once more.
        markExhausted(node);
      } else if (!progressed || ++passes >= kMaxPassesPerTarget) {
        return;  // the log says why each page is still where it was
      }
      pending = std::move(*still);
    }
  }

  // Of `pages`, those that are present and not on `node` (the kernel stopped before them, or
  // they are the tails of a huge page it moved whole); counts those that did get there.
  Result<std::vector<void*>> notYetOn(int node, const std::vector<void*>& pages,
                                      WorkerLog& log) const {
    std::vector<int> status(pages.size(), kStatusUnset);
    SZ_CHECK(queryStatuses(syscalls_, pid_, pages, status));
    std::vector<void*> still;
    for (size_t i = 0; i < pages.size(); ++i) {
      if (status[i] == node) {
        ++log.moved_to[node];
        log.failures.erase(asAddress(pages[i]));
      }
      if (status[i] >= 0 && status[i] != node) still.push_back(pages[i]);
    }
    return still;
  }

  void record(const std::vector<void*>& pages, int err, WorkerLog& log) const {
    for (void* page : pages) log.failures[asAddress(page)] = err;
  }

  bool isExhausted(int node) {
    std::lock_guard lock(mutex_);
    return exhausted_.contains(node);
  }

  void markExhausted(int node) {
    std::lock_guard lock(mutex_);
    exhausted_.insert(node);
  }

  // The next target after `node` (cyclically) that still has room.
  std::optional<int> nextTarget(int node) {
    std::lock_guard lock(mutex_);
    auto at = std::find(targets_.begin(), targets_.end(), node);
    size_t start = at == targets_.end() ? 0 : static_cast<size_t>(at - targets_.begin());
    for (size_t i = 1; i <= targets_.size(); ++i) {
      int candidate = targets_[(start + i) % targets_.size()];
      if (!exhausted_.contains(candidate)) return candidate;
    }
    return std::nullopt;
  }

  void setFatal(Error error) {
    std::lock_guard lock(mutex_);
    if (!fatal_) fatal_ = std::move(error);
    stop_.store(true);
  }

  const PageSyscalls& syscalls_;
  const pid_t pid_;
  const int flags_;
  const std::vector<int> targets_;
  std::mutex mutex_;
  NodeSet exhausted_;
  std::optional<Error> fatal_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> move_calls_{0};
};

// Runs the plan, worker 0 on the calling thread.
WorkerLog runPlan(MoveRun& run, const std::vector<std::vector<WorkItem>>& plan) {
  std::vector<WorkerLog> logs(plan.size());
  std::vector<std::thread> threads;
  for (size_t w = 1; w < plan.size(); ++w) {
    if (!plan[w].empty()) threads.emplace_back([&, w] { run.runItems(plan[w], logs[w]); });
  }
  if (!plan.empty()) run.runItems(plan[0], logs[0]);
  for (std::thread& thread : threads) thread.join();
  WorkerLog merged = std::move(logs[0]);
  for (size_t w = 1; w < logs.size(); ++w) merged.merge(logs[w]);
  return merged;
}

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

// The process as one read of /proc shows it.
struct Snapshot {
  std::vector<MapRange> ranges;
  std::optional<std::vector<NumaMapsEntry>> numa_maps;  // none: not readable, status query only

  // numa_maps lists the ranges in address order, as maps does.
  const NumaMapsEntry* entryFor(const MapRange& range) const {
    if (!numa_maps) return nullptr;
    auto at = std::lower_bound(
        numa_maps->begin(), numa_maps->end(), range.start,
        [](const NumaMapsEntry& entry, uint64_t start) { return entry.start < start; });
    return at != numa_maps->end() && at->start == range.start ? &*at : nullptr;
  }
};

uint64_t pagesIn(const NumaMapsEntry& entry, const NodeSet* nodes) {
  uint64_t pages = 0;
  for (const auto& [node, count] : entry.pages_per_node) {
    if (nodes == nullptr || nodes->contains(node)) pages += count;
  }
  return pages;
}

// The ranges the status query may walk: all but the sparse ones.
std::vector<MapRange> scannableRanges(const Snapshot& snapshot) {
  std::vector<MapRange> ranges;
  for (const MapRange& range : snapshot.ranges) {
    const NumaMapsEntry* entry = snapshot.entryFor(range);
    if (entry == nullptr || !isSparseRange(range, pagesIn(*entry, nullptr))) {
      ranges.push_back(range);
    }
  }
  return ranges;
}

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
        source_(std::move(source)) {}

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
      // The kernel's own count says nothing is left: what the calls reported is the whole story,
      // and a page-by-page query would only repeat it.
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
        SZ_TRY(swept, sweepHidden(*verified.left_by_numa_maps));
        verified = std::move(swept);
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
    MoveRun run(syscalls_, pid_, options_.flags, to_);
    auto shares = shareByFreeMemory(found_.size(), to_, options_.free_bytes);
    log_ = runPlan(run, planWork(found_, shares, options_.workers));
    if (auto fatal = run.takeFatal()) return std::move(*fatal);
    report_.move_calls = run.moveCalls();
    report_.move_ms = msSince(start);
    return {};
  }

  // What became of each page that had to move, and what is left on the source nodes.
  Result<Verification> verify(const Snapshot& snapshot) {
    Verification verified;
    std::vector<bool> seen(found_.size(), false);
    SZ_CHECK(scanPages(
        syscalls_, pid_, scannableRanges(snapshot),
        [&](uint64_t address, int status) { classify(address, status, seen, verified); }));
    verified.gone += static_cast<uint64_t>(std::count(seen.begin(), seen.end(), false));
    verified.left_by_numa_maps = numaPagesOnSource(snapshot);
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
    MoveRun run(syscalls_, pid_, options_.flags, to_);
    auto shares = shareByFreeMemory(pages.size(), to_, options_.free_bytes);
    WorkerLog log = runPlan(run, planWork(pages, shares, options_.workers));
    if (auto fatal = run.takeFatal()) return std::move(*fatal);
    report_.move_calls += run.moveCalls();
    for (const auto& [address, err] : log.failures) log_.failures[address] = err;
    SZ_TRY(snapshot, takeSnapshot());
    return verify(snapshot);
  }

  // migrate_pages(2) walks the page tables itself and moves pages the status query can't see
  // (or wasn't asked about: sparse ranges).
  // A page the kernel is migrating itself at that moment (NUMA balancing's hinting fault, as
  // seen once in 6.1 guests: one 2 MiB page left) is isolated and skipped: the sweep is tried
  // again, a little later, while it leaves pages and makes progress.
  Result<Verification> sweepHidden(uint64_t left_before) {
    const auto start = Clock::now();
    long rc = 0;
    Verification verified;
    uint64_t left_after = left_before;
    for (int round = 0; round < kSweepRounds; ++round) {
      if (round > 0) std::this_thread::sleep_for(kSweepPause);
      rc = syscalls_.migratePages(pid_, source_, to_);
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

  // None when numa_maps can't say: not readable, or pages left as asked are among its counts.
  std::optional<uint64_t> numaPagesOnSource(const Snapshot& snapshot) const {
    if (!snapshot.numa_maps || options_.leave) return std::nullopt;
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

Status queryStatuses(const PageSyscalls& syscalls, pid_t pid, std::span<void* const> pages,
                     std::span<int> status) {
  for (size_t first = 0; first < pages.size(); first += kQueryBatchPages) {
    size_t count = std::min(kQueryBatchPages, pages.size() - first);
    long rc = syscalls.movePages(pid, pages.subspan(first, count), nullptr,
                                 status.subspan(first, count).data(), 0);
    if (rc < 0) return syscallError(static_cast<int>(-rc), "move_pages", pid);
  }
  return {};
}

bool isSparseRange(const MapRange& range, uint64_t resident_pages) {
  uint64_t pages = range.bytes() / pageSizeBytes();
  return range.bytes() >= kSparseMinBytes && resident_pages * kSparseFactor < pages;
}

std::vector<MapRange> denseRanges(const std::vector<MapRange>& ranges,
                                  const std::vector<NumaMapsEntry>& numa_maps) {
  Snapshot snapshot{ranges, numa_maps};
  return scannableRanges(snapshot);
}

const PageSyscalls& kernelPageSyscalls() {
  static const KernelPageSyscalls kKernel;
  return kKernel;
}

uint64_t PageCensus::pagesOn(const NodeSet& nodes) const {
  uint64_t pages = 0;
  for (const auto& [node, count] : pages_per_node) {
    if (nodes.contains(node)) pages += count;
  }
  return pages;
}

uint64_t PageCensus::pagesPresent() const {
  uint64_t pages = 0;
  for (const auto& [node, count] : pages_per_node) pages += count;
  return pages;
}

Result<PageCensus> queryPageNodes(pid_t pid, const std::vector<MapRange>& ranges,
                                  const PageSyscalls& syscalls) {
  PageCensus census;
  SZ_CHECK(
      scanPages(syscalls, pid, ranges, [&](uint64_t, int status) { countStatus(census, status); }));
  return census;
}

Result<std::vector<PageLocation>> listPagesOn(pid_t pid, const std::vector<MapRange>& ranges,
                                              const NodeSet& nodes, PageCensus* census,
                                              const PageSyscalls& syscalls) {
  std::vector<PageLocation> pages;
  PageCensus local;
  SZ_CHECK(scanPages(syscalls, pid, ranges, [&](uint64_t address, int status) {
    countStatus(local, status);
    if (status >= 0 && nodes.contains(status)) pages.push_back({address, status});
  }));
  std::sort(pages.begin(), pages.end(),
            [](const PageLocation& a, const PageLocation& b) { return a.address < b.address; });
  if (census != nullptr) *census = std::move(local);
  return pages;
}

std::vector<TargetShare> shareByFreeMemory(uint64_t pages, const NodeSet& to,
                                           const std::map<int, uint64_t>& free_bytes) {
  std::vector<int> nodes = to.ids();
  std::vector<uint64_t> weights;
  for (int node : nodes) {
    auto it = free_bytes.find(node);
    weights.push_back(free_bytes.empty() ? 1 : (it == free_bytes.end() ? 0 : it->second));
  }
  uint64_t total = scaleWeights(weights);
  // Nothing free anywhere: spread equally and let the kernel say which pages found no room.
  if (total == 0) {
    std::fill(weights.begin(), weights.end(), 1);
    total = weights.size();
  }
  std::vector<uint64_t> counts(nodes.size());
  std::vector<std::pair<uint64_t, size_t>> remainders;
  uint64_t assigned = 0;
  for (size_t i = 0; i < nodes.size(); ++i) {
    uint64_t exact = pages * weights[i];
    counts[i] = exact / total;
    assigned += counts[i];
    remainders.emplace_back(exact % total, i);
  }
  // Largest remainders first; ties to the lower node, so the result is deterministic.
  std::stable_sort(remainders.begin(), remainders.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t k = 0; assigned < pages && k < remainders.size(); ++k, ++assigned) {
    ++counts[remainders[k].second];
  }
  std::vector<TargetShare> shares;
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (counts[i] > 0) shares.push_back({nodes[i], counts[i]});
  }
  return shares;
}

std::vector<NodePair> pairSourcesWithTargets(const std::map<int, uint64_t>& pages_per_source,
                                             const NodeSet& to,
                                             const std::map<int, uint64_t>& free_bytes,
                                             uint64_t page_bytes) {
  std::vector<std::pair<int, uint64_t>> sources;
  for (const auto& [node, pages] : pages_per_source) {
    if (pages > 0) sources.emplace_back(node, pages);
  }
  std::stable_sort(sources.begin(), sources.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  const std::vector<int> targets = to.ids();
  std::vector<uint64_t> planned(targets.size(), 0);
  // Room left on target i; without free_bytes, fewer pages planned is more room. Page counts
  // stay far below 2^62 (that would be 16 EiB of 4 KiB pages), so the differences fit.
  auto room = [&](size_t i) -> int64_t {
    constexpr uint64_t kCap = uint64_t{1} << 62;
    int64_t used = static_cast<int64_t>(std::min(planned[i], kCap));
    if (free_bytes.empty()) return -used;
    auto it = free_bytes.find(targets[i]);
    uint64_t free_pages = it == free_bytes.end() || page_bytes == 0 ? 0 : it->second / page_bytes;
    return static_cast<int64_t>(std::min(free_pages, kCap)) - used;
  };
  std::vector<NodePair> pairs;
  if (targets.empty()) return pairs;
  for (const auto& [node, pages] : sources) {
    size_t best = 0;
    for (size_t i = 1; i < targets.size(); ++i) {
      if (room(i) > room(best)) best = i;
    }
    planned[best] += pages;
    pairs.push_back({node, targets[best], pages});
  }
  return pairs;
}

int defaultMoveWorkers() noexcept {
  constexpr int kDefaultMaxWorkers = 8;
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (::sched_getaffinity(0, sizeof(allowed), &allowed) != 0) return 1;
  return std::clamp(CPU_COUNT(&allowed), 1, kDefaultMaxWorkers);
}

void onWorkers(size_t items, size_t workers, const std::function<void(size_t)>& item) {
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < items; i = next++) item(i);
  };
  std::vector<std::thread> threads;
  for (size_t t = 1; t < std::min(workers, items); ++t) threads.emplace_back(work);
  work();
  for (std::thread& thread : threads) thread.join();
}

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

Result<uint64_t> migrateProcessPages(pid_t pid, const NodeSet& from, const NodeSet& to,
                                     const PageSyscalls& syscalls) {
  SZ_CHECK(validateNodes(from, "pages to migrate from"));
  SZ_CHECK(validateNodes(to, "pages to migrate to"));
  long rc = syscalls.migratePages(pid, from, to);
  if (rc < 0) return syscallError(static_cast<int>(-rc), "migrate_pages", pid);
  return static_cast<uint64_t>(rc);
}

std::string errnoName(int err) {
  const char* name = strerrorname_np(err);
  return name != nullptr ? std::string(name) : std::to_string(err);
}

}  // namespace softzone::zones

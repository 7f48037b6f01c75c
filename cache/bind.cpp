// Binding files' page cache to nodes: populate from a worker bound with MPOL_BIND, migrate what is
// cached elsewhere with move_pages(2) and MPOL_MF_MOVE_ALL, count every page's outcome.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <thread>

#include "file_map.h"
#include "softzone/cache/page_cache.h"
#include "window_holder.h"

namespace softzone::cache {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kStatusUnset = INT_MIN;

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

Status bindThreadTo(const NodeSet& targets) {
  if (long rc = zones::setMempolicyCall(MPOL_BIND, targets); rc < 0) {
    return errnoError(static_cast<int>(-rc),
                      "set_mempolicy(MPOL_BIND, " + targets.format() +
                          "): the target nodes must be online, have memory and be in this "
                          "process's cpuset mems");
  }
  return {};
}

// Whether another process holds the file open for writing: a read lease is refused (EAGAIN)
// exactly then. nullopt when leases are not available here (not the owner without CAP_LEASE,
// a filesystem without them).
std::optional<bool> openForWriting(int fd) {
  if (::fcntl(fd, F_SETLEASE, F_RDLCK) == 0) {
    ::fcntl(fd, F_SETLEASE, F_UNLCK);
    return false;
  }
  if (errno == EAGAIN) return true;
  return std::nullopt;
}

// One page's story in one window.
struct PageState {
  bool cached_before = false;
  int node_before = detail::kNotCached;
  int node_after = detail::kNotCached;  // after populate, before moves
  int moved_status = kStatusUnset;      // the move's status, when it was asked to move
};

// A window looked at and populated, waiting for the group's moves.
struct PendingWindow {
  size_t file = 0;  // index into the group's files
  detail::MappedWindow window;
  std::vector<PageState> pages;
  std::vector<unsigned char> cached;  // what the next status query asks about
  std::vector<PageRun> missing;       // not cached when looked at: being read in
  std::vector<int> nodes_after;
  bool dropped = false;  // could not be looked at: its file is reported failed
};

// A file of the group, for its line in the report when pages of it could not be placed.
struct PendingFile {
  const TreeFile* file = nullptr;
  uint64_t failed_pages = 0;
  std::map<FailReason, std::string> reasons;
  bool reported = false;  // a window of it failed and the file is in file_failures already
};

// Pages per group: moves are planned over this many pages of however many files (small files
// would otherwise cost a call per file and target), and this many stay mapped meanwhile.
constexpr size_t kGroupPages = 65536;
constexpr size_t kGroupWindows = 4096;
// A move call is not split smaller than this between workers: a thread per few pages would cost
// more than it saves.
constexpr size_t kMinPagesPerCall = 512;
// Cached pages the holder maps before telling: bind asks where they are meanwhile the holder maps
// the next slice (100 MiB cached: 25 of bind's 75 ms looking under emulation went to the query).
constexpr size_t kLocateSlicePages = 4096;
// readahead(2) reads at most max(the device's largest request, its readahead size) per call
// (BindOptions::readahead_bytes); 128 KiB, the kernel's default readahead size, where unknown.
constexpr uint64_t kDefaultReadaheadBytes = 128 << 10;

// Binds files, grouped; lives in the worker thread.
class Binder {
 public:
  Binder(const BindOptions& options, BindReport& report)
      : options_(options),
        syscalls_(options.syscalls != nullptr ? *options.syscalls : zones::kernelPageSyscalls()),
        report_(report) {}

  void run(const std::vector<TreeFile>& files) {
    if (!options_.await_targets) {
      // Known from the start: a bad target is refused before any file is opened.
      if (Status ready = readyTargets(); !ready) {
        report_.stopped_by = std::move(ready).error();
        return;
      }
    }
    for (const TreeFile& file : files) {
      ++report_.files;
      report_.size_bytes += file.size_bytes;
      report_.pages += (file.size_bytes + detail::pageBytes() - 1) / detail::pageBytes();
      bindFile(file);
      if (report_.stopped_by) break;
    }
    flush();
  }

 private:
  // The targets (awaited if they were not known at the start), and this thread bound to them:
  // its MPOL_BIND places every page read in. Once, before the first group is looked at.
  Status readyTargets() {
    if (targets_ready_) return {};
    if (options_.await_targets) SZ_CHECK(options_.await_targets(options_));
    if (options_.targets.empty()) return badInput("no target nodes to bind to");
    SZ_CHECK(options_.bind_thread ? options_.bind_thread(options_.targets)
                                  : bindThreadTo(options_.targets));
    targets_ready_ = true;
    return {};
  }

  void fileFailure(const TreeFile& file, FailReason reason, std::string detail) {
    report_.file_failures.push_back({file.path, reason, std::move(detail)});
  }

  void bindFile(const TreeFile& file) {
    auto opened = openTreeFile(file);
    if (!opened) {
      fileFailure(file, failReasonOf(opened.error()), opened.error().describe());
      return;
    }
    Fd& fd = opened->fd;
    if (openForWriting(fd.get()).value_or(false)) {
      fileFailure(file, FailReason::kBeingWritten,
                  "open for writing by another process: its pages are being dirtied and added; "
                  "bind it when the writer is done");
      return;
    }
    uint64_t size = opened->size_bytes;
    size_t file_index = group_files_.size();
    group_files_.push_back({&file, 0, {}, false});
    for (uint64_t offset = 0; offset < size; offset += detail::kWindowBytes) {
      uint64_t length = std::min(detail::kWindowBytes, size - offset);
      auto window = detail::MappedWindow::map(fd.get(), offset, length);
      if (!window) {
        fileFailure(file, failReasonOfErrno(window.error().code().value()),
                    window.error().describe());
        group_files_[file_index].reported = true;
        break;
      }
      PendingWindow pending{file_index, std::move(*window), {}, {}, {}, {}, false};
      pending.pages.resize(pending.window.pages());
      group_pages_ += pending.pages.size();
      group_.push_back(std::move(pending));
    }
    // The mappings outlive the descriptor; looking, reading and moving wait until a group is
    // large.
    if (group_pages_ >= kGroupPages || group_.size() >= kGroupWindows) flush();
  }

  // What is cached in one window before anything is done.
  Status lookAt(PendingWindow& pending) {
    SZ_TRY(cached_before, pending.window.cachedPages());
    pending.missing = runsOf(cached_before, false);
    for (size_t i = 0; i < pending.pages.size(); ++i) {
      pending.pages[i].cached_before = cached_before[i] != 0;
    }
    pending.cached = std::move(cached_before);
    return {};
  }

  uint64_t readaheadBytes(const TreeFile& file) const {
    auto found = options_.readahead_bytes.find(file.device);
    return found != options_.readahead_bytes.end() && found->second >= detail::pageBytes()
               ? found->second
               : kDefaultReadaheadBytes;
  }

  // What the holder does, step by step: map the cached pages by reading a byte of each
  // (kTouchEachPage), in slices of about kLocateSlicePages (bind locates each slice on another
  // CPU while the holder maps the next), then the pages being read in, which waits for the reads
  // (and reads anything readahead skipped or the kernel evicted meanwhile) with the policy the
  // holder inherited.
  // Each window is marked sequential first: the kernel then does not mark every page accessed
  // when the holder's mappings go (6.1 does for other mappings, 6.12 for all but sequential and
  // random ones), which cost a third of a cold bind's unmapping and would activate pages bind
  // only looked at. The readahead a fault may start reads what bind reads anyway, with the same
  // policy.
  struct HolderPlan {
    std::vector<std::vector<detail::HolderCall>> steps;
    std::vector<std::vector<PendingWindow*>> callers;  // the window of each call
    std::vector<std::vector<PendingWindow*>> windows;  // the windows each step maps
    std::vector<PendingWindow*> reading;               // windows with pages being read in

    void add(PendingWindow& pending, std::vector<detail::HolderCall> calls) {
      for (const detail::HolderCall& call : calls) {
        steps.back().push_back(call);
        callers.back().push_back(&pending);
      }
    }
    void nextStep() {
      steps.emplace_back();
      callers.emplace_back();
      windows.emplace_back();
    }
  };

  HolderPlan planHolder() {
    HolderPlan plan;
    plan.nextStep();
    size_t slice_pages = 0;
    for (PendingWindow& pending : group_) {
      if (pending.dropped) continue;
      const detail::MappedWindow& w = pending.window;
      if (slice_pages >= kLocateSlicePages) {
        plan.nextStep();
        slice_pages = 0;
      }
      plan.add(pending, {w.sequentialCall()});
      plan.add(pending, w.touchCalls(runsOf(pending.cached, true)));
      plan.windows.back().push_back(&pending);
      slice_pages +=
          static_cast<size_t>(std::count(pending.cached.begin(), pending.cached.end(), 1));
      if (!pending.missing.empty()) plan.reading.push_back(&pending);
    }
    plan.nextStep();
    for (PendingWindow* pending : plan.reading) {
      plan.add(*pending, pending->window.populateCalls(pending->missing));
    }
    return plan;
  }

  // The windows of `callers` whose calls failed (errnos from WindowHolder::waitStep), once each.
  static std::map<PendingWindow*, int> failedCalls(const std::vector<PendingWindow*>& callers,
                                                   const std::vector<int>& errnos) {
    std::map<PendingWindow*, int> failed;
    for (size_t i = 0; i < callers.size(); ++i) {
      if (errnos[i] != 0) failed.emplace(callers[i], errnos[i]);
    }
    return failed;
  }

  // Where the cached pages of `windows` are: one status query over all of them, through the
  // holder that maps them (in calls of at most 16384 pages, not a call per file).
  template <typename Found>
  void locate(const std::vector<PendingWindow*>& windows, Found found) {
    std::vector<detail::NodeQuery> queries;
    std::vector<PendingWindow*> asked;
    for (PendingWindow* pending : windows) {
      if (pending->dropped) continue;
      queries.push_back({&pending->window, &pending->cached, {}, {}});
      asked.push_back(pending);
    }
    detail::queryNodes(holder_->pid(), queries, syscalls_);
    for (size_t k = 0; k < queries.size(); ++k) {
      if (!queries[k].status) {
        dropWindow(*asked[k], std::move(queries[k].status).error());
        continue;
      }
      found(*asked[k], std::move(queries[k].nodes));
    }
  }

  // A window whose pages could not be looked at: its file is reported failed (once), and the
  // window's pages are neither moved nor counted.
  void dropWindow(PendingWindow& pending, Error error) {
    pending.dropped = true;
    pending.nodes_after.assign(pending.pages.size(), detail::kNotCached);
    if (error.code() == make_error_code(Errc::kUnsupported)) {
      if (!report_.stopped_by) report_.stopped_by = std::move(error);
      return;
    }
    PendingFile& file = group_files_[pending.file];
    if (file.reported) return;
    file.reported = true;
    fileFailure(*file.file, failReasonOfErrno(error.code().value()), error.describe());
  }

  // Every window is looked at and has its reads started (with this thread's MPOL_BIND) before
  // the first read is waited for: the device gets the whole group's requests at once, not one
  // file's at a time (with device-sized calls, a cold 100 MiB tree's bind went from 646 to 522
  // ms under emulation, bench-bind; starting each file's reads as soon as it was opened was
  // slower again, 441-454 -> 490-496 ms). The holder then maps the pages; where the pages cached
  // before are is asked while it waits for the reads; then where each page read in went.
  // False when the group could not be held (every window is dropped then).
  bool lookAndReadGroup() {
    for (PendingWindow& pending : group_) {
      auto look_start = Clock::now();
      Status looked = lookAt(pending);
      report_.look_ms += msSince(look_start);
      if (!looked) {
        dropWindow(pending, std::move(looked).error());
        continue;
      }
      if (!options_.populate) {
        pending.missing.clear();  // nothing is read in: counted as not cached
        continue;
      }
      auto read_start = Clock::now();
      pending.window.startReading(pending.missing,
                                  readaheadBytes(*group_files_[pending.file].file));
      report_.read_ms += msSince(read_start);
    }
    auto look_start = Clock::now();
    HolderPlan plan = planHolder();
    size_t locate_steps = plan.steps.size() - 1;  // the last step is the reads
    auto holder = detail::WindowHolder::start(std::move(plan.steps));
    if (!holder) return dropGroup(std::move(holder).error());
    holder_.emplace(std::move(*holder));
    // The holder has its own copy of every window now. Windows with pages being read in stay
    // mapped here too: a short read is counted with mincore.
    for (PendingWindow& pending : group_) {
      if (pending.missing.empty()) pending.window.unmapHere();
    }
    bool located = locateSlices(plan, locate_steps);
    report_.look_ms += msSince(look_start);
    if (!located) return false;
    auto read_start = Clock::now();
    bool finished = finishReads(plan);
    report_.read_ms += msSince(read_start);
    if (!finished) return false;
    for (PendingWindow& pending : group_) {
      for (size_t i = 0; i < pending.pages.size(); ++i) {
        pending.pages[i].node_after = pending.nodes_after[i];
      }
    }
    return true;
  }

  // Where the cached pages were before anything moved: each slice asked about as soon as the
  // holder has mapped it. False when the holder died (the group is dropped).
  bool locateSlices(const HolderPlan& plan, size_t steps) {
    for (size_t step = 0; step < steps; ++step) {
      auto mapped = holder_->waitStep();
      if (!mapped) return dropGroup(std::move(mapped).error());
      for (auto [pending, err] : failedCalls(plan.callers[step], *mapped)) {
        dropWindow(*pending, detail::populateFailure(err));
      }
      locate(plan.windows[step], [](PendingWindow& pending, std::vector<int> nodes) {
        for (size_t i = 0; i < pending.pages.size(); ++i) {
          pending.pages[i].node_before = nodes[i];
        }
        if (pending.missing.empty()) pending.nodes_after = std::move(nodes);
      });
    }
    return true;
  }

  // The holder's last step, the reads: waits for it, then where each page read in went. False
  // when the holder died (the group is dropped).
  bool finishReads(const HolderPlan& plan) {
    auto read = holder_->waitStep();
    if (!read) return dropGroup(std::move(read).error());
    std::map<PendingWindow*, int> short_reads = failedCalls(plan.callers.back(), *read);
    for (PendingWindow* pending : plan.reading) {
      if (pending->dropped) continue;
      if (short_reads.count(pending) == 0) {
        pending->cached.assign(pending->pages.size(), 1);  // every page cached and mapped
        continue;
      }
      // Pages that could not be read in show as not cached, counted per page.
      auto cached_after = pending->window.cachedPages();
      if (!cached_after) {
        dropWindow(*pending, std::move(cached_after).error());
        continue;
      }
      pending->cached = std::move(*cached_after);
    }
    locate(plan.reading, [](PendingWindow& pending, std::vector<int> nodes) {
      pending.nodes_after = std::move(nodes);
    });
    return true;
  }

  // No holder for the group: nothing of it can be looked at or moved, and nothing later would
  // fare better.
  bool dropGroup(Error error) {
    for (PendingWindow& pending : group_) {
      pending.dropped = true;
      pending.nodes_after.assign(pending.pages.size(), detail::kNotCached);
    }
    if (!report_.stopped_by) report_.stopped_by = std::move(error);
    return false;
  }

  // Looks at and reads in the group, moves its misplaced pages (one plan over all of its files,
  // so calls are large and grouped by target), counts every page, and unmaps.
  void flush() {
    if (group_.empty()) return;
    if (Status ready = readyTargets(); !ready) {
      dropGroup(std::move(ready).error());
    } else if (lookAndReadGroup()) {
      moveAndCount();
    }
    for (PendingFile& file : group_files_) {
      if (file.failed_pages > 0 && !file.reasons.empty()) {
        fileFailure(*file.file, file.reasons.begin()->first,
                    std::to_string(file.failed_pages) +
                        " pages not placed: " + file.reasons.begin()->second);
      }
    }
    // The holder unmaps its pages as it exits, while this process drops its own mappings of the
    // windows (never faulted in: cheap) and goes on; options_.exiting waits for it later.
    auto unmap_start = Clock::now();
    if (holder_) options_.exiting->add(holder_->letGo());
    group_.clear();
    holder_.reset();
    report_.unmap_ms += msSince(unmap_start);
    group_files_.clear();
    group_pages_ = 0;
  }

  void moveAndCount() {
    std::vector<int> nodes;
    std::vector<std::pair<size_t, size_t>> where;  // (window, page) of each entry of `nodes`
    nodes.reserve(group_pages_);
    where.reserve(group_pages_);
    for (size_t w = 0; w < group_.size(); ++w) {
      for (size_t i = 0; i < group_[w].nodes_after.size(); ++i) {
        nodes.push_back(group_[w].nodes_after[i]);
        where.emplace_back(w, i);
      }
    }
    auto move_start = Clock::now();
    moveMisplaced(nodes, where);
    report_.move_ms += msSince(move_start);
    for (PendingWindow& pending : group_) {
      if (!pending.dropped) count(pending);
    }
  }

  // One move_pages call's pages (entries of the group) and what the kernel said.
  struct MoveCall {
    std::vector<size_t> entries;
    std::vector<void*> addresses;
    std::vector<int> targets;  // each page's target node, a target's pages together
    std::vector<int> status;
    long rc = 0;
  };

  // The calls: each worker's is a share of every target's pages, one target after the other (the
  // kernel moves each target's run as a batch). Every move_pages call starts by draining every
  // CPU's LRU caches and waiting for an RCU grace period, so a call per worker rather than one
  // per target and worker; more only when a call would pass kMoveBatchPages.
  std::vector<MoveCall> planCalls(const std::vector<MoveBatch>& batches,
                                  const std::vector<std::pair<size_t, size_t>>& where) const {
    size_t pages = 0;
    for (const MoveBatch& batch : batches) pages += batch.pages.size();
    if (pages == 0) return {};
    size_t count = std::clamp<size_t>(pages / kMinPagesPerCall, 1, moveWorkers());
    count = std::max(count, (pages + detail::kMoveBatchPages - 1) / detail::kMoveBatchPages);
    std::vector<MoveCall> calls(count);
    for (const MoveBatch& batch : batches) {
      size_t size = batch.pages.size();
      for (size_t k = 0; k < count; ++k) {
        // Share k of this target's pages: [size*k/count, size*(k+1)/count).
        for (size_t at = size * k / count; at < size * (k + 1) / count; ++at) {
          const auto& [w, i] = where[batch.pages[at]];
          calls[k].entries.push_back(batch.pages[at]);
          calls[k].addresses.push_back(group_[w].window.page(i));
          calls[k].targets.push_back(batch.node);
        }
      }
    }
    std::erase_if(calls, [](const MoveCall& call) { return call.entries.empty(); });
    return calls;
  }

  void moveMisplaced(const std::vector<int>& nodes_after,
                     const std::vector<std::pair<size_t, size_t>>& where) {
    // free_bytes goes down as pages are placed, so the next group is shared out by what is left.
    auto batches =
        planCacheMoves(nodes_after, options_.targets, options_.free_bytes, detail::pageBytes());
    std::vector<MoveCall> calls = planCalls(batches, where);
    runCalls(calls);
    for (const MoveCall& call : calls) recordCall(call, where);
  }

  // The calls, split between the workers: each takes the next call not yet taken. The holder
  // maps the pages, so no mover interrupts another's CPU for TLB shootdowns.
  void runCalls(std::vector<MoveCall>& calls) {
    zones::onWorkers(calls.size(), moveWorkers(), [&](size_t k) { runCall(calls[k]); });
  }

  void runCall(MoveCall& call) {
    call.status.assign(call.addresses.size(), kStatusUnset);
    if (int stop = stop_errno_candidate_.load(); stop != 0) {
      call.rc = -stop;
      return;
    }
    call.rc = syscalls_.movePages(holder_->pid(), call.addresses, call.targets.data(),
                                  call.status.data(), MPOL_MF_MOVE_ALL);
    // A positive return counts pages not moved without saying which, and the kernel may leave
    // the statuses of the whole call unwritten: ask where the pages are now.
    if (call.rc > 0) reQuery(call.addresses, call.status);
    if (call.rc < 0 && isFatal(static_cast<int>(-call.rc))) {
      stop_errno_candidate_.store(static_cast<int>(-call.rc));
    }
  }

  size_t moveWorkers() const {
    return static_cast<size_t>(options_.workers > 0 ? options_.workers
                                                    : zones::defaultMoveWorkers());
  }

  void recordCall(const MoveCall& call, const std::vector<std::pair<size_t, size_t>>& where) {
    auto state = [&](size_t entry) -> PageState& {
      return group_[where[entry].first].pages[where[entry].second];
    };
    if (stop_errno_ != 0 && call.rc < 0) {
      // Refused like the call that stopped the run (or never made): the same reason.
      for (size_t entry : call.entries) state(entry).moved_status = -stop_errno_;
      return;
    }
    ++report_.move_calls;
    if (call.rc < 0) {
      int err = static_cast<int>(-call.rc);
      NodeSet targets;
      for (int node : call.targets) targets.insert(node);
      stopIfFatal(err, targets);
      for (size_t entry : call.entries) state(entry).moved_status = -err;
      return;
    }
    for (size_t k = 0; k < call.entries.size(); ++k) {
      int result = call.status[k];
      bool placed = result >= 0 && options_.targets.contains(result);
      state(call.entries[k]).moved_status = result == kStatusUnset ? -EBUSY
                                            : placed || result < 0 ? result
                                                                   : -EBUSY;
    }
  }

  static bool isFatal(int err) {
    return err == EPERM || err == EACCES || err == ENODEV || err == EINVAL;
  }

  void reQuery(const std::vector<void*>& addresses, std::vector<int>& status) {
    std::vector<int> now(addresses.size(), kStatusUnset);
    if (syscalls_.movePages(holder_->pid(), addresses, nullptr, now.data(), 0) < 0) return;
    status = std::move(now);
  }

  // A move call refused as a whole: permission and bad targets stop everything (every later call
  // would fail the same way); anything else fails only that call's pages.
  void stopIfFatal(int err, const NodeSet& nodes) {
    if (err == EPERM || err == EACCES) {
      report_.stopped_by =
          errnoError(err,
                     "move_pages(MPOL_MF_MOVE_ALL): not permitted: moving page cache that other "
                     "processes may map needs CAP_SYS_NICE (run as root)");
    } else if (err == ENODEV || err == EINVAL) {
      report_.stopped_by = errnoError(
          err, "move_pages to node(s) " + nodes.format() + ": the kernel refused the target");
    } else {
      return;
    }
    stop_errno_ = err;
  }

  void count(const PendingWindow& pending) {
    const NodeSet& targets = options_.targets;
    const detail::MappedWindow& window = pending.window;
    const std::vector<PageState>& pages = pending.pages;
    PendingFile& file = group_files_[pending.file];
    for (size_t i = 0; i < pages.size(); ++i) {
      const PageState& page = pages[i];
      if (page.cached_before && page.node_before >= 0 && targets.contains(page.node_before) &&
          page.node_after == page.node_before) {
        ++report_.pages_in_place;
        continue;
      }
      bool asked_to_move = page.moved_status != kStatusUnset;
      if (!options_.populate && !page.cached_before && !asked_to_move &&
          page.node_after == detail::kNotCached) {
        ++report_.pages_not_cached;
        continue;
      }
      int final_node = asked_to_move ? page.moved_status : page.node_after;
      if (final_node >= 0 && targets.contains(final_node)) {
        if (asked_to_move && page.cached_before) {
          ++report_.pages_migrated;
          ++report_.migrated_to[final_node];
        } else {
          // Read in by the worker (or evicted and read again there) and moved if it had to be.
          ++report_.pages_populated;
          if (asked_to_move) ++report_.migrated_to[final_node];
        }
        continue;
      }
      ++report_.pages_failed;
      FailReason reason = whyNotPlaced(window, i, page, final_node);
      ++report_.failed_by_reason[reason];
      ++file.failed_pages;
      file.reasons.emplace(reason, describeFailure(reason, final_node));
    }
  }

  FailReason whyNotPlaced(const detail::MappedWindow& window, size_t index, const PageState& page,
                          int final_node) {
    // Not cached after populating: the targets had no room (readahead gives up quietly).
    if (page.node_after == detail::kNotCached && page.moved_status == kStatusUnset) {
      return FailReason::kNoMemory;
    }
    // Moved, but the kernel put it elsewhere: it can only be for want of room.
    if (final_node >= 0) return FailReason::kNoMemory;
    std::optional<PageFlags> flags;
    if (options_.proc != nullptr)
      flags = detail::readPageFlags(*options_.proc, holder_->pid(), window.page(index));
    return failReasonOf(-final_node, flags);
  }

  static std::string describeFailure(FailReason reason, int final_node) {
    switch (reason) {
      case FailReason::kNoMemory:
        return "no room on the target nodes";
      case FailReason::kDirty:
        return "dirty pages (written and not yet on disk) the kernel would not move";
      case FailReason::kWriteback:
        return "pages under writeback";
      case FailReason::kNoPermission:
        return "no permission";
      case FailReason::kGone:
        return "the pages went away meanwhile (evicted or truncated)";
      default:
        return "busy: the kernel could not take the page (" +
               zones::errnoName(final_node < 0 ? -final_node : EBUSY) + ")";
    }
  }

  // A copy: await_targets fills in the targets, and free_bytes is spent as pages are placed.
  BindOptions options_;
  const zones::PageSyscalls& syscalls_;
  bool targets_ready_ = false;
  BindReport& report_;
  // The group: windows prepared and waiting for their moves, and the files they belong to.
  std::vector<PendingWindow> group_;
  std::vector<PendingFile> group_files_;
  size_t group_pages_ = 0;
  int stop_errno_ = 0;  // the errno that stopped the run, for the pages it leaves unmoved
  // A fatal errno met by a call (on any worker): later calls are not made.
  std::atomic<int> stop_errno_candidate_{0};
  // The group's pages mapped in a child, for the status queries and the moves.
  std::optional<detail::WindowHolder> holder_;
};

}  // namespace

BindReport bindFiles(const std::vector<TreeFile>& files, const BindOptions& options) {
  // Holders nobody else waits for are waited for as this returns.
  ExitingHolders waited_here;
  BindOptions effective = options;
  if (effective.exiting == nullptr) effective.exiting = &waited_here;
  BindReport report;
  auto start = Clock::now();
  // A thread of its own, so the MPOL_BIND policy that places every page read in is the worker's
  // alone and the caller's allocations are untouched.
  std::thread worker([&] { Binder(effective, report).run(files); });
  worker.join();
  report.elapsed_ms = msSince(start);
  return report;
}

}  // namespace softzone::cache

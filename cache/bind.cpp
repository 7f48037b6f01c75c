// Binding files' page cache to nodes: populate from a worker bound with MPOL_BIND, migrate what is
// cached elsewhere with move_pages(2) and MPOL_MF_MOVE_ALL, count every page's outcome.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <climits>
#include <thread>

#include "file_map.h"
#include "softzone/page_cache.h"

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
  std::vector<PageRun> missing;  // not cached when looked at: being read in
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
// readahead(2) reads at most max(the device's largest request, its readahead size) per call
// (BindOptions::readahead_bytes); 128 KiB, the kernel's default readahead size, where unknown.
constexpr uint64_t kDefaultReadaheadBytes = 128 << 10;

// Binds files, grouped; lives in the worker thread.
class Binder {
 public:
  Binder(const BindOptions& options, BindReport& report)
      : options_(options),
        syscalls_(options.syscalls != nullptr ? *options.syscalls : zones::kernelPageSyscalls()),
        free_bytes_(options.free_bytes),
        report_(report) {}

  void run(const std::vector<TreeFile>& files) {
    auto bound = options_.bind_thread ? options_.bind_thread(options_.targets)
                                      : bindThreadTo(options_.targets);
    if (!bound) {
      report_.stopped_by = std::move(bound).error();
      return;
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
  void fileFailure(const TreeFile& file, FailReason reason, std::string detail) {
    report_.file_failures.push_back({file.path, reason, std::move(detail)});
  }

  void bindFile(const TreeFile& file) {
    auto fd = detail::openForCache(file.path);
    if (!fd) {
      int err = fd.error().code().value();
      fileFailure(file, failReasonOfErrno(err), fd.error().describe());
      return;
    }
    if (openForWriting(fd->get()).value_or(false)) {
      fileFailure(file, FailReason::kBeingWritten,
                  "open for writing by another process: its pages are being dirtied and added; "
                  "bind it when the writer is done");
      return;
    }
    struct stat st {};
    if (::fstat(fd->get(), &st) != 0) {
      fileFailure(file, FailReason::kGone, errnoError(errno, "fstat").describe());
      return;
    }
    uint64_t size = static_cast<uint64_t>(st.st_size);
    size_t file_index = group_files_.size();
    group_files_.push_back({&file, 0, {}, false});
    for (uint64_t offset = 0; offset < size; offset += detail::kWindowBytes) {
      uint64_t length = std::min(detail::kWindowBytes, size - offset);
      auto window = detail::MappedWindow::map(fd->get(), offset, length);
      if (!window) {
        fileFailure(file, failReasonOfErrno(window.error().code().value()),
                    window.error().describe());
        group_files_[file_index].reported = true;
        break;
      }
      PendingWindow pending{file_index, std::move(*window), {}, {}, {}, false};
      pending.pages.resize(pending.window.pages());
      group_pages_ += pending.pages.size();
      group_.push_back(std::move(pending));
    }
    // The mappings outlive the descriptor; looking, reading and moving wait until a group is
    // large.
    if (group_pages_ >= kGroupPages || group_.size() >= kGroupWindows) flush();
  }

  // What is cached in one window, and where, before anything is done.
  Status lookAt(PendingWindow& pending) {
    const detail::MappedWindow& w = pending.window;
    std::vector<PageState>& pages = pending.pages;
    SZ_TRY(cached_before, w.cachedPages());
    SZ_CHECK(w.faultIn(runsOf(cached_before, true)));
    SZ_TRY(nodes_before, w.nodesOf(cached_before, syscalls_));
    for (size_t i = 0; i < pages.size(); ++i) {
      pages[i].cached_before = cached_before[i] != 0;
      pages[i].node_before = nodes_before[i];
    }
    pending.missing = runsOf(cached_before, false);
    if (pending.missing.empty()) pending.nodes_after = std::move(nodes_before);
    return {};
  }

  uint64_t readaheadBytes(const TreeFile& file) const {
    auto found = options_.readahead_bytes.find(file.device);
    return found != options_.readahead_bytes.end() && found->second >= detail::pageBytes()
               ? found->second
               : kDefaultReadaheadBytes;
  }

  // Waits for one window's reads: MADV_POPULATE_READ maps the pages read in (and reads anything
  // readahead skipped or the kernel evicted meanwhile); then where they are.
  Status finishReads(PendingWindow& pending) const {
    if (pending.missing.empty()) return {};
    const detail::MappedWindow& w = pending.window;
    // Errors here show as pages not cached afterwards, counted per page.
    (void)w.faultIn(pending.missing);
    SZ_TRY(cached_after, w.cachedPages());
    SZ_TRY(nodes_after, w.nodesOf(cached_after, syscalls_));
    pending.nodes_after = std::move(nodes_after);
    return {};
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
  // ms under emulation, bench-bind). Then each page's node after reading.
  void lookAndReadGroup() {
    for (PendingWindow& pending : group_) {
      auto look_start = Clock::now();
      Status looked = lookAt(pending);
      report_.look_ms += msSince(look_start);
      if (!looked) {
        dropWindow(pending, std::move(looked).error());
        continue;
      }
      auto read_start = Clock::now();
      pending.window.startReading(pending.missing,
                                  readaheadBytes(*group_files_[pending.file].file));
      report_.read_ms += msSince(read_start);
    }
    auto read_start = Clock::now();
    for (PendingWindow& pending : group_) {
      if (pending.dropped) continue;
      if (Status read = finishReads(pending); !read) dropWindow(pending, std::move(read).error());
    }
    report_.read_ms += msSince(read_start);
    for (PendingWindow& pending : group_) {
      for (size_t i = 0; i < pending.pages.size(); ++i) {
        pending.pages[i].node_after = pending.nodes_after[i];
      }
    }
  }

  // Looks at and reads in the group, moves its misplaced pages (one plan over all of its files,
  // so calls are large and grouped by target), counts every page, and unmaps.
  void flush() {
    if (group_.empty()) return;
    lookAndReadGroup();
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
    for (PendingFile& file : group_files_) {
      if (file.failed_pages > 0 && !file.reasons.empty()) {
        fileFailure(*file.file, file.reasons.begin()->first,
                    std::to_string(file.failed_pages) +
                        " pages not placed: " + file.reasons.begin()->second);
      }
    }
    auto unmap_start = Clock::now();
    group_.clear();
    report_.unmap_ms += msSince(unmap_start);
    group_files_.clear();
    group_pages_ = 0;
  }

  // One move_pages call's pages (entries of the group) and what the kernel said.
  struct MoveCall {
    int node = 0;
    std::vector<size_t> entries;
    std::vector<void*> addresses;
    std::vector<int> status;
    long rc = 0;
  };

  void moveMisplaced(const std::vector<int>& nodes_after,
                     const std::vector<std::pair<size_t, size_t>>& where) {
    auto batches = planCacheMoves(nodes_after, options_.targets, free_bytes_, detail::pageBytes());
    std::vector<MoveCall> calls;
    for (const MoveBatch& batch : batches) {
      size_t chunk = detail::kMoveBatchPages;
      for (size_t first = 0; first < batch.pages.size(); first += chunk) {
        MoveCall call;
        call.node = batch.node;
        size_t end = std::min(batch.pages.size(), first + chunk);
        call.entries.assign(batch.pages.begin() + static_cast<std::ptrdiff_t>(first),
                            batch.pages.begin() + static_cast<std::ptrdiff_t>(end));
        for (size_t entry : call.entries) {
          const auto& [w, i] = where[entry];
          call.addresses.push_back(group_[w].window.page(i));
        }
        calls.push_back(std::move(call));
      }
    }
    runCalls(calls);
    for (const MoveCall& call : calls) recordCall(call, where);
  }

  // The calls, one after the other. Two threads issuing them were tried: bind-migrate took
  // 12-52 s instead of about 2 s on 6.1 under QEMU (bench-bind), probably because each page moved
  // is unmapped from this process, so a move on one thread interrupts the CPU of the other for
  // TLB shootdowns.
  void runCalls(std::vector<MoveCall>& calls) {
    for (MoveCall& call : calls) {
      call.status.assign(call.addresses.size(), kStatusUnset);
      if (stop_errno_candidate_ != 0) {
        call.rc = -stop_errno_candidate_;
        continue;
      }
      std::vector<int> targets(call.addresses.size(), call.node);
      call.rc = syscalls_.movePages(0, call.addresses, targets.data(), call.status.data(),
                                    MPOL_MF_MOVE_ALL);
      // A positive return counts pages not moved without saying which, and the kernel may leave
      // the statuses of the whole call unwritten: ask where the pages are now.
      if (call.rc > 0) reQuery(call.addresses, call.status);
      if (call.rc < 0 && isFatal(static_cast<int>(-call.rc))) {
        stop_errno_candidate_ = static_cast<int>(-call.rc);
      }
    }
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
      stopIfFatal(err, call.node);
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
    if (syscalls_.movePages(0, addresses, nullptr, now.data(), 0) < 0) return;
    status = std::move(now);
  }

  // A move call refused as a whole: permission and bad targets stop everything (every later call
  // would fail the same way); anything else fails only that call's pages.
  void stopIfFatal(int err, int node) {
    if (err == EPERM || err == EACCES) {
      report_.stopped_by =
          errnoError(err,
                     "move_pages(MPOL_MF_MOVE_ALL): not permitted: moving page cache that other "
                     "processes may map needs CAP_SYS_NICE (run as root)");
    } else if (err == ENODEV || err == EINVAL) {
      report_.stopped_by = errnoError(
          err, "move_pages to node " + std::to_string(node) + ": the kernel refused the target");
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
    if (options_.proc != nullptr) flags = detail::readPageFlags(*options_.proc, window.page(index));
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

  const BindOptions& options_;
  const zones::PageSyscalls& syscalls_;
  std::map<int, uint64_t> free_bytes_;
  BindReport& report_;
  // The group: windows prepared and waiting for their moves, and the files they belong to.
  std::vector<PendingWindow> group_;
  std::vector<PendingFile> group_files_;
  size_t group_pages_ = 0;
  int stop_errno_ = 0;            // the errno that stopped the run, for the pages it leaves unmoved
  int stop_errno_candidate_ = 0;  // a fatal errno met by runCalls: later calls are not made
};

}  // namespace

BindReport bindFiles(const std::vector<TreeFile>& files, const BindOptions& options) {
  BindReport report;
  auto start = Clock::now();
  if (options.targets.empty()) {
    report.stopped_by = badInput("no target nodes to bind to");
    return report;
  }
  // A thread of its own, so the MPOL_BIND policy that places every page read in is the worker's
  // alone and the caller's allocations are untouched.
  std::thread worker([&] { Binder(options, report).run(files); });
  worker.join();
  report.elapsed_ms = msSince(start);
  return report;
}

}  // namespace softzone::cache

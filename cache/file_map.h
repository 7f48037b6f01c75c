// Inside the cache library: a file mapped window by window, and the page-level looks at it
// (mincore, faulting in only cached pages, the move_pages status query).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "softzone/cache/page_cache.h"
#include "softzone/zones/fs_root.h"
#include "softzone/zones/page_placement.h"
#include "softzone/zones/result.h"
#include "window_holder.h"

namespace softzone::cache::detail {

// Windows of this many bytes are mapped one at a time, so a huge file never needs a huge
// mapping (or page-sized arrays for all of it) at once.
inline constexpr uint64_t kWindowBytes = uint64_t{1} << 30;
// Pages per move_pages call: large, since the kernel batches internally and a call per 512
// pages would only add syscalls.
inline constexpr size_t kMoveBatchPages = 65536;
// Marks a page mincore did not report cached (never a kernel status: those are >= 0 or -errno).
inline constexpr int kNotCached = -100000;

uint64_t pageBytes();

// One window of a file mapped shared and read-only.
class MappedWindow {
 public:
  static Result<MappedWindow> map(int fd, uint64_t offset, uint64_t length);
  MappedWindow(MappedWindow&& other) noexcept;
  MappedWindow& operator=(MappedWindow&&) = delete;
  MappedWindow(const MappedWindow&) = delete;
  ~MappedWindow();

  uint64_t offset() const noexcept { return offset_; }
  uint64_t length() const noexcept { return length_; }
  size_t pages() const noexcept { return pages_; }
  void* page(size_t index) const noexcept;

  // Readahead off (MADV_RANDOM), so that faulting a cached page in never reads its neighbours
  // from disk: looking must not change what is cached.
  Status turnOffReadahead() const;
  // MADV_SEQUENTIAL over the window, for a holder to make in its copy of the mapping.
  HolderCall sequentialCall() const;
  // mincore: 1 for each page in the page cache.
  Result<std::vector<unsigned char>> cachedPages() const;
  // Drops this process's mapping and keeps the addresses, for a holder forked after the window
  // was mapped, which maps it at the same place: each page moved is then looked for in one
  // mapping of its file, not two (bind's moves, 6.1 under emulation: 229 -> 218 ms per 100 MiB).
  // cachedPages() fails afterwards.
  void unmapHere() noexcept;
  // Starts reading the pages of `runs` in, with the calling thread's memory policy, and does not
  // wait: MADV_WILLNEED, the readahead(2) path, one call per `chunk_bytes` (the kernel reads at
  // most one device request's worth per call and drops the rest).
  void startReading(const std::vector<PageRun>& runs, uint64_t chunk_bytes) const;
  // Maps the cached pages of `runs` into this process by reading a byte of each (touchCalls):
  // unlike MADV_POPULATE_READ it does not mark them accessed, and the window is made sequential
  // before it is unmapped, so looking leaves the pages' LRU state as it was. A page evicted
  // meanwhile is read back (one page: with turnOffReadahead). EFAULT if the file shrank.
  Status touchIn(const std::vector<PageRun>& runs);
  // MADV_POPULATE_READ over `runs`, for a holder to make in its copy of the mapping: maps the
  // pages, reading any that are not cached with the holder's memory policy.
  std::vector<HolderCall> populateCalls(const std::vector<PageRun>& runs) const;
  // Calls that map pages of `runs` already cached by reading a byte of each (kTouchEachPage):
  // cheaper than populating, and they leave the pages' LRU state alone.
  std::vector<HolderCall> touchCalls(const std::vector<PageRun>& runs) const;
  // The node of each page in `cached` (kNotCached for the others, -errno where the status query
  // says so). Fails only when the kernel refuses the query as a whole.
  Result<std::vector<int>> nodesOf(const std::vector<unsigned char>& cached,
                                   const zones::PageSyscalls& syscalls) const;

 private:
  MappedWindow(void* base, uint64_t offset, uint64_t length)
      : base_(base),
        offset_(offset),
        length_(length),
        pages_((length + pageBytes() - 1) / pageBytes()) {}

  std::vector<HolderCall> callsOver(const std::vector<PageRun>& runs, int advice) const;

  void* base_ = nullptr;
  uint64_t offset_ = 0;
  uint64_t length_ = 0;
  size_t pages_ = 0;
  bool touched_ = false;     // pages were mapped in here: see the destructor
  bool mapped_here_ = true;  // false after unmapHere()
};

// What a failed MADV_POPULATE_READ or touch call (errno `err`) means for the window.
Error populateFailure(int err);

// Where the pages `cached` marks in one window are: filled in by queryNodes.
struct NodeQuery {
  const MappedWindow* window = nullptr;
  const std::vector<unsigned char>* cached = nullptr;
  std::vector<int> nodes;  // as MappedWindow::nodesOf says
  Status status;           // the error of a status-query call that refused this window's pages
};

// The status query for many windows at once, in calls of up to 16384 pages whatever the windows'
// sizes: a call per window cost a syscall per small file (each 50-100 us under emulation).
// `pid` is the process that maps the windows (0: this one, or a WindowHolder at the same
// addresses).
void queryNodes(pid_t pid, std::span<NodeQuery> queries, const zones::PageSyscalls& syscalls);

// The page flags of one page mapped in process `pid` (0: this one) (/proc/PID/pagemap ->
// /proc/kpageflags); nullopt when they can't be read (not root, not mapped).
std::optional<PageFlags> readPageFlags(const FsRoot& proc, pid_t pid, const void* page);

}  // namespace softzone::cache::detail

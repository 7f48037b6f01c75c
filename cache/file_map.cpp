// A file mapped window by window: mincore, faulting in cached pages, the status query, page flags.
#include "file_map.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>

namespace softzone::cache::detail {
namespace {

// /proc/self/pagemap: bit 63 "present", bits 0-54 the page frame (shown to CAP_SYS_ADMIN only).
constexpr uint64_t kPagemapPresent = uint64_t{1} << 63;
constexpr uint64_t kPagemapPfnMask = (uint64_t{1} << 55) - 1;
// /proc/kpageflags bits (include/uapi/linux/kernel-page-flags.h).
constexpr int kKpfDirty = 4;
constexpr int kKpfWriteback = 8;
constexpr std::string_view kSelfPagemap = "/proc/self/pagemap";
constexpr std::string_view kKpageflags = "/proc/kpageflags";
constexpr int kStatusUnset = INT_MIN;

std::optional<uint64_t> readWordAt(const FsRoot& proc, std::string_view path, uint64_t index) {
  auto fd = proc.openAt(path, O_RDONLY);
  if (!fd) return std::nullopt;
  uint64_t word = 0;
  ssize_t got = ::pread(fd->get(), &word, sizeof word, static_cast<off_t>(index * sizeof word));
  if (got != static_cast<ssize_t>(sizeof word)) return std::nullopt;
  return word;
}

}  // namespace

uint64_t pageBytes() {
  static const uint64_t kBytes = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  return kBytes;
}

Result<MappedWindow> MappedWindow::map(int fd, uint64_t offset, uint64_t length) {
  void* base = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(offset));
  if (base == MAP_FAILED) return errnoError(errno, "mmap");
  return MappedWindow(base, offset, length);
}

Status MappedWindow::turnOffReadahead() const {
  if (::madvise(base_, length_, MADV_RANDOM) != 0) return errnoError(errno, "madvise(MADV_RANDOM)");
  return {};
}

HolderCall MappedWindow::sequentialCall() const { return {base_, length_, MADV_SEQUENTIAL}; }

MappedWindow::MappedWindow(MappedWindow&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)),
      offset_(other.offset_),
      length_(other.length_),
      pages_(other.pages_),
      touched_(other.touched_),
      mapped_here_(other.mapped_here_) {}

void MappedWindow::unmapHere() noexcept {
  if (base_ != nullptr && mapped_here_) ::munmap(base_, length_);
  mapped_here_ = false;
}

MappedWindow::~MappedWindow() {
  if (base_ == nullptr || !mapped_here_) return;
  // Unmapping marks each young page accessed unless the mapping is sequential (6.1; 6.12 also
  // spares random ones): pages only looked at would be activated.
  if (touched_) (void)::madvise(base_, length_, MADV_SEQUENTIAL);
  ::munmap(base_, length_);
}

void* MappedWindow::page(size_t index) const noexcept {
  return static_cast<char*>(base_) + index * pageBytes();
}

Result<std::vector<unsigned char>> MappedWindow::cachedPages() const {
  if (!mapped_here_) return errnoError(EINVAL, "mincore: the window is no longer mapped here");
  std::vector<unsigned char> vec(pages_);
  if (::mincore(base_, length_, vec.data()) != 0) return errnoError(errno, "mincore");
  for (unsigned char& v : vec) v &= 1;  // the other bits are reserved
  return vec;
}

void MappedWindow::startReading(const std::vector<PageRun>& runs, uint64_t chunk_bytes) const {
  for (const PageRun& run : runs) {
    uint64_t start = run.first * pageBytes();
    uint64_t end = std::min<uint64_t>(run.end * pageBytes(), length_);
    for (uint64_t at = start; at < end; at += chunk_bytes) {
      // Errors show later, as pages not cached after faultIn(), counted per page.
      (void)::madvise(static_cast<char*>(base_) + at, std::min(chunk_bytes, end - at),
                      MADV_WILLNEED);
    }
  }
}

std::vector<HolderCall> MappedWindow::callsOver(const std::vector<PageRun>& runs,
                                                int advice) const {
  std::vector<HolderCall> calls;
  for (const PageRun& run : runs) {
    uint64_t start = run.first * pageBytes();
    uint64_t bytes = std::min<uint64_t>((run.end - run.first) * pageBytes(), length_ - start);
    calls.push_back({page(run.first), bytes, advice});
  }
  return calls;
}

std::vector<HolderCall> MappedWindow::populateCalls(const std::vector<PageRun>& runs) const {
  return callsOver(runs, MADV_POPULATE_READ);
}

std::vector<HolderCall> MappedWindow::touchCalls(const std::vector<PageRun>& runs) const {
  return callsOver(runs, kTouchEachPage);
}

Error populateFailure(int err) {
  if (err == EINVAL) {
    return unsupported("this kernel lacks MADV_POPULATE_READ (Linux 5.14 and later have it)");
  }
  // EFAULT: the file shrank under us; ENOMEM: no room on the nodes the policy allows.
  return errnoError(err, "mapping the file's pages (MADV_POPULATE_READ or a read of each page)");
}

Status MappedWindow::touchIn(const std::vector<PageRun>& runs) {
  touched_ = true;
  TouchGuard guard;
  for (const HolderCall& call : touchCalls(runs)) {
    if (int err = touchPages(call.address, call.bytes); err != 0) return populateFailure(err);
  }
  return {};
}

Result<std::vector<int>> MappedWindow::nodesOf(const std::vector<unsigned char>& cached,
                                               const zones::PageSyscalls& syscalls) const {
  NodeQuery query{this, &cached, {}, {}};
  queryNodes(0, std::span<NodeQuery>(&query, 1), syscalls);
  if (!query.status) return std::move(query.status).error();
  return std::move(query.nodes);
}

void queryNodes(pid_t pid, std::span<NodeQuery> queries, const zones::PageSyscalls& syscalls) {
  std::vector<void*> batch;
  std::vector<std::pair<NodeQuery*, size_t>> asked;  // the query and page of each batch entry
  std::vector<int> status;
  auto flush = [&] {
    if (batch.empty()) return;
    status.assign(batch.size(), kStatusUnset);
    Status answered = zones::queryStatuses(syscalls, pid, batch, status);
    for (size_t i = 0; i < batch.size(); ++i) {
      auto [query, page] = asked[i];
      if (!answered) {
        if (query->status) query->status = answered;
        continue;
      }
      query->nodes[page] = status[i] == kStatusUnset ? -ENOENT : status[i];
    }
    batch.clear();
    asked.clear();
  };
  for (NodeQuery& query : queries) {
    const MappedWindow& window = *query.window;
    query.nodes.assign(window.pages(), kNotCached);
    query.status = {};
    for (size_t i = 0; i < window.pages(); ++i) {
      if ((*query.cached)[i] == 0) continue;
      batch.push_back(window.page(i));
      asked.emplace_back(&query, i);
      if (batch.size() == zones::kQueryBatchPages) flush();
    }
  }
  flush();
}

std::optional<PageFlags> readPageFlags(const FsRoot& proc, pid_t pid, const void* page) {
  uint64_t vpn = reinterpret_cast<uint64_t>(page) / pageBytes();
  std::string pagemap =
      pid == 0 ? std::string(kSelfPagemap) : "/proc/" + std::to_string(pid) + "/pagemap";
  auto entry = readWordAt(proc, pagemap, vpn);
  if (!entry || (*entry & kPagemapPresent) == 0) return std::nullopt;
  uint64_t pfn = *entry & kPagemapPfnMask;
  if (pfn == 0) return std::nullopt;  // hidden from callers without CAP_SYS_ADMIN
  auto flags = readWordAt(proc, kKpageflags, pfn);
  if (!flags) return std::nullopt;
  return PageFlags{((*flags >> kKpfDirty) & 1) != 0, ((*flags >> kKpfWriteback) & 1) != 0};
}

}  // namespace softzone::cache::detail

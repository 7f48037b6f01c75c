// Page sharing: pagemap and kpagecount reads, the attach rule for which pages stay, and putting
// back page cache the kernel's cpuset migration moved.
#include "softzone/zones/page_sharing.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <unordered_map>

namespace softzone::zones {
namespace {

constexpr int kPresentBit = 63;
constexpr int kFileBit = 61;
constexpr int kExclusiveBit = 56;
constexpr uint64_t kPfnMask = (uint64_t{1} << 55) - 1;
constexpr size_t kEntryBytes = sizeof(uint64_t);
// A status slot the kernel never writes (nodes are >= 0, errors -errno).
constexpr int kStatusUnset = INT_MIN;

uint64_t pageBytes() {
  static const uint64_t kBytes = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  return kBytes;
}

// pread of exactly `bytes` at `offset`; short reads (the end of the address space) are zeros.
Status preadAll(int fd, void* buffer, size_t bytes, uint64_t offset, const std::string& what) {
  auto* out = static_cast<char*>(buffer);
  size_t done = 0;
  while (done < bytes) {
    ssize_t n = ::pread(fd, out + done, bytes - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errnoError(errno, "reading " + what);
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  std::fill(out + done, out + bytes, 0);
  return {};
}

// Times each page frame appears among the attached processes' candidate pages.
std::map<uint64_t, uint64_t> countFrames(const std::vector<CandidatePage>& pages) {
  std::map<uint64_t, uint64_t> frames;
  for (const CandidatePage& page : pages) {
    if (page.entry.file && !page.entry.exclusive && page.entry.pfn != 0) ++frames[page.entry.pfn];
  }
  return frames;
}

// The file-backed ranges worth looking at: movable, not anonymous (a private anonymous range
// holds only the process's own pages), dense enough for the status query.
Result<std::vector<MapRange>> fileRangesOf(const FsRoot& root, pid_t pid) {
  SZ_TRY(maps, readMapsAt(root, pid));
  std::vector<MapRange> ranges;
  for (MapRange& range : movableRanges(maps)) {
    if (!range.anonymous()) ranges.push_back(std::move(range));
  }
  if (auto numa = readNumaMapsAt(root, pid)) ranges = denseRanges(ranges, *numa);
  return ranges;
}

// One process's pages on `outside` in `ranges`, with their pagemap entries.
Result<std::vector<CandidatePage>> candidatesOf(const FsRoot& root, pid_t pid,
                                                const std::vector<MapRange>& ranges,
                                                const NodeSet& outside,
                                                const PageSyscalls& syscalls) {
  std::vector<CandidatePage> pages;
  for (size_t r = 0; r < ranges.size(); ++r) {
    SZ_TRY(located, listPagesOn(pid, {ranges[r]}, outside, nullptr, syscalls));
    if (located.empty()) continue;
    SZ_TRY(entries, readPagemapAt(root, pid, ranges[r].start, ranges[r].end));
    for (const PageLocation& at : located) {
      size_t index = static_cast<size_t>((at.address - ranges[r].start) / pageBytes());
      if (index < entries.size()) pages.push_back({pid, r, at.address, at.node, entries[index]});
    }
  }
  return pages;
}

// The runs of consecutive pages in `addresses` (ascending), as [first, end) byte ranges.
std::vector<std::pair<uint64_t, uint64_t>> runsOf(const std::vector<uint64_t>& addresses) {
  std::vector<std::pair<uint64_t, uint64_t>> runs;
  for (uint64_t address : addresses) {
    if (!runs.empty() && runs.back().second == address) {
      runs.back().second += pageBytes();
    } else {
      runs.emplace_back(address, address + pageBytes());
    }
  }
  return runs;
}

// An mmap'ed window, unmapped on destruction.
class Mapping {
 public:
  Mapping(void* data, size_t bytes) : data_(data), bytes_(bytes) {}
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() { ::munmap(data_, bytes_); }
  uint64_t base() const { return reinterpret_cast<uint64_t>(data_); }

 private:
  void* data_;
  size_t bytes_;
};

// One range's pages back to their nodes through zonectl's own mapping of the range's file.
Status putBackRange(const FsRoot& root, pid_t pid, const RangeToLeave& leave,
                    const PageSyscalls& syscalls, PutBackReport& report) {
  const MapRange& range = leave.range;
  char name[64];
  std::snprintf(name, sizeof(name), "%lx-%lx", static_cast<unsigned long>(range.start),
                static_cast<unsigned long>(range.end));
  // A magic link (it leads to the mapped file even when deleted): openat2's RESOLVE_IN_ROOT
  // refuses those, and this runs on the live system only, so it is opened by its host path.
  std::string path = root.hostPath("/proc/" + std::to_string(pid) + "/map_files/" + name);
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return errnoError(errno, "opening " + path);
  void* data = ::mmap(nullptr, range.bytes(), PROT_READ, MAP_SHARED, fd.get(),
                      static_cast<off_t>(range.offset));
  if (data == MAP_FAILED) return errnoError(errno, "mapping " + path);
  Mapping window(data, range.bytes());
  auto mine = [&](uint64_t address) { return window.base() + (address - range.start); };
  for (auto& [node, addresses] : groupByNode(leave.pages)) {
    std::vector<void*> mapped;
    for (auto [first, end] : runsOf(addresses)) {
      // Maps the (cached) pages into zonectl's page tables, which move_pages(2) walks.
      (void)::madvise(reinterpret_cast<void*>(mine(first)), end - first, MADV_POPULATE_READ);
      for (uint64_t at = first; at < end; at += pageBytes()) {
        mapped.push_back(reinterpret_cast<void*>(mine(at)));
      }
    }
    // Pages the migration left on their node are not put back (nor counted as if they were).
    std::vector<int> now(mapped.size(), kStatusUnset);
    bool asked = static_cast<bool>(queryStatuses(syscalls, 0, mapped, now));
    std::vector<void*> pages;
    for (size_t i = 0; i < mapped.size(); ++i) {
      if (asked && now[i] == node) {
        ++report.pages_never_moved;
      } else {
        pages.push_back(mapped[i]);
      }
    }
    if (pages.empty()) continue;
    std::vector<int> nodes(pages.size(), node);
    std::vector<int> status(pages.size(), kStatusUnset);
    long rc = syscalls.movePages(0, pages, nodes.data(), status.data(), MPOL_MF_MOVE_ALL);
    if (rc < 0 && rc != -ENOMEM && rc != -EBUSY) {
      return errnoError(static_cast<int>(-rc), "move_pages (putting back " + path + ")");
    }
    for (int at : status) {
      if (at == node) {
        ++report.pages_put_back;
      } else {
        ++report.pages_failed;
      }
    }
  }
  return {};
}

}  // namespace

PagemapEntry parsePagemapEntry(uint64_t raw) noexcept {
  PagemapEntry entry;
  entry.present = (raw >> kPresentBit) & 1;
  entry.file = (raw >> kFileBit) & 1;
  entry.exclusive = (raw >> kExclusiveBit) & 1;
  entry.pfn = entry.present ? raw & kPfnMask : 0;
  return entry;
}

Result<std::vector<PagemapEntry>> readPagemapAt(const FsRoot& root, pid_t pid, uint64_t start,
                                                uint64_t end) {
  std::string path = "/proc/" + std::to_string(pid) + "/pagemap";
  auto fd = root.openAt(path, O_RDONLY);
  if (!fd) {
    // /proc/PID disappears with the process: say so rather than "no such file".
    if (fd.error().code().value() == ENOENT)
      return errnoError(ESRCH, path + ": the process is gone");
    return std::move(fd).error();
  }
  const uint64_t first = start / pageBytes();
  const uint64_t count = end > start ? (end - start + pageBytes() - 1) / pageBytes() : 0;
  std::vector<uint64_t> raw(count);
  SZ_CHECK(preadAll(fd->get(), raw.data(), raw.size() * kEntryBytes, first * kEntryBytes, path));
  std::vector<PagemapEntry> entries;
  entries.reserve(raw.size());
  for (uint64_t value : raw) entries.push_back(parsePagemapEntry(value));
  return entries;
}

Result<std::map<uint64_t, uint64_t>> readMapCountsAt(const FsRoot& root,
                                                     const std::vector<uint64_t>& pfns) {
  std::map<uint64_t, uint64_t> counts;
  if (pfns.empty()) return counts;
  SZ_TRY(fd, root.openAt("/proc/kpagecount", O_RDONLY));
  for (uint64_t pfn : pfns) {
    uint64_t count = 0;
    SZ_CHECK(preadAll(fd.get(), &count, sizeof(count), pfn * kEntryBytes, "/proc/kpagecount"));
    counts[pfn] = count;
  }
  return counts;
}

std::vector<uint64_t> framesMappedTwice(const std::vector<CandidatePage>& pages) {
  std::vector<uint64_t> frames;
  for (const auto& [pfn, times] : countFrames(pages)) {
    if (times > 1) frames.push_back(pfn);
  }
  return frames;
}

bool staysOnAttach(const CandidatePage& page, const NodeSet& shared_zone,
                   const std::map<uint64_t, uint64_t>& frames_in_set,
                   const std::map<uint64_t, uint64_t>& map_counts) {
  if (!page.entry.file) return false;  // anonymous: the process's own
  if (shared_zone.contains(page.node)) return true;
  if (page.entry.exclusive) return false;
  if (page.entry.pfn == 0) return true;
  auto in_set = frames_in_set.find(page.entry.pfn);
  auto mapped = map_counts.find(page.entry.pfn);
  if (in_set == frames_in_set.end() || mapped == map_counts.end()) return true;
  return mapped->second > in_set->second;
}

uint64_t PagesToLeave::pages() const {
  uint64_t total = 0;
  for (const RangeToLeave& range : ranges) total += range.pages.size();
  return total;
}

bool PagesToLeave::contains(uint64_t address) const {
  for (const RangeToLeave& leave : ranges) {
    if (address < leave.range.start || address >= leave.range.end) continue;
    return std::binary_search(
        leave.pages.begin(), leave.pages.end(), PageLocation{address, 0},
        [](const PageLocation& a, const PageLocation& b) { return a.address < b.address; });
  }
  return false;
}

NodeSet PagesToLeave::nodes() const {
  NodeSet found;
  for (const RangeToLeave& leave : ranges) {
    for (const PageLocation& page : leave.pages) found.insert(page.node);
  }
  return found;
}

namespace {

// `pid`'s candidates that `stays` picks, by range.
template <typename Stays>
PagesToLeave leaveOf(pid_t pid, const std::vector<MapRange>& ranges,
                     const std::vector<CandidatePage>& candidates, Stays stays) {
  PagesToLeave leave{pid, {}};
  std::map<size_t, RangeToLeave> by_range;
  for (const CandidatePage& page : candidates) {
    if (page.pid != pid || !stays(page)) continue;
    RangeToLeave& entry = by_range[page.range];
    entry.range = ranges[page.range];
    entry.pages.push_back({page.address, page.node});
  }
  for (auto& [index, entry] : by_range) leave.ranges.push_back(std::move(entry));
  return leave;
}

}  // namespace

Result<std::vector<PagesToLeave>> findPagesToLeave(const FsRoot& root,
                                                   const std::vector<pid_t>& pids,
                                                   const NodeSet& outside,
                                                   const NodeSet& shared_zone,
                                                   const PageSyscalls& syscalls) {
  std::map<pid_t, std::vector<MapRange>> ranges;
  std::vector<CandidatePage> candidates;
  for (pid_t pid : pids) {
    auto found = fileRangesOf(root, pid);
    if (!found) continue;  // gone: nothing of it to leave
    auto pages = candidatesOf(root, pid, *found, outside, syscalls);
    if (!pages) continue;
    ranges[pid] = std::move(*found);
    candidates.insert(candidates.end(), pages->begin(), pages->end());
  }
  std::map<uint64_t, uint64_t> frames = countFrames(candidates);
  std::vector<uint64_t> twice = framesMappedTwice(candidates);
  // Without /proc/kpagecount (not root) every page mapped more than once counts as shared.
  std::map<uint64_t, uint64_t> counts =
      readMapCountsAt(root, twice).value_or(std::map<uint64_t, uint64_t>{});
  std::vector<PagesToLeave> result;
  for (pid_t pid : pids) {
    if (!ranges.contains(pid)) continue;
    result.push_back(leaveOf(pid, ranges[pid], candidates, [&](const CandidatePage& page) {
      return staysOnAttach(page, shared_zone, frames, counts);
    }));
  }
  return result;
}

Result<PagesToLeave> findFilePagesOn(const FsRoot& root, pid_t pid, const NodeSet& outside,
                                     const PageSyscalls& syscalls) {
  SZ_TRY(ranges, fileRangesOf(root, pid));
  SZ_TRY(candidates, candidatesOf(root, pid, ranges, outside, syscalls));
  // Page cache only: a private copy written into a file mapping is anonymous memory.
  return leaveOf(pid, ranges, candidates,
                 [](const CandidatePage& page) { return page.entry.file; });
}

std::map<int, std::vector<uint64_t>> groupByNode(const std::vector<PageLocation>& pages) {
  std::map<int, std::vector<uint64_t>> groups;
  for (const PageLocation& page : pages) groups[page.node].push_back(page.address);
  for (auto& [node, addresses] : groups) std::sort(addresses.begin(), addresses.end());
  return groups;
}

Result<PutBackReport> putBackPages(const FsRoot& root, const PagesToLeave& leave,
                                   const PageSyscalls& syscalls) {
  if (!root.isLive()) return badInput("putting pages back needs the live system, not --root");
  PutBackReport report;
  for (const RangeToLeave& range : leave.ranges) {
    report.pages += range.pages.size();
    auto counted = [&] {
      return report.pages_put_back + report.pages_never_moved + report.pages_failed;
    };
    uint64_t before = counted();
    Status done = putBackRange(root, leave.pid, range, syscalls, report);
    // The range unmapped meanwhile, or the process gone: its pages are no longer its to keep.
    if (!done) report.pages_failed += range.pages.size() - (counted() - before);
  }
  return report;
}

}  // namespace softzone::zones

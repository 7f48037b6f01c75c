// Residency: which node caches each page of a file (mincore + the move_pages status query), and
// cachestat(2) totals where the kernel has them.
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "file_map.h"
#include "softzone/cache/page_cache.h"

namespace softzone::cache {
namespace {

// cachestat(2) has the same number on every architecture (the unified syscall table); glibc 2.36
// and Debian 12's kernel headers predate it.
#ifdef __NR_cachestat
constexpr long kSysCachestat = __NR_cachestat;
#else
constexpr long kSysCachestat = 451;
#endif

struct CachestatRange {
  uint64_t off = 0;
  uint64_t len = 0;  // 0: to the end of the file
};
struct CachestatResult {
  uint64_t nr_cache = 0;
  uint64_t nr_dirty = 0;
  uint64_t nr_writeback = 0;
  uint64_t nr_evicted = 0;
  uint64_t nr_recently_evicted = 0;
};

uint64_t sumOn(const std::map<int, uint64_t>& per_node, const NodeSet& nodes) {
  uint64_t total = 0;
  for (const auto& [node, pages] : per_node) {
    if (nodes.contains(node)) total += pages;
  }
  return total;
}

// One window: what is cached, and where.
Status lookAtWindow(detail::MappedWindow& window, bool per_node,
                    const zones::PageSyscalls& syscalls, FileResidency& file) {
  SZ_TRY(cached, window.cachedPages());
  uint64_t cached_count = static_cast<uint64_t>(std::count(cached.begin(), cached.end(), 1));
  file.cached_pages += cached_count;
  if (!per_node || cached_count == 0) return {};
  SZ_CHECK(window.turnOffReadahead());
  SZ_CHECK(window.touchIn(runsOf(cached, true)));
  SZ_TRY(nodes, window.nodesOf(cached, syscalls));
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (cached[i] == 0) continue;
    if (nodes[i] >= 0) {
      ++file.pages_per_node[nodes[i]];
    } else {
      ++file.unplaced_pages;
    }
  }
  return {};
}

}  // namespace

uint64_t FileResidency::pagesOn(const NodeSet& nodes) const { return sumOn(pages_per_node, nodes); }

void ResidencyTotals::add(const FileResidency& file) {
  ++files;
  if (!file.error.empty()) ++files_failed;
  size_bytes += file.size_bytes;
  pages += file.pages;
  cached_pages += file.cached_pages;
  unplaced_pages += file.unplaced_pages;
  for (const auto& [node, count] : file.pages_per_node) pages_per_node[node] += count;
}

uint64_t ResidencyTotals::pagesOn(const NodeSet& nodes) const {
  return sumOn(pages_per_node, nodes);
}

std::optional<CacheStat> cacheStatOf(int fd) {
  CachestatRange range;
  CachestatResult result;
  if (::syscall(kSysCachestat, fd, &range, &result, 0U) != 0) return std::nullopt;
  return CacheStat{result.nr_cache, result.nr_dirty, result.nr_writeback, result.nr_evicted};
}

bool kernelHasCachestat() {
  // A bad descriptor tells ENOSYS (no such call) from EBADF (the call exists) without a file.
  CachestatRange range;
  CachestatResult result;
  return ::syscall(kSysCachestat, -1, &range, &result, 0U) != 0 && errno != ENOSYS;
}

FileResidency readFileResidency(const TreeFile& tree_file, bool per_node,
                                const zones::PageSyscalls& syscalls) {
  FileResidency file;
  file.path = tree_file.path;
  auto opened = openTreeFile(tree_file);
  if (!opened) {
    file.error = opened.error().describe();
    return file;
  }
  int fd = opened->fd.get();
  file.size_bytes = opened->size_bytes;
  file.pages = (file.size_bytes + detail::pageBytes() - 1) / detail::pageBytes();
  if (auto stat = cacheStatOf(fd)) {
    file.dirty_pages = stat->dirty_pages;
    file.writeback_pages = stat->writeback_pages;
    if (!per_node) {
      file.cached_pages = stat->cached_pages;
      return file;
    }
  }
  for (uint64_t offset = 0; offset < file.size_bytes; offset += detail::kWindowBytes) {
    uint64_t length = std::min(detail::kWindowBytes, file.size_bytes - offset);
    auto window = detail::MappedWindow::map(fd, offset, length);
    Status looked = window ? lookAtWindow(*window, per_node, syscalls, file)
                           : Status(std::move(window).error());
    if (!looked) {
      file.error = Error(looked.error()).withContext(quoteInput(tree_file.path)).describe();
      return file;
    }
  }
  return file;
}

}  // namespace softzone::cache

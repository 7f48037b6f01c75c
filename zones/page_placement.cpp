// Page placement: move_pages(2) status queries, how pages spread over targets, migrate_pages(2).
#include "softzone/zones/page_placement.h"

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
#include <utility>

#include "page_placement_internal.h"

namespace softzone::zones {
namespace internal {

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

uint64_t pageSizeBytes() {
  static const uint64_t kSize = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  return kSize;
}

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

const NumaMapsEntry* Snapshot::entryFor(const MapRange& range) const {
  if (!numa_maps) return nullptr;
  auto at = std::lower_bound(
      numa_maps->begin(), numa_maps->end(), range.start,
      [](const NumaMapsEntry& entry, uint64_t start) { return entry.start < start; });
  return at != numa_maps->end() && at->start == range.start ? &*at : nullptr;
}

uint64_t pagesIn(const NumaMapsEntry& entry, const NodeSet* nodes) {
  uint64_t pages = 0;
  for (const auto& [node, count] : entry.pages_per_node) {
    if (nodes == nullptr || nodes->contains(node)) pages += count;
  }
  return pages;
}

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

}  // namespace internal

namespace {

using internal::asAddress;
using internal::asPointer;
using internal::pageSizeBytes;
using internal::scannableRanges;
using internal::scanPages;
using internal::Snapshot;
using internal::syscallError;
using internal::validateNodes;

constexpr uint64_t kMaxWeightTotal = uint64_t{1} << 20;
// A range this big with fewer than one resident page in kSparseFactor is not walked address by
// address (ASan's 16 TiB shadow would take hours): numa_maps and migrate_pages(2) cover it.
constexpr uint64_t kSparseMinBytes = uint64_t{1} << 30;
constexpr uint64_t kSparseFactor = 16;

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

void countStatus(PageCensus& census, int status) {
  ++census.pages_scanned;
  if (status >= 0) {
    ++census.pages_per_node[status];
    return;
  }
  ++census.errors[-status];
  if (status == -ENOENT || status == -EFAULT) ++census.pages_not_present;
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

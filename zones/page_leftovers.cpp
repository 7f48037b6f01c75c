// Page placement: counting what a move left on the source nodes (numa_maps and status query).
#include <algorithm>

#include "page_placement_internal.h"

namespace softzone::zones {
namespace internal {

LeftoverCount::LeftoverCount(const Snapshot& snapshot, const NodeSet& nodes,
                             const std::function<bool(uint64_t)>& leave)
    : snapshot_(snapshot), nodes_(nodes), leave_(leave), per_range_(snapshot.ranges.size()) {}

size_t LeftoverCount::rangeOf(uint64_t address) const {
  // maps lists the ranges in address order; the pass only asks about addresses inside them.
  auto after =
      std::upper_bound(snapshot_.ranges.begin(), snapshot_.ranges.end(), address,
                       [](uint64_t wanted, const MapRange& range) { return wanted < range.start; });
  return static_cast<size_t>(after - snapshot_.ranges.begin()) - 1;
}

void LeftoverCount::add(uint64_t address, int status) {
  bool on_nodes = status >= 0 && nodes_.contains(status);
  bool left_on_purpose = leave_ && leave_(address);
  if (!on_nodes && !(left_on_purpose && status == -ENOENT)) return;
  if (snapshot_.ranges.empty() || address < snapshot_.ranges.front().start) return;
  RangeCount& range = per_range_[rangeOf(address)];
  if (!left_on_purpose) {
    ++range.by_status;
    ++by_status_;
    return;
  }
  // Not seen (-ENOENT) may be hidden from the status query while numa_maps counts it: assumed
  // there, so that a page kept on purpose is never reported as left.
  ++range.held;
  if (on_nodes) held_on_.insert(status);
}

std::optional<uint64_t> LeftoverCount::total() const {
  if (!snapshot_.numa_maps) return std::nullopt;
  uint64_t pages = 0;
  for (size_t i = 0; i < snapshot_.ranges.size(); ++i) {
    const RangeCount& counted = per_range_[i];
    const NumaMapsEntry* entry = snapshot_.entryFor(snapshot_.ranges[i]);
    uint64_t by_numa_maps = entry != nullptr ? pagesIn(*entry, &nodes_) : 0;
    by_numa_maps = by_numa_maps > counted.held ? by_numa_maps - counted.held : 0;
    pages += std::max(counted.by_status, by_numa_maps);
  }
  return pages;
}

}  // namespace internal

Result<uint64_t> countPagesLeftOn(const FsRoot& root, pid_t pid, const NodeSet& nodes,
                                  const std::function<bool(uint64_t)>& leave,
                                  const PageSyscalls& syscalls) {
  SZ_TRY(maps, readMapsAt(root, pid));
  internal::Snapshot snapshot;
  snapshot.ranges = movableRanges(maps);
  // Unreadable numa_maps (a kernel without NUMA) leaves the status query to count alone.
  if (auto numa_maps = readNumaMapsAt(root, pid)) snapshot.numa_maps = std::move(*numa_maps);
  internal::LeftoverCount count(snapshot, nodes, leave);
  SZ_CHECK(internal::scanPages(syscalls, pid, internal::scannableRanges(snapshot),
                               [&](uint64_t address, int status) { count.add(address, status); }));
  return count.total().value_or(count.byStatus());
}

}  // namespace softzone::zones

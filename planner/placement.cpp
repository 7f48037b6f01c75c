// Places the zones on one numa=fake= node count (the Evaluator) and bounds the least waste any
// node count could give; the planner's search over node counts calls these for every candidate.
#include "placement.h"

#include <algorithm>
#include <functional>
#include <tuple>
#include <utility>

namespace softzone::planner::detail {
namespace {

// The least capacity `count` nodes can have, taking the smallest of `sizes` (ascending (usable
// bytes, how many) pairs); nullopt when there are not that many.
std::optional<uint64_t> smallestNodes(const std::vector<std::pair<uint64_t, uint64_t>>& sizes,
                                      uint64_t count) {
  uint64_t bytes = 0;
  for (const auto& [size, how_many] : sizes) {
    uint64_t taken = std::min(count, how_many);
    bytes += taken * size;
    count -= taken;
    if (count == 0) return bytes;
  }
  return std::nullopt;
}

// The least waste any placement with n nodes per physical node could have (see plan.h). A zone
// of R bytes holds at least k = ceil(R / largest node) nodes, so at least the k smallest of the
// machine. Each physical node's last node may be smaller than the rest, but there is only one per
// physical node: at most that many zones can use one, so those get the bound that counts last
// nodes and every other zone the bound over regular nodes only.
std::optional<uint64_t> wasteLowerBoundAt(const std::vector<UsableSplit>& usable,
                                          const std::vector<Demand>& demands, int n,
                                          std::vector<uint64_t>& gains) {
  std::vector<std::pair<uint64_t, uint64_t>> all;
  std::vector<std::pair<uint64_t, uint64_t>> regular;
  uint64_t largest = 0;
  for (const UsableSplit& u : usable) {
    if (n > 1) regular.emplace_back(u.node, static_cast<uint64_t>(n - 1));
    all.emplace_back(u.last, 1);
    largest = std::max({largest, u.node, u.last});
  }
  all.insert(all.end(), regular.begin(), regular.end());
  std::sort(all.begin(), all.end());
  std::sort(regular.begin(), regular.end());
  uint64_t sum = 0;
  gains.clear();
  for (const Demand& demand : demands) {
    uint64_t count = std::max<uint64_t>(1, ceilDiv(demand.bytes, largest));
    auto least = smallestNodes(all, count);
    if (!least) return std::nullopt;  // n cannot hold this zone at all
    uint64_t with_last = *least > demand.bytes ? *least - demand.bytes : 0;
    auto least_regular = smallestNodes(regular, count);
    uint64_t without_last =
        least_regular && *least_regular > demand.bytes ? *least_regular - demand.bytes : with_last;
    without_last = std::max(without_last, with_last);
    sum += without_last;
    gains.push_back(without_last - with_last);
  }
  size_t lasts = std::min(usable.size(), gains.size());
  std::nth_element(gains.begin(), gains.begin() + static_cast<std::ptrdiff_t>(lasts), gains.end(),
                   std::greater<>());
  for (size_t i = 0; i < lasts; ++i) sum -= gains[i];
  return sum;
}

}  // namespace

std::string neededText(const Demand& demand) {
  if (demand.bytes == demand.requested) return readableSize(demand.bytes);
  return readableSize(demand.bytes) + " (" + readableSize(demand.requested) + " and " +
         readableSize(demand.bytes - demand.requested) + " for the kernel image)";
}

std::string fakeArgFor(size_t physical_count, int nodes_per_physical) {
  return std::to_string(nodes_per_physical) + (physical_count > 1 ? "U" : "");
}

std::optional<PhysicalSplit> splitPhysical(uint64_t mem, int n, bool per_physical, uint64_t step) {
  uint64_t count = static_cast<uint64_t>(n);
  uint64_t share = mem / count;
  if (!per_physical) {
    uint64_t node = share / step * step;  // "N": rounded down, some nodes 32 MiB bigger
    if (node < step) return std::nullopt;
    return PhysicalSplit{node, node};
  }
  uint64_t node = ceilDiv(std::max(share, step), step) * step;  // "NU": rounded up
  uint64_t before_last = (count - 1) * node;
  if (before_last > mem || mem - before_last < step) return std::nullopt;
  return PhysicalSplit{node, mem - before_last};
}

bool usableSplits(const Machine& machine, int n, uint64_t keep_ppm, std::vector<UsableSplit>& out) {
  bool per_physical = machine.physical_nodes.size() > 1;
  out.resize(machine.physical_nodes.size());
  for (size_t p = 0; p < out.size(); ++p) {
    auto split =
        splitPhysical(machine.physical_nodes[p].mem_bytes, n, per_physical, machine.min_node_bytes);
    if (!split) return false;
    out[p] = {usableBytes(split->node_bytes, keep_ppm),
              usableBytes(split->last_node_bytes, keep_ppm)};
  }
  return true;
}

bool Evaluator::setGeometry(int n) {
  n_ = n;
  std::fill(free_.begin(), free_.end(), n);
  return usableSplits(machine_, n, keep_ppm_, usable_);
}

Outcome Evaluator::evaluate(int n, std::vector<Placement>* placements, bool explain,
                            const Beat* beat) {
  Outcome outcome;
  if (!setGeometry(n)) return outcome;
  outcome.valid_geometry = true;
  if (placements) placements->assign(demands_.size(), Placement{});
  record_ = placements != nullptr;
  for (size_t i = 0; i < demands_.size(); ++i) {
    const Demand& demand = demands_[i];
    spans_.clear();
    local_ = true;
    reason_.clear();
    capacity_ = 0;
    if (!place(demand)) {
      outcome.placed = static_cast<int>(i);
      if (explain) outcome.failure = explainFailure(demand, i);
      return outcome;
    }
    int nodes = 0;
    for (const Span& span : spans_) nodes += span.count;
    outcome.waste += capacity_ - demand.bytes;
    if (demand.kind == ZoneKind::kPartition) {
      if (nodes > cap_) ++outcome.over_cap;
      if (!local_) ++outcome.split;
    }
    if (placements) (*placements)[i] = Placement{spans_, local_, reason_};
    if (beat && outcome.waste >= beat->feasible_waste &&
        std::tie(outcome.over_cap, outcome.split, outcome.waste) >
            std::tie(beat->over_cap, beat->split, beat->waste)) {
      outcome.beaten = true;
      return outcome;
    }
  }
  outcome.placed = static_cast<int>(demands_.size());
  outcome.feasible = true;
  return outcome;
}

uint64_t Evaluator::spanBytes(int physical, int first, int count) const {
  const UsableSplit& u = usable_[static_cast<size_t>(physical)];
  uint64_t bytes = static_cast<uint64_t>(count) * u.node;
  if (first + count == n_) bytes = bytes - u.node + u.last;
  return bytes;
}

bool Evaluator::place(const Demand& demand) {
  switch (demand.kind) {
    case ZoneKind::kSystem:
      return placeSystem(demand.bytes);
    case ZoneKind::kShared:
      // Next to the system zone when it fits: the host's own tasks populate it.
      if (uint64_t nodes = nodesFor(0, demand.bytes); nodes > 0) {
        take(0, nodes);
        return true;
      }
      return placeAnywhere(demand.bytes);
    default:
      return placeAnywhere(demand.bytes);
  }
}

// Node 0 always: it holds DMA/DMA32 and early kernel memory, so it stays with the host.
bool Evaluator::placeSystem(uint64_t bytes) {
  uint64_t nodes = nodesFor(0, bytes);
  if (nodes == 0) return false;
  take(0, nodes);
  return true;
}

// Usable bytes still free on physical node p.
uint64_t Evaluator::freeBytes(size_t p) const {
  if (free_[p] == 0) return 0;
  return static_cast<uint64_t>(free_[p] - 1) * usable_[p].node + usable_[p].last;
}

// The nodes physical node p must give, from its low free end, to hold `bytes` (at least one);
// 0 when its free nodes cannot.
uint64_t Evaluator::nodesFor(size_t p, uint64_t bytes) const {
  uint64_t free_nodes = static_cast<uint64_t>(free_[p]);
  if (free_nodes == 0) return 0;
  uint64_t before_last = (free_nodes - 1) * usable_[p].node;
  if (bytes <= before_last) return std::max<uint64_t>(1, ceilDiv(bytes, usable_[p].node));
  if (bytes <= before_last + usable_[p].last) return free_nodes;
  return 0;
}

// Best fit on one physical node (the least free capacity that still holds it, so big holes
// stay for big partitions); else split over the physical nodes with the most free capacity.
bool Evaluator::placeAnywhere(uint64_t bytes) {
  size_t best = free_.size();
  uint64_t best_free = 0;
  uint64_t best_nodes = 0;
  uint64_t total_free = 0;
  for (size_t p = 0; p < free_.size(); ++p) {
    uint64_t free_bytes = freeBytes(p);
    total_free += free_bytes;
    uint64_t nodes = nodesFor(p, bytes);
    if (nodes > 0 && (best == free_.size() || free_bytes < best_free)) {
      best = p;
      best_free = free_bytes;
      best_nodes = nodes;
    }
  }
  if (best < free_.size()) {
    take(best, best_nodes);
    return true;
  }
  if (total_free < bytes) return false;
  split(bytes);
  return true;
}

void Evaluator::split(uint64_t bytes) {
  local_ = false;
  order_.resize(free_.size());
  for (size_t p = 0; p < order_.size(); ++p) order_[p] = p;
  std::stable_sort(order_.begin(), order_.end(),
                   [this](size_t a, size_t b) { return freeBytes(a) > freeBytes(b); });
  if (record_) reason_ = splitReason(bytes);
  uint64_t remaining = bytes;
  for (size_t p : order_) {
    uint64_t free_bytes = freeBytes(p);
    if (remaining == 0 || free_bytes == 0) break;
    uint64_t nodes =
        remaining >= free_bytes ? static_cast<uint64_t>(free_[p]) : nodesFor(p, remaining);
    uint64_t before = capacity_;
    take(p, nodes);
    remaining -= std::min(remaining, capacity_ - before);
  }
}

// Said while the state still shows why: the most any physical node had free.
std::string Evaluator::splitReason(uint64_t bytes) const {
  size_t most = order_.front();
  return "split over physical nodes: no physical node had " + readableSize(bytes) +
         " free when it was placed (the most: " + readableSize(freeBytes(most)) + " in " +
         plural(static_cast<uint64_t>(free_[most]), "node", "nodes") + " on physical node " +
         std::to_string(most) + ")";
}

void Evaluator::take(size_t p, uint64_t count) {
  int first = n_ - free_[p];
  int nodes = static_cast<int>(count);
  spans_.push_back({static_cast<int>(p), first, nodes});
  capacity_ += spanBytes(static_cast<int>(p), first, nodes);
  free_[p] -= nodes;
}

std::string Evaluator::nodeSizes() const {
  uint64_t lo = std::numeric_limits<uint64_t>::max();
  uint64_t hi = 0;
  for (const UsableSplit& u : usable_) {
    lo = std::min({lo, u.node, u.last});
    hi = std::max({hi, u.node, u.last});
  }
  if (lo == hi) return readableSize(lo);
  return readableSize(lo) + " to " + readableSize(hi);
}

// What was placed before demand `index`, for "after the system zone and 3 larger partitions".
std::string Evaluator::placedBefore(size_t index) const {
  std::vector<std::string> parts;
  uint64_t partitions = 0;
  for (size_t i = 0; i < index; ++i) {
    if (demands_[i].kind == ZoneKind::kSystem) parts.push_back("the system zone");
    if (demands_[i].kind == ZoneKind::kShared) parts.push_back("the shared zone");
    if (demands_[i].kind == ZoneKind::kPartition) ++partitions;
  }
  if (partitions > 0) parts.push_back(plural(partitions, "larger partition", "larger partitions"));
  std::string text;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) text += i + 1 == parts.size() ? " and " : ", ";
    text += parts[i];
  }
  return text;
}

std::string Evaluator::explainFailure(const Demand& demand, size_t index) const {
  std::string geometry =
      "numa=fake=" + fakeArgFor(free_.size(), n_) + " (nodes of " + nodeSizes() + " usable)";
  if (demand.kind == ZoneKind::kSystem) {
    return "with " + geometry + ", the " + neededText(demand) + " reserve does not fit in the " +
           std::to_string(n_) + " nodes of physical node 0 (" + readableSize(spanBytes(0, 0, n_)) +
           " usable)";
  }
  uint64_t free_nodes = 0;
  uint64_t free_bytes = 0;
  for (size_t p = 0; p < free_.size(); ++p) {
    free_nodes += static_cast<uint64_t>(free_[p]);
    free_bytes += freeBytes(p);
  }
  std::string what = demand.kind == ZoneKind::kShared ? "the shared zone"
                                                      : "partition " + std::string(demand.name);
  return "with " + geometry + ", " + what + " needs " + neededText(demand) + " but only " +
         readableSize(free_bytes) + " in " + plural(free_nodes, "node", "nodes") +
         " is free after " + placedBefore(index);
}

uint64_t wasteLowerBound(const Machine& machine, const std::vector<Demand>& demands,
                         uint64_t keep_ppm, int max_n) {
  uint64_t best = kNoWaste;
  std::vector<UsableSplit> usable;
  std::vector<uint64_t> gains;
  for (int n = 1; n <= max_n; ++n) {
    if (!usableSplits(machine, n, keep_ppm, usable)) continue;
    if (auto bound = wasteLowerBoundAt(usable, demands, n, gains)) best = std::min(best, *bound);
  }
  return best == kNoWaste ? 0 : best;
}

}  // namespace softzone::planner::detail

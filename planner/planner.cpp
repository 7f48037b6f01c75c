// The planner: choose the numa=fake= split, then place the system, shared and partition zones.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <utility>

#include "softzone/plan.h"

namespace softzone::planner {
namespace {

constexpr uint64_t kPpm = 1'000'000;
// Beyond this the "usable" part of a node is too small for the estimate to mean anything.
constexpr double kMaxSizeMargin = 0.9;
constexpr uint64_t kNoWaste = std::numeric_limits<uint64_t>::max();

uint64_t ceilDiv(uint64_t a, uint64_t b) { return a / b + (a % b != 0 ? 1 : 0); }

// nominal * keep_ppm / 10^6 without overflow for any 64-bit size.
uint64_t usableBytes(uint64_t nominal, uint64_t keep_ppm) {
  return nominal / kPpm * keep_ppm + nominal % kPpm * keep_ppm / kPpm;
}

std::string percent(double fraction) {
  double value = fraction * 100;
  char buf[32];
  if (value == std::floor(value)) {
    std::snprintf(buf, sizeof(buf), "%.0f%%", value);
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f%%", value);
  }
  return buf;
}

std::string plural(uint64_t count, std::string_view one, std::string_view many) {
  return std::to_string(count) + " " + std::string(count == 1 ? one : many);
}

// A zone to place, in placement order: the system zone, the shared zone, then partitions by size.
// `bytes` is what must fit: what the spec asks (`requested`) plus the kernel-image allowance.
struct Demand {
  ZoneKind kind = ZoneKind::kPartition;
  int partition = -1;  // index into Spec::partitions
  uint64_t bytes = 0;
  std::string_view name;
  uint64_t requested = 0;
};

uint64_t saturatingAdd(uint64_t a, uint64_t b) {
  return a + b < a ? std::numeric_limits<uint64_t>::max() : a + b;
}

// "208M (160M and 48M for the kernel image)", or just "160M" without an allowance.
std::string neededText(const Demand& demand) {
  if (demand.bytes == demand.requested) return readableSize(demand.bytes);
  return readableSize(demand.bytes) + " (" + readableSize(demand.requested) + " and " +
         readableSize(demand.bytes - demand.requested) + " for the kernel image)";
}

// `count` nodes of one physical node, starting at local index `first` (node id p * N + first).
struct Span {
  int physical = 0;
  int first = 0;
  int count = 0;
};

struct Placement {
  std::vector<Span> spans;
  bool local = true;
  std::string split_reason;
};

// What one node count gives. Placements are kept only for the chosen N.
struct Outcome {
  bool valid_geometry = false;  // the kernel can make n nodes of every physical node
  bool feasible = false;
  int placed = 0;  // zones placed before the first that did not fit
  int over_cap = 0;
  int split = 0;
  uint64_t waste = 0;
  std::string failure;  // filled in explain mode
  bool beaten = false;  // given up: cannot beat a larger N already evaluated
};

// The best outcome so far, for cutting an evaluation short.
struct Beat {
  int over_cap = 0;
  int split = 0;
  uint64_t waste = 0;
  uint64_t feasible_waste = 0;  // the least waste of any feasible N so far
};

std::string fakeArgFor(size_t physical_count, int nodes_per_physical) {
  return std::to_string(nodes_per_physical) + (physical_count > 1 ? "U" : "");
}

// How the kernel splits one physical node into n nodes (see plan.h), in its own bytes.
struct PhysicalSplit {
  uint64_t node_bytes = 0;
  uint64_t last_node_bytes = 0;
};

// nullopt when the kernel would refuse n, or leave the last node under the minimum.
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

// Usable sizes of one physical node's nodes for one N.
struct UsableSplit {
  uint64_t node = 0;
  uint64_t last = 0;
};

// Usable node sizes for every physical node at n; false when the kernel cannot split one of them.
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

// Places every zone for one N. Linear in zones x physical nodes, and allocation-free once warm:
// it runs for every candidate N, up to 1024 of them.
class Evaluator {
 public:
  Evaluator(const Machine& machine, const std::vector<Demand>& demands, uint64_t keep_ppm, int cap)
      : machine_(machine),
        demands_(demands),
        keep_ppm_(keep_ppm),
        cap_(cap),
        free_(machine.physical_nodes.size()) {}

  // False when the kernel cannot split the machine into n nodes per physical node.
  bool setGeometry(int n) {
    n_ = n;
    std::fill(free_.begin(), free_.end(), n);
    return usableSplits(machine_, n, keep_ppm_, usable_);
  }

  // With `beat` (the best of the larger n already evaluated), gives up (outcome.beaten) once
  // this n can no longer be chosen nor lower the best feasible waste: every count only grows as
  // zones are placed, and a tie still goes to this smaller n.
  Outcome evaluate(int n, std::vector<Placement>* placements, bool explain,
                   const Beat* beat = nullptr) {
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

  // Usable bytes of `count` nodes of a physical node from local index `first`.
  uint64_t spanBytes(int physical, int first, int count) const {
    const UsableSplit& u = usable_[static_cast<size_t>(physical)];
    uint64_t bytes = static_cast<uint64_t>(count) * u.node;
    if (first + count == n_) bytes = bytes - u.node + u.last;
    return bytes;
  }

  const UsableSplit& usable(int physical) const { return usable_[static_cast<size_t>(physical)]; }

 private:
  bool place(const Demand& demand) {
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
  bool placeSystem(uint64_t bytes) {
    uint64_t nodes = nodesFor(0, bytes);
    if (nodes == 0) return false;
    take(0, nodes);
    return true;
  }

  // Usable bytes still free on physical node p.
  uint64_t freeBytes(size_t p) const {
    if (free_[p] == 0) return 0;
    return static_cast<uint64_t>(free_[p] - 1) * usable_[p].node + usable_[p].last;
  }

  // The nodes physical node p must give, from its low free end, to hold `bytes` (at least one);
  // 0 when its free nodes cannot.
  uint64_t nodesFor(size_t p, uint64_t bytes) const {
    uint64_t free_nodes = static_cast<uint64_t>(free_[p]);
    if (free_nodes == 0) return 0;
    uint64_t before_last = (free_nodes - 1) * usable_[p].node;
    if (bytes <= before_last) return std::max<uint64_t>(1, ceilDiv(bytes, usable_[p].node));
    if (bytes <= before_last + usable_[p].last) return free_nodes;
    return 0;
  }

  // Best fit on one physical node (the least free capacity that still holds it, so big holes
  // stay for big partitions); else split over the physical nodes with the most free capacity.
  bool placeAnywhere(uint64_t bytes) {
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

  void split(uint64_t bytes) {
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
  std::string splitReason(uint64_t bytes) const {
    size_t most = order_.front();
    return "split over physical nodes: no physical node had " + readableSize(bytes) +
           " free when it was placed (the most: " + readableSize(freeBytes(most)) + " in " +
           plural(static_cast<uint64_t>(free_[most]), "node", "nodes") + " on physical node " +
           std::to_string(most) + ")";
  }

  void take(size_t p, uint64_t count) {
    int first = n_ - free_[p];
    int nodes = static_cast<int>(count);
    spans_.push_back({static_cast<int>(p), first, nodes});
    capacity_ += spanBytes(static_cast<int>(p), first, nodes);
    free_[p] -= nodes;
  }

  std::string nodeSizes() const {
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
  std::string placedBefore(size_t index) const {
    std::vector<std::string> parts;
    uint64_t partitions = 0;
    for (size_t i = 0; i < index; ++i) {
      if (demands_[i].kind == ZoneKind::kSystem) parts.push_back("the system zone");
      if (demands_[i].kind == ZoneKind::kShared) parts.push_back("the shared zone");
      if (demands_[i].kind == ZoneKind::kPartition) ++partitions;
    }
    if (partitions > 0)
      parts.push_back(plural(partitions, "larger partition", "larger partitions"));
    std::string text;
    for (size_t i = 0; i < parts.size(); ++i) {
      if (i > 0) text += i + 1 == parts.size() ? " and " : ", ";
      text += parts[i];
    }
    return text;
  }

  std::string explainFailure(const Demand& demand, size_t index) const {
    std::string geometry =
        "numa=fake=" + fakeArgFor(free_.size(), n_) + " (nodes of " + nodeSizes() + " usable)";
    if (demand.kind == ZoneKind::kSystem) {
      return "with " + geometry + ", the " + neededText(demand) +
             " reserve does not fit in the " + std::to_string(n_) + " nodes of physical node 0 (" +
             readableSize(spanBytes(0, 0, n_)) + " usable)";
    }
    uint64_t free_nodes = 0;
    uint64_t free_bytes = 0;
    for (size_t p = 0; p < free_.size(); ++p) {
      free_nodes += static_cast<uint64_t>(free_[p]);
      free_bytes += freeBytes(p);
    }
    std::string what = demand.kind == ZoneKind::kShared ? "the shared zone"
                                                        : "partition " + std::string(demand.name);
    return "with " + geometry + ", " + what + " needs " + neededText(demand) +
           " but only " + readableSize(free_bytes) + " in " + plural(free_nodes, "node", "nodes") +
           " is free after " + placedBefore(index);
  }

  const Machine& machine_;
  const std::vector<Demand>& demands_;
  uint64_t keep_ppm_;
  int cap_;
  int n_ = 0;
  std::vector<UsableSplit> usable_;  // per physical node
  std::vector<int> free_;            // free nodes per physical node; the low ones are taken
  std::vector<size_t> order_;
  std::vector<Span> spans_;  // of the zone being placed
  uint64_t capacity_ = 0;    // of the zone being placed
  bool local_ = true;
  bool record_ = false;
  std::string reason_;
};

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

// Turns the spec into demands in placement order: system, shared, then partitions largest first
// (ties by name, so the plan does not depend on the file's order).
// Every zone also gets room for the kernel image: KASLR puts it in a node no plan can predict.
std::vector<Demand> demandsFor(const Spec& spec) {
  uint64_t image = spec.machine.kernel_image_bytes;
  auto demand = [image](ZoneKind kind, int partition, uint64_t requested, std::string_view name) {
    return Demand{kind, partition, saturatingAdd(requested, image), name, requested};
  };
  std::vector<Demand> demands;
  demands.push_back(demand(ZoneKind::kSystem, -1, spec.machine.reserve_bytes, kSystemZone));
  if (spec.shared.size_bytes > 0) {
    demands.push_back(demand(ZoneKind::kShared, -1, spec.shared.size_bytes, kSharedZone));
  }
  size_t first = demands.size();
  for (size_t i = 0; i < spec.partitions.size(); ++i) {
    const PartitionSpec& p = spec.partitions[i];
    demands.push_back(demand(ZoneKind::kPartition, static_cast<int>(i), p.memory_bytes, p.name));
  }
  std::sort(demands.begin() + static_cast<std::ptrdiff_t>(first), demands.end(),
            [](const Demand& a, const Demand& b) {
              return a.bytes != b.bytes ? a.bytes > b.bytes : a.name < b.name;
            });
  return demands;
}

std::string partitionWhere(const Spec& spec, const PartitionSpec& p, int line) {
  return specLocation(spec.file_name, line) + "[partition." + p.name + "] ";
}

// Checks a spec that may have been built in code rather than parsed, and the options.
Status checkInputs(const Machine& machine, const Spec& spec, const PlannerOptions& options) {
  if (!(options.size_margin >= 0 && options.size_margin <= kMaxSizeMargin)) {
    return badInput("size margin " + std::to_string(options.size_margin) + " is outside 0 to " +
                    std::to_string(kMaxSizeMargin));
  }
  if (options.max_nodes_per_partition < 1) {
    return badInput("max nodes per partition must be at least 1");
  }
  if (machine.physical_nodes.empty()) return badInput("the machine has no physical NUMA node");
  if (machine.max_nodes < 1) return badInput("the machine's maximum node count must be at least 1");
  if (machine.min_node_bytes == 0) return badInput("the minimum node size must be above 0");
  if (spec.partitions.empty()) return badInput(specLocation(spec.file_name, 0) + "no partitions");
  std::map<std::string_view, int> seen;
  for (const PartitionSpec& p : spec.partitions) {
    if (auto problem = checkPartitionName(p.name)) {
      return badInput(specLocation(spec.file_name, p.line) + *problem);
    }
    if (!seen.emplace(p.name, p.line).second) {
      return badInput(specLocation(spec.file_name, p.line) + "partition " + p.name +
                      " is given twice");
    }
    if (p.memory_bytes == 0) {
      return badInput(partitionWhere(spec, p, p.line) + "memory must be above 0");
    }
  }
  return {};
}

// Explicit CPU lists must name CPUs the machine has: a typo would otherwise pin a partition to
// nothing at apply time. Counts must be satisfiable at all, even by sharing.
Status checkCpus(const Machine& machine, const Spec& spec) {
  NodeSet all = machine.allCpus();
  for (const PartitionSpec& p : spec.partitions) {
    if (p.cpu_list) {
      NodeSet missing = p.cpu_list->minus(all);
      if (!missing.empty()) {
        return badInput(partitionWhere(spec, p, p.cpus_line) + "cpus = " + p.cpu_list->format() +
                        ": CPU " + std::to_string(missing.first()) +
                        " is not on this machine (it has CPUs " +
                        (all.empty() ? std::string("none") : all.format()) + ")");
      }
    } else if (p.cpu_count > all.size()) {
      return infeasible("partition " + p.name + " asks for " + plural(p.cpu_count, "CPU", "CPUs") +
                        "; the machine has " + std::to_string(all.size()));
    }
  }
  return {};
}

uint64_t totalRequested(const std::vector<Demand>& demands) {
  uint64_t total = 0;
  for (const Demand& d : demands) total = saturatingAdd(total, d.bytes);
  return total;
}

// The explanations that hold whatever N is chosen, checked in the order an admin would fix them.
std::optional<std::string> explainWholeMachine(const Machine& machine, const Spec& spec,
                                               const std::vector<Demand>& demands,
                                               const PlannerOptions& options, uint64_t keep_ppm,
                                               int max_n) {
  uint64_t mem = 0;
  uint64_t usable = 0;
  for (const PhysicalNodeInfo& node : machine.physical_nodes) {
    mem += node.mem_bytes;
    usable += usableBytes(node.mem_bytes, keep_ppm);
  }
  uint64_t most_nodes = static_cast<uint64_t>(max_n) * machine.physical_nodes.size();
  if (demands.size() > most_nodes) {
    return plural(spec.partitions.size(), "partition", "partitions") +
           (spec.shared.size_bytes > 0 ? ", the system zone and the shared zone"
                                       : " and the system zone") +
           " need at least " + std::to_string(demands.size()) +
           " nodes, one each; the machine can have at most " + std::to_string(most_nodes) +
           " (the kernel's " + std::to_string(machine.max_nodes) + " nodes, at least " +
           readableSize(machine.min_node_bytes) + " each)";
  }
  uint64_t reserve = spec.machine.reserve_bytes;
  uint64_t image = spec.machine.kernel_image_bytes;
  uint64_t total = totalRequested(demands);
  uint64_t asked = 0;
  for (const Demand& d : demands) asked = saturatingAdd(asked, d.requested);
  uint64_t images = total - std::min(total, asked);
  uint64_t rest = total - std::min(total, reserve + images);
  if (total > usable) {
    std::string margin = options.size_margin > 0
                             ? ", " + readableSize(usable) + " usable after the " +
                                   percent(options.size_margin) + " margin for unequal fake nodes"
                             : "";
    std::string allowance = image > 0 ? ", and " + readableSize(image) + " in each of the " +
                                            std::to_string(demands.size()) +
                                            " zones for the kernel image (" +
                                            readableSize(images) + ")"
                                      : "";
    return "needs " + readableSize(rest) + " for partitions" +
           (spec.shared.size_bytes > 0 ? " and the shared zone" : "") + " after a " +
           readableSize(reserve) + " reserve" + allowance + "; the machine has " +
           readableSize(mem) + margin + " (" +
           readableSize(usable - std::min(usable, reserve + images)) +
           (image > 0 ? " after the reserve and the allowance)" : " after the reserve)");
  }
  uint64_t physical0 = usableBytes(machine.physical_nodes[0].mem_bytes, keep_ppm);
  if (demands[0].bytes > physical0) {
    return "the " + neededText(demands[0]) + " reserve does not fit on physical node 0 (" +
           readableSize(machine.physical_nodes[0].mem_bytes) + ", " + readableSize(physical0) +
           " usable): the system zone holds node 0 and stays on its physical node";
  }
  return std::nullopt;
}

// Node counts the kernel accepts: N per physical node, N * physical <= max_nodes, nodes >= the
// minimum. 0 when none.
int maxNodesPerPhysical(const Machine& machine) {
  uint64_t max_n = static_cast<uint64_t>(machine.max_nodes) / machine.physical_nodes.size();
  for (const PhysicalNodeInfo& node : machine.physical_nodes) {
    max_n = std::min(max_n, node.mem_bytes / machine.min_node_bytes);
  }
  return static_cast<int>(max_n);
}

Result<int> nodesFromNodeSize(const Machine& machine, uint64_t node_size) {
  if (node_size < machine.min_node_bytes) {
    return infeasible("node_size " + readableSize(node_size) + " is below the kernel's " +
                      readableSize(machine.min_node_bytes) + " minimum");
  }
  uint64_t n = std::numeric_limits<uint64_t>::max();
  for (size_t p = 0; p < machine.physical_nodes.size(); ++p) {
    uint64_t mem = machine.physical_nodes[p].mem_bytes;
    if (mem < node_size) {
      return infeasible("node_size " + readableSize(node_size) + " is larger than physical node " +
                        std::to_string(p) + " (" + readableSize(mem) + ")");
    }
    n = std::min(n, mem / node_size);
  }
  uint64_t physical = machine.physical_nodes.size();
  if (n * physical > static_cast<uint64_t>(machine.max_nodes)) {
    return infeasible("node_size " + readableSize(node_size) + " gives " + std::to_string(n) +
                      " nodes per physical node x " + std::to_string(physical) + " = " +
                      std::to_string(n * physical) + ", more than the kernel's " +
                      std::to_string(machine.max_nodes) + " nodes");
  }
  return static_cast<int>(n);
}

// Lower is better: the planner's priorities after feasibility, in order.
bool betterThan(const Outcome& a, int a_n, const Outcome& b, int b_n) {
  return std::tie(a.over_cap, a.split, a.waste, a_n) < std::tie(b.over_cap, b.split, b.waste, b_n);
}

// Gives out CPUs once the nodes are placed: explicit lists first (they are promises), then counts
// in placement order from each partition's own physical node, sharing only when it runs short.
class CpuAssigner {
 public:
  CpuAssigner(const Machine& machine, const Spec& spec, Plan& plan)
      : machine_(machine), spec_(spec), plan_(plan), all_(machine.allCpus()) {}

  void assign(const std::vector<Demand>& demands, const std::vector<size_t>& zone_of_demand) {
    for (size_t i = 0; i < spec_.partitions.size(); ++i) {
      if (spec_.partitions[i].cpu_list) claimList(i);
    }
    for (size_t d = 0; d < demands.size(); ++d) {
      if (demands[d].kind != ZoneKind::kPartition) continue;
      const PartitionSpec& p = spec_.partitions[static_cast<size_t>(demands[d].partition)];
      PlannedZone& zone = plan_.zones[zone_of_demand[d]];
      if (p.cpu_count > 0) {
        takeCount(p, zone);
      } else if (!p.cpu_list) {
        zone.cpus = packageCpus(zone);  // shared with whoever else lives there
      }
    }
  }

  NodeSet unclaimed() const { return all_.minus(claimed_); }

 private:
  PlannedZone& zoneNamed(const std::string& name) {
    for (PlannedZone& zone : plan_.zones) {
      if (zone.name == name) return zone;
    }
    std::abort();  // every partition has a zone
  }

  void claimList(size_t index) {
    const PartitionSpec& p = spec_.partitions[index];
    PlannedZone& zone = zoneNamed(p.name);
    zone.cpus = *p.cpu_list;
    NodeSet overlap = p.cpu_list->intersectionWith(claimed_);
    if (!overlap.empty()) {
      zone.warnings.push_back("CPUs " + overlap.format() +
                              " are also listed by another partition; they will be shared");
    }
    claimed_ = claimed_.unionWith(*p.cpu_list);
  }

  NodeSet packageCpus(const PlannedZone& zone) const {
    NodeSet cpus;
    for (int physical : zone.physical_nodes.ids()) {
      cpus = cpus.unionWith(machine_.physical_nodes[static_cast<size_t>(physical)].cpus);
    }
    return cpus.empty() ? all_ : cpus;
  }

  void takeCount(const PartitionSpec& p, PlannedZone& zone) {
    NodeSet own = packageCpus(zone);
    NodeSet others = all_.minus(own);
    // In order of preference: free on its package, shared on its package, then other packages.
    const NodeSet tiers[] = {own.minus(claimed_), own.intersectionWith(claimed_),
                             others.minus(claimed_), others.intersectionWith(claimed_)};
    NodeSet taken[4];
    int wanted = p.cpu_count;
    for (int t = 0; t < 4 && wanted > 0; ++t) {
      for (int cpu : tiers[t].ids()) {
        if (wanted == 0) break;
        taken[t].insert(cpu);
        --wanted;
      }
    }
    for (const NodeSet& part : taken) zone.cpus = zone.cpus.unionWith(part);
    claimed_ = claimed_.unionWith(zone.cpus);
    if (!taken[1].empty() || !taken[3].empty()) {
      zone.warnings.push_back("too few free CPUs for " + std::to_string(p.cpu_count) +
                              ": shares CPUs " + taken[1].unionWith(taken[3]).format() +
                              " with other partitions");
    }
    if (!taken[2].empty() || !taken[3].empty()) {
      zone.warnings.push_back("its physical node has too few CPUs: takes CPUs " +
                              taken[2].unionWith(taken[3]).format() + " from other physical nodes");
    }
  }

  const Machine& machine_;
  const Spec& spec_;
  Plan& plan_;
  NodeSet all_;
  NodeSet claimed_;
};

// Builds the Plan for the chosen N from the evaluator's placements.
class PlanBuilder {
 public:
  PlanBuilder(const Machine& machine, const Spec& spec, const PlannerOptions& options)
      : machine_(machine), spec_(spec), options_(options) {}

  Plan build(int n, const std::vector<Demand>& demands, const std::vector<Placement>& placements,
             const Evaluator& geometry) {
    size_t physical_count = machine_.physical_nodes.size();
    plan_.fake_numa.kind =
        physical_count > 1 ? FakeNuma::Kind::kPerPhysical : FakeNuma::Kind::kCount;
    plan_.fake_numa.count = n;
    plan_.fake_numa_arg = formatFakeNumaArg(plan_.fake_numa);
    plan_.nodes_per_physical = n;
    plan_.node_count = n * static_cast<int>(physical_count);
    plan_.size_margin = options_.size_margin;
    plan_.max_nodes_per_partition = options_.max_nodes_per_partition;
    plan_.kernel_image_bytes = spec_.machine.kernel_image_bytes;
    plan_.node_size_from_spec = spec_.machine.node_size_bytes.has_value();
    addPhysicalNodes(n, geometry);
    addZones(demands, placements, geometry);
    addFreePool();
    CpuAssigner cpus(machine_, spec_, plan_);
    cpus.assign(demands, zone_of_demand_);
    finishZones(cpus.unclaimed());
    return std::move(plan_);
  }

 private:
  void addPhysicalNodes(int n, const Evaluator& geometry) {
    bool per_physical = machine_.physical_nodes.size() > 1;
    plan_.node_size_bytes = std::numeric_limits<uint64_t>::max();
    plan_.usable_node_bytes = std::numeric_limits<uint64_t>::max();
    for (size_t p = 0; p < machine_.physical_nodes.size(); ++p) {
      int physical_id = static_cast<int>(p);
      PlannedPhysical physical;
      physical.physical = physical_id;
      physical.mem_bytes = machine_.physical_nodes[p].mem_bytes;
      // The evaluator accepted n, so the split exists.
      PhysicalSplit split =
          *splitPhysical(physical.mem_bytes, n, per_physical, machine_.min_node_bytes);
      physical.node_size_bytes = split.node_bytes;
      physical.last_node_size_bytes = split.last_node_bytes;
      physical.usable_node_bytes = geometry.usable(physical_id).node;
      physical.usable_last_node_bytes = geometry.usable(physical_id).last;
      physical.nodes = NodeSet::range(physical_id * n, physical_id * n + n - 1);
      physical.cpus = machine_.physical_nodes[p].cpus;
      plan_.node_size_bytes = std::min(plan_.node_size_bytes, physical.node_size_bytes);
      plan_.usable_node_bytes = std::min(plan_.usable_node_bytes, physical.usable_node_bytes);
      for (int local = 0; local < n; ++local) {
        bool last = local == n - 1;
        plan_.nodes.push_back(
            {physical_id * n + local, physical_id, std::string(kFreeZone),
             last ? split.last_node_bytes : split.node_bytes,
             last ? physical.usable_last_node_bytes : physical.usable_node_bytes});
      }
      plan_.physical_nodes.push_back(std::move(physical));
    }
  }

  // Zones in the order people read them: system, shared, partitions as the spec lists them.
  void addZones(const std::vector<Demand>& demands, const std::vector<Placement>& placements,
                const Evaluator& geometry) {
    std::vector<size_t> order(demands.size());
    for (size_t d = 0; d < demands.size(); ++d) order[d] = d;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return demands[a].partition < demands[b].partition;  // system and shared are -1
    });
    zone_of_demand_.assign(demands.size(), 0);
    for (size_t d : order) {
      zone_of_demand_[d] = plan_.zones.size();
      plan_.zones.push_back(zoneFor(demands[d], placements[d], geometry));
    }
  }

  PlannedZone zoneFor(const Demand& demand, const Placement& placement, const Evaluator& geometry) {
    PlannedZone zone;
    zone.name = std::string(demand.name);
    zone.kind = demand.kind;
    zone.requested_bytes = demand.requested;
    zone.local = placement.local;
    int n = plan_.nodes_per_physical;
    for (const Span& span : placement.spans) {
      zone.physical_nodes.insert(span.physical);
      zone.capacity_bytes += geometry.spanBytes(span.physical, span.first, span.count);
      for (int i = 0; i < span.count; ++i) {
        int id = span.physical * n + span.first + i;
        zone.nodes.insert(id);
        plan_.nodes[static_cast<size_t>(id)].zone = zone.name;
      }
    }
    if (!placement.local) zone.warnings.push_back(placement.split_reason);
    plan_.waste_bytes += zone.capacity_bytes - demand.bytes;  // the allowance is not waste
    if (demand.kind == ZoneKind::kShared) zone.bind_paths = spec_.shared.bind_paths;
    if (demand.kind == ZoneKind::kPartition) {
      const PartitionSpec& p = spec_.partitions[static_cast<size_t>(demand.partition)];
      zone.min_bytes = p.min_bytes;
      zone.max_bytes = p.max_bytes;
      zone.mem_hardwall = p.mem_hardwall;
      if (zone.nodes.size() > options_.max_nodes_per_partition) {
        zone.warnings.push_back(
            "spans " + std::to_string(zone.nodes.size()) + " nodes, more than the " +
            std::to_string(options_.max_nodes_per_partition) +
            " per partition that keep allocation cheap" +
            (plan_.node_size_from_spec ? "; a larger node_size would avoid it" : ""));
      }
    }
    return zone;
  }

  void addFreePool() {
    PlannedZone free;
    free.name = std::string(kFreeZone);
    free.kind = ZoneKind::kFree;
    for (const PlannedNode& node : plan_.nodes) {
      if (node.zone != kFreeZone) continue;
      PlannedPhysical& physical = plan_.physical_nodes[static_cast<size_t>(node.physical)];
      physical.free_nodes.insert(node.id);
      physical.free_bytes += node.usable_bytes;
      free.nodes.insert(node.id);
      free.physical_nodes.insert(node.physical);
      free.capacity_bytes += node.usable_bytes;
    }
    free.local = free.physical_nodes.size() <= 1;
    plan_.zones.push_back(std::move(free));
  }

  void finishZones(const NodeSet& unclaimed) {
    NodeSet system_cpus = unclaimed;
    uint64_t free_bytes = plan_.zones.back().capacity_bytes;
    for (PlannedZone& zone : plan_.zones) {
      if (zone.kind == ZoneKind::kSystem && system_cpus.empty()) {
        system_cpus = machine_.allCpus();
        zone.warnings.push_back("partitions took every CPU; the host shares all of them");
      }
      if (zone.kind == ZoneKind::kSystem || zone.kind == ZoneKind::kShared) zone.cpus = system_cpus;
      if (zone.max_bytes && *zone.max_bytes > zone.capacity_bytes + free_bytes) {
        zone.warnings.push_back("max " + readableSize(*zone.max_bytes) +
                                " is more than the free pool could ever give it (" +
                                readableSize(zone.capacity_bytes) + " + " +
                                readableSize(free_bytes) +
                                " free = " + readableSize(zone.capacity_bytes + free_bytes) + ")");
      }
    }
  }

  const Machine& machine_;
  const Spec& spec_;
  const PlannerOptions& options_;
  Plan plan_;
  std::vector<size_t> zone_of_demand_;
};

// Why the kernel cannot make n nodes of each physical node, for a node_size from the spec.
std::string explainSplit(const Machine& machine, int n) {
  bool per_physical = machine.physical_nodes.size() > 1;
  for (size_t p = 0; p < machine.physical_nodes.size(); ++p) {
    uint64_t mem = machine.physical_nodes[p].mem_bytes;
    if (splitPhysical(mem, n, per_physical, machine.min_node_bytes)) continue;
    uint64_t step = machine.min_node_bytes;
    uint64_t node = ceilDiv(std::max(mem / static_cast<uint64_t>(n), step), step) * step;
    return "numa=fake=" + fakeArgFor(machine.physical_nodes.size(), n) + " rounds nodes up to " +
           readableSize(node) + " (a multiple of " + readableSize(step) + "), and " +
           std::to_string(n - 1) + " of them leave less than " + readableSize(step) +
           " of physical node " + std::to_string(p) + " (" + readableSize(mem) +
           ") for the last; the kernel would refuse it or make a useless node";
  }
  return "numa=fake=" + fakeArgFor(machine.physical_nodes.size(), n) + " cannot be laid out";
}

}  // namespace

NodeSet Machine::allCpus() const {
  NodeSet all;
  for (const PhysicalNodeInfo& node : physical_nodes) all = all.unionWith(node.cpus);
  return all;
}

std::string_view zoneKindName(ZoneKind kind) {
  switch (kind) {
    case ZoneKind::kSystem:
      return "system";
    case ZoneKind::kShared:
      return "shared";
    case ZoneKind::kPartition:
      return "partition";
    case ZoneKind::kFree:
      return "free";
  }
  return "partition";
}

const PlannedZone* Plan::zone(std::string_view name) const noexcept {
  for (const PlannedZone& z : zones) {
    if (z.name == name) return &z;
  }
  return nullptr;
}

Result<Plan> planZones(const Machine& machine, const Spec& spec, const PlannerOptions& options) {
  SZ_CHECK(checkInputs(machine, spec, options));
  SZ_CHECK(checkCpus(machine, spec));
  uint64_t keep_ppm = kPpm - static_cast<uint64_t>(std::llround(options.size_margin * kPpm));
  std::vector<Demand> demands = demandsFor(spec);
  int max_n = maxNodesPerPhysical(machine);
  if (max_n == 0) {
    return infeasible("the machine cannot be split: " +
                      plural(machine.physical_nodes.size(), "physical node", "physical nodes") +
                      ", the kernel allows " + std::to_string(machine.max_nodes) +
                      " nodes of at least " + readableSize(machine.min_node_bytes) + " each");
  }
  int first_n = 1;
  int last_n = max_n;
  if (spec.machine.node_size_bytes) {
    SZ_TRY(n, nodesFromNodeSize(machine, *spec.machine.node_size_bytes));
    std::vector<UsableSplit> probe;
    if (!usableSplits(machine, n, keep_ppm, probe)) {
      return infeasible("node_size " + readableSize(*spec.machine.node_size_bytes) + ": " +
                        explainSplit(machine, n));
    }
    first_n = last_n = n;
  }

  Evaluator evaluator(machine, demands, keep_ppm, options.max_nodes_per_partition);
  int best_n = 0;
  Outcome best;
  int closest_n = 0;
  int closest_placed = -1;
  uint64_t best_feasible_waste = kNoWaste;
  Beat beat;
  // Largest first: fine granularity usually wastes least, so good plans come early and cut the
  // evaluation of worse ones short.
  for (int n = last_n; n >= first_n; --n) {
    Outcome outcome = evaluator.evaluate(n, nullptr, false, best_n == 0 ? nullptr : &beat);
    if (outcome.beaten) continue;
    if (!outcome.feasible) {
      if (outcome.valid_geometry && outcome.placed > closest_placed) {
        closest_placed = outcome.placed;
        closest_n = n;
      }
      continue;
    }
    best_feasible_waste = std::min(best_feasible_waste, outcome.waste);
    if (best_n == 0 || betterThan(outcome, n, best, best_n)) {
      best = outcome;
      best_n = n;
    }
    beat = {best.over_cap, best.split, best.waste, best_feasible_waste};
  }
  if (best_n == 0) {
    if (auto reason = explainWholeMachine(machine, spec, demands, options, keep_ppm, max_n)) {
      return infeasible(*reason);
    }
    if (closest_n == 0) {
      return infeasible("the kernel cannot split this machine into nodes of at least " +
                        readableSize(machine.min_node_bytes));
    }
    std::string failure = evaluator.evaluate(closest_n, nullptr, true).failure;
    if (spec.machine.node_size_bytes) {
      return infeasible("node_size " + readableSize(*spec.machine.node_size_bytes) +
                        " does not fit the spec: " + failure);
    }
    return infeasible("no numa=fake= node count fits every zone; the closest: " + failure);
  }

  std::vector<Placement> placements;
  evaluator.evaluate(best_n, &placements, false);
  Plan plan = PlanBuilder(machine, spec, options).build(best_n, demands, placements, evaluator);
  plan.waste_lower_bound_bytes = wasteLowerBound(machine, demands, keep_ppm, max_n);
  plan.best_feasible_waste_bytes = best_feasible_waste;
  return plan;
}

}  // namespace softzone::planner

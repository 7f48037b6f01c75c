// The planner's placement of zones on one numa=fake= node count (placement.cpp), shared by the
// search over node counts (planner.cpp) and the plan builder (plan_builder.cpp); not public.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "softzone/planner/plan.h"

namespace softzone::planner::detail {

inline constexpr uint64_t kPpm = 1'000'000;
inline constexpr uint64_t kNoWaste = std::numeric_limits<uint64_t>::max();

inline uint64_t ceilDiv(uint64_t a, uint64_t b) { return a / b + (a % b != 0 ? 1 : 0); }

// nominal * keep_ppm / 10^6 without overflow for any 64-bit size.
inline uint64_t usableBytes(uint64_t nominal, uint64_t keep_ppm) {
  return nominal / kPpm * keep_ppm + nominal % kPpm * keep_ppm / kPpm;
}

inline std::string plural(uint64_t count, std::string_view one, std::string_view many) {
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

// "208M (160M and 48M for the kernel image)", or just "160M" without an allowance.
std::string neededText(const Demand& demand);

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

std::string fakeArgFor(size_t physical_count, int nodes_per_physical);

// How the kernel splits one physical node into n nodes (see plan.h), in its own bytes.
struct PhysicalSplit {
  uint64_t node_bytes = 0;
  uint64_t last_node_bytes = 0;
};

// nullopt when the kernel would refuse n, or leave the last node under the minimum.
std::optional<PhysicalSplit> splitPhysical(uint64_t mem, int n, bool per_physical, uint64_t step);

// Usable sizes of one physical node's nodes for one N.
struct UsableSplit {
  uint64_t node = 0;
  uint64_t last = 0;
};

// Usable node sizes for every physical node at n; false when the kernel cannot split one of them.
bool usableSplits(const Machine& machine, int n, uint64_t keep_ppm, std::vector<UsableSplit>& out);

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
  bool setGeometry(int n);

  // With `beat` (the best of the larger n already evaluated), gives up (outcome.beaten) once
  // this n can no longer be chosen nor lower the best feasible waste: every count only grows as
  // zones are placed, and a tie still goes to this smaller n.
  Outcome evaluate(int n, std::vector<Placement>* placements, bool explain,
                   const Beat* beat = nullptr);

  // Usable bytes of `count` nodes of a physical node from local index `first`.
  uint64_t spanBytes(int physical, int first, int count) const;

  const UsableSplit& usable(int physical) const { return usable_[static_cast<size_t>(physical)]; }

 private:
  bool place(const Demand& demand);
  bool placeSystem(uint64_t bytes);
  uint64_t freeBytes(size_t p) const;
  uint64_t nodesFor(size_t p, uint64_t bytes) const;
  bool placeAnywhere(uint64_t bytes);
  void split(uint64_t bytes);
  std::string splitReason(uint64_t bytes) const;
  void take(size_t p, uint64_t count);
  std::string nodeSizes() const;
  std::string placedBefore(size_t index) const;
  std::string explainFailure(const Demand& demand, size_t index) const;

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

// The least waste any placement of `demands` could have, over every node count up to max_n
// (see plan.h); 0 when no node count can hold them.
uint64_t wasteLowerBound(const Machine& machine, const std::vector<Demand>& demands,
                         uint64_t keep_ppm, int max_n);

}  // namespace softzone::planner::detail

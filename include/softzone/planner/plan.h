// The plan: from a machine and a spec to a numa=fake= boot parameter and a map of zones over nodes.
//
// How the planner sizes things, and why:
// - The kernel's forms: numa=fake=N splits all RAM into N nodes; numa=fake=NU splits each physical
//   node into N, numbered contiguously per physical node (physical 0 -> 0..N-1, 1 -> N..2N-1).
//   Mixed sizes do not exist in mainline, so every plan has N nodes per physical node: form "N" on
//   one physical node, "NU" on more.
// - The kernel works in 32 MiB steps (FAKE_NODE_MIN_SIZE), so nodes are not mem / N
//   (arch/x86/mm/numa_emulation.c): "N" makes nodes of mem / N rounded DOWN to 32 MiB, some 32 MiB
//   bigger and the last taking the rest, so the planner counts each as the rounded-down size;
//   "NU" makes nodes of mem / N rounded UP to 32 MiB and the last node of a physical node gets
//   what is left, so the planner counts that last node as exactly that, and refuses an N that
//   would leave it under 32 MiB (with nothing left, the kernel fails the whole emulation).
// - On top of that, fake nodes come out unequal because of holes, reserved memory and DMA32
//   boundaries (8 nodes of a 1 GiB guest measured 81 to 125 MB), so each node is planned as
//   usable = kernel size * (1 - size_margin). Capacities, waste and "the partition gets its
//   memory" all use usable bytes; zonectl verify checks them against the booted kernel.
// - The kernel image is not in a predictable node: KASLR loads it at a random physical address,
//   and the node it lands in loses its size (35-45 MiB measured on Debian's 6.1 and 6.12 kernels,
//   across one or two nodes). Every zone is therefore placed as if it asked for its memory plus
//   the spec's kernel_image allowance; the allowance is not counted as waste.
// - With node_size in the spec, N = floor(mem / node_size) on the smallest physical node. Without,
//   every N the kernel accepts is evaluated and the best is chosen by, in order: (1) every
//   partition gets at least its memory; (2) the fewest partitions spanning more than
//   max_nodes_per_partition nodes; (3) the fewest partitions split across physical nodes; (4) the
//   least waste; (5) the smaller N.
// - Assignment for one N: the system zone is node 0 and as many more of physical node 0 as
//   `reserve` needs; the shared zone follows it on physical node 0 when it fits there; partitions,
//   largest first (ties by name), each go on the physical node with the least free capacity that
//   still holds them (big holes stay for big partitions), or are split over the physical nodes
//   with the most free capacity when none does; what is left is the free pool. Each physical
//   node's nodes are handed out from its low end, so a zone's nodes there are contiguous.
// - Waste is the usable capacity given to the system zone, the shared zone and the partitions
//   beyond what they asked for. Its lower bound (waste_lower_bound_bytes) is the least waste ANY
//   placement could have with ANY node count the kernel accepts, on this machine and margin: for
//   each N, a zone of R bytes needs at least k = ceil(R / largest usable node) nodes, so it holds
//   at least the k smallest usable nodes of the machine and wastes at least their sum minus R;
//   the bound is the minimum over N of the sum over zones, ignoring fit, locality and the node cap.
//   When all nodes are equal it is exactly the rounding the best granularity cannot avoid.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "softzone/planner/fake_numa.h"
#include "softzone/planner/spec.h"
#include "softzone/zones/nodeset.h"
#include "softzone/zones/result.h"
#include "softzone/zones/zone_kind.h"

namespace softzone::zones {
struct Topology;
struct HwlocMachine;
}  // namespace softzone::zones

namespace softzone::planner {

// The node cap per partition: allocation cost grows with the number of nodes a cpuset spans
// (Morton/Rientjes 2006: a kernel build in a 43-node cpuset took 2.3x the system time), while
// smaller nodes resize more finely. 8 nodes is the value the allocation-cost benchmark in
// docs/benchmarks.md justifies (page-fault throughput and short-lived processes in partitions of
// 1 to 32 fake nodes against an unconstrained task).
inline constexpr int kDefaultMaxNodesPerPartition = 8;
// The share of each fake node assumed lost to holes and unequal splitting (see above).
inline constexpr double kDefaultSizeMargin = 0.06;

// The zone names the planner uses for itself; partitions may not take them.
inline constexpr std::string_view kSystemZone = "system";
inline constexpr std::string_view kSharedZone = "shared";
inline constexpr std::string_view kFreeZone = "free";

// One physical NUMA node (a socket, or the whole machine) as the kernel numbers them: the plan's
// physical node p is machine.physical_nodes[p].
struct PhysicalNodeInfo {
  // The id the machine gives it; informational, since the kernel lays out fake nodes by the
  // physical nodes' order and the plan numbers them by position.
  int id = 0;
  // The RAM the kernel splits. Its MemTotal is a little less, so plans from it err on the safe
  // side for sizes; the 32 MiB rounding is computed from this value.
  uint64_t mem_bytes = 0;
  NodeSet cpus;
};

struct Machine {
  std::vector<PhysicalNodeInfo> physical_nodes;
  int max_nodes = kMaxFakeNodes;                // MAX_NUMNODES (1 << CONFIG_NODES_SHIFT)
  uint64_t min_node_bytes = kFakeNodeMinBytes;  // FAKE_NODE_MIN_SIZE: minimum and rounding step

  NodeSet allCpus() const;
};

// The machine a running kernel describes: its physical nodes (fake nodes grouped back together)
// with their MemTotal, and CONFIG_NODES_SHIFT when known. MemTotal is below the physical RAM the
// kernel splits, so plans from it err on the safe side.
Machine machineFromTopology(const zones::Topology& topology);

// The machine an hwloc XML describes: one physical node per NUMA node with memory, in os_index
// order (the order the kernel splits them in). hwloc does not know CONFIG_NODES_SHIFT, so the
// node limit is Debian's (kMaxFakeNodes). See hwloc_machine.h for what hwloc hides under fake NUMA.
Machine machineFromHwloc(const zones::HwlocMachine& hwloc);

// The machine `zonectl --json topology` printed (its physical_nodes and max_nodes): exact even on
// a machine already booted with numa=fake=, where hwloc is not. Bad input names the key at fault.
Result<Machine> machineFromTopologyJson(const nlohmann::json& topology);

struct PlannerOptions {
  double size_margin = kDefaultSizeMargin;                     // in [0, 0.9]
  int max_nodes_per_partition = kDefaultMaxNodesPerPartition;  // >= 1
};

// The planner's zones are of the kinds the cpuset state reads back (softzone/zones/zone_kind.h).
using ::softzone::ZoneKind;
using ::softzone::zoneKindName;

struct PlannedZone {
  std::string name;
  ZoneKind kind = ZoneKind::kPartition;
  NodeSet nodes;
  NodeSet physical_nodes;  // the physical nodes its nodes sit on
  // Partitions: their own CPUs (or their physical nodes' CPUs, shared, when the spec gives none).
  // System: the CPUs no partition took. Shared: the system zone's, where `zonectl bind` runs.
  // Free: none.
  NodeSet cpus;
  uint64_t capacity_bytes = 0;  // usable bytes of its nodes
  // Reserve, shared size or memory; 0 for the free pool. Non-free zones hold at least this plus
  // Plan::kernel_image_bytes.
  uint64_t requested_bytes = 0;
  std::optional<uint64_t> min_bytes;
  std::optional<uint64_t> max_bytes;
  bool local = true;  // on one physical node
  bool mem_hardwall = false;
  std::vector<std::string> bind_paths;  // the shared zone's
  std::vector<std::string> warnings;    // why it is split, CPUs shared, max beyond reach, ...
};

struct PlannedNode {
  int id = 0;
  int physical = 0;
  std::string zone;
  uint64_t size_bytes = 0;    // as the kernel will make it (the planner's model, see above)
  uint64_t usable_bytes = 0;  // less the margin: what the plan counts on
};

// Per physical node: how it is split and what is left of it for growth.
struct PlannedPhysical {
  int physical = 0;
  uint64_t mem_bytes = 0;
  uint64_t node_size_bytes = 0;       // every node but the last, as the kernel makes them
  uint64_t last_node_size_bytes = 0;  // the last node of this physical node
  uint64_t usable_node_bytes = 0;     // node_size_bytes less the margin
  uint64_t usable_last_node_bytes = 0;
  NodeSet nodes;
  NodeSet cpus;
  NodeSet free_nodes;
  uint64_t free_bytes = 0;  // usable
};

struct Plan {
  FakeNuma fake_numa;
  std::string fake_numa_arg;  // "8", "4U"
  int nodes_per_physical = 0;
  int node_count = 0;
  uint64_t node_size_bytes = 0;    // the smallest physical node's node_size_bytes
  uint64_t usable_node_bytes = 0;  // the smallest physical node's usable_node_bytes
  double size_margin = 0;
  uint64_t kernel_image_bytes = 0;  // the allowance every zone holds beyond its request
  int max_nodes_per_partition = 0;
  bool node_size_from_spec = false;
  std::vector<PlannedPhysical> physical_nodes;
  std::vector<PlannedNode> nodes;  // by id
  // system, shared (when the spec asks for one), partitions in spec order, free.
  std::vector<PlannedZone> zones;
  uint64_t waste_bytes = 0;
  uint64_t waste_lower_bound_bytes = 0;  // see the top of this file
  // The least waste of any feasible N, whatever its nodes per partition or locality: with
  // waste_bytes, what the node cap and the locality rule cost.
  uint64_t best_feasible_waste_bytes = 0;
  std::vector<std::string> warnings;  // about the plan as a whole

  const PlannedZone* zone(std::string_view name) const noexcept;
};

// Plans `spec` for `machine`. Pure. Errors: bad input for options out of range, a machine with no
// physical nodes, or CPUs the machine does not have; kInfeasible, with the numbers, when no
// numa=fake= split can give every zone what it asks. Never a plan with a short partition.
Result<Plan> planZones(const Machine& machine, const Spec& spec,
                       const PlannerOptions& options = {});

// Sizes as plans and their messages print them: "4.5G" where formatSize would say "4608M"
// (up to two exact decimals of the largest unit), otherwise formatSize ("1100M", "1G") when it is
// whole megabytes, and rounded to hundredths ("23.54G") where formatSize would say "24683748K".
std::string readableSize(uint64_t bytes);

// "numa=fake=8": exactly the kernel parameter, one token.
std::string formatKernelCmdline(const Plan& plan);

// A drop-in for /etc/default/grub.d/softzone.cfg that appends the parameter to
// GRUB_CMDLINE_LINUX_DEFAULT, with a comment header saying what it is and how to apply it.
std::string formatGrubDropIn(const Plan& plan);

// A table for people: zone, nodes, physical node(s), capacity, requested, CPUs, notes; then the
// warnings and the kernel parameter.
std::string formatPlanText(const Plan& plan);

// snake_case keys, sizes in *_bytes, node and CPU lists in numactl syntax ("0-3,7").
nlohmann::json planToJson(const Plan& plan);

}  // namespace softzone::planner

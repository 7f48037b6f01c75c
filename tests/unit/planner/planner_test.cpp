// The planner on synthetic machines: forms, sizes, placement, CPUs, infeasible specs, formats.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "plan_checks.h"
#include "softzone/planner/plan.h"
#include "softzone/zones/topology.h"

namespace softzone::planner {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::machine;
using testing::partition;
using testing::planHolds;
using testing::spec;
using ::testing::StartsWith;

Plan planOrDie(const Machine& m, const Spec& s, const PlannerOptions& options = {}) {
  auto plan = planZones(m, s, options);
  if (!plan) ADD_FAILURE() << plan.error().message();
  return plan ? std::move(plan).value() : Plan{};
}

std::string infeasibleMessage(const Machine& m, const Spec& s, const PlannerOptions& options = {}) {
  auto plan = planZones(m, s, options);
  if (plan) {
    ADD_FAILURE() << "planned:\n" << formatPlanText(*plan);
    return {};
  }
  EXPECT_EQ(plan.error().code(), make_error_code(Errc::kInfeasible)) << plan.error().message();
  return plan.error().message();
}

TEST(PlannerTest, OnePhysicalNodeUsesTheCountForm) {
  Machine m = machine(1, 4 * kGiB);
  Spec s = spec(512 * kMiB, 256 * kMiB, {partition("web", kGiB, 2), partition("db", kGiB, 1)});
  Plan plan = planOrDie(m, s);
  EXPECT_TRUE(planHolds(m, s, plan));
  EXPECT_EQ(plan.fake_numa.kind, FakeNuma::Kind::kCount);
  EXPECT_EQ(formatKernelCmdline(plan), "numa=fake=" + std::to_string(plan.nodes_per_physical));
  // Zones in reading order: system, shared, partitions as the spec lists them, free.
  std::vector<std::string> names;
  for (const PlannedZone& zone : plan.zones) names.push_back(zone.name);
  EXPECT_THAT(names, ElementsAre("system", "shared", "web", "db", "free"));
  // The shared zone sits right after the system zone on physical node 0.
  const PlannedZone& system = *plan.zone("system");
  EXPECT_EQ(plan.zone("shared")->nodes.first(), system.nodes.last() + 1);
  // CPUs: counts from the package, lowest first, in placement order (size, then name: db is
  // first of the two 1G partitions); the host keeps the rest.
  EXPECT_EQ(plan.zone("db")->cpus.format(), "0");
  EXPECT_EQ(plan.zone("web")->cpus.format(), "1-2");
  EXPECT_EQ(system.cpus.format(), "3");
  EXPECT_EQ(plan.zone("shared")->cpus.format(), "3");
}

TEST(PlannerTest, SeveralPhysicalNodesUseThePerPhysicalForm) {
  Machine m = machine(2, 2 * kGiB);
  Spec s = spec(512 * kMiB, 0, {partition("web", kGiB, 2)});
  Plan plan = planOrDie(m, s);
  EXPECT_TRUE(planHolds(m, s, plan));
  int n = plan.nodes_per_physical;
  EXPECT_EQ(plan.fake_numa_arg, std::to_string(n) + "U");
  EXPECT_EQ(plan.physical_nodes[1].nodes, NodeSet::range(n, 2 * n - 1));
  EXPECT_EQ(plan.zone("shared"), nullptr);
}

TEST(PlannerTest, NodeSizeFromTheSpecFixesN) {
  Machine one = machine(1, 4 * kGiB);
  Spec s = spec(512 * kMiB, 0, {partition("web", kGiB)});
  s.machine.node_size_bytes = 256 * kMiB;
  Plan plan = planOrDie(one, s);
  EXPECT_TRUE(planHolds(one, s, plan));
  EXPECT_EQ(formatKernelCmdline(plan), "numa=fake=16");
  EXPECT_EQ(plan.node_size_bytes, 256 * kMiB);
  EXPECT_TRUE(plan.node_size_from_spec);

  Machine two = machine(2, 4 * kGiB);
  s.machine.node_size_bytes = 512 * kMiB;
  plan = planOrDie(two, s);
  EXPECT_EQ(formatKernelCmdline(plan), "numa=fake=8U");
  EXPECT_EQ(plan.node_count, 16);
}

TEST(PlannerTest, NodeSizeBelowTheKernelMinimum) {
  Spec s = spec(512 * kMiB, 0, {partition("web", kGiB)});
  s.machine.node_size_bytes = 16 * kMiB;
  EXPECT_EQ(infeasibleMessage(machine(1, 4 * kGiB), s),
            "node_size 16M is below the kernel's 32M minimum");
}

TEST(PlannerTest, NodeSizeGivingTooManyNodes) {
  Spec s = spec(512 * kMiB, 0, {partition("web", kGiB)});
  s.machine.node_size_bytes = 64 * kMiB;
  EXPECT_EQ(infeasibleMessage(machine(4, 256 * kGiB), s),
            "node_size 64M gives 4096 nodes per physical node x 4 = 16384, more than the "
            "kernel's 1024 nodes");
}

TEST(PlannerTest, NodeSizeLargerThanAPhysicalNode) {
  Spec s = spec(512 * kMiB, 0, {partition("web", kGiB)});
  s.machine.node_size_bytes = 8 * kGiB;
  EXPECT_EQ(infeasibleMessage(machine(2, 4 * kGiB), s),
            "node_size 8G is larger than physical node 0 (4G)");
}

TEST(PlannerTest, NodeSizeTheKernelCannotLayOut) {
  // 4G / 17 rounds up to 256M, and 16 of those use all 4G: nothing is left for node 17.
  Spec s = spec(512 * kMiB, 0, {partition("web", kGiB)});
  s.machine.node_size_bytes = 240 * kMiB;
  EXPECT_EQ(infeasibleMessage(machine(2, 4 * kGiB), s),
            "node_size 240M: numa=fake=17U rounds nodes up to 256M (a multiple of 32M), and 16 "
            "of them leave less than 32M of physical node 0 (4G) for the last; the kernel would "
            "refuse it or make a useless node");
}

TEST(PlannerTest, NeverChoosesAnNTheKernelCannotLayOut) {
  Machine m = machine(2, 4 * kGiB);
  Spec s = spec(512 * kMiB, 0, {partition("a", 3 * kGiB), partition("b", 2 * kGiB)});
  Plan plan = planOrDie(m, s);
  EXPECT_TRUE(planHolds(m, s, plan));
  for (const PlannedPhysical& p : plan.physical_nodes) {
    EXPECT_GE(p.last_node_size_bytes, kFakeNodeMinBytes);
    EXPECT_EQ(p.node_size_bytes * static_cast<uint64_t>(plan.nodes_per_physical - 1) +
                  p.last_node_size_bytes,
              p.mem_bytes);
  }
}

TEST(PlannerTest, NotEnoughMemoryAtAll) {
  Spec s = spec(512 * kMiB, 512 * kMiB, {partition("web", 2 * kGiB), partition("db", 2 * kGiB)});
  PlannerOptions no_margin;
  no_margin.size_margin = 0;
  EXPECT_EQ(infeasibleMessage(machine(1, 4 * kGiB), s, no_margin),
            "needs 4.5G for partitions and the shared zone after a 512M reserve; the machine has "
            "4G (3.5G after the reserve)");
  s.shared.size_bytes = 0;
  s.partitions[1].memory_bytes = 5 * kGiB / 2;
  EXPECT_EQ(infeasibleMessage(machine(1, 4 * kGiB), s),
            "needs 4.5G for partitions after a 512M reserve; the machine has 4G, 3.76G usable "
            "after the 6% margin for unequal fake nodes (3.26G after the reserve)");
}

// KASLR may load the kernel image into any node, so every zone is placed with room for it: the
// demo's 1 GiB guest lost 35-45 MiB of one or two 64 MiB nodes that way.
TEST(PlannerTest, EveryZoneKeepsRoomForTheKernelImage) {
  Machine m = machine(1, kGiB, 2);
  Spec s =
      spec(192 * kMiB, 64 * kMiB, {partition("web", 128 * kMiB), partition("batch", 96 * kMiB)});
  s.machine.node_size_bytes = 64 * kMiB;
  s.machine.kernel_image_bytes = 48 * kMiB;
  Plan plan = planOrDie(m, s);
  ASSERT_TRUE(planHolds(m, s, plan));
  EXPECT_EQ(plan.fake_numa_arg, "16");
  // 64M nodes are 60.16M usable: 192M + 48M needs 4 of them, 64M + 48M two, 128M + 48M three.
  EXPECT_EQ(plan.zone("system")->nodes.format(), "0-3");
  EXPECT_EQ(plan.zone("shared")->nodes.format(), "4-5");
  EXPECT_EQ(plan.zone("web")->nodes.format(), "6-8");
  EXPECT_EQ(plan.zone("batch")->nodes.format(), "9-11");
  EXPECT_EQ(plan.zone("web")->requested_bytes, 128 * kMiB);  // what the spec asked, as it asked
  EXPECT_EQ(plan.kernel_image_bytes, 48 * kMiB);
  EXPECT_THAT(formatPlanText(plan),
              HasSubstr("each zone also holds 48M for the kernel image, which KASLR may load "
                        "into any node (kernel_image)"));
  EXPECT_EQ(planToJson(plan)["kernel_image_bytes"], 48 * kMiB);
  // Without the allowance (a kernel booted with nokaslr) the same zones take fewer nodes.
  s.machine.kernel_image_bytes = 0;
  Plan bare = planOrDie(m, s);
  EXPECT_EQ(bare.zone("system")->nodes.format(), "0-3");
  EXPECT_EQ(bare.zone("shared")->nodes.format(), "4-5");
  EXPECT_EQ(bare.zone("web")->nodes.format(), "6-8");
  EXPECT_EQ(bare.zone("batch")->nodes.format(), "9-10");
  EXPECT_THAT(formatPlanText(bare), ::testing::Not(HasSubstr("kernel image")));
}

TEST(PlannerTest, RefusalsCountTheKernelImage) {
  Spec s = spec(512 * kMiB, 0, {partition("web", kGiB), partition("db", kGiB)});
  s.machine.kernel_image_bytes = 512 * kMiB;
  PlannerOptions no_margin;
  no_margin.size_margin = 0;
  EXPECT_EQ(infeasibleMessage(machine(1, 3 * kGiB), s, no_margin),
            "needs 2G for partitions after a 512M reserve, and 512M in each of the 3 zones for the "
            "kernel image (1.5G); the machine has 3G (1G after the reserve and the allowance)");
  s.machine.kernel_image_bytes = 64 * kMiB;
  s.machine.node_size_bytes = 512 * kMiB;
  EXPECT_THAT(infeasibleMessage(machine(1, 3 * kGiB), s, no_margin),
              HasSubstr("needs 1088M (1G and 64M for the kernel image)"));
}

TEST(PlannerTest, MoreZonesThanTheKernelHasNodes) {
  std::vector<PartitionSpec> many;
  for (int i = 0; i < 1100; ++i) many.push_back(partition(testing::numbered("p", i), kMiB));
  EXPECT_EQ(infeasibleMessage(machine(4, 256 * kGiB), spec(512 * kMiB, 0, many)),
            "1100 partitions and the system zone need at least 1101 nodes, one each; the machine "
            "can have at most 1024 (the kernel's 1024 nodes, at least 32M each)");
  many.resize(200);
  EXPECT_EQ(infeasibleMessage(machine(1, 4 * kGiB), spec(512 * kMiB, 64 * kMiB, many)),
            "200 partitions, the system zone and the shared zone need at least 202 nodes, one "
            "each; the machine can have at most 128 (the kernel's 1024 nodes, at least 32M each)");
}

TEST(PlannerTest, ReserveLargerThanPhysicalNodeZero) {
  EXPECT_EQ(infeasibleMessage(machine(2, 4 * kGiB), spec(5 * kGiB, 0, {partition("a", kGiB)})),
            "the 5G reserve does not fit on physical node 0 (4G, 3.76G usable): the system zone "
            "holds node 0 and stays on its physical node");
}

TEST(PlannerTest, RoundingMakesItInfeasibleAndSaysWhere) {
  // 3.72G of 3.76G usable: no granularity rounds all four zones up tightly enough.
  Spec s =
      spec(512 * kMiB, 0,
           {partition("a", 1100 * kMiB), partition("b", 1100 * kMiB), partition("c", 1100 * kMiB)});
  std::string message = infeasibleMessage(machine(1, 4 * kGiB), s);
  EXPECT_THAT(message, StartsWith("no numa=fake= node count fits every zone; the closest: with "
                                  "numa=fake="));
  EXPECT_THAT(message, HasSubstr("partition c needs 1100M but only"));
  EXPECT_THAT(message, HasSubstr("is free after the system zone and 2 larger partitions"));
}

TEST(PlannerTest, NodeSizeThatDoesNotFitSaysWhichPartition) {
  Spec s = spec(512 * kMiB, 0, {partition("a", kGiB), partition("b", kGiB), partition("c", kGiB)});
  s.machine.node_size_bytes = 1 * kGiB;
  EXPECT_EQ(infeasibleMessage(machine(1, 4 * kGiB), s),
            "node_size 1G does not fit the spec: with numa=fake=4 (nodes of 962.56M usable), "
            "partition b needs 1G but only 962.56M in 1 node is free after the system zone and 1 "
            "larger partition");
}

TEST(PlannerTest, SplitsOnlyWhenNoPhysicalNodeHoldsIt) {
  Machine m = machine(2, 2 * kGiB);
  Spec s = spec(256 * kMiB, 0, {partition("big", 3 * kGiB, 2), partition("small", 256 * kMiB)});
  Plan plan = planOrDie(m, s);
  EXPECT_TRUE(planHolds(m, s, plan));
  const PlannedZone& big = *plan.zone("big");
  EXPECT_FALSE(big.local);
  EXPECT_EQ(big.physical_nodes.format(), "0-1");
  ASSERT_FALSE(big.warnings.empty());
  EXPECT_THAT(big.warnings[0],
              StartsWith("split over physical nodes: no physical node had 3G free"));
  EXPECT_TRUE(plan.zone("small")->local);
}

TEST(PlannerTest, KeepsPartitionsLocalAndLeavesBigHolesForBigPartitions) {
  // Best fit: the 512M partition goes next to the system zone, the 1.5G one gets physical node 1.
  Machine m = machine(2, 2 * kGiB);
  Spec s = spec(512 * kMiB, 0, {partition("small", 512 * kMiB), partition("large", 1536 * kMiB)});
  Plan plan = planOrDie(m, s);
  EXPECT_TRUE(planHolds(m, s, plan));
  EXPECT_EQ(plan.zone("small")->physical_nodes.format(), "0");
  EXPECT_EQ(plan.zone("large")->physical_nodes.format(), "1");
  EXPECT_TRUE(plan.zone("large")->local);
  // CPUs come from the partition's own physical node.
  s.partitions[1].cpu_count = 2;
  plan = planOrDie(m, s);
  EXPECT_EQ(plan.zone("large")->cpus.format(), "4-5");
}

TEST(PlannerTest, KeepsPartitionsWithinTheNodeCapWhenItCan) {
  Machine m = machine(1, 16 * kGiB);
  Spec s = spec(512 * kMiB, 0, {partition("big", 6 * kGiB), partition("small", 100 * kMiB)});
  PlannerOptions capped;
  capped.max_nodes_per_partition = 4;
  Plan plan = planOrDie(m, s, capped);
  EXPECT_TRUE(planHolds(m, s, plan));
  EXPECT_LE(plan.zone("big")->nodes.size(), 4);
  EXPECT_LE(plan.zone("small")->nodes.size(), 4);
  PlannerOptions loose;
  loose.max_nodes_per_partition = 1000;
  Plan fine = planOrDie(m, s, loose);
  EXPECT_TRUE(planHolds(m, s, fine));
  // Without the cap the planner goes for less waste with smaller nodes.
  EXPECT_LE(fine.waste_bytes, plan.waste_bytes);
  EXPECT_GT(fine.nodes_per_physical, plan.nodes_per_physical);
}

TEST(PlannerTest, WarnsWhenNoNodeCountKeepsAPartitionUnderTheCap) {
  Machine m = machine(1, 4 * kGiB);
  Spec s = spec(512 * kMiB, 0, {partition("big", 3 * kGiB)});
  s.machine.node_size_bytes = 128 * kMiB;
  Plan plan = planOrDie(m, s);
  const PlannedZone& big = *plan.zone("big");
  EXPECT_GT(big.nodes.size(), kDefaultMaxNodesPerPartition);
  EXPECT_THAT(big.warnings, ::testing::Contains(HasSubstr("a larger node_size would avoid it")));
}

TEST(PlannerTest, CpuListsAreTakenAsGiven) {
  Machine m = machine(2, 2 * kGiB);
  Spec s = spec(512 * kMiB, 0, {partition("web", 512 * kMiB), partition("db", 512 * kMiB, 2)});
  s.partitions[0].cpu_list = NodeSet::parse("0-1").value();
  Plan plan = planOrDie(m, s);
  EXPECT_TRUE(planHolds(m, s, plan));
  EXPECT_EQ(plan.zone("web")->cpus.format(), "0-1");
  // db is on physical node 0 too; it gets the package's next free CPUs, not web's.
  EXPECT_EQ(plan.zone("db")->cpus.format(), "2-3");
  EXPECT_EQ(plan.zone("system")->cpus.format(), "4-7");
}

TEST(PlannerTest, CpuListNotOnTheMachineIsBadInput) {
  Spec s = spec(512 * kMiB, 0, {partition("web", 512 * kMiB)});
  s.file_name = "web.ini";
  s.partitions[0].cpu_list = NodeSet::parse("2-9").value();
  s.partitions[0].cpus_line = 7;
  auto plan = planZones(machine(2, 2 * kGiB), s);
  ASSERT_FALSE(plan);
  EXPECT_TRUE(plan.error().isBadInput());
  EXPECT_EQ(
      plan.error().message(),
      "web.ini:7: [partition.web] cpus = 2-9: CPU 8 is not on this machine (it has CPUs 0-7)");
}

TEST(PlannerTest, TooFewCpusOnThePackageAreSharedWithAWarning) {
  Machine m = machine(2, 2 * kGiB, 2);
  Spec s = spec(512 * kMiB, 0, {partition("a", 256 * kMiB, 2), partition("b", 128 * kMiB, 1)});
  Plan plan = planOrDie(m, s);
  EXPECT_TRUE(planHolds(m, s, plan));
  const PlannedZone& b = *plan.zone("b");
  EXPECT_EQ(b.cpus.size(), 1);
  EXPECT_THAT(b.warnings, ::testing::Contains(HasSubstr("shares CPUs")));
  // The other package is untouched and goes to the host.
  EXPECT_EQ(plan.zone("system")->cpus.format(), "2-3");
}

TEST(PlannerTest, AllCpusTakenLeavesTheHostSharingWithAWarning) {
  Machine m = machine(1, 2 * kGiB, 2);
  Spec s = spec(512 * kMiB, 0, {partition("a", 256 * kMiB, 2)});
  Plan plan = planOrDie(m, s);
  const PlannedZone& system = *plan.zone("system");
  EXPECT_EQ(system.cpus.format(), "0-1");
  EXPECT_THAT(system.warnings, ElementsAre(HasSubstr("partitions took every CPU")));
}

TEST(PlannerTest, MoreCpusThanTheMachineHasIsInfeasible) {
  EXPECT_EQ(infeasibleMessage(machine(1, 2 * kGiB, 4),
                              spec(512 * kMiB, 0, {partition("a", 256 * kMiB, 6)})),
            "partition a asks for 6 CPUs; the machine has 4");
}

TEST(PlannerTest, MinAndMaxAreCarriedAndAnUnreachableMaxIsWarned) {
  Machine m = machine(1, 4 * kGiB);
  Spec s = spec(512 * kMiB, 0, {partition("web", kGiB)});
  s.partitions[0].min_bytes = 512 * kMiB;
  s.partitions[0].max_bytes = 64 * kGiB;
  s.partitions[0].mem_hardwall = true;
  Plan plan = planOrDie(m, s);
  const PlannedZone& web = *plan.zone("web");
  EXPECT_EQ(web.min_bytes, 512 * kMiB);
  EXPECT_EQ(web.max_bytes, 64 * kGiB);
  EXPECT_TRUE(web.mem_hardwall);
  EXPECT_THAT(web.warnings, ElementsAre(StartsWith("max 64G is more than the free pool could")));
}

TEST(PlannerTest, TheFileOrderOfPartitionsDoesNotChangeThePlacement) {
  Machine m = machine(2, 8 * kGiB);
  std::vector<PartitionSpec> parts = {partition("a", kGiB, 1), partition("b", 2 * kGiB, 1),
                                      partition("c", kGiB, 1), partition("d", 3 * kGiB, 1)};
  Plan forward = planOrDie(m, spec(kGiB, 512 * kMiB, parts));
  std::reverse(parts.begin(), parts.end());
  Plan backward = planOrDie(m, spec(kGiB, 512 * kMiB, parts));
  for (const std::string name : {"a", "b", "c", "d", "system", "shared", "free"}) {
    EXPECT_EQ(forward.zone(name)->nodes, backward.zone(name)->nodes) << name;
    EXPECT_EQ(forward.zone(name)->cpus, backward.zone(name)->cpus) << name;
  }
}

// Machines from a 1 GiB guest to a 4 TiB server, with specs scaled to them.
struct MachineCase {
  const char* label;
  int physical;
  uint64_t mem_each;
};

void PrintTo(const MachineCase& test, std::ostream* out) { *out << test.label; }

class SyntheticMachineTest : public ::testing::TestWithParam<MachineCase> {};

TEST_P(SyntheticMachineTest, PlansAScaledSpec) {
  const MachineCase& c = GetParam();
  Machine m = machine(c.physical, c.mem_each, 8);
  uint64_t total = c.mem_each * static_cast<uint64_t>(c.physical);
  std::vector<PartitionSpec> parts;
  for (int i = 0; i < 6; ++i) {
    parts.push_back(
        partition(testing::numbered("p", i), total / 16 + static_cast<uint64_t>(i) * kMiB, i % 3));
  }
  Spec s = spec(std::min(total / 8, c.mem_each / 4), total / 32, parts);
  Plan plan = planOrDie(m, s);
  EXPECT_TRUE(planHolds(m, s, plan));
  for (const PartitionSpec& p : parts) {
    // Each fits on one physical node here, so each is local.
    EXPECT_TRUE(plan.zone(p.name)->local) << p.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, SyntheticMachineTest,
                         ::testing::Values(MachineCase{"guest_1g", 1, kGiB},
                                           MachineCase{"two_socket_guest_2g", 2, kGiB},
                                           MachineCase{"four_socket_64g", 4, 16 * kGiB},
                                           MachineCase{"eight_socket_1t", 8, 128 * kGiB},
                                           MachineCase{"four_socket_4t", 4, kTiB},
                                           MachineCase{"eight_socket_4t", 8, 512 * kGiB}),
                         [](const auto& test) { return std::string(test.param.label); });

TEST(PlannerTest, UpTo1024NodesAnd256Partitions) {
  Machine m = machine(4, 256 * kGiB, 32);
  std::vector<PartitionSpec> parts;
  for (int i = 0; i < 256; ++i) {
    parts.push_back(partition(testing::numbered("p", i),
                              2 * kGiB + static_cast<uint64_t>(i % 7) * 100 * kMiB,
                              i % 4 == 0 ? 1 : 0));
  }
  Spec s = spec(8 * kGiB, 16 * kGiB, parts);
  Plan chosen = planOrDie(m, s);  // evaluates every N up to 256 per physical node
  EXPECT_TRUE(planHolds(m, s, chosen));
  s.machine.node_size_bytes = kGiB;
  Plan plan = planOrDie(m, s);
  EXPECT_TRUE(planHolds(m, s, plan));
  EXPECT_EQ(plan.node_count, 1024);
  EXPECT_EQ(formatKernelCmdline(plan), "numa=fake=256U");
  EXPECT_LE(chosen.waste_bytes, plan.waste_bytes);
}

TEST(PlannerTest, ManySmallPartitionsOnASmallMachine) {
  Machine m = machine(1, 16 * kGiB);
  std::vector<PartitionSpec> parts;
  for (int i = 0; i < 256; ++i) parts.push_back(partition(testing::numbered("p", i), 24 * kMiB));
  Spec s = spec(512 * kMiB, 0, parts);
  Plan plan = planOrDie(m, s);
  EXPECT_TRUE(planHolds(m, s, plan));
  // Only 32M nodes (30.08M usable) give each its own node: "N" rounds down to 32M from N = 257
  // on, and the smallest N with room for 18 reserve nodes and 256 partition nodes wins.
  EXPECT_EQ(plan.node_size_bytes, 32 * kMiB);
  EXPECT_EQ(plan.nodes_per_physical, 18 + 256);
  for (const PartitionSpec& p : parts) EXPECT_EQ(plan.zone(p.name)->nodes.size(), 1);
}

TEST(PlannerTest, LowerBoundIsExactRoundingOnEqualNodes) {
  // One N, equal nodes: waste is what rounding up to whole nodes costs, and no N does better.
  Machine m = machine(1, 4 * kGiB);
  Spec s = spec(kGiB, 0, {partition("a", kGiB), partition("b", kGiB)});
  PlannerOptions no_margin;
  no_margin.size_margin = 0;
  Plan plan = planOrDie(m, s, no_margin);
  EXPECT_EQ(plan.waste_bytes, 0u);
  EXPECT_EQ(plan.waste_lower_bound_bytes, 0u);
}

TEST(PlannerTest, BadOptionsAndMachinesAreBadInput) {
  Spec s = spec(512 * kMiB, 0, {partition("a", kGiB)});
  PlannerOptions options;
  options.size_margin = 1.5;
  EXPECT_TRUE(planZones(machine(1, 4 * kGiB), s, options).error().isBadInput());
  options = {};
  options.max_nodes_per_partition = 0;
  EXPECT_TRUE(planZones(machine(1, 4 * kGiB), s, options).error().isBadInput());
  EXPECT_TRUE(planZones(Machine{}, s).error().isBadInput());
  Spec reserved = spec(512 * kMiB, 0, {partition("free", kGiB)});
  EXPECT_TRUE(planZones(machine(1, 4 * kGiB), reserved).error().isBadInput());
  Spec twice = spec(512 * kMiB, 0, {partition("a", kGiB), partition("a", kGiB)});
  EXPECT_TRUE(planZones(machine(1, 4 * kGiB), twice).error().isBadInput());
}

TEST(PlannerTest, MachineTooSmallToSplit) {
  EXPECT_EQ(infeasibleMessage(machine(1, 16 * kMiB), spec(0, 0, {partition("a", kMiB)})),
            "the machine cannot be split: 1 physical node, the kernel allows 1024 nodes of at "
            "least 32M each");
}

TEST(PlanFormatTest, KernelCmdlineAndGrubDropIn) {
  Spec s = spec(512 * kMiB, 0, {partition("web", kGiB)});
  s.machine.node_size_bytes = 512 * kMiB;
  Plan plan = planOrDie(machine(1, 4 * kGiB), s);
  EXPECT_EQ(formatKernelCmdline(plan), "numa=fake=8");
  std::string grub = formatGrubDropIn(plan);
  EXPECT_THAT(grub, StartsWith("# /etc/default/grub.d/softzone.cfg"));
  EXPECT_THAT(grub, HasSubstr("\nGRUB_CMDLINE_LINUX_DEFAULT=\"${GRUB_CMDLINE_LINUX_DEFAULT} "
                              "numa=fake=8\"\n"));
  // Every line but the setting is a comment, so grub-mkconfig sources nothing else.
  size_t settings = 0;
  size_t start = 0;
  while (start < grub.size()) {
    size_t end = grub.find('\n', start);
    std::string line = grub.substr(start, end - start);
    if (line.rfind('#', 0) != 0) ++settings;
    start = end + 1;
  }
  EXPECT_EQ(settings, 1u);
}

TEST(PlanFormatTest, TextTable) {
  Machine m = machine(2, 2 * kGiB);
  Spec s = spec(512 * kMiB, 256 * kMiB, {partition("web", kGiB, 2)});
  s.shared.bind_paths = {"/lib", "/usr/lib"};
  Plan plan = planOrDie(m, s);
  std::string text = formatPlanText(plan);
  EXPECT_THAT(text, StartsWith("numa=fake=" + plan.fake_numa_arg + ": "));
  EXPECT_THAT(text, HasSubstr("ZONE    NODES"));
  EXPECT_THAT(text, HasSubstr("CAPACITY  REQUESTED  CPUS"));
  EXPECT_THAT(text, HasSubstr("bind /lib /usr/lib"));
  EXPECT_THAT(text, HasSubstr("\nweb "));
  EXPECT_THAT(text, HasSubstr("free pool by physical node: 0: "));
  EXPECT_THAT(text, HasSubstr("waste: "));
  EXPECT_THAT(text, HasSubstr("\nkernel parameter: numa=fake=" + plan.fake_numa_arg + "\n"));
}

TEST(PlanFormatTest, Json) {
  Machine m = machine(2, 2 * kGiB);
  Spec s = spec(512 * kMiB, 256 * kMiB, {partition("web", kGiB, 2)});
  s.partitions[0].max_bytes = 2 * kGiB;
  Plan plan = planOrDie(m, s);
  nlohmann::json json = planToJson(plan);
  EXPECT_EQ(json["kernel_cmdline"], formatKernelCmdline(plan));
  EXPECT_EQ(json["fake_numa_kind"], "per_physical");
  EXPECT_EQ(json["node_count"], plan.node_count);
  EXPECT_EQ(json["nodes"].size(), static_cast<size_t>(plan.node_count));
  EXPECT_EQ(json["nodes"][0]["zone"], "system");
  EXPECT_EQ(json["physical_nodes"].size(), 2u);
  ASSERT_EQ(json["zones"].size(), 4u);
  const nlohmann::json& web = json["zones"][2];
  EXPECT_EQ(web["name"], "web");
  EXPECT_EQ(web["kind"], "partition");
  EXPECT_EQ(web["requested_bytes"], kGiB);
  EXPECT_EQ(web["max_bytes"], 2 * kGiB);
  EXPECT_TRUE(web["min_bytes"].is_null());
  EXPECT_EQ(web["cpus"], plan.zone("web")->cpus.format());
  EXPECT_TRUE(json["waste_lower_bound_bytes"].is_number_unsigned());
}

TEST(PlanFormatTest, ReadableSizes) {
  EXPECT_EQ(readableSize(4608 * kMiB), "4.5G");
  EXPECT_EQ(readableSize(1280 * kMiB), "1.25G");
  EXPECT_EQ(readableSize(4 * kGiB), "4G");
  EXPECT_EQ(readableSize(1000 * kMiB), "1000M");
  EXPECT_EQ(readableSize(0), "0");
  EXPECT_EQ(readableSize(3 * kTiB / 2), "1.5T");
  // Not exact in hundredths: rounded to them in the same unit style, never a long K count
  // ("24683748K" next to "22.13G" in one message, "94784K" under ">= 60.16M" in verify's table).
  EXPECT_EQ(readableSize(24683748 * kKiB), "23.54G");
  EXPECT_EQ(readableSize(94784 * kKiB), "92.56M");
  EXPECT_EQ(readableSize(kGiB - kKiB), "1.00G");  // 1023.999M rounds into the next unit
}

TEST(MachineFromTopologyTest, GroupsPhysicalNodesAndReadsTheKernelLimit) {
  zones::Topology topology;
  topology.config.nodes_shift = 6;
  zones::PhysicalNode first;
  first.id = 0;
  first.mem_total_bytes = 2 * kGiB;
  first.cpus = NodeSet::range(0, 3);
  zones::PhysicalNode memoryless;
  memoryless.id = 4;
  memoryless.cpus = NodeSet::range(4, 5);
  zones::PhysicalNode second;
  second.id = 5;
  second.mem_total_bytes = kGiB;
  second.cpus = NodeSet::range(6, 7);
  topology.physical_nodes = {first, memoryless, second};
  Machine m = machineFromTopology(topology);
  EXPECT_EQ(m.max_nodes, 64);
  ASSERT_EQ(m.physical_nodes.size(), 2u);
  EXPECT_EQ(m.physical_nodes[1].id, 5);
  EXPECT_EQ(m.physical_nodes[1].mem_bytes, kGiB);
  EXPECT_EQ(m.physical_nodes[1].cpus.format(), "6-7");

  zones::Topology flat;
  flat.mem_total_bytes = 4 * kGiB;
  flat.cpus = NodeSet::range(0, 1);
  Machine one = machineFromTopology(flat);
  ASSERT_EQ(one.physical_nodes.size(), 1u);
  EXPECT_EQ(one.max_nodes, kMaxFakeNodes);
}

}  // namespace
}  // namespace softzone::planner

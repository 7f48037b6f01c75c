// Property tests: thousands of random machines and specs from a fixed seed, each plan checked.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <random>

#include "plan_checks.h"
#include "softzone/planner/plan.h"

namespace softzone::planner {
namespace {

using testing::partition;
using testing::planHolds;

constexpr uint32_t kSeed = 20070101;  // fixed: a failure replays exactly
constexpr int kCases = 2000;

class RandomCase {
 public:
  explicit RandomCase(uint32_t seed) : rng_(seed) {}

  int between(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }

  // Log-uniform between lo and hi, whole MiB: specs mix tiny and huge sizes.
  uint64_t size(uint64_t lo, uint64_t hi) {
    double x = std::uniform_real_distribution<double>(std::log(static_cast<double>(lo)),
                                                      std::log(static_cast<double>(hi)))(rng_);
    return std::max<uint64_t>(kMiB, static_cast<uint64_t>(std::exp(x)) / kMiB * kMiB);
  }

  Machine machine() {
    static constexpr int kPhysical[] = {1, 1, 2, 4, 8};
    static constexpr int kMaxNodes[] = {1024, 1024, 256, 64};
    Machine m;
    int physical = kPhysical[between(0, 4)];
    m.max_nodes = kMaxNodes[between(0, 3)];
    uint64_t mem = size(512 * kMiB, 512 * kGiB);
    bool unequal = chance(0.3);
    int cpus = between(0, 16);
    int next_cpu = 0;
    for (int p = 0; p < physical; ++p) {
      uint64_t bytes = unequal ? size(256 * kMiB, 512 * kGiB) : mem;
      NodeSet set = cpus > 0 ? NodeSet::range(next_cpu, next_cpu + cpus - 1) : NodeSet{};
      next_cpu += cpus;
      m.physical_nodes.push_back({p, bytes, set});
    }
    return m;
  }

  Spec spec(const Machine& m) {
    uint64_t total = 0;
    for (const PhysicalNodeInfo& p : m.physical_nodes) total += p.mem_bytes;
    Spec s;
    s.machine.reserve_bytes = chance(0.1) ? 0 : size(kMiB, std::max(2 * kMiB, total / 8));
    s.shared.size_bytes = chance(0.5) ? 0 : size(kMiB, std::max(2 * kMiB, total / 16));
    if (chance(0.1)) s.machine.node_size_bytes = size(16 * kMiB, total);
    int image = between(0, 9);  // none (nokaslr), the default, or anything up to 256M
    s.machine.kernel_image_bytes = image < 4   ? 0
                                   : image < 8 ? kDefaultKernelImageBytes
                                               : size(kMiB, 256 * kMiB);
    int count = chance(0.05) ? between(100, 256) : between(1, 24);
    int all_cpus = m.allCpus().size();
    for (int i = 0; i < count; ++i) {
      uint64_t fair = std::max(2 * kMiB, total / static_cast<uint64_t>(count));
      PartitionSpec p = partition(testing::numbered("p", i), size(kMiB, fair * 3 / 2));
      int cpu_kind = between(0, 2);
      if (cpu_kind == 1 && all_cpus > 0) p.cpu_count = between(1, std::min(all_cpus, 4));
      if (cpu_kind == 2 && all_cpus > 0) {
        int first = between(0, all_cpus - 1);
        p.cpu_list = NodeSet::range(first, std::min(all_cpus - 1, first + between(0, 3)));
      }
      if (chance(0.3)) p.min_bytes = p.memory_bytes / 2;
      if (chance(0.3)) p.max_bytes = p.memory_bytes * 2;
      s.partitions.push_back(std::move(p));
    }
    return s;
  }

  PlannerOptions options() {
    static constexpr double kMargins[] = {0, 0.06, 0.06, 0.2};
    static constexpr int kCaps[] = {1, 4, 8, 8, 64};
    PlannerOptions o;
    o.size_margin = kMargins[between(0, 3)];
    o.max_nodes_per_partition = kCaps[between(0, 4)];
    return o;
  }

 private:
  std::mt19937 rng_;
};

TEST(PlannerPropertyTest, EveryPlanHoldsAndEveryRefusalIsInfeasible) {
  RandomCase random(kSeed);
  int planned = 0;
  for (int i = 0; i < kCases; ++i) {
    Machine m = random.machine();
    Spec s = random.spec(m);
    PlannerOptions options = random.options();
    auto plan = planZones(m, s, options);
    if (plan) {
      ++planned;
      ASSERT_TRUE(planHolds(m, s, *plan)) << "case " << i;
    } else {
      // Never bad input for a well-formed spec, never a plan with a short partition.
      ASSERT_EQ(plan.error().code(), make_error_code(Errc::kInfeasible))
          << "case " << i << ": " << plan.error().message();
      ASSERT_FALSE(plan.error().message().empty());
    }
  }
  // The generator must exercise both outcomes, or the test proves little.
  EXPECT_GT(planned, kCases / 4);
  EXPECT_LT(planned, kCases);
}

// Completeness on machines the test can lay out itself: every physical node holds exactly
// `n` nodes of `node` bytes (a multiple of 32M), so both kernel forms make n equal nodes. When the
// zones fit in whole nodes of that size, the planner must find a plan.
TEST(PlannerPropertyTest, FindsAPlanWheneverAKnownSplitFits) {
  RandomCase random(kSeed + 1);
  int checked = 0;
  for (int i = 0; i < kCases / 4; ++i) {
    int physical = std::array<int, 4>{1, 2, 4, 8}[static_cast<size_t>(random.between(0, 3))];
    int n = random.between(1, 1024 / physical);
    uint64_t node = static_cast<uint64_t>(random.between(1, 64)) * kFakeNodeMinBytes;
    Machine m = testing::machine(physical, node * static_cast<uint64_t>(n), 4);
    uint64_t usable = node * 94 / 100;  // the default 6% margin, rounded down as the planner does
    Spec s = random.spec(m);
    s.machine.node_size_bytes.reset();
    for (PartitionSpec& p : s.partitions) p.cpu_list.reset();
    uint64_t image = s.machine.kernel_image_bytes;
    auto nodesFor = [&](uint64_t bytes) { return (bytes + image + usable - 1) / usable; };
    uint64_t needed = std::max<uint64_t>(1, nodesFor(s.machine.reserve_bytes));
    bool fits = needed <= static_cast<uint64_t>(n);
    for (const PartitionSpec& p : s.partitions) needed += nodesFor(p.memory_bytes);
    if (s.shared.size_bytes > 0) needed += nodesFor(s.shared.size_bytes);
    fits = fits && needed <= static_cast<uint64_t>(n * physical);
    if (!fits) continue;
    ++checked;
    auto plan = planZones(m, s);
    ASSERT_TRUE(plan) << "case " << i << ": " << plan.error().message();
    ASSERT_TRUE(planHolds(m, s, *plan)) << "case " << i;
  }
  RecordProperty("checked", checked);
  EXPECT_GT(checked, kCases / 20);
}

TEST(PlannerPropertyTest, PlansAreDeterministicAndIgnoreFileOrder) {
  RandomCase random(kSeed + 2);
  for (int i = 0; i < kCases / 10; ++i) {
    Machine m = random.machine();
    Spec s = random.spec(m);
    auto first = planZones(m, s);
    std::reverse(s.partitions.begin(), s.partitions.end());
    auto second = planZones(m, s);
    ASSERT_EQ(first.has_value(), second.has_value()) << "case " << i;
    if (!first) continue;
    ASSERT_EQ(first->fake_numa_arg, second->fake_numa_arg) << "case " << i;
    for (const PlannedZone& zone : first->zones) {
      const PlannedZone* other = second->zone(zone.name);
      ASSERT_NE(other, nullptr);
      ASSERT_EQ(zone.nodes, other->nodes) << "case " << i << " zone " << zone.name;
    }
  }
}

}  // namespace
}  // namespace softzone::planner

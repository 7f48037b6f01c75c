// Tests for the partition logic that needs no kernel: choosing nodes by size, ordering apply's
// actions, the journal's format, the cgroup backends and FsRoot's changing operations on fake
// trees.
#include "softzone/cpuset/partitions.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "softzone/zones/size.h"
#include "support/run_zonectl.h"

namespace softzone::cpuset {
namespace {

using ::softzone::testing::FakeTree;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

NodeSet nodes(std::string_view text) { return NodeSet::parse(text).value(); }

const CgroupChoice kV2{CgroupVersion::kV2, "/sys/fs/cgroup"};

std::vector<NodeCapacity> capacities(std::string_view ids, uint64_t bytes) {
  std::vector<NodeCapacity> out;
  for (int id : nodes(ids).ids()) out.push_back({id, bytes});
  return out;
}

// --- choosing nodes ---

TEST(PickNodesForSize, ShortestRunOfConsecutiveNodes) {
  // 100M nodes give 94M usable: 150M needs two; 1-2 is the first consecutive pair.
  EXPECT_EQ(pickNodesForSize(capacities("1-2,4", 100 * kMiB), 150 * kMiB).value(), nodes("1-2"));
  EXPECT_EQ(pickNodesForSize(capacities("1,3-4", 100 * kMiB), 150 * kMiB).value(), nodes("3-4"));
  EXPECT_EQ(pickNodesForSize(capacities("1-7", 100 * kMiB), 90 * kMiB).value(), nodes("1"));
}

TEST(PickNodesForSize, ScatteredNodesWhenNoRunHolds) {
  EXPECT_EQ(pickNodesForSize(capacities("1,3,5", 100 * kMiB), 150 * kMiB).value(), nodes("1,3"));
}

TEST(PickNodesForSize, TooLittleFreeIsInfeasible) {
  auto picked = pickNodesForSize(capacities("1-2", 100 * kMiB), 190 * kMiB);
  ASSERT_FALSE(picked);
  EXPECT_EQ(picked.error().exitStatus(), 1);
  EXPECT_THAT(picked.error().message(), HasSubstr("less than the 190M asked for"));
  EXPECT_TRUE(pickNodesForSize(capacities("1", 100 * kMiB), 0).error().isBadInput());
}

TEST(ResizeNodesForSize, GrowsOntoNearestFreeNodesShrinksFromTheTop) {
  auto all = capacities("0-7", 100 * kMiB);
  // 1 and 6 are both two ids away: the lower wins the tie.
  EXPECT_EQ(resizeNodesForSize(nodes("3-4"), all, nodes("1,6-7"), 250 * kMiB).value().format(),
            "1,3-4");
  EXPECT_EQ(resizeNodesForSize(nodes("3-4"), all, nodes("0,6-7"), 250 * kMiB).value().format(),
            "3-4,6");
  EXPECT_EQ(resizeNodesForSize(nodes("3-5"), all, nodes("1"), 90 * kMiB).value(), nodes("3"));
  EXPECT_FALSE(resizeNodesForSize(nodes("3"), all, nodes("1"), 300 * kMiB));
}

// --- apply's order ---

MachineZones liveZones(const std::vector<CgroupSnapshot>& cgroups) {
  StateFile state;
  state.cgroup_version = "v2";
  state.mount_point = "/sys/fs/cgroup";
  state.parent = "softzone";
  state.system = {nodes("0"), nodes("0-3"), {}};
  for (const CgroupSnapshot& cgroup : cgroups) {
    state.putPartition({cgroup.name, cgroup.mems, NodeSet(), {}, {}, false});
  }
  return buildMachineZones(kV2, "softzone", state, cgroups, nodes("0-7"), nodes("0-3"));
}

DesiredZones desired(std::vector<DesiredPartition> partitions) {
  DesiredZones out;
  out.system = {nodes("0"), nodes("0-3"), {}};
  out.partitions = std::move(partitions);
  return out;
}

std::vector<std::string> verbs(const ApplyPlan& plan) {
  std::vector<std::string> out;
  for (const ApplyAction& action : plan.actions) {
    out.push_back(action.verb + " " + action.target.name + " " + action.target.nodes.format());
  }
  return out;
}

TEST(PlanApply, NothingToDoWhenLiveMatches) {
  MachineZones zones = liveZones({{"web", nodes("2-3"), nodes("0-3"), false}});
  auto plan = planApply(zones, desired({{"web", nodes("2-3"), NodeSet(), {}, {}, false}}), false);
  ASSERT_TRUE(plan) << plan.error().describe();
  EXPECT_TRUE(plan->actions.empty());
  EXPECT_FALSE(plan->zones_change);
}

TEST(PlanApply, ShrinksBeforeGrowingSwapsThroughAShrink) {
  // web 2-3 -> 4-5 and db 4-5 -> 2-3: each needs the other's nodes; neither can move first,
  // and neither keeps a node, so there is no order.
  MachineZones zones = liveZones(
      {{"db", nodes("4-5"), nodes("0-3"), false}, {"web", nodes("2-3"), nodes("0-3"), false}});
  auto swap = planApply(zones,
                        desired({{"web", nodes("4-5"), NodeSet(), {}, {}, false},
                                 {"db", nodes("2-3"), NodeSet(), {}, {}, false}}),
                        false);
  ASSERT_FALSE(swap);
  EXPECT_THAT(swap.error().message(), HasSubstr("cannot order"));
  // web 2-3 -> 3-4 and db 4-5 -> 5-6 (6 free): db goes first, then web.
  auto shift = planApply(zones,
                         desired({{"web", nodes("3-4"), NodeSet(), {}, {}, false},
                                  {"db", nodes("5-6"), NodeSet(), {}, {}, false}}),
                         false);
  ASSERT_TRUE(shift) << shift.error().describe();
  EXPECT_THAT(verbs(*shift), ElementsAre("resize db 5-6", "resize web 3-4"));
  // web 2-3 -> 3-4 and db 4-5 -> 2,5: a cycle broken by shrinking both to what they keep.
  auto cycle = planApply(zones,
                         desired({{"web", nodes("3-4"), NodeSet(), {}, {}, false},
                                  {"db", nodes("2,5"), NodeSet(), {}, {}, false}}),
                         false);
  ASSERT_TRUE(cycle) << cycle.error().describe();
  EXPECT_THAT(verbs(*cycle),
              ElementsAre("shrink web 3", "shrink db 5", "resize web 3-4", "resize db 2,5"));
}

TEST(PlanApply, PartitionsTheSpecLacksArePrunedOrKept) {
  MachineZones zones = liveZones({{"old", nodes("6"), nodes("0-3"), false}});
  auto kept = planApply(zones, desired({{"web", nodes("2-3"), NodeSet(), {}, {}, false}}), false);
  ASSERT_TRUE(kept);
  EXPECT_THAT(kept->kept, ElementsAre("old"));
  EXPECT_THAT(verbs(*kept), ElementsAre("create web 2-3"));
  auto clash = planApply(zones, desired({{"web", nodes("5-6"), NodeSet(), {}, {}, false}}), false);
  ASSERT_FALSE(clash);
  EXPECT_TRUE(clash.error().isBadInput());
  EXPECT_THAT(clash.error().message(), HasSubstr("--prune"));
  auto pruned = planApply(zones, desired({{"web", nodes("5-6"), NodeSet(), {}, {}, false}}), true);
  ASSERT_TRUE(pruned);
  EXPECT_THAT(verbs(*pruned), ElementsAre("destroy old ", "create web 5-6"));
}

TEST(PlanApply, CpusAndLimitsAreAnUpdate) {
  MachineZones zones = liveZones({{"web", nodes("2-3"), nodes("0-3"), false}});
  auto plan =
      planApply(zones, desired({{"web", nodes("2-3"), nodes("1"), 1 * kGiB, {}, false}}), false);
  ASSERT_TRUE(plan);
  EXPECT_THAT(verbs(*plan), ElementsAre("update web 2-3"));
}

// --- the journal ---

TEST(Journal, RoundTripsAndRefusesDamage) {
  JournalEntry entry{"resize",
                     {{"name", "web"}, {"from", "2-3"}, {"to", "2"}},
                     "migrate",
                     "system.slice/sz.service"};
  auto parsed = parseJournal(formatJournal(entry));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->op, "resize");
  EXPECT_EQ(parsed->step, "migrate");
  EXPECT_EQ(parsed->args, entry.args);
  EXPECT_EQ(parsed->parent, "system.slice/sz.service");
  EXPECT_EQ(parseJournal(R"({"op": "x", "args": {}, "step": ""})").value().parent, "");
  for (const char* text : {"", "[]", R"({"op": 1})", R"({"op": "x", "args": {}})",
                           R"({"op": "x", "args": {}, "step": "", "parent": "/abs"})",
                           R"({"op": "x", "args": {}, "step": "", "parent": "a/../b"})",
                           R"({"op": "x", "args": {}, "step": "", "parent": 7})"}) {
    auto bad = parseJournal(text);
    ASSERT_FALSE(bad) << text;
    EXPECT_EQ(bad.error().code(), make_error_code(Errc::kMismatch));
  }
}

TEST(Journal, WrittenReadAndClearedThroughTheRoot) {
  FakeTree tree;
  FsRoot fs = tree.open();
  EXPECT_FALSE(readJournalAt(fs).value().has_value());
  ASSERT_TRUE(writeJournalAt(fs, JournalEntry{"destroy", {{"name", "db"}}, "", ""}));
  auto read = readJournalAt(fs);
  ASSERT_TRUE(read && read->has_value());
  EXPECT_EQ((*read)->op, "destroy");
  ASSERT_TRUE(clearJournalAt(fs));
  ASSERT_TRUE(clearJournalAt(fs));  // nothing to clear is fine
  EXPECT_FALSE(std::filesystem::exists(tree.hostPath("/run/softzone/journal.json")));
  auto lock = OpLock::acquire(fs);
  EXPECT_TRUE(lock);
  EXPECT_TRUE(std::filesystem::exists(tree.hostPath("/run/softzone/lock")));
}

// --- backends on fake trees ---

class BackendTest : public ::testing::Test {
 protected:
  FakeTree tree_;
};

TEST_F(BackendTest, V2PrepareParentEnablesCpusetDownThePath) {
  tree_.put("/sys/fs/cgroup/cgroup.subtree_control", "memory\n");
  FsRoot fs = tree_.open();
  auto backend = CgroupBackend::open(fs, kV2);
  ASSERT_TRUE(backend);
  EXPECT_EQ((*backend)->version(), CgroupVersion::kV2);
  ASSERT_TRUE((*backend)->prepareParent("a/b"));
  // The root already had a subtree_control without cpuset: "+cpuset" was written to it.
  EXPECT_EQ(::softzone::tools::slurp(tree_.hostPath("/sys/fs/cgroup/cgroup.subtree_control")),
            "+cpuset\n");
  EXPECT_EQ(::softzone::tools::slurp(tree_.hostPath("/sys/fs/cgroup/a/b/cgroup.subtree_control")),
            "+cpuset\n");
  ASSERT_TRUE((*backend)->createCgroup("a/b/web", CgroupSettings{nodes("2-3"), NodeSet(), false}));
  EXPECT_EQ((*backend)->readMems("a/b/web").value(), nodes("2-3"));
  EXPECT_TRUE((*backend)->readCpus("a/b/web").value().empty());
  EXPECT_EQ((*backend)->createCgroup("a/b/web", {nodes("2"), {}, false}).error().code(),
            std::errc::file_exists);
  EXPECT_FALSE((*backend)->setMemoryMigrate("a/b/web", false));
  ASSERT_TRUE((*backend)->removeCgroup("a/b/web"));
  EXPECT_FALSE((*backend)->exists("a/b/web"));
}

TEST_F(BackendTest, V1NewLevelsGetTheirParentsCpusAndMems) {
  tree_.put("/sys/fs/cgroup/cpuset/cpuset.cpus", "0-3\n");
  tree_.put("/sys/fs/cgroup/cpuset/cpuset.mems", "0-7\n");
  FsRoot fs = tree_.open();
  auto backend = CgroupBackend::open(fs, {CgroupVersion::kV1, "/sys/fs/cgroup/cpuset"});
  ASSERT_TRUE(backend);
  ASSERT_TRUE((*backend)->prepareParent("softzone"));
  EXPECT_EQ((*backend)->readMems("softzone").value(), nodes("0-7"));
  ASSERT_TRUE((*backend)->createCgroup("softzone/db", {nodes("4"), NodeSet(), true}));
  EXPECT_EQ((*backend)->readCpus("softzone/db").value(), nodes("0-3"));
  EXPECT_TRUE((*backend)->readMemHardwall("softzone/db").value());
  std::string migrate = tree_.hostPath("/sys/fs/cgroup/cpuset/softzone/db/cpuset.memory_migrate");
  EXPECT_EQ(::softzone::tools::slurp(migrate), "1\n");
}

// A delegated path another tool made but left empty (v1 cpusets start with no CPUs or nodes):
// the empty levels are filled from above, a filled one is left as it is.
TEST_F(BackendTest, V1EmptyExistingLevelsAreFilledFilledOnesKept) {
  tree_.put("/sys/fs/cgroup/cpuset/cpuset.cpus", "0-3\n");
  tree_.put("/sys/fs/cgroup/cpuset/cpuset.mems", "0-7\n");
  tree_.put("/sys/fs/cgroup/cpuset/system.slice/cpuset.cpus", "\n");
  tree_.put("/sys/fs/cgroup/cpuset/system.slice/cpuset.mems", "\n");
  tree_.put("/sys/fs/cgroup/cpuset/system.slice/sz.service/cpuset.cpus", "1-2\n");
  tree_.put("/sys/fs/cgroup/cpuset/system.slice/sz.service/cpuset.mems", "1-6\n");
  FsRoot fs = tree_.open();
  auto backend = CgroupBackend::open(fs, {CgroupVersion::kV1, "/sys/fs/cgroup/cpuset"});
  ASSERT_TRUE(backend);
  ASSERT_TRUE((*backend)->prepareParent("system.slice/sz.service"));
  EXPECT_EQ((*backend)->readCpus("system.slice").value(), nodes("0-3"));
  EXPECT_EQ((*backend)->readMems("system.slice").value(), nodes("0-7"));
  EXPECT_EQ((*backend)->readCpus("system.slice/sz.service").value(), nodes("1-2"));
  EXPECT_EQ((*backend)->readMems("system.slice/sz.service").value(), nodes("1-6"));
}

TEST_F(BackendTest, V1NoprefixFiles) {
  tree_.put("/sys/fs/cgroup/cpuset/mems", "0-1\n");
  tree_.put("/sys/fs/cgroup/cpuset/cpus", "0\n");
  FsRoot fs = tree_.open();
  auto backend = CgroupBackend::open(fs, {CgroupVersion::kV1, "/sys/fs/cgroup/cpuset"});
  ASSERT_TRUE(backend);
  EXPECT_EQ((*backend)->readMems("").value(), nodes("0-1"));
}

TEST_F(BackendTest, NoSymlinkIsFollowedBelowTheMount) {
  tree_.put("/elsewhere/cpuset.mems", "5\n");
  tree_.mkdir("/sys/fs/cgroup");
  std::filesystem::create_symlink(tree_.hostPath("/elsewhere"),
                                  tree_.hostPath("/sys/fs/cgroup/evil"));
  std::filesystem::create_symlink("../../../elsewhere", tree_.hostPath("/sys/fs/cgroup/rel"));
  FsRoot fs = tree_.open();
  auto backend = CgroupBackend::open(fs, kV2);
  ASSERT_TRUE(backend);
  EXPECT_FALSE((*backend)->readMems("evil"));
  EXPECT_FALSE((*backend)->readMems("rel"));
  EXPECT_FALSE((*backend)->writeMems("evil", nodes("1")));
  EXPECT_EQ(::softzone::tools::slurp(tree_.hostPath("/elsewhere/cpuset.mems")), "5\n");
  EXPECT_THAT((*backend)->listChildren("").value(), ::testing::IsEmpty());
}

// A partition is a subtree: what a container runtime makes below it is walked, parents first,
// without following a symlink out of it.
TEST_F(BackendTest, SubtreeWalksEveryCgroupBelowAPartition) {
  std::string web = "/sys/fs/cgroup/softzone/web";
  tree_.put(web + "/cgroup.procs", "10\n");
  tree_.put(web + "/ctr1/cgroup.procs", "12\n11\n");
  tree_.put(web + "/ctr1/inner/cgroup.procs", "10\n13\n");
  tree_.put(web + "/ctr2/cgroup.procs", "");
  tree_.put("/elsewhere/cgroup.procs", "99\n");
  std::filesystem::create_symlink(tree_.hostPath("/elsewhere"), tree_.hostPath(web + "/evil"));
  FsRoot fs = tree_.open();
  auto backend = CgroupBackend::open(fs, kV2);
  ASSERT_TRUE(backend);
  auto subtree = (*backend)->readSubtree("softzone/web");
  ASSERT_TRUE(subtree) << subtree.error().describe();
  std::vector<std::string> cgroups;
  for (const CgroupTasks& one : *subtree) cgroups.push_back(one.cgroup);
  EXPECT_THAT(cgroups, ElementsAre("softzone/web", "softzone/web/ctr1", "softzone/web/ctr1/inner",
                                   "softzone/web/ctr2"));
  EXPECT_THAT((*subtree)[1].pids, ElementsAre(11, 12));
  EXPECT_THAT((*backend)->readSubtreeProcs("softzone/web").value(), ElementsAre(10, 11, 12, 13));
  EXPECT_THAT((*backend)->readProcs("softzone/web").value(), ElementsAre(10));
}

TEST_F(BackendTest, SubtreeWalkStopsAtItsDepthLimit) {
  std::string path = "/sys/fs/cgroup/softzone/deep";
  for (int level = 0; level <= kMaxSubtreeDepth; ++level) path += "/d";
  tree_.mkdir(path);
  FsRoot fs = tree_.open();
  auto backend = CgroupBackend::open(fs, kV2);
  ASSERT_TRUE(backend);
  auto subtree = (*backend)->readSubtree("softzone/deep");
  ASSERT_FALSE(subtree);
  EXPECT_THAT(subtree.error().message(), HasSubstr("levels"));
}

// v1 wants every child's mems inside its parent's: shrinking writes children first, growing the
// parent first. A child that had the partition's nodes follows them; a narrower one keeps what
// it can.
TEST_F(BackendTest, V1SubtreeMemsFollowThePartitionInTheKernelsOrder) {
  std::string cg = "/sys/fs/cgroup/cpuset/softzone/web";
  tree_.put("/sys/fs/cgroup/cpuset/cpuset.mems", "0-7\n");
  tree_.put(cg + "/cpuset.mems", "2-3\n");
  tree_.put(cg + "/ctr1/cpuset.mems", "2-3\n");
  tree_.put(cg + "/ctr1/inner/cpuset.mems", "2-3\n");
  tree_.put(cg + "/ctr2/cpuset.mems", "3\n");
  FsRoot fs = tree_.open();
  auto backend = CgroupBackend::open(fs, {CgroupVersion::kV1, "/sys/fs/cgroup/cpuset"});
  ASSERT_TRUE(backend);
  auto mems = [&](const std::string& cgroup) {
    return (*backend)->readMems("softzone/web" + cgroup).value().format();
  };
  ASSERT_TRUE((*backend)->writeSubtreeMems("softzone/web", nodes("2-3"), nodes("2-4")));
  EXPECT_EQ(mems(""), "2-4");
  EXPECT_EQ(mems("/ctr1"), "2-4");
  EXPECT_EQ(mems("/ctr1/inner"), "2-4");
  EXPECT_EQ(mems("/ctr2"), "3");
  ASSERT_TRUE((*backend)->writeSubtreeMems("softzone/web", nodes("2-4"), nodes("4")));
  EXPECT_EQ(mems(""), "4");
  EXPECT_EQ(mems("/ctr1"), "4");
  EXPECT_EQ(mems("/ctr1/inner"), "4");
  EXPECT_EQ(mems("/ctr2"), "4");  // nothing of 3 left: all of the partition's
}

TEST(CheckPartitionCgroupName, CgroupfsFileNamesAreRefused) {
  for (const char* name : {"web", "db-1", "a.b", "cpusets", "memoryhog", "io_heavy", "my.memory"}) {
    EXPECT_FALSE(checkPartitionCgroupName(name)) << name;
  }
  for (const char* name : {"tasks", "notify_on_release", "release_agent", "mems", "cpus",
                           "memory_migrate", "cgroup.procs", "cgroup.x", "cpuset.mems",
                           "cpu.weight", "memory.high", "io.max", "pids.max", "hugetlb.2MB"}) {
    auto clash = checkPartitionCgroupName(name);
    ASSERT_TRUE(clash) << name;
    EXPECT_THAT(*clash, HasSubstr("choose another name")) << name;
  }
}

TEST(CheckCgroupPath, RelativeCleanComponents) {
  EXPECT_FALSE(checkCgroupPath("softzone"));
  EXPECT_FALSE(checkCgroupPath("system.slice/softzone.service"));
  for (const char* bad : {"", "/softzone", "a//b", "a/../b", ".", "a/b/", "a b"}) {
    EXPECT_TRUE(checkCgroupPath(bad)) << bad;
  }
}

// --- FsRoot's changing operations ---

TEST(FsRootChanges, MakeDirsReplaceAndRemove) {
  FakeTree tree;
  FsRoot fs = tree.open();
  ASSERT_TRUE(fs.makeDirs("/var/lib/softzone"));
  ASSERT_TRUE(fs.makeDirs("/var/lib/softzone"));  // again: fine
  ASSERT_TRUE(fs.replaceFile("/var/lib/softzone/x", "one"));
  ASSERT_TRUE(fs.replaceFile("/var/lib/softzone/x", "two"));
  EXPECT_EQ(fs.readFile("/var/lib/softzone/x").value(), "two");
  EXPECT_THAT(fs.listDir("/var/lib/softzone").value(), ElementsAre("x"));  // no temporary left
  EXPECT_EQ(fs.mkdirAt("/var/lib").error().code(), std::errc::file_exists);
  EXPECT_EQ(fs.rmdirAt("/var/lib/softzone").error().code(), std::errc::directory_not_empty);
  ASSERT_TRUE(fs.unlinkAt("/var/lib/softzone/x"));
  ASSERT_TRUE(fs.rmdirAt("/var/lib/softzone"));
  EXPECT_FALSE(fs.exists("/var/lib/softzone"));
  EXPECT_FALSE(fs.rmdirAt("/"));
}

TEST(FsRootChanges, ReplaceDoesNotFollowASymlinkedTarget) {
  FakeTree tree;
  tree.put("/outside", "keep");
  tree.mkdir("/run");
  std::filesystem::create_symlink(tree.hostPath("/outside"), tree.hostPath("/run/state"));
  FsRoot fs = tree.open();
  ASSERT_TRUE(fs.replaceFile("/run/state", "new"));
  EXPECT_EQ(::softzone::tools::slurp(tree.hostPath("/outside")), "keep");
  EXPECT_FALSE(std::filesystem::is_symlink(tree.hostPath("/run/state")));
}

}  // namespace
}  // namespace softzone::cpuset

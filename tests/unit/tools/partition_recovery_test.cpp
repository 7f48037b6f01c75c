// Recovery, names and the subtree as the zonectl binary sees them on copies of captured guest
// trees (--root): a journal whose replay and rollback fail stays, a resize killed after its mems
// write still checks the released nodes, the journal's cgroup parent is the one recovery uses,
// names that clash with cgroupfs files are refused, a foreign cgroup under the parent is skipped
// and a partition with cgroups below it is destroyed only with --force.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "softzone/cpuset/cgroup_backend.h"
#include "support/fake_tree.h"
#include "support/fixture_param.h"
#include "support/run_zonectl.h"

namespace softzone::tools {
namespace {

const std::string kFixtures = SOFTZONE_FIXTURES;
constexpr const char* kJournal = "/run/softzone/journal.json";

namespace fs = std::filesystem;
using ::softzone::testing::FakeTree;
using ::testing::HasSubstr;
using ::testing::Not;

// Each test on its own copy of the fixture's root.
class PartitionRecoveryTest : public ::testing::TestWithParam<std::string> {
 protected:
  PartitionRecoveryTest() {
    fs::copy(kFixtures + "/" + GetParam() + "/root", tree_.path(), fs::copy_options::recursive);
  }

  Outcome run(const std::vector<std::string>& args) { return zonectlOn(tree_.path(), args); }

  bool v1() const { return GetParam().find("-v1") != std::string::npos; }
  std::string mount() const { return v1() ? "/sys/fs/cgroup/cpuset" : "/sys/fs/cgroup"; }
  std::string cgroup(const std::string& path) const { return mount() + "/" + path; }
  std::string mems(const std::string& name) {
    return slurp(tree_.hostPath(cgroup("softzone/" + name + "/cpuset.mems")));
  }
  bool journalThere() const { return fs::exists(tree_.hostPath(kJournal)); }

  FakeTree tree_;
};

// A destroy whose replay fails (cgroup.procs cannot be read: here a directory where cgroupfs
// has its file): recover says what failed, exits 1 and keeps the journal for the next run. The
// old code dropped the journal and printed "nothing to recover".
TEST_P(PartitionRecoveryTest, AFailedDestroyKeepsTheJournal) {
  ASSERT_EQ(run({"create", "a", "--nodes", "2-3"}).exit_status, 0);
  tree_.mkdir(cgroup("softzone/a/cgroup.procs"));
  tree_.put(kJournal, R"({"op": "destroy", "args": {"name": "a", "to": ""}, "step": "journal"})");
  Outcome recovered = run({"recover"});
  EXPECT_EQ(recovered.exit_status, 1) << recovered.out;
  EXPECT_THAT(recovered.err, HasSubstr("recovering the interrupted destroy: destroying a"));
  EXPECT_THAT(recovered.err, HasSubstr("stays"));
  EXPECT_THAT(recovered.out, Not(HasSubstr("nothing to recover")));
  EXPECT_TRUE(journalThere());
  // Every changing verb recovers first: it fails the same way rather than run on a half state.
  EXPECT_EQ(run({"create", "b", "--nodes", "5"}).exit_status, 1);
  EXPECT_TRUE(journalThere());
  // The cause removed, the next run completes it.
  tree_.remove(cgroup("softzone/a/cgroup.procs"));
  Outcome again = run({"recover"});
  ASSERT_EQ(again.exit_status, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("completed: destroy a"));
  EXPECT_FALSE(journalThere());
}

// A resize whose completion fails (cgroup.procs unreadable) and whose rollback fails too (the
// journal lost its "from"): neither done nor undone, so the journal stays and the error names
// the rollback.
TEST_P(PartitionRecoveryTest, AFailedRollbackKeepsTheJournal) {
  ASSERT_EQ(run({"create", "a", "--nodes", "2-3"}).exit_status, 0);
  tree_.mkdir(cgroup("softzone/a/cgroup.procs"));
  tree_.put(kJournal, R"({"op": "resize", "args": {"name": "a", "to": "3"}, "step": "grow"})");
  Outcome recovered = run({"recover"});
  EXPECT_EQ(recovered.exit_status, 1) << recovered.out;
  EXPECT_THAT(recovered.err, HasSubstr("rolling back resize a"));
  EXPECT_THAT(recovered.out, Not(HasSubstr("nothing to recover")));
  EXPECT_TRUE(journalThere());
}

// Killed right after the mems write: the cgroup already has the new nodes only, but the nodes
// given up must still be moved off and checked. The old code took the released nodes from the
// cgroup's mems, found none, and checked nothing.
TEST_P(PartitionRecoveryTest, AResizeKilledAfterItsShrinkStillChecksTheReleasedNodes) {
  if (!kZonectlStopPoints) GTEST_SKIP() << kNoStopPoints;
  ASSERT_EQ(run({"create", "a", "--nodes", "2-3"}).exit_status, 0);
  ::setenv("SOFTZONE_TEST_STOP_AT", "resize.shrink", 1);
  Outcome killed = run({"resize", "a", "--nodes", "3"});
  ::unsetenv("SOFTZONE_TEST_STOP_AT");
  ASSERT_EQ(killed.exit_status, -1) << killed.err;
  ASSERT_EQ(mems("a"), "3\n");
  std::string meminfo = slurp(tree_.hostPath("/sys/devices/system/node/node2/meminfo"));
  for (auto [key, kb] : {std::pair{"FilePages:", "4096"}, std::pair{"Shmem:", "1024"}}) {
    size_t at = meminfo.find(key);
    ASSERT_NE(at, std::string::npos) << key;
    size_t end = meminfo.find(" kB", at);
    meminfo.replace(at, end - at, std::string(key) + " " + kb);
  }
  tree_.put("/sys/devices/system/node/node2/meminfo", meminfo);
  Outcome recovered = run({"recover"});
  ASSERT_EQ(recovered.exit_status, 0) << recovered.err;
  EXPECT_THAT(recovered.out, HasSubstr("completed: resize a to nodes 3; nodes 2 released"));
  EXPECT_THAT(recovered.out, HasSubstr("0 left"));
  // Page cache no process maps on the released node: said, not hidden.
  EXPECT_THAT(recovered.out, HasSubstr("nodes 2 still hold 4M of page cache (1M of it shared"));
  EXPECT_FALSE(journalThere());
}

// The journal records the cgroup parent: a create under a delegated parent, killed before the
// state file existed, is completed there even when the next run has no SOFTZONE_CGROUP_PARENT.
TEST_P(PartitionRecoveryTest, RecoveryUsesTheJournalsCgroupParent) {
  if (!kZonectlStopPoints) GTEST_SKIP() << kNoStopPoints;
  ::setenv("SOFTZONE_CGROUP_PARENT", "deleg/sz", 1);
  ::setenv("SOFTZONE_TEST_STOP_AT", "create.cgroup", 1);
  Outcome killed = run({"create", "b", "--nodes", "4"});
  ::unsetenv("SOFTZONE_TEST_STOP_AT");
  ::unsetenv("SOFTZONE_CGROUP_PARENT");
  ASSERT_EQ(killed.exit_status, -1) << killed.err;
  EXPECT_FALSE(fs::exists(tree_.hostPath("/var/lib/softzone/state.json")));
  Outcome recovered = run({"recover"});
  ASSERT_EQ(recovered.exit_status, 0) << recovered.err;
  EXPECT_THAT(recovered.out, HasSubstr("completed: create b"));
  EXPECT_TRUE(fs::exists(tree_.hostPath(cgroup("deleg/sz/b"))));
  EXPECT_FALSE(fs::exists(tree_.hostPath(cgroup("softzone/b"))));
  nlohmann::json state =
      nlohmann::json::parse(slurp(tree_.hostPath("/var/lib/softzone/state.json")));
  EXPECT_EQ(state["cgroup"]["parent"], "deleg/sz");
}

TEST_P(PartitionRecoveryTest, NamesOfCgroupfsFilesAreRefused) {
  for (const char* name : {"tasks", "cgroup.procs", "cpuset.mems", "memory.high", "io.max",
                           "notify_on_release", "mems"}) {
    Outcome created = run({"create", name, "--nodes", "4"});
    EXPECT_EQ(created.exit_status, 2) << name << ": " << created.err;
    EXPECT_THAT(created.err, HasSubstr("clash")) << name;
    EXPECT_FALSE(fs::exists(tree_.hostPath(cgroup(std::string("softzone/") + name)))) << name;
  }
}

// Another tool's cgroup under the parent, without cpuset files: skipped and said, the
// partitions still listed. The old code failed `list` for all.
TEST_P(PartitionRecoveryTest, AForeignCgroupUnderTheParentIsSkipped) {
  ASSERT_EQ(run({"create", "a", "--nodes", "2-3"}).exit_status, 0);
  tree_.mkdir(cgroup("softzone/foreign"));
  Outcome listed = run({"--json", "list"});
  ASSERT_EQ(listed.exit_status, 0) << listed.err;
  nlohmann::json list = nlohmann::json::parse(listed.out);
  ASSERT_EQ(list["partitions"].size(), 1u);
  EXPECT_EQ(list["partitions"][0]["name"], "a");
  EXPECT_THAT(list["drift"].dump(), HasSubstr("softzone/foreign is not a partition"));
}

// cgroups below a partition (a container's): its task counts, and destroy refuses without
// --force, changing nothing; with it, the cgroups below go first.
TEST_P(PartitionRecoveryTest, APartitionIsItsSubtree) {
  ASSERT_EQ(run({"create", "a", "--nodes", "2-3"}).exit_status, 0);
  tree_.mkdir(cgroup("softzone/a/ctr1/inner"));
  tree_.put(cgroup("softzone/a/ctr1/inner/cgroup.procs"), "4242\n");
  Outcome listed = run({"--json", "list"});
  ASSERT_EQ(listed.exit_status, 0) << listed.err;
  EXPECT_EQ(nlohmann::json::parse(listed.out)["partitions"][0]["tasks"], 1);
  tree_.remove(cgroup("softzone/a/ctr1/inner/cgroup.procs"));  // a tree's pids do not move
  Outcome refused = run({"destroy", "a"});
  EXPECT_EQ(refused.exit_status, 1);
  EXPECT_THAT(refused.err, HasSubstr("softzone/a/ctr1"));
  EXPECT_THAT(refused.err, HasSubstr("--force"));
  EXPECT_TRUE(fs::exists(tree_.hostPath(cgroup("softzone/a/ctr1/inner"))));
  EXPECT_FALSE(journalThere());
  Outcome forced = run({"--json", "destroy", "a", "--force"});
  ASSERT_EQ(forced.exit_status, 0) << forced.err;
  nlohmann::json report = nlohmann::json::parse(forced.out);
  EXPECT_EQ(report["removed_cgroups"],
            nlohmann::json({"softzone/a/ctr1/inner", "softzone/a/ctr1"}));
  EXPECT_FALSE(fs::exists(tree_.hostPath(cgroup("softzone/a"))));
}

// A subtree zonectl does not walk (a user's chain of cgroups deeper than kMaxSubtreeDepth) is
// shown as not counted, with the reason, never as 0 tasks; a resize that would need it is refused.
// The old code printed "-" in the table and null in JSON without a word.
TEST_P(PartitionRecoveryTest, ASubtreeTooDeepToWalkIsShownNotCounted) {
  ASSERT_EQ(run({"create", "a", "--nodes", "2-3"}).exit_status, 0);
  std::string chain = "softzone/a";
  for (int level = 0; level <= cpuset::kMaxSubtreeDepth; ++level) {
    chain += "/d";
    tree_.mkdir(cgroup(chain));
  }
  Outcome listed = run({"--json", "status", "a"});
  ASSERT_EQ(listed.exit_status, 0) << listed.err;
  nlohmann::json partition = nlohmann::json::parse(listed.out)["partitions"][0];
  EXPECT_TRUE(partition["tasks"].is_null());
  EXPECT_THAT(partition["tasks_error"].get<std::string>(), HasSubstr("not walked"));
  Outcome table = run({"status", "a"});
  ASSERT_EQ(table.exit_status, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("a: tasks not counted: "));
  Outcome refused = run({"resize", "a", "--nodes", "2"});
  EXPECT_EQ(refused.exit_status, 1);
  EXPECT_THAT(refused.err, HasSubstr("not walked"));
  EXPECT_FALSE(journalThere());
}

// An attach killed while v1's memory_migrate was off (between the two writes around the cgroup
// move): the recovery turns it on again, or the partition's next resize would move nothing of
// its tasks. The old code had no journal for attach, so nothing ever turned it on.
TEST_P(PartitionRecoveryTest, AnAttachKilledWithMemoryMigrateOffIsRecovered) {
  ASSERT_EQ(run({"create", "a", "--nodes", "2-3"}).exit_status, 0);
  std::string migrate_file = cgroup("softzone/a/cpuset.memory_migrate");
  if (v1()) tree_.put(migrate_file, "0\n");
  tree_.put(kJournal, R"({"op": "attach", "args": {"name": "a", "pids": [4242], "migrate": true},)"
                      R"( "step": "journal"})");
  Outcome recovered = run({"recover"});
  ASSERT_EQ(recovered.exit_status, 0) << recovered.err;
  EXPECT_THAT(recovered.out + recovered.err, HasSubstr("completed: attach a"));
  EXPECT_FALSE(journalThere());
  if (v1()) {
    EXPECT_EQ(slurp(tree_.hostPath(migrate_file)).substr(0, 1), "1");
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, PartitionRecoveryTest,
                         ::testing::Values("debian-6.1-fake8-v1", "debian-6.12-fake16-v2"),
                         softzone::testing::fixtureTestName);

}  // namespace
}  // namespace softzone::tools

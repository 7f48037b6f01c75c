// zonectl's partition verbs as the binary on copies of captured guest trees (--root): the
// lifecycle, the bad-input table with the tree and state file compared before and after, apply's
// idempotence, and recovery after zonectl is killed at a named step.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "support/fake_tree.h"
#include "support/fixture_param.h"
#include "support/run_zonectl.h"

namespace softzone::tools {
namespace {

namespace fs = std::filesystem;
using ::softzone::testing::FakeTree;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const std::string kFixtures = SOFTZONE_FIXTURES;

// Every file under the cgroup mount and softzone's state directory, with its contents.
std::map<std::string, std::string> snapshot(const std::string& root) {
  std::map<std::string, std::string> files;
  for (const char* dir : {"/sys/fs/cgroup", "/var/lib/softzone"}) {
    fs::path base = root + dir;
    if (!fs::exists(base)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(base)) {
      std::string key = entry.path().string().substr(root.size());
      files[key] = entry.is_regular_file() ? slurp(entry.path().string()) : "<dir>";
    }
  }
  return files;
}

// A writable copy of a fixture's root.
class PartitionCliTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    fs::copy(kFixtures + "/" + GetParam() + "/root", tree_.path(), fs::copy_options::recursive);
  }

  Outcome run(std::vector<std::string> args) {
    std::vector<std::string> full = {"--root", tree_.path()};
    full.insert(full.end(), args.begin(), args.end());
    return zonectl(full);
  }

  nlohmann::json listJson() {
    Outcome listed = run({"--json", "list"});
    EXPECT_EQ(listed.exit_status, 0) << listed.err;
    return nlohmann::json::parse(listed.out);
  }

  std::string mems(const std::string& name) {
    std::string mount =
        GetParam().find("-v1") != std::string::npos ? "/sys/fs/cgroup/cpuset" : "/sys/fs/cgroup";
    return slurp(tree_.hostPath(mount + "/softzone/" + name + "/cpuset.mems"));
  }

  FakeTree tree_;
};

TEST_P(PartitionCliTest, Lifecycle) {
  Outcome created = run({"create", "web", "--nodes", "2-3", "--cpus", "1"});
  ASSERT_EQ(created.exit_status, 0) << created.err;
  EXPECT_THAT(created.out, HasSubstr("created partition web: nodes 2-3, cpus 1"));
  EXPECT_EQ(mems("web"), "2-3\n");
  ASSERT_EQ(run({"create", "db", "--size", "150M"}).exit_status, 0);
  nlohmann::json list = listJson();
  ASSERT_EQ(list["partitions"].size(), 2u);
  EXPECT_EQ(list["partitions"][0]["name"], "db");
  EXPECT_EQ(list["partitions"][1]["nodes"], "2-3");
  EXPECT_EQ(list["system"]["nodes"], "0");
  EXPECT_THAT(list["drift"], IsEmpty());

  Outcome grown = run({"resize", "web", "--nodes", "2-3,7"});
  ASSERT_EQ(grown.exit_status, 0) << grown.err;
  EXPECT_EQ(mems("web"), "2-3,7\n");
  Outcome shrunk = run({"--json", "resize", "web", "--nodes", "3"});
  ASSERT_EQ(shrunk.exit_status, 0) << shrunk.err;
  nlohmann::json report = nlohmann::json::parse(shrunk.out);
  EXPECT_EQ(report["released"], "2,7");
  EXPECT_EQ(report["migration"]["pages_left"], 0);
  EXPECT_EQ(mems("web"), "3\n");

  ASSERT_EQ(run({"destroy", "web"}).exit_status, 0);
  ASSERT_EQ(run({"destroy", "db"}).exit_status, 0);
  list = listJson();
  EXPECT_THAT(list["partitions"], IsEmpty());
  EXPECT_EQ(list["free"]["nodes"], GetParam().find("fake16") != std::string::npos ? "1-15" : "1-7");
}

TEST_P(PartitionCliTest, BadInputChangesNothing) {
  ASSERT_EQ(run({"create", "a", "--nodes", "2-3"}).exit_status, 0);
  struct Case {
    std::vector<std::string> args;
    int status;
    const char* says;
  };
  const std::vector<Case> cases = {
      {{"resize", "nope", "--nodes", "4"}, 2, "unknown partition \"nope\""},
      {{"destroy", "nope"}, 2, "unknown partition"},
      {{"attach", "nope", "1"}, 2, "unknown partition"},
      {{"create", "b", "--nodes", "3-4"}, 2, "node 3 is partition a's"},
      {{"create", "b", "--nodes", "0"}, 2, "node 0 is the system zone's"},
      {{"create", "b", "--nodes", "99"}, 2, "do not exist on this machine"},
      {{"resize", "a", "--nodes", "2-3,77"}, 2, "do not exist"},
      {{"create", "b", "--nodes", ""}, 2, "empty"},
      {{"create", "b", "--nodes", "3-"}, 2, "--nodes"},
      {{"create", "b", "--nodes", "4", "--size", "1G"}, 2, "exactly one of"},
      {{"create", "b", "--size", "100T"}, 1, "less than the"},
      {{"create", "b", "--nodes", "4", "--cpus", "64"}, 2, "CPUs 64 do not exist"},
      {{"create", "a/b", "--nodes", "4"}, 2, "other characters"},
      {{"create", "..", "--nodes", "4"}, 2, "cannot name a directory"},
      {{"create", std::string(1000, 'x'), "--nodes", "4"}, 2, "too long"},
      {{"create", "free", "--nodes", "4"}, 2, "reserved"},
      {{"create", "a", "--nodes", "4"}, 2, "exists"},
      {{"attach", "a", "0x1"}, 2, "expected a process id"},
      {{"destroy", "a", "--to", "a"}, 2, "being destroyed"},
      {{"migrate", "a", "--to", "5"}, 2, "has nodes 2-3 only"},
      {{"migrate", "--to", "5"}, 2, "exactly one of"},
      {{"resize", "a", "--nodes", "2", "--workers", "0"}, 2, "--workers"},
      {{"resize", "a", "--nodes", "2", "--workers", "two"}, 2, "workers"},
      {{"migrate", "a", "--to", "2", "--workers", "65"}, 2, "--workers"},
      {{"migrate", "a", "--to", "2", "--workers", "-1"}, 2, "workers"},
      {{"create", "b", "--nodes", "4", "--bogus"}, 2, "bogus"},
      {{"status", "nope"}, 2, "unknown partition"},
  };
  for (const Case& c : cases) {
    auto before = snapshot(tree_.path());
    Outcome outcome = run(c.args);
    std::string what = c.args[0] + " " + (c.args.size() > 1 ? c.args[1].substr(0, 20) : "");
    EXPECT_EQ(outcome.exit_status, c.status) << what << ": " << outcome.err;
    EXPECT_THAT(outcome.err, HasSubstr(c.says)) << what;
    EXPECT_EQ(std::count(outcome.err.begin(), outcome.err.end(), '\n'), 1) << what << outcome.err;
    EXPECT_EQ(snapshot(tree_.path()), before) << what << " changed the tree or the state file";
  }
}

TEST_P(PartitionCliTest, KilledAtEachStepThenRecovered) {
  if (!kZonectlStopPoints) GTEST_SKIP() << kNoStopPoints;
  ASSERT_EQ(run({"create", "a", "--nodes", "2-3"}).exit_status, 0);
  struct Kill {
    const char* step;
    std::vector<std::string> args;
    const char* mems_after;  // a's mems once recovered
  };
  const std::vector<Kill> kills = {
      {"resize.journal", {"resize", "a", "--nodes", "3-4"}, "3-4\n"},
      {"resize.grow", {"resize", "a", "--nodes", "4-5"}, "4-5\n"},
      {"resize.migrate", {"resize", "a", "--nodes", "2"}, "2\n"},
      {"resize.shrink", {"resize", "a", "--nodes", "2-3"}, "2-3\n"},
      {"resize.verify", {"resize", "a", "--nodes", "3"}, "3\n"},
      {"resize.state", {"resize", "a", "--nodes", "2-3"}, "2-3\n"},
  };
  for (const Kill& kill : kills) {
    ::setenv("SOFTZONE_TEST_STOP_AT", kill.step, 1);
    Outcome killed = run(kill.args);
    ::unsetenv("SOFTZONE_TEST_STOP_AT");
    EXPECT_EQ(killed.exit_status, -1) << kill.step << " was not killed: " << killed.err;
    EXPECT_TRUE(fs::exists(tree_.hostPath("/run/softzone/journal.json"))) << kill.step;
    Outcome recovered = run({"recover"});
    ASSERT_EQ(recovered.exit_status, 0) << recovered.err;
    EXPECT_THAT(recovered.out, HasSubstr("completed: resize a")) << kill.step;
    EXPECT_FALSE(fs::exists(tree_.hostPath("/run/softzone/journal.json"))) << kill.step;
    EXPECT_EQ(mems("a"), kill.mems_after) << kill.step;
    EXPECT_THAT(listJson()["drift"], IsEmpty()) << kill.step;
  }
  // Create and destroy, recovered by the next changing verb on its own.
  ::setenv("SOFTZONE_TEST_STOP_AT", "create.cgroup", 1);
  EXPECT_EQ(run({"create", "b", "--nodes", "6"}).exit_status, -1);
  ::setenv("SOFTZONE_TEST_STOP_AT", "destroy.tasks", 1);
  EXPECT_EQ(run({"destroy", "a"}).exit_status, -1);  // recovers create b first, then dies
  ::unsetenv("SOFTZONE_TEST_STOP_AT");
  Outcome next = run({"resize", "b", "--nodes", "6-7"});
  ASSERT_EQ(next.exit_status, 0) << next.err;
  EXPECT_THAT(next.err, HasSubstr("recovered: completed: destroy a"));
  nlohmann::json list = listJson();
  ASSERT_EQ(list["partitions"].size(), 1u);
  EXPECT_EQ(list["partitions"][0]["name"], "b");
  EXPECT_EQ(list["partitions"][0]["nodes"], "6-7");
  EXPECT_THAT(list["drift"], IsEmpty());
}

// A journal with a value of the wrong type (a hand edit, a damaged disk): a message naming the
// journal, exit 1, nothing done; the journal stays for the admin to look at.
TEST_P(PartitionCliTest, ADamagedJournalIsAMessageNotACrash) {
  ASSERT_EQ(run({"create", "a", "--nodes", "2-3"}).exit_status, 0);
  tree_.put("/run/softzone/journal.json",
            R"({"op": "resize", "args": {"name": "a", "from": "2-3", "to": "3", "workers": "two",
                "force": "no"}, "step": "grow"})");
  Outcome recovered = run({"recover"});
  EXPECT_EQ(recovered.exit_status, 1) << recovered.err;
  EXPECT_THAT(recovered.err, HasSubstr("/run/softzone/journal.json is damaged"));
  EXPECT_EQ(mems("a"), "2-3\n");
  EXPECT_TRUE(fs::exists(tree_.hostPath("/run/softzone/journal.json")));
}

TEST_P(PartitionCliTest, ApplyIsIdempotentAndRefusesAnotherBoot) {
  // 112M nodes: the plan is numa=fake=8 on the 1 GiB guests these fixtures come from, nodes
  // counted as 90.24M usable, each zone with 48M for the kernel image.
  tree_.put("/spec.ini",
            "[machine]\nreserve = 32M\nnode_size = 112M\n[shared]\nsize = 32M\n"
            "[partition.web]\nmemory = 128M\n[partition.db]\nmemory = 32M\ncpus = 1\n");
  std::string spec = tree_.hostPath("/spec.ini");
  bool eight = GetParam().find("fake8") != std::string::npos;
  Outcome dry = run({"apply", spec, "--dry-run"});
  if (!eight) {
    EXPECT_EQ(dry.exit_status, 1);
    EXPECT_THAT(dry.err, HasSubstr("needs the kernel booted with numa=fake="));
    return;
  }
  ASSERT_EQ(dry.exit_status, 0) << dry.err;
  EXPECT_THAT(dry.out, HasSubstr("would apply"));
  EXPECT_THAT(dry.out, HasSubstr("create web on nodes 2-3"));
  EXPECT_FALSE(fs::exists(tree_.hostPath("/var/lib/softzone/state.json")));
  ASSERT_EQ(run({"create", "extra", "--nodes", "3"}).exit_status, 0);
  Outcome clash = run({"apply", spec});
  EXPECT_EQ(clash.exit_status, 2);
  EXPECT_THAT(clash.err, HasSubstr("--prune"));
  // Killed halfway (where zonectl honours stop points), then applied again: recovered first.
  if (kZonectlStopPoints) {
    ::setenv("SOFTZONE_TEST_STOP_AT", "apply.action.2", 1);
    EXPECT_EQ(run({"apply", spec, "--prune"}).exit_status, -1);
    ::unsetenv("SOFTZONE_TEST_STOP_AT");
  }
  Outcome applied = run({"--json", "apply", spec, "--prune"});
  ASSERT_EQ(applied.exit_status, 0) << applied.err;
  if (kZonectlStopPoints) {
    EXPECT_THAT(applied.err, HasSubstr("recovered"));
  }
  Outcome again = run({"apply", spec});
  ASSERT_EQ(again.exit_status, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr(": 0 partition change(s)"));
  nlohmann::json list = listJson();
  EXPECT_EQ(list["shared"]["nodes"], "1");
  ASSERT_EQ(list["partitions"].size(), 2u);
  EXPECT_THAT(list["drift"], IsEmpty());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, PartitionCliTest,
                         ::testing::Values("debian-6.1-fake8-v1", "debian-6.12-fake16-v2"),
                         softzone::testing::fixtureTestName);

}  // namespace
}  // namespace softzone::tools

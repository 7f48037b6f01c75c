// The verbs that read or move processes' pages, run with --root on a tree whose partition holds a
// live pid: refused with exit 2 before anything changes, and the live process is not touched.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/fake_tree.h"
#include "support/fixture_param.h"
#include "support/run_zonectl.h"

namespace softzone::tools {
namespace {

namespace fs = std::filesystem;
using ::softzone::testing::FakeTree;
using ::testing::HasSubstr;

const std::string kFixtures = SOFTZONE_FIXTURES;

class RootRefusalTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    fs::copy(kFixtures + "/" + GetParam() + "/root", tree_.path(), fs::copy_options::recursive);
    ASSERT_EQ(run({"create", "a", "--nodes", "2-3"}).exit_status, 0);
    // A live process, stopped until the test ends: its pid is what the tree's partition holds.
    child_ = ::fork();
    ASSERT_GE(child_, 0);
    if (child_ == 0) {
      ::pause();
      ::_exit(0);
    }
    partition_ = tree_.hostPath(std::string(GetParam().find("-v1") != std::string::npos
                                                ? "/sys/fs/cgroup/cpuset"
                                                : "/sys/fs/cgroup") +
                                "/softzone/a/");
    std::ofstream(partition_ + "cgroup.procs") << child_ << "\n";
  }
  void TearDown() override {
    if (child_ > 0) {
      ::kill(child_, SIGKILL);
      ::waitpid(child_, nullptr, 0);
    }
  }

  Outcome run(std::vector<std::string> args) {
    std::vector<std::string> full = {"--root", tree_.path()};
    full.insert(full.end(), args.begin(), args.end());
    return zonectl(full);
  }

  // What a page-moving verb would change: the partition's nodes, its tasks, softzone's state.
  std::vector<std::string> changeable() {
    return {slurp(partition_ + "cpuset.mems"), slurp(partition_ + "cgroup.procs"),
            slurp(tree_.hostPath("/var/lib/softzone/state.json"))};
  }

  FakeTree tree_;
  std::string partition_;
  pid_t child_ = -1;
};

TEST_P(RootRefusalTest, PageMovingVerbsRefuseATreesPids) {
  std::string pid = std::to_string(child_);
  for (std::vector<std::string> args : {std::vector<std::string>{"resize", "a", "--nodes", "3"},
                                        {"--json", "resize", "a", "--nodes", "2"},
                                        {"migrate", "a", "--to", "2"},
                                        {"migrate", "--pid", pid, "--to", "2"},
                                        {"attach", "a", pid}}) {
    std::vector<std::string> before = changeable();
    Outcome refused = run(args);
    EXPECT_EQ(refused.exit_status, 2) << args[0] << ": " << refused.out << refused.err;
    EXPECT_THAT(refused.err, HasSubstr("pids in a tree name the live system's processes"))
        << args[0];
    EXPECT_EQ(changeable(), before) << args[0] << " changed the tree";
    EXPECT_FALSE(fs::exists(tree_.hostPath("/run/softzone/journal.json"))) << args[0];
  }
}

TEST_P(RootRefusalTest, GrowingStillWorksOnATree) {
  Outcome grown = run({"resize", "a", "--nodes", "2-4"});
  EXPECT_EQ(grown.exit_status, 0) << grown.err;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, RootRefusalTest,
                         ::testing::Values("debian-6.1-fake8-v1", "debian-6.12-fake16-v2"),
                         softzone::testing::fixtureTestName);

}  // namespace
}  // namespace softzone::tools

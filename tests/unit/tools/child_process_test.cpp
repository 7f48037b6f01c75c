// startChildIn on cgroup v1 (a fake cgroup tree: the child is forked, then moved with
// memory_migrate off for the move), and the child protocol: nothing runs before the release, exec
// failures come back as errno, statuses as a shell's. v2's clone3(CLONE_INTO_CGROUP) needs a real
// cgroup2 mount: the exec-shared guest test covers it.
#include "child_process.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <fstream>
#include <sstream>

#include "support/fake_tree.h"

namespace softzone::tools {
namespace {

using cpuset::CgroupBackend;
using cpuset::CgroupVersion;

std::string slurpFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class ChildProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tree_.put("/sys/fs/cgroup/cpuset/softzone/A/cgroup.procs", "");
    tree_.put("/sys/fs/cgroup/cpuset/softzone/A/cpuset.memory_migrate", "1\n");
  }
  std::unique_ptr<CgroupBackend> backend() {
    auto opened = CgroupBackend::open(fs_, {CgroupVersion::kV1, "/sys/fs/cgroup/cpuset"});
    EXPECT_TRUE(opened);
    return std::move(*opened);
  }
  std::string file(const std::string& name) {
    return slurpFile(tree_.hostPath("/sys/fs/cgroup/cpuset/softzone/A/" + name));
  }
  static int exitOf(pid_t pid) {
    int status = 0;
    EXPECT_EQ(::waitpid(pid, &status, 0), pid);
    return waitStatusToExit(status);
  }

  softzone::testing::FakeTree tree_;
  FsRoot fs_ = tree_.open();
};

TEST_F(ChildProcessTest, V1MovesTheWaitingChildWithMemoryMigrateOffThenOnAgain) {
  std::string marker = tree_.path() + "/ran";
  auto child = startChildIn(*backend(), "softzone/A", {"sh", "-c", "touch " + marker + "; exit 7"});
  ASSERT_TRUE(child) << child.error().describe();
  // In the cgroup, and not run yet: it waits for the release.
  EXPECT_EQ(file("cgroup.procs"), std::to_string(child->pid) + "\n");
  EXPECT_EQ(file("cpuset.memory_migrate"), "1\n");  // on again after the move
  ::usleep(50 * 1000);
  EXPECT_NE(::access(marker.c_str(), F_OK), 0);
  EXPECT_EQ(releaseChild(*child), 0);
  EXPECT_EQ(exitOf(child->pid), 7);
  EXPECT_EQ(::access(marker.c_str(), F_OK), 0);
}

TEST_F(ChildProcessTest, AnExecFailureComesBackAsErrno) {
  auto child = startChildIn(*backend(), "softzone/A", {"/no/such/command"});
  ASSERT_TRUE(child);
  EXPECT_EQ(releaseChild(*child), ENOENT);
  EXPECT_EQ(exitOf(child->pid), 127);
}

TEST_F(ChildProcessTest, AFailedMoveLeavesNoChildAndMemoryMigrateOn) {
  // No such cgroup: the move fails, the child is killed and reaped, memory_migrate is untouched.
  auto child = startChildIn(*backend(), "softzone/B", {"true"});
  ASSERT_FALSE(child);
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
  EXPECT_EQ(file("cpuset.memory_migrate"), "1\n");
}

TEST_F(ChildProcessTest, TheCommandStartsWithTheCallersOomScoreAdjSetByItself) {
  // zonectl run holds -1000 while it watches; the command must run with the caller's score
  // from its first instruction, set by the child, not restored later by the parent.
  std::string seen = tree_.path() + "/oom_score_adj";
  auto child = startChildIn(*backend(), "softzone/A",
                            {"sh", "-c", "cat /proc/self/oom_score_adj >" + seen}, "500");
  ASSERT_TRUE(child) << child.error().describe();
  EXPECT_EQ(releaseChild(*child), 0);
  EXPECT_EQ(exitOf(child->pid), 0);
  EXPECT_EQ(slurpFile(seen), "500\n");
}

TEST_F(ChildProcessTest, AScoreTheChildCannotSetStopsTheCommand) {
  std::string marker = tree_.path() + "/ran";
  auto child = startChildIn(*backend(), "softzone/A", {"touch", marker}, "not-a-number");
  ASSERT_TRUE(child);
  EXPECT_EQ(releaseChild(*child), EINVAL);
  EXPECT_EQ(exitOf(child->pid), 127);
  EXPECT_NE(::access(marker.c_str(), F_OK), 0);
}

TEST_F(ChildProcessTest, AKilledCommandIsAShellsStatus) {
  auto child = startChildIn(*backend(), "softzone/A", {"sleep", "30"});
  ASSERT_TRUE(child);
  EXPECT_EQ(releaseChild(*child), 0);
  ::kill(child->pid, SIGTERM);
  EXPECT_EQ(exitOf(child->pid), 128 + SIGTERM);
}

}  // namespace
}  // namespace softzone::tools

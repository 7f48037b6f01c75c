// ProcessHandle (pidfds): a held process that exits is seen as exited, so a pid read earlier is
// never trusted after it; and the /proc/PID/cgroup parser that confirms where a process is.
#include "softzone/zones/process_handle.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "support/pid_namespace.h"

namespace softzone::zones {
namespace {

using ::testing::HasSubstr;

TEST(ProcessHandle, SeesItsProcessExitEvenBeforeItIsReaped) {
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  auto handle = ProcessHandle::open(child);
  ASSERT_TRUE(handle) << handle.error().describe();
  EXPECT_EQ(handle->pid(), child);
  EXPECT_FALSE(handle->exited());
  ::kill(child, SIGKILL);
  siginfo_t info{};
  // Wait for the exit without reaping: the pid still exists (a zombie), the pidfd says exited.
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);
  EXPECT_TRUE(handle->exited());
  ::waitpid(child, nullptr, 0);
  EXPECT_TRUE(handle->exited());
}

TEST(ProcessHandle, NoSuchProcessIsGone) {
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  auto handle = ProcessHandle::open(child);
  ASSERT_FALSE(handle);
  EXPECT_EQ(handle.error().code(), std::error_code(ESRCH, std::generic_category()));
}

// The race itself: a process held by a pidfd exits, is reaped, and its pid goes to a newcomer
// (clone3 set_tid, in a pid namespace of the test's own). The handle must say its process is
// gone rather than pass for the newcomer; only a fresh open names the newcomer.
TEST(ProcessHandle, AHandleRefusesThePidsNextOwner) {
  auto run = softzone::testing::runInPidNamespace([]() -> std::string {
    pid_t first = ::fork();
    if (first < 0) return "fork failed";
    if (first == 0) {
      ::pause();
      ::_exit(0);
    }
    auto handle = ProcessHandle::open(first);
    if (!handle) return "open: " + handle.error().describe();
    if (handle->exited()) return "a live process reads as exited";
    softzone::testing::endAndReap(first);
    pid_t newcomer = softzone::testing::forkWithPid(first, [] { ::pause(); });
    if (newcomer != first) return "clone3 set_tid gave " + std::to_string(newcomer);
    if (!handle->exited()) return "the handle passes its pid's next owner for its own process";
    auto fresh = ProcessHandle::open(first);
    if (!fresh || fresh->exited()) return "a fresh open does not name the newcomer";
    return "";
  });
  if (!run.ran) GTEST_SKIP() << "no pid namespace of our own here: " << run.skipped_why;
  EXPECT_EQ(run.failure, "");
}

TEST(ProcessCgroup, TakesTheV2LineOrTheV1ControllersLineByItsLayout) {
  std::vector<std::string> v2 = {"0::/softzone/web/ctr1"};
  EXPECT_EQ(*parseProcessCgroup(v2, ""), "/softzone/web/ctr1");
  std::vector<std::string> v1 = {"12:memory:/", "4:cpu,cpuacct:/x", "3:cpuset:/softzone/db",
                                 "0::/"};
  EXPECT_EQ(*parseProcessCgroup(v1, "cpuset"), "/softzone/db");
  EXPECT_EQ(*parseProcessCgroup(v1, "cpu"), "/x");
  EXPECT_EQ(*parseProcessCgroup(v1, ""), "/");
  // A path may hold colons: only the first two split the line.
  std::vector<std::string> colons = {"0::/softzone/a:b:c"};
  EXPECT_EQ(*parseProcessCgroup(colons, ""), "/softzone/a:b:c");
  auto none = parseProcessCgroup({"3:memory:/"}, "cpuset");
  ASSERT_FALSE(none);
  EXPECT_THAT(none.error().message(), HasSubstr("cpuset"));
}

TEST(ProcessCgroup, InACgroupMeansItOrBelowIt) {
  EXPECT_TRUE(isInCgroup("/softzone/web", "softzone/web"));
  EXPECT_TRUE(isInCgroup("/softzone/web/ctr1", "softzone/web"));
  EXPECT_FALSE(isInCgroup("/softzone/webby", "softzone/web"));
  EXPECT_FALSE(isInCgroup("/softzone", "softzone/web"));
  EXPECT_FALSE(isInCgroup("/", "softzone/web"));
  EXPECT_FALSE(isInCgroup("", "softzone/web"));
}

}  // namespace
}  // namespace softzone::zones

// The stop hook of a production build: journal.cpp compiled without SOFTZONE_TEST_HOOKS (as a
// user's cmake configures it) ignores SOFTZONE_TEST_STOP_AT.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "softzone/cpuset/op_lock.h"

namespace softzone::cpuset {
namespace {

TEST(TestHooks, AProductionBuildIgnoresTheStopVariable) {
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::setenv("SOFTZONE_TEST_STOP_AT", "resize.shrink", 1);
    stopPointForTests("resize.shrink");
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
}

}  // namespace
}  // namespace softzone::cpuset

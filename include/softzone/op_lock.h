// The one lock every changing zonectl run holds (flock on /run/softzone/lock), so two runs never
// interleave; and the test hook that stops zonectl dead at a named step.
#pragma once

#include <string_view>

#include "softzone/fs_root.h"
#include "softzone/result.h"

namespace softzone::cpuset {

inline constexpr std::string_view kRunDir = "/run/softzone";
inline constexpr std::string_view kLockFile = "/run/softzone/lock";
// Tests only: SOFTZONE_TEST_STOP_AT=<step> makes zonectl SIGKILL itself right after that step, in
// builds configured with -DSOFTZONE_TEST_HOOKS=ON (scripts/build.sh does for the test trees); a
// build without it ignores the variable.
inline constexpr std::string_view kTestStopEnv = "SOFTZONE_TEST_STOP_AT";

// Held while alive; the kernel drops it when the process dies, however it dies.
class OpLock {
 public:
  // Waits for the lock (another run finishing first), creating /run/softzone as needed.
  static Result<OpLock> acquire(const FsRoot& fs);
  // Drops it early (before exec'ing a command, which must not hold it).
  void release() noexcept { fd_ = Fd(); }

 private:
  explicit OpLock(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;
};

// SIGKILLs the process when SOFTZONE_TEST_STOP_AT names `step` (after the step is done); a no-op
// unless built with SOFTZONE_TEST_HOOKS.
void stopPointForTests(std::string_view step);

}  // namespace softzone::cpuset

// The one lock every changing zonectl run holds (flock on /run/softzone/lock), so two runs never
// interleave; and the test hook that stops zonectl dead at a named step.
#pragma once

#include <array>
#include <string_view>

#include "softzone/zones/fs_root.h"
#include "softzone/zones/result.h"

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

// Tests only, as kTestStopEnv: SOFTZONE_TEST_PAUSE_AT=<step> makes zonectl stop itself (SIGSTOP)
// right after that step until sent SIGCONT, so a test can change the system in between (a pid
// reused while zonectl holds a list of pids it read).
inline constexpr std::string_view kTestPauseEnv = "SOFTZONE_TEST_PAUSE_AT";

// Every point stopPointForTests is called with: the journaled steps of each operation
// ("create.cgroup" is create's journal written with step "cgroup") and a few points between them
// where a kill or a pause matters. "apply.action.N" stands for apply's N-th action (1, 2, ...).
// Guest tests kill zonectl at each (tests/vm/guest/stop-points lists which case covers which;
// a unit test checks that list against this one), and a test build aborts at a point missing here,
// so a new step cannot go untested unnoticed.
// clang-format off
inline constexpr std::array<std::string_view, 22> kStopPoints = {
    "create.journal", "create.cgroup", "create.state",
    "resize.journal", "resize.grow", "resize.migrate", "resize.shrink", "resize.verify",
    "resize.state",
    // destroy.procs: the pids of the partition read, none moved yet.
    "destroy.journal", "destroy.procs", "destroy.tasks", "destroy.rmdir", "destroy.state",
    "attach.journal", "attach.cgroup", "attach.pages",
    "apply.journal", "apply.zones", "apply.action.N",
    // v1: memory_migrate is off while processes are written into a cgroup without migrating.
    "cgroup.migrate_off",
    // The pids whose pages are about to be moved have been read (a resize, an attach).
    "pages.pids",
};  // clang-format on

// Whether `step` is one of kStopPoints ("apply.action.7" is apply.action.N).
bool isDeclaredStopPoint(std::string_view step);

// SIGKILLs the process when SOFTZONE_TEST_STOP_AT names `step`, and stops it (SIGSTOP) when
// SOFTZONE_TEST_PAUSE_AT does (after the step is done); a no-op unless built with
// SOFTZONE_TEST_HOOKS. There, a step missing from kStopPoints aborts.
void stopPointForTests(std::string_view step);

}  // namespace softzone::cpuset

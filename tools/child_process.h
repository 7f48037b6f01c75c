// Starting a command inside a zone's cgroup: a child that waits until it is in the cgroup, then
// execs. Shared by `zonectl run` and `zonectl exec`.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "softzone/cpuset/cgroup_backend.h"
#include "softzone/zones/result.h"

namespace softzone::tools {

// A child that execs the command once told to (go), and reports an exec failure's errno.
struct WaitingChild {
  pid_t pid = -1;
  int go_write = -1;     // one byte here: exec now
  int failed_read = -1;  // the exec's errno, or end of file when it succeeded
};

// Starts the child in `cgroup` without the kernel's attach migration taking any of zonectl's
// pages along. Joining a cpuset migrates the joiner's pages (v1 with memory_migrate, v2 always)
// with MPOL_MF_MOVE_ALL, and a fork's pages are zonectl's: the page cache of libc, libstdc++
// and the rest, which every process maps (or the shared zone holds) would land on the zone's
// nodes. On v2 the child is created in the cgroup (clone3 CLONE_INTO_CGROUP): nothing is
// migrated. On v1 it is forked here and moved with memory_migrate off for the move
// (cpuset::moveWithoutMigrating: the caller holds the op lock). The child sets its own
// oom_score_adj to `oom_score_adj` (empty: keeps the one it inherits) before it execs; a failure
// to set it is reported by releaseChild like an exec failure, and the command does not run.
Result<WaitingChild> startChildIn(const cpuset::CgroupBackend& backend, const std::string& cgroup,
                                  const std::vector<std::string>& command,
                                  const std::string& oom_score_adj = {});

// Lets the child exec; returns the exec's errno (0: it runs CMD now). Closes the pipes.
int releaseChild(WaitingChild& child);

// Kills and reaps a child that will not be released.
void abandonChild(WaitingChild& child);

// A wait status as a shell's exit status: the code, or 128 + the signal.
int waitStatusToExit(int status);

}  // namespace softzone::tools

// A process held by a pidfd, so that a pid read earlier (from cgroup.procs, from the user) is
// acted on only while it still names the same process.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "softzone/zones/fs_root.h"
#include "softzone/zones/result.h"

namespace softzone::zones {

// pidfd_open(2) of a pid. The pid of a process cannot be given to another one until the process
// has exited (and been reaped): while exited() is false, calls that take the pid
// (move_pages(2), migrate_pages(2)) reach this process. Check exited() after such a call: true
// means the process ended meanwhile and the call may have reached a newer one with its number.
class ProcessHandle {
 public:
  // ESRCH when there is no such process.
  static Result<ProcessHandle> open(pid_t pid);

  pid_t pid() const noexcept { return pid_; }
  int fd() const noexcept { return fd_.get(); }
  // The pidfd polls readable once the process has exited.
  bool exited() const;

 private:
  ProcessHandle(Fd fd, pid_t pid) : fd_(std::move(fd)), pid_(pid) {}
  Fd fd_;
  pid_t pid_ = 0;
};

// The cgroup path of a process in one hierarchy from the lines of /proc/PID/cgroup
// ("hierarchy-ID:controllers:path", split at the first two colons: the path may hold more):
// the cgroup v2 line ("0::/softzone/web") when `v1_controller` is empty, else the v1 line whose
// controller list names it ("3:cpuset:/softzone/web"). No such line is bad input.
Result<std::string> parseProcessCgroup(const std::vector<std::string>& lines,
                                       std::string_view v1_controller);
Result<std::string> readProcessCgroupAt(const FsRoot& root, pid_t pid,
                                        std::string_view v1_controller);

// Whether a /proc/PID/cgroup path ("/softzone/web/ctr1") is `cgroup` (relative to the mount,
// "softzone/web") or below it.
bool isInCgroup(std::string_view process_cgroup, std::string_view cgroup);

// Holds `pid` by a pidfd and then confirms, through `root`'s /proc, that the process is in
// `cgroup` or below it (`v1_controller` as for readProcessCgroupAt): a pid read from cgroup.procs
// earlier may since name another process. ESRCH when it is gone or has left the cgroup.
Result<ProcessHandle> holdProcessIn(const FsRoot& root, pid_t pid, std::string_view cgroup,
                                    std::string_view v1_controller);

}  // namespace softzone::zones

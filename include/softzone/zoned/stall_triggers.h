// PSI triggers on the partitions' cgroups (v2): the kernel wakes zoned as soon as a partition's
// tasks have stalled on memory for `stall_trigger` within `stall_window`, instead of zoned
// finding it at its next sample. A ramp that fills a partition between two samples is seen
// while its tasks are in direct reclaim, before the kernel gives up and kills.
#pragma once

#include <poll.h>

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "softzone/cpuset/partitions.h"
#include "softzone/zoned/config.h"
#include "softzone/zones/fs_root.h"

namespace softzone::zoned {

// The line written to a memory.pressure file to arm a trigger: "some 100000 1000000" (stall and
// window in microseconds), NUL-terminated as the kernel reads it.
std::string stallTriggerLine(const ZonedConfig& config);

class StallTriggers {
 public:
  // Arms a trigger for each partition of `session` that has none (or had one for another cgroup
  // or configuration), and drops those of partitions that are gone. Only on the running system
  // with cgroup v2 and `stall_trigger` on; a partition whose trigger cannot be armed (PSI off,
  // an old kernel) is said once on `log` and left to the interval's samples.
  void refresh(const cpuset::Session& session, const ZonedConfig& config, std::ostream& log);

  // The armed triggers' descriptors, to poll for POLLPRI beside the loop's own.
  void appendPollFds(std::vector<pollfd>& fds) const;
  // Counts the events `fds` (from appendPollFds, starting at `first`) report; true when any did.
  bool collect(const std::vector<pollfd>& fds, size_t first);
  // Events per partition since the previous take, and forgets them.
  std::map<std::string, int, std::less<>> take();

  size_t armed() const noexcept { return armed_.size(); }

 private:
  struct Armed {
    std::string path;  // the memory.pressure file, host path
    std::string line;  // what armed it
    Fd fd;
  };
  std::map<std::string, Armed, std::less<>> armed_;
  std::map<std::string, std::string, std::less<>> refused_;  // partition -> path it failed on
  std::map<std::string, int, std::less<>> events_;
};

}  // namespace softzone::zoned

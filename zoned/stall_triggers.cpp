// PSI triggers (Documentation/accounting/psi.rst, "Monitoring for pressure thresholds"): a
// memory.pressure file opened read-write and written "some STALL_US WINDOW_US" reports POLLPRI
// once per window in which the cgroup's tasks stalled at least that long; the trigger lives as
// long as the descriptor.
#include "softzone/zoned/stall_triggers.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>

#include "softzone/zones/kernel_files.h"

namespace softzone::zoned {
namespace {

bool canArm(const cpuset::Session& session, const ZonedConfig& config) {
  return config.stall_trigger_ms > 0 && session.fs->isLive() &&
         session.zones.cgroup.version == cpuset::CgroupVersion::kV2;
}

Result<Fd> arm(const FsRoot& fs, const std::string& path, const std::string& line) {
  // O_NOFOLLOW: a cgroup delegated to a user is still cgroupfs, where no symlink can be made,
  // but the path is walked through directories that user may rename. Checked after the open:
  // the trigger is written only to a file of the cgroup v2 filesystem.
  SZ_TRY(fd, fs.openAt(path, O_RDWR | O_NONBLOCK, true));
  struct statfs where {};
  if (::fstatfs(fd.get(), &where) != 0) return errnoError(errno, "fstatfs " + fs.hostPath(path));
  if (where.f_type != CGROUP2_SUPER_MAGIC) {
    return errnoError(EXDEV, fs.hostPath(path) + " is not on the cgroup v2 filesystem");
  }
  ssize_t written = ::write(fd.get(), line.data(), line.size());
  if (written != static_cast<ssize_t>(line.size())) {
    return errnoError(written < 0 ? errno : EIO, "arming a PSI trigger in " + fs.hostPath(path));
  }
  return fd;
}

}  // namespace

std::string stallTriggerLine(const ZonedConfig& config) {
  std::string line = "some " + std::to_string(config.stall_trigger_ms * 1000) + " " +
                     std::to_string(config.stall_window_ms * 1000);
  line.push_back('\0');  // the kernel replaces the last byte written with a NUL
  return line;
}

void StallTriggers::refresh(const cpuset::Session& session, const ZonedConfig& config,
                            std::ostream& log) {
  std::map<std::string, Armed, std::less<>> next;
  if (canArm(session, config)) {
    const std::string line = stallTriggerLine(config);
    const cpuset::CgroupChoice& cgroup = session.zones.cgroup;
    for (const cpuset::ZoneView* zone : session.zones.partitions()) {
      std::string path = kernel::joinPath(kernel::joinPath(cgroup.mount_point, zone->cgroup_path),
                                          kernel::kMemoryPressureFile);
      auto old = armed_.find(zone->name);
      if (old != armed_.end() && old->second.path == path && old->second.line == line) {
        next.emplace(zone->name, std::move(old->second));
        continue;
      }
      auto refused = refused_.find(zone->name);
      if (refused != refused_.end() && refused->second == path + line) continue;
      auto fd = arm(*session.fs, path, line);
      if (!fd) {
        log << "zoned: no stall trigger for " << zone->name
            << ", it is sampled every interval: " << fd.error().describe() << "\n";
        refused_[zone->name] = path + line;
        continue;
      }
      refused_.erase(zone->name);
      next.emplace(zone->name, Armed{path, line, std::move(fd).value()});
    }
  }
  armed_ = std::move(next);
  std::erase_if(refused_, [&](const auto& r) { return session.zones.find(r.first) == nullptr; });
}

void StallTriggers::appendPollFds(std::vector<pollfd>& fds) const {
  for (const auto& [name, armed] : armed_) fds.push_back(pollfd{armed.fd.get(), POLLPRI, 0});
}

bool StallTriggers::collect(const std::vector<pollfd>& fds, size_t first) {
  bool any = false;
  size_t index = first;
  std::vector<std::string> broken;
  for (const auto& [name, armed] : armed_) {
    if (index >= fds.size()) break;
    short revents = fds[index++].revents;
    if (revents & POLLPRI) {
      ++events_[name];
      any = true;
    }
    // The cgroup went away under the trigger: poll would report it at once, forever. Dropped
    // now; the next sample's refresh arms the partition again if it still exists.
    if (revents & (POLLERR | POLLHUP | POLLNVAL)) broken.push_back(name);
  }
  for (const std::string& name : broken) armed_.erase(name);
  return any;
}

std::map<std::string, int, std::less<>> StallTriggers::take() { return std::exchange(events_, {}); }

}  // namespace softzone::zoned

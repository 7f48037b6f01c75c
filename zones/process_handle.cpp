// Processes held by pidfds, and the cgroup a process is in (see process_handle.h).
#include "softzone/zones/process_handle.h"

#include <poll.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace softzone::zones {

Result<ProcessHandle> ProcessHandle::open(pid_t pid) {
  if (pid <= 0) return badInput("no process " + std::to_string(pid));
  long fd = ::syscall(SYS_pidfd_open, pid, 0);
  if (fd < 0) {
    int err = errno;
    if (err == ESRCH)
      return errnoError(ESRCH, "pid " + std::to_string(pid) + ": the process is gone");
    return errnoError(err, "pidfd_open pid " + std::to_string(pid));
  }
  return ProcessHandle(Fd(static_cast<int>(fd)), pid);
}

bool ProcessHandle::exited() const {
  struct pollfd poll_fd {};
  poll_fd.fd = fd_.get();
  poll_fd.events = POLLIN;
  int ready;
  do {
    ready = ::poll(&poll_fd, 1, 0);
  } while (ready < 0 && errno == EINTR);
  // A poll that fails says nothing good about the process: count it as gone.
  return ready != 0;
}

Result<std::string> parseProcessCgroup(const std::vector<std::string>& lines,
                                       std::string_view v1_controller) {
  for (const std::string& line : lines) {
    size_t first = line.find(':');
    if (first == std::string::npos) continue;
    size_t second = line.find(':', first + 1);
    if (second == std::string::npos) continue;
    std::string_view id(line.data(), first);
    std::string_view controllers(line.data() + first + 1, second - first - 1);
    std::string path = line.substr(second + 1);
    if (v1_controller.empty()) {
      if (id == "0" && controllers.empty()) return path;
      continue;
    }
    // "cpu,cpuacct": a comma-separated list, matched whole.
    size_t start = 0;
    while (start <= controllers.size()) {
      size_t end = controllers.find(',', start);
      if (end == std::string_view::npos) end = controllers.size();
      if (controllers.substr(start, end - start) == v1_controller) return path;
      start = end + 1;
    }
  }
  return badInput(v1_controller.empty()
                      ? std::string("no cgroup v2 line (0::PATH)")
                      : "no line for the " + std::string(v1_controller) + " controller");
}

Result<std::string> readProcessCgroupAt(const FsRoot& root, pid_t pid,
                                        std::string_view v1_controller) {
  std::string path = "/proc/" + std::to_string(pid) + "/cgroup";
  auto lines = root.readLines(path);
  if (!lines) {
    int err = lines.error().code().value();
    if (lines.error().code().category() == std::generic_category() &&
        (err == ENOENT || err == ESRCH)) {
      return errnoError(ESRCH, "pid " + std::to_string(pid) + ": the process is gone");
    }
    return std::move(lines).error();
  }
  SZ_TRY(cgroup, parseProcessCgroup(*lines, v1_controller));
  return cgroup;
}

bool isInCgroup(std::string_view process_cgroup, std::string_view cgroup) {
  while (!cgroup.empty() && cgroup.front() == '/') cgroup.remove_prefix(1);
  while (!cgroup.empty() && cgroup.back() == '/') cgroup.remove_suffix(1);
  if (process_cgroup.empty() || process_cgroup.front() != '/') return false;
  process_cgroup.remove_prefix(1);
  if (cgroup.empty()) return true;
  if (process_cgroup.substr(0, cgroup.size()) != cgroup) return false;
  return process_cgroup.size() == cgroup.size() || process_cgroup[cgroup.size()] == '/';
}

Result<ProcessHandle> holdProcessIn(const FsRoot& root, pid_t pid, std::string_view cgroup,
                                    std::string_view v1_controller) {
  SZ_TRY(handle, ProcessHandle::open(pid));
  SZ_TRY(in, readProcessCgroupAt(root, pid, v1_controller));
  if (!isInCgroup(in, cgroup)) {
    return errnoError(ESRCH, "pid " + std::to_string(pid) + " has left " + std::string(cgroup) +
                                 " (it is in " + in + ")");
  }
  return handle;
}

}  // namespace softzone::zones

// The keeper behind `bind --lock`: a detached process that maps and mlocks bound files so their
// page cache is never reclaimed (and so never read back in on some other node).
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <sstream>

#include "file_map.h"
#include "keeper_record.h"
#include "softzone/cache/page_cache.h"

namespace softzone::cache {
namespace {

constexpr size_t kCommMax = 15;  // TASK_COMM_LEN - 1

std::string keeperComm(const std::string& name) { return ("sz-keep-" + name).substr(0, kCommMax); }

void writeAll(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

// One file mapped and locked in the keeper; the errno of what failed (ESTALE: it changed since
// the walk and was not read), 0 when it is held.
int lockFile(const TreeFile& file, uint64_t& locked) {
  auto opened = openTreeFile(file);
  if (!opened) {
    bool changed = failReasonOf(opened.error()) == FailReason::kChanged;
    return changed ? ESTALE : opened.error().code().value();
  }
  if (opened->size_bytes == 0) return 0;
  auto length = static_cast<size_t>(opened->size_bytes);
  void* base = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, opened->fd.get(), 0);
  if (base == MAP_FAILED) return errno;
  if (::mlock(base, length) != 0) {
    int err = errno;
    ::munmap(base, length);
    return err;
  }
  locked += length;
  return 0;
}

// In the keeper: bind, map, lock, tell the parent, sleep. Never returns.
[[noreturn]] void runKeeper(const std::string& name, const std::vector<TreeFile>& files,
                            const NodeSet& targets, int report_fd, const FsRoot& proc) {
  ::prctl(PR_SET_NAME, keeperComm(name).c_str(), 0, 0, 0);
  // Pages evicted before the lock took hold are read back in on the targets.
  zones::setMempolicyCall(MPOL_BIND, targets);
  std::ostringstream report;
  auto self = detail::readProcessId(proc, 0);
  report << "pid\t" << ::getpid() << "\t" << (self ? self->start_ticks : 0) << "\n";
  uint64_t locked = 0;
  uint64_t count = 0;
  for (const TreeFile& file : files) {
    if (int err = lockFile(file, locked); err != 0) {
      report << "fail\t" << err << "\t" << file.path << "\n";
      continue;
    }
    ++count;
  }
  report << "ready\t" << count << "\t" << locked << "\n";
  writeAll(report_fd, report.str());
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd >= 0) {
    ::dup2(null_fd, 0);
    ::dup2(null_fd, 1);
    ::dup2(null_fd, 2);
  }
  // The locks outlive the descriptors: the report pipe and the walk's directories go.
  ::close_range(3, ~0U, 0);
  if (::chdir("/") != 0) {
    // Staying in the caller's directory only keeps it busy; nothing to report to anyone now.
  }
  for (;;) ::pause();
}

std::string readAllFrom(int fd) {
  std::string text;
  std::array<char, 4096> buffer{};
  for (;;) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return text;
    text.append(buffer.data(), static_cast<size_t>(n));
  }
}

uint64_t toNumber(std::string_view text) {
  uint64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

std::vector<std::string> splitTabs(const std::string& line) {
  std::vector<std::string> fields;
  size_t start = 0;
  for (;;) {
    size_t tab = line.find('\t', start);
    // The last field (a path) keeps any tabs it holds.
    if (tab == std::string::npos || fields.size() == 2) {
      fields.push_back(line.substr(start));
      return fields;
    }
    fields.push_back(line.substr(start, tab - start));
    start = tab + 1;
  }
}

// The keeper's report, and its start time for the pid file.
Result<KeeperReport> parseKeeperReport(const std::string& text, uint64_t& start_ticks) {
  KeeperReport report;
  bool ready = false;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    auto fields = splitTabs(line);
    if (fields[0] == "pid" && fields.size() == 3) {
      report.pid = static_cast<pid_t>(toNumber(fields[1]));
      start_ticks = toNumber(fields[2]);
    } else if (fields[0] == "fail" && fields.size() == 3) {
      int err = static_cast<int>(toNumber(fields[1]));
      std::string detail = "mlock: " + std::string(std::strerror(err));
      if (err == ESTALE) detail = "changed since it was walked: not opened or not read";
      if (err == ENOMEM || err == EAGAIN || err == EPERM) {
        detail += " (RLIMIT_MEMLOCK is too low for it: raise it or run with CAP_IPC_LOCK)";
      }
      report.file_failures.push_back({fields[2], failReasonOfErrno(err), detail});
    } else if (fields[0] == "ready" && fields.size() == 3) {
      ready = true;
      report.files = toNumber(fields[1]);
      report.locked_bytes = toNumber(fields[2]);
    }
  }
  if (!ready || report.pid <= 0 || start_ticks == 0) {
    return errnoError(ECHILD, "the keeper died before locking");
  }
  return report;
}

}  // namespace

Result<KeeperReport> startKeeper(const std::string& name, const std::vector<TreeFile>& files,
                                 const NodeSet& targets, const std::string& pid_dir,
                                 const FsRoot& proc) {
  SZ_TRY(dir, detail::openPidDir(pid_dir));
  std::string pid_file = name + ".pid";
  auto earlier = detail::openRecordedKeeper(dir, pid_file, keeperComm(name), proc);
  std::array<int, 2> pipe_fds{};
  if (::pipe2(pipe_fds.data(), O_CLOEXEC) != 0) return errnoError(errno, "pipe");
  pid_t child = ::fork();
  if (child < 0) return errnoError(errno, "fork");
  if (child == 0) {
    // Detach twice: a new session, then a grandchild init adopts, so no one has to reap it.
    ::close(pipe_fds[0]);
    ::setsid();
    if (::fork() != 0) ::_exit(0);
    runKeeper(name, files, targets, pipe_fds[1], proc);
  }
  ::close(pipe_fds[1]);
  int child_status = 0;
  ::waitpid(child, &child_status, 0);
  std::string text = readAllFrom(pipe_fds[0]);
  ::close(pipe_fds[0]);
  uint64_t start_ticks = 0;
  SZ_TRY(report, parseKeeperReport(text, start_ticks));
  if (Status recorded = detail::writePidFile(dir, pid_file, {report.pid, start_ticks}); !recorded) {
    // Unrecorded, the new keeper could never be replaced or stopped by name: it goes, and the
    // earlier one stays recorded and holding.
    Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, report.pid, 0)));
    if (pidfd.valid()) (void)detail::stopKeeper(pidfd);
    return Error(recorded.error()).withContext(quoteInput(pid_dir));
  }
  if (earlier) {
    SZ_CHECK(detail::stopKeeper(earlier->pidfd));
    report.replaced = earlier->pid;
  }
  return report;
}

}  // namespace softzone::cache

// The keeper behind `bind --lock`: a detached process that maps and mlocks bound files so their
// page cache is never reclaimed (and so never read back in on some other node).
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <sstream>

#include "file_map.h"
#include "softzone/page_cache.h"

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

// In the keeper: bind, map, lock, tell the parent, sleep. Never returns.
[[noreturn]] void runKeeper(const std::string& name, const std::vector<TreeFile>& files,
                            const NodeSet& targets, int report_fd) {
  ::prctl(PR_SET_NAME, keeperComm(name).c_str(), 0, 0, 0);
  // Pages evicted before the lock took hold are read back in on the targets.
  zones::setMempolicyCall(MPOL_BIND, targets);
  std::ostringstream report;
  report << "pid\t" << ::getpid() << "\n";
  uint64_t locked = 0;
  uint64_t count = 0;
  for (const TreeFile& file : files) {
    auto fd = detail::openForCache(file.path);
    struct stat st {};
    if (!fd || ::fstat(fd->get(), &st) != 0) {
      report << "fail\t" << (fd ? errno : fd.error().code().value()) << "\t" << file.path << "\n";
      continue;
    }
    if (st.st_size == 0) {
      ++count;
      continue;
    }
    size_t length = static_cast<size_t>(st.st_size);
    void* base = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, fd->get(), 0);
    if (base == MAP_FAILED) {
      report << "fail\t" << errno << "\t" << file.path << "\n";
      continue;
    }
    if (::mlock(base, length) != 0) {
      report << "fail\t" << errno << "\t" << file.path << "\n";
      ::munmap(base, length);
      continue;
    }
    ++count;
    locked += length;
  }
  report << "ready\t" << count << "\t" << locked << "\n";
  writeAll(report_fd, report.str());
  ::close(report_fd);
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd >= 0) {
    ::dup2(null_fd, 0);
    ::dup2(null_fd, 1);
    ::dup2(null_fd, 2);
  }
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

Result<KeeperReport> parseKeeperReport(const std::string& text) {
  KeeperReport report;
  bool ready = false;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    auto fields = splitTabs(line);
    if (fields[0] == "pid" && fields.size() >= 2) {
      report.pid = static_cast<pid_t>(toNumber(fields[1]));
    } else if (fields[0] == "fail" && fields.size() == 3) {
      int err = static_cast<int>(toNumber(fields[1]));
      std::string detail = "mlock: " + std::string(std::strerror(err));
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
  if (!ready || report.pid <= 0) return errnoError(ECHILD, "the keeper died before locking");
  return report;
}

// The keeper recorded in `pid_file`, if that process still is one (its comm says so).
std::optional<pid_t> recordedKeeper(const std::string& pid_file, const std::string& name,
                                    const FsRoot& proc) {
  int fd = ::open(pid_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string text = readAllFrom(fd);
  ::close(fd);
  auto pid = static_cast<pid_t>(toNumber(text));
  if (pid <= 0) return std::nullopt;
  auto comm = proc.readAttribute("/proc/" + std::to_string(pid) + "/comm");
  if (!comm || *comm != keeperComm(name)) return std::nullopt;
  return pid;
}

}  // namespace

Result<KeeperReport> startKeeper(const std::string& name, const std::vector<TreeFile>& files,
                                 const NodeSet& targets, const std::string& pid_dir,
                                 const FsRoot& proc) {
  if (::mkdir(pid_dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return errnoError(errno, "creating " + quoteInput(pid_dir));
  }
  std::string pid_file = pid_dir + "/" + name + ".pid";
  std::optional<pid_t> earlier = recordedKeeper(pid_file, name, proc);
  std::array<int, 2> pipe_fds{};
  if (::pipe2(pipe_fds.data(), O_CLOEXEC) != 0) return errnoError(errno, "pipe");
  pid_t child = ::fork();
  if (child < 0) return errnoError(errno, "fork");
  if (child == 0) {
    // Detach twice: a new session, then a grandchild init adopts, so no one has to reap it.
    ::close(pipe_fds[0]);
    ::setsid();
    if (::fork() != 0) ::_exit(0);
    runKeeper(name, files, targets, pipe_fds[1]);
  }
  ::close(pipe_fds[1]);
  int child_status = 0;
  ::waitpid(child, &child_status, 0);
  std::string text = readAllFrom(pipe_fds[0]);
  ::close(pipe_fds[0]);
  SZ_TRY(report, parseKeeperReport(text));
  if (earlier && *earlier != report.pid) {
    ::kill(*earlier, SIGTERM);
    report.replaced = *earlier;
  }
  std::string tmp = pid_file + ".new";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return errnoError(errno, "writing " + quoteInput(pid_file));
  writeAll(fd, std::to_string(report.pid) + "\n");
  ::close(fd);
  if (::rename(tmp.c_str(), pid_file.c_str()) != 0) {
    return errnoError(errno, "writing " + quoteInput(pid_file));
  }
  return report;
}

}  // namespace softzone::cache

// The keeper's pid file (pid and start time, written without following links) and the pidfd
// that stops an earlier keeper only if it still is that keeper.
#include "keeper_record.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "softzone/zones/safe_write.h"
#include "softzone/zones/text_parse.h"

namespace softzone::cache::detail {
namespace {

// /proc/PID/stat: fields 3 onwards follow the last ')'; the start time is field 22.
constexpr size_t kStartTimeAfterComm = 22 - 3;
constexpr size_t kPidFileMaxBytes = 64;

std::optional<std::string> readSmallFileAt(const Fd& dir, const std::string& name) {
  Fd fd(::openat(dir.get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  struct stat st {};
  if (!fd.valid() || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  std::array<char, kPidFileMaxBytes> buffer{};
  ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
  if (n <= 0) return std::nullopt;
  return std::string(buffer.data(), static_cast<size_t>(n));
}

}  // namespace

std::optional<uint64_t> parseStartTicks(std::string_view stat_line) {
  size_t close = stat_line.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  std::string_view rest = stat_line.substr(close + 1);
  size_t field = 0;
  size_t at = 0;
  for (;;) {
    while (at < rest.size() && rest[at] == ' ') ++at;
    if (at >= rest.size()) return std::nullopt;
    size_t end = rest.find(' ', at);
    if (end == std::string_view::npos) end = rest.size();
    if (field == kStartTimeAfterComm) {
      std::string_view value = rest.substr(at, end - at);
      if (!value.empty() && value.back() == '\n') value.remove_suffix(1);
      return parseNumber<uint64_t>(value);
    }
    ++field;
    at = end;
  }
}

std::string formatPidFile(const ProcessId& id) {
  return std::to_string(id.pid) + " " + std::to_string(id.start_ticks) + "\n";
}

std::optional<ProcessId> parsePidFile(std::string_view text) {
  if (text.empty() || text.back() != '\n') return std::nullopt;
  text.remove_suffix(1);
  size_t space = text.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  auto pid = parseNumber<pid_t>(text.substr(0, space));
  auto start = parseNumber<uint64_t>(text.substr(space + 1));
  if (!pid || *pid <= 0 || !start) return std::nullopt;
  return ProcessId{*pid, *start};
}

Result<ProcessId> readProcessId(const FsRoot& proc, pid_t pid) {
  std::string dir = pid == 0 ? "/proc/self" : "/proc/" + std::to_string(pid);
  SZ_TRY(line, proc.readAttribute(dir + "/stat"));
  auto start = parseStartTicks(line);
  if (!start) return mismatch(dir + "/stat has no start time where the kernel puts it");
  pid_t own = pid;
  if (pid == 0) own = ::getpid();
  return ProcessId{own, *start};
}

Result<Fd> openPidDir(const std::string& pid_dir) {
  if (::mkdir(pid_dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return errnoError(errno, "creating " + quoteInput(pid_dir));
  }
  Fd dir(::open(pid_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.valid() && (errno == ELOOP || errno == ENOTDIR)) {
    return mismatch(quoteInput(pid_dir) +
                    " is a symlink or not a directory: the keeper's pid file is not kept there");
  }
  if (!dir.valid()) return errnoError(errno, "opening " + quoteInput(pid_dir));
  struct stat st {};
  if (::fstat(dir.get(), &st) != 0) return errnoError(errno, "fstat " + quoteInput(pid_dir));
  if (st.st_uid != ::geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return mismatch(quoteInput(pid_dir) + " is owned by uid " + std::to_string(st.st_uid) +
                    " or writable by others: the keeper's pid file is not kept there (make it " +
                    "owned by uid " + std::to_string(::geteuid()) + ", mode 0755)");
  }
  return dir;
}

std::optional<RecordedKeeper> openRecordedKeeper(const Fd& dir, const std::string& file_name,
                                                 std::string_view comm, const FsRoot& proc) {
  auto text = readSmallFileAt(dir, file_name);
  if (!text) return std::nullopt;
  auto recorded = parsePidFile(*text);
  if (!recorded) return std::nullopt;
  // The pidfd first: whatever /proc says next is about the process it holds, or the pid went to
  // a process started later, whose start time differs.
  Fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, recorded->pid, 0)));
  if (!pidfd.valid()) return std::nullopt;
  auto now = readProcessId(proc, recorded->pid);
  auto now_comm = proc.readAttribute("/proc/" + std::to_string(recorded->pid) + "/comm");
  if (!now || *now != *recorded || !now_comm || *now_comm != comm) return std::nullopt;
  return RecordedKeeper{recorded->pid, std::move(pidfd)};
}

Status writePidFile(const Fd& dir, const std::string& file_name, const ProcessId& id) {
  return replaceFileAt(dir.get(), file_name, formatPidFile(id), "the keeper's pid file", 0644);
}

Status stopKeeper(const Fd& pidfd) {
  if (::syscall(SYS_pidfd_send_signal, pidfd.get(), SIGTERM, nullptr, 0) != 0 && errno != ESRCH) {
    return errnoError(errno, "pidfd_send_signal(SIGTERM)");
  }
  return {};
}

}  // namespace softzone::cache::detail

// Inside the cache library: the keeper's pid file, and telling a recorded keeper from a process
// that got its pid later.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "softzone/zones/fs_root.h"
#include "softzone/zones/result.h"

namespace softzone::cache::detail {

// A process as a pid file records it: a pid alone may be another process's by the time it is
// read again; with its start time (clock ticks after boot) it is only ever the one process.
struct ProcessId {
  pid_t pid = 0;
  uint64_t start_ticks = 0;

  friend bool operator==(const ProcessId&, const ProcessId&) = default;
};

// The start time in a /proc/PID/stat line (field 22). The comm field (2) is in parentheses and
// may itself hold ") " and spaces: the fields are counted from the last ')'.
std::optional<uint64_t> parseStartTicks(std::string_view stat_line);

// "PID START\n", and back; nullopt for anything else (an older pid file held the pid alone: it
// does not say which process it meant, so nothing is signalled on its word).
std::string formatPidFile(const ProcessId& id);
std::optional<ProcessId> parsePidFile(std::string_view text);

// The process `pid` as /proc shows it now (pid 0: this process, through /proc/self).
Result<ProcessId> readProcessId(const FsRoot& proc, pid_t pid);

// The pid directory, created with mode 0755 if missing, opened without following a symlink and
// refused unless it is owned by this user and writable by no one else (a user who could write
// there could plant the pid file, or swap it for a symlink).
Result<Fd> openPidDir(const std::string& pid_dir);

// The keeper recorded in `file_name` under `dir`, as a pidfd, if that process is still the one
// recorded (same start time) and still a keeper (`comm`). nullopt otherwise: no signal goes to
// a process that merely has its pid now.
struct RecordedKeeper {
  pid_t pid = 0;
  Fd pidfd;
};
std::optional<RecordedKeeper> openRecordedKeeper(const Fd& dir, const std::string& file_name,
                                                 std::string_view comm, const FsRoot& proc);

// Writes the pid file: a new file (O_CREAT|O_EXCL|O_NOFOLLOW) beside it, written, fsynced and
// renamed over it, so no symlink is followed and a reader sees the old or the new record.
Status writePidFile(const Fd& dir, const std::string& file_name, const ProcessId& id);

// SIGTERM through the pidfd: it reaches the process opened, never a later one with its pid.
Status stopKeeper(const Fd& pidfd);

}  // namespace softzone::cache::detail

// FsRoot: every sysfs/procfs/cgroupfs path resolved in one root ("/" live, a fixture tree).
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "softzone/zones/result.h"

namespace softzone {

// An owned file descriptor, closed on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  ~Fd();

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  int release() noexcept {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

// The kernel's files as seen from a root directory. Paths given to it are absolute kernel paths
// ("/sys/devices/system/node/node0/meminfo"); they are resolved inside the root, symlinks included
// (openat2 RESOLVE_IN_ROOT), so a captured sysfs tree behaves like the real one and can't escape.
class FsRoot {
 public:
  // Opens the root directory. A missing or non-directory root is bad input (exit 2).
  static Result<FsRoot> open(const std::string& root);

  // The live system ("/").
  static Result<FsRoot> live() { return open("/"); }

  // True when the root is the running system; tools refuse to act on a machine they merely read.
  bool isLive() const noexcept { return live_; }
  // Whether a pid read through this root may be acted on: its pages read and moved with
  // move_pages(2) / migrate_pages(2), which take a pid, not a path, and so always reach the
  // running kernel's processes. Only on the live root: in a captured tree a pid names whatever
  // live process has that number now.
  bool canActOnProcesses() const noexcept { return live_; }
  // Bad input (exit 2) naming `verb` when canActOnProcesses() is false and `pids` has any: the
  // one check every verb that reads or moves processes' pages makes before it changes anything.
  Status checkCanActOnProcesses(std::string_view verb, size_t pids) const;
  const std::string& rootPath() const noexcept { return root_; }

  // The host path of a kernel path (for messages and for libraries that take a path, e.g. hwloc).
  std::string hostPath(std::string_view path) const;

  // Opens a file relative to the root with the given open(2) flags (O_CLOEXEC always added,
  // O_NOFOLLOW semantics for the last component when `no_follow` is set).
  Result<Fd> openAt(std::string_view path, int flags, bool no_follow = false) const;

  Result<std::string> readFile(std::string_view path) const;
  Result<std::vector<std::string>> readLines(std::string_view path) const;
  // The first line without its newline: the shape of most sysfs attributes.
  Result<std::string> readAttribute(std::string_view path) const;
  // Entry names of a directory, sorted, without "." and "..".
  Result<std::vector<std::string>> listDir(std::string_view path) const;
  bool exists(std::string_view path) const;

  // Writes the whole string in one write(2), as cgroupfs and sysfs expect; no O_CREAT.
  Status writeAttribute(std::string_view path, std::string_view value) const;

  // --- changing the tree (cgroup directories, softzone's state, lock and journal files) ---
  // The last component is never followed: mkdirat/unlinkat/renameat act on the name itself.

  // mkdir(2) of `path`; an existing entry is EEXIST.
  Status mkdirAt(std::string_view path, mode_t mode = 0755) const;
  // `path` and every missing directory above it; existing directories are fine.
  Status makeDirs(std::string_view path, mode_t mode = 0755) const;
  // rmdir(2): for cgroups, removes the cgroup (EBUSY while it has tasks or children).
  Status rmdirAt(std::string_view path) const;
  // unlink(2) of a file; a missing file is ENOENT.
  Status unlinkAt(std::string_view path) const;
  // Replaces the file at `path` with `content` atomically: a temporary file beside it is
  // written, fsync'ed and renamed over it, so a reader (or a crash) sees the old or the new
  // content, never a mix.
  Status replaceFile(std::string_view path, std::string_view content) const;

  // A root at directory `dir` of this one in which no symlink is followed at all and ".." cannot
  // climb out (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS): cgroupfs writes go through one,
  // relative to the cgroup mount. isLive() is inherited: it still is the running system.
  Result<FsRoot> openSubtree(std::string_view dir) const;

 private:
  FsRoot(std::string root, Fd dirfd, bool live)
      : root_(std::move(root)), dirfd_(std::move(dirfd)), live_(live) {}

  // The directory holding `path` (opened O_PATH) and the last component's name.
  Result<std::pair<Fd, std::string>> openParentAt(std::string_view path) const;

  std::string root_;
  Fd dirfd_;
  bool live_ = false;
  bool no_symlinks_ = false;  // openSubtree(): refuse every symlink, stay beneath the root
};

}  // namespace softzone

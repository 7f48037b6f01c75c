// FsRoot: every sysfs/procfs/cgroupfs path resolved in one root ("/" live, a fixture tree).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "softzone/result.h"

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

 private:
  FsRoot(std::string root, Fd dirfd, bool live)
      : root_(std::move(root)), dirfd_(std::move(dirfd)), live_(live) {}

  std::string root_;
  Fd dirfd_;
  bool live_ = false;
};

}  // namespace softzone

// Walking the trees to bind or look at: regular files once each, each directory opened relative
// to its parent, symlinks below a PATH never followed, a PATH's filesystem not left unless asked.
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <utility>

#include "softzone/cache/page_cache.h"

namespace softzone::cache {
namespace {

using FileId = std::pair<dev_t, ino_t>;

FileId idOf(const struct stat& st) { return {st.st_dev, st.st_ino}; }

std::string joinPath(const std::string& dir, const std::string& name) {
  if (!dir.empty() && dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

// A tree holds a descriptor per directory with files in it (a Debian /usr/lib: thousands); the
// soft limit (1024 by default) is there for select(2) users, which this is not.
void raiseOpenFileLimit() {
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == limit.rlim_max) return;
  limit.rlim_cur = limit.rlim_max;
  (void)::setrlimit(RLIMIT_NOFILE, &limit);
}

// A directory entry, looked at without following it.
struct Entry {
  std::string name;
  struct stat st {};
};

class Walker {
 public:
  Walker(std::set<FileId>& seen, const WalkOptions& options) : seen_(seen), options_(options) {}

  Result<TreeWalk> walk(const std::string& root) {
    walk_ = TreeWalk{};
    walk_.root = root;
    // The PATH itself is followed: it is what the caller named (/lib is a symlink on Debian).
    struct stat st {};
    if (::stat(root.c_str(), &st) != 0) return statError(root, errno, /*top=*/true);
    root_device_ = st.st_dev;
    if (S_ISREG(st.st_mode)) {
      SZ_CHECK(addTopFile(root, st));
    } else if (S_ISDIR(st.st_mode)) {
      int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0) return statError(root, errno, /*top=*/true);
      auto dir = std::make_shared<const Fd>(fd);
      SZ_CHECK(visitDirectory(root, dir, st));
    } else {
      ++walk_.others_skipped;
    }
    return std::move(walk_);
  }

 private:
  Error statError(const std::string& path, int err, bool top) {
    if (err == ELOOP) {
      return badInput("symlink loop at " + quoteInput(path) +
                      ": a symlink leads back to itself; remove it or bind a path without it");
    }
    if (err == ENOENT && top) return badInput("no such file or directory: " + quoteInput(path));
    if (err == EACCES) {
      return badInput("no permission to look at " + quoteInput(path) + " (run as root)");
    }
    if (err == EMFILE) {
      return errnoError(err, "opening " + quoteInput(path) +
                                 ": too many directories to hold open (raise RLIMIT_NOFILE)");
    }
    return errnoError(err, "stat " + quoteInput(path));
  }

  // A PATH naming one file: its directory is the one its real path is in.
  Status addTopFile(const std::string& root, const struct stat& st) {
    char resolved[PATH_MAX];
    if (::realpath(root.c_str(), resolved) == nullptr) return statError(root, errno, true);
    std::string real(resolved);
    size_t slash = real.rfind('/');
    std::string parent = slash == 0 ? "/" : real.substr(0, slash);
    int fd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return statError(parent, errno, false);
    auto dir = std::make_shared<const Fd>(fd);
    addFile(root, dir, real.substr(slash + 1), st);
    return {};
  }

  void addFile(const std::string& path, const DirHandle& dir, std::string name,
               const struct stat& st) {
    if (!seen_.insert(idOf(st)).second) {
      ++walk_.duplicates_skipped;
      return;
    }
    auto size = static_cast<uint64_t>(st.st_size);
    int64_t changed_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
    walk_.files.push_back({path, dir, std::move(name), st.st_dev, st.st_ino, size, changed_ns});
    walk_.size_bytes += size;
  }

  Status visitDirectory(const std::string& path, const DirHandle& dir, const struct stat& st) {
    FileId id = idOf(st);
    // Without symlinks a directory is met again below itself only through a mount of it there.
    if (ancestors_.count(id) > 0) {
      return badInput("loop at " + quoteInput(path) +
                      ": it is a directory above it again (mounted there); bind a path without "
                      "it or leave out --cross-mounts");
    }
    if (!directories_.insert(id).second) return {};
    SZ_TRY(entries, readEntries(path, dir));
    ancestors_.insert(id);
    Status status = visitEntries(path, dir, entries);
    ancestors_.erase(id);
    return status;
  }

  // The directory's entries in name order (a stable order for reports and tests), each looked
  // at without following it.
  Result<std::vector<Entry>> readEntries(const std::string& path, const DirHandle& dir) {
    // fdopendir takes the descriptor it is given: a second one, for reading the names.
    int list_fd = ::openat(dir->get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR* listing = list_fd < 0 ? nullptr : ::fdopendir(list_fd);
    if (listing == nullptr) {
      int err = errno;
      if (list_fd >= 0) ::close(list_fd);
      return statError(path, err, false);
    }
    std::vector<std::string> names;
    while (struct dirent* entry = ::readdir(listing)) {
      if (std::strcmp(entry->d_name, ".") == 0 || std::strcmp(entry->d_name, "..") == 0) continue;
      names.emplace_back(entry->d_name);
    }
    ::closedir(listing);
    std::sort(names.begin(), names.end());
    std::vector<Entry> entries;
    for (std::string& name : names) {
      Entry entry{std::move(name), {}};
      if (::fstatat(dir->get(), entry.name.c_str(), &entry.st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;  // removed while we walked
        return statError(joinPath(path, entry.name), errno, false);
      }
      entries.push_back(std::move(entry));
    }
    return entries;
  }

  Status visitEntries(const std::string& path, const DirHandle& dir,
                      const std::vector<Entry>& entries) {
    for (const Entry& entry : entries) {
      const struct stat& st = entry.st;
      if (S_ISLNK(st.st_mode)) {
        ++walk_.symlinks_skipped;
      } else if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        ++walk_.others_skipped;
      } else if (st.st_dev != root_device_ && !options_.cross_mounts) {
        ++walk_.mounts_skipped;
      } else if (S_ISREG(st.st_mode)) {
        addFile(joinPath(path, entry.name), dir, entry.name, st);
      } else {
        SZ_CHECK(visitSubdirectory(joinPath(path, entry.name), dir, entry));
      }
    }
    return {};
  }

  // Opened relative to its parent, not followed, and checked to be the directory looked at: a
  // name swapped for a symlink or another directory meanwhile is skipped, not walked.
  Status visitSubdirectory(const std::string& path, const DirHandle& parent, const Entry& entry) {
    int fd = ::openat(parent->get(), entry.name.c_str(),
                      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      if (err == ENOENT) return {};  // removed while we walked
      if (err == ELOOP || err == ENOTDIR) {
        ++walk_.changed_skipped;
        return {};
      }
      return statError(path, err, false);
    }
    auto dir = std::make_shared<const Fd>(fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0) return statError(path, errno, false);
    if (idOf(st) != idOf(entry.st)) {
      ++walk_.changed_skipped;
      return {};
    }
    return visitDirectory(path, dir, st);
  }

  std::set<FileId>& seen_;
  const WalkOptions& options_;
  dev_t root_device_ = 0;
  std::set<FileId> ancestors_;
  std::set<FileId> directories_;
  TreeWalk walk_;
};

std::string_view kindOf(mode_t mode) {
  if (S_ISLNK(mode)) return "a symlink";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a fifo";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  if (S_ISSOCK(mode)) return "a socket";
  return "a regular file";
}

int openRelative(const TreeFile& file) {
  constexpr int kFlags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
  // O_NOATIME: looking at a cache should not dirty inodes; only the owner (or CAP_FOWNER) may
  // ask for it, others get EPERM and the file is opened without it.
  int fd = ::openat(file.dir->get(), file.name.c_str(), kFlags | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = ::openat(file.dir->get(), file.name.c_str(), kFlags);
  return fd;
}

}  // namespace

Result<std::vector<TreeWalk>> walkTrees(const std::vector<std::string>& paths,
                                        const WalkOptions& options) {
  if (paths.empty()) return badInput("no PATH given: name at least one file or directory");
  raiseOpenFileLimit();
  std::set<FileId> seen;
  std::vector<TreeWalk> walks;
  for (const std::string& path : paths) {
    Walker walker(seen, options);
    SZ_TRY(walk, walker.walk(path));
    walks.push_back(std::move(walk));
  }
  return walks;
}

Result<OpenedFile> openTreeFile(const TreeFile& file) {
  if (!file.dir) return errnoError(EBADF, "open " + quoteInput(file.path) + ": not walked");
  int fd = openRelative(file);
  if (fd < 0 && errno == ELOOP) {
    return mismatch(quoteInput(file.path) +
                    " is a symlink now (a regular file when walked): not followed");
  }
  if (fd < 0 && errno == ENXIO) {  // a socket: no open(2) of it succeeds
    return mismatch(quoteInput(file.path) + " is a socket now, not the regular file walked");
  }
  if (fd < 0) return errnoError(errno, "open " + quoteInput(file.path));
  OpenedFile opened{Fd(fd), 0};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return errnoError(errno, "fstat " + quoteInput(file.path));
  if (!S_ISREG(st.st_mode) || st.st_dev != file.device || st.st_ino != file.inode) {
    return mismatch(quoteInput(file.path) + " is " + std::string(kindOf(st.st_mode)) +
                    (S_ISREG(st.st_mode) ? " of another inode" : "") +
                    " now, not the regular file walked: not read");
  }
  opened.size_bytes = static_cast<uint64_t>(st.st_size);
  return opened;
}

}  // namespace softzone::cache

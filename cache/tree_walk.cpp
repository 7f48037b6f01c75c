// Walking the trees to bind or look at: regular files once each, symlinks followed, loops refused.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <utility>

#include "softzone/page_cache.h"

namespace softzone::cache {
namespace {

using FileId = std::pair<dev_t, ino_t>;

FileId idOf(const struct stat& st) { return {st.st_dev, st.st_ino}; }

std::string joinPath(const std::string& dir, const char* name) {
  if (!dir.empty() && dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

class Walker {
 public:
  explicit Walker(std::set<FileId>& seen) : seen_(seen) {}

  Result<TreeWalk> walk(const std::string& root) {
    walk_ = TreeWalk{};
    walk_.root = root;
    struct stat st {};
    if (::stat(root.c_str(), &st) != 0) return statError(root, errno, /*top=*/true);
    SZ_CHECK(visit(root, st));
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
    return errnoError(err, "stat " + quoteInput(path));
  }

  Status visit(const std::string& path, const struct stat& st) {
    if (S_ISREG(st.st_mode)) {
      if (!seen_.insert(idOf(st)).second) {
        ++walk_.duplicates_skipped;
        return {};
      }
      walk_.files.push_back({path, st.st_dev, st.st_ino, static_cast<uint64_t>(st.st_size)});
      walk_.size_bytes += static_cast<uint64_t>(st.st_size);
      return {};
    }
    if (S_ISDIR(st.st_mode)) return visitDirectory(path, st);
    ++walk_.others_skipped;
    return {};
  }

  // A directory's entry, looked at relative to the open directory: the kernel resolves one name,
  // not every component of the entry's path again, for each of a tree's hundreds of entries.
  struct Entry {
    std::string path;
    struct stat st {};
    int err = 0;            // stat's errno; 0: st is the entry's (symlinks followed)
    bool dangling = false;  // a symlink to nothing
  };

  Status visitDirectory(const std::string& path, const struct stat& st) {
    FileId id = idOf(st);
    if (ancestors_.count(id) > 0) {
      return badInput("symlink loop at " + quoteInput(path) +
                      ": it leads back to a directory above it; remove the link or bind a path "
                      "without it");
    }
    // A directory reached again by another symlink (not below itself) was walked already.
    if (!directories_.insert(id).second) return {};
    SZ_TRY(entries, readEntries(path));
    ancestors_.insert(id);
    Status status = visitEntries(entries);
    ancestors_.erase(id);
    return status;
  }

  // The directory's entries in name order (a stable order for reports and tests), each looked
  // at; the directory is closed before any of them is walked, so a deep tree holds one
  // descriptor at a time.
  Result<std::vector<Entry>> readEntries(const std::string& path) {
    DIR* dir = ::opendir(path.c_str());
    if (dir == nullptr) return statError(path, errno, false);
    std::vector<std::string> names;
    while (struct dirent* entry = ::readdir(dir)) {
      if (std::strcmp(entry->d_name, ".") == 0 || std::strcmp(entry->d_name, "..") == 0) continue;
      names.emplace_back(entry->d_name);
    }
    std::sort(names.begin(), names.end());
    std::vector<Entry> entries(names.size());
    int fd = ::dirfd(dir);
    for (size_t i = 0; i < names.size(); ++i) {
      Entry& entry = entries[i];
      entry.path = joinPath(path, names[i].c_str());
      if (::fstatat(fd, names[i].c_str(), &entry.st, 0) == 0) continue;
      entry.err = errno;
      struct stat link_st {};
      entry.dangling = entry.err == ENOENT &&
                       ::fstatat(fd, names[i].c_str(), &link_st, AT_SYMLINK_NOFOLLOW) == 0 &&
                       S_ISLNK(link_st.st_mode);
    }
    ::closedir(dir);
    return entries;
  }

  Status visitEntries(const std::vector<Entry>& entries) {
    for (const Entry& entry : entries) {
      if (entry.dangling) {
        ++walk_.dangling_skipped;
        continue;
      }
      if (entry.err == ENOENT) continue;  // removed while we walked
      if (entry.err != 0) return statError(entry.path, entry.err, false);
      SZ_CHECK(visit(entry.path, entry.st));
    }
    return {};
  }

  std::set<FileId>& seen_;
  std::set<FileId> ancestors_;
  std::set<FileId> directories_;
  TreeWalk walk_;
};

}  // namespace

Result<std::vector<TreeWalk>> walkTrees(const std::vector<std::string>& paths) {
  if (paths.empty()) return badInput("no PATH given: name at least one file or directory");
  std::set<FileId> seen;
  std::vector<TreeWalk> walks;
  for (const std::string& path : paths) {
    Walker walker(seen);
    SZ_TRY(walk, walker.walk(path));
    walks.push_back(std::move(walk));
  }
  return walks;
}

}  // namespace softzone::cache

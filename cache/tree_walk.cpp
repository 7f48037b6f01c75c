// Walking the trees to bind or look at: regular files once each, symlinks followed, loops refused.
#include <dirent.h>
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

  Status visitDirectory(const std::string& path, const struct stat& st) {
    FileId id = idOf(st);
    if (ancestors_.count(id) > 0) {
      return badInput("symlink loop at " + quoteInput(path) +
                      ": it leads back to a directory above it; remove the link or bind a path "
                      "without it");
    }
    // A directory reached again by another symlink (not below itself) was walked already.
    if (!directories_.insert(id).second) return {};
    DIR* dir = ::opendir(path.c_str());
    if (dir == nullptr) return statError(path, errno, false);
    std::vector<std::string> names;
    while (struct dirent* entry = ::readdir(dir)) {
      if (std::strcmp(entry->d_name, ".") == 0 || std::strcmp(entry->d_name, "..") == 0) continue;
      names.push_back(joinPath(path, entry->d_name));
    }
    ::closedir(dir);
    std::sort(names.begin(), names.end());  // a stable order for reports and tests
    ancestors_.insert(id);
    for (const std::string& child : names) {
      struct stat child_st {};
      if (::stat(child.c_str(), &child_st) != 0) {
        int err = errno;
        struct stat link_st {};
        if (err == ENOENT && ::lstat(child.c_str(), &link_st) == 0 && S_ISLNK(link_st.st_mode)) {
          ++walk_.dangling_skipped;
          continue;
        }
        if (err == ENOENT) continue;  // removed while we walked
        ancestors_.erase(id);
        return statError(child, err, false);
      }
      auto status = visit(child, child_st);
      if (!status) {
        ancestors_.erase(id);
        return status;
      }
    }
    ancestors_.erase(id);
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

// Whole-file writes that follow no symlink and trust no existing file: temp + fsync + rename.
#include "softzone/zones/safe_write.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>

#include "softzone/zones/fs_root.h"

namespace softzone {
namespace {

// Enough tries that a directory crowded by an attacker's guesses still ends in a clear EEXIST.
constexpr int kTempNameTries = 32;

// ".LEAF.XXXXXXXXXXXXXXXX" with 64 random bits: a name nobody can prepare in advance. LEAF is
// cut so the name stays within NAME_MAX (255) when the target's own name is near it.
constexpr size_t kTempLeafChars = 200;

std::string tempNameFor(const std::string& leaf) {
  uint64_t bits = 0;
  if (::getrandom(&bits, sizeof bits, 0) != static_cast<ssize_t>(sizeof bits)) {
    bits = static_cast<uint64_t>(::getpid()) * 0x9e3779b97f4a7c15ULL ^
           reinterpret_cast<uintptr_t>(&bits);
  }
  char suffix[17];
  std::snprintf(suffix, sizeof suffix, "%016llx", static_cast<unsigned long long>(bits));
  // Appended, not `"." + leaf...`: GCC 12 at -O3 warns -Wrestrict (a false positive, GCC bug
  // 105329) on the inlined insert at the front, which fails a -Werror Release build.
  std::string name = ".";
  name.append(leaf, 0, kTempLeafChars);
  name += '.';
  name += suffix;
  return name;
}

Result<std::pair<Fd, std::string>> createTempBeside(int dirfd, const std::string& leaf,
                                                    mode_t mode) {
  for (int attempt = 0; attempt < kTempNameTries; ++attempt) {
    std::string name = tempNameFor(leaf);
    Fd file(
        ::openat(dirfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
    if (file.valid()) return std::pair<Fd, std::string>(std::move(file), std::move(name));
    if (errno != EEXIST) return errnoError(errno, "creating a temporary file beside " + leaf);
  }
  return errnoError(EEXIST, "creating a temporary file beside " + leaf);
}

Status writeAll(int fd, std::string_view content) {
  while (!content.empty()) {
    ssize_t n = ::write(fd, content.data(), content.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return errnoError(n < 0 ? errno : EIO, "short write");
    content.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

// Why an existing entry other than a regular file is not replaced by an output file.
const char* nonRegularKind(mode_t mode) {
  if (S_ISLNK(mode)) return "a symlink";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "not a regular file";
}

}  // namespace

Status replaceFileAt(int dirfd, const std::string& leaf, std::string_view content,
                     std::string_view what, mode_t mode, Durability durability) {
  bool synced = durability == Durability::kSynced;
  std::string context = "writing " + std::string(what);
  auto temp = createTempBeside(dirfd, leaf, mode);
  if (!temp) return std::move(temp).error().withContext(context);
  auto& [file, name] = *temp;
  Status written = writeAll(file.get(), content);
  int err = 0;
  if (!written) {
    err = written.error().code().value();
  } else if ((synced && ::fsync(file.get()) != 0) ||
             ::renameat(dirfd, name.c_str(), dirfd, leaf.c_str()) != 0) {
    err = errno;
  }
  if (err != 0) {
    ::unlinkat(dirfd, name.c_str(), 0);
    return errnoError(err, context);
  }
  if (synced) ::fsync(dirfd);  // the rename itself survives a crash
  return {};
}

namespace {

// The directory of an output file (opened as named) and the file's name in it, after checking
// that the name is free or a regular file.
Result<std::pair<Fd, std::string>> openOutputTarget(const std::string& path) {
  std::string trimmed = path;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  size_t slash = trimmed.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : trimmed.substr(0, slash);
  std::string leaf = slash == std::string::npos ? trimmed : trimmed.substr(slash + 1);
  if (leaf.empty() || leaf == "." || leaf == ".." || path.back() == '/') {
    return badInput("-o " + path + ": does not name a file");
  }
  Fd dirfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dirfd.valid()) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return badInput("-o " + path + ": directory " + dir + " does not exist");
    }
    return errnoError(errno, "-o " + path + ": opening directory " + dir);
  }
  struct stat st {};
  if (::fstatat(dirfd.get(), leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (!S_ISREG(st.st_mode)) {
      return badInput("-o " + path + ": is " + nonRegularKind(st.st_mode) +
                      "; only a regular file is replaced (use - for stdout)");
    }
  } else if (errno != ENOENT) {
    return errnoError(errno, "-o " + path);
  }
  return std::pair<Fd, std::string>(std::move(dirfd), std::move(leaf));
}

}  // namespace

Status checkOutputFile(const std::string& path) {
  auto target = openOutputTarget(path);
  if (!target) return std::move(target).error();
  return {};
}

Status writeOutputFile(const std::string& path, std::string_view content, Durability durability) {
  SZ_TRY(target, openOutputTarget(path));
  // Swapped for a symlink after the check, the entry is still only replaced by the rename.
  return replaceFileAt(target.first.get(), target.second, content, path, 0644, durability);
}

}  // namespace softzone

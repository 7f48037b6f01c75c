// FsRoot: resolves kernel paths inside one root directory with openat2(2) and reads/writes them.
#include "softzone/zones/fs_root.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <memory>

#include "softzone/zones/safe_write.h"

namespace softzone {
namespace {

// sysfs hands out at most a page per read, procfs a seq_file buffer; 64 KiB reads cover both
// without many syscalls for big files like vmstat.
constexpr size_t kReadChunkBytes = 64 * 1024;
// Mode for callers that pass O_CREAT (journal files); attributes never create.
constexpr mode_t kCreateMode = 0644;

// Set once openat2 has reported ENOSYS (a pre-5.6 kernel or a seccomp filter), so later opens
// go straight to openat() instead of failing the same syscall again.
std::atomic<bool> g_openat2_missing{false};

// Kernel paths are absolute; inside the root they are relative to its dirfd. "" is the root.
std::string relativePath(std::string_view path) {
  size_t start = path.find_first_not_of('/');
  if (start == std::string_view::npos) return ".";
  return std::string(path.substr(start));
}

int callOpenat2(int dirfd, const std::string& rel, int flags, mode_t mode, uint64_t resolve) {
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags);
  how.mode = mode;
  how.resolve = resolve;
  return static_cast<int>(syscall(SYS_openat2, dirfd, rel.c_str(), &how, sizeof(how)));
}

ssize_t readRetrying(int fd, char* buf, size_t len) {
  ssize_t n;
  do {
    n = ::read(fd, buf, len);
  } while (n < 0 && errno == EINTR);
  return n;
}

ssize_t writeRetrying(int fd, const char* buf, size_t len) {
  ssize_t n;
  do {
    n = ::write(fd, buf, len);
  } while (n < 0 && errno == EINTR);
  return n;
}

struct DirCloser {
  void operator()(DIR* dir) const noexcept { ::closedir(dir); }
};
struct FreeDeleter {
  void operator()(char* p) const noexcept { std::free(p); }
};

// Values written to cgroupfs often end in '\n'; the message reads better without it.
std::string_view trimNewlines(std::string_view value) {
  while (!value.empty() && value.back() == '\n') value.remove_suffix(1);
  return value;
}

std::string writeMessage(std::string_view path, std::string_view value) {
  std::string message = "writing ";
  message += trimNewlines(value);
  message += " to ";
  message += path;
  return message;
}

}  // namespace

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

Result<FsRoot> FsRoot::open(const std::string& root) {
  if (root.empty()) return badInput("--root DIR: the directory name is empty");
  Fd dirfd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dirfd.valid()) {
    int err = errno;
    if (err == ENOENT) return badInput("--root DIR: " + root + " does not exist");
    if (err == ENOTDIR) return badInput("--root DIR: " + root + " is not a directory");
    return badInput("--root DIR: cannot open " + root + ": " +
                    std::generic_category().message(err));
  }
  // The canonical path keeps hostPath() valid after a chdir and makes "/." or "//" live too.
  std::unique_ptr<char, FreeDeleter> real(::realpath(root.c_str(), nullptr));
  std::string canonical = real ? std::string(real.get()) : root;
  bool live = canonical == "/";
  return FsRoot(std::move(canonical), std::move(dirfd), live);
}

Status FsRoot::checkCanActOnProcesses(std::string_view verb, size_t pids) const {
  if (canActOnProcesses() || pids == 0) return {};
  return badInput("--root " + root_ + ": " + std::string(verb) +
                  " would read and move the pages of " + std::to_string(pids) +
                  " process(es) by pid, and pids in a tree name the live " +
                  "system's processes; nothing was changed. Run it without --root");
}

std::string FsRoot::hostPath(std::string_view path) const {
  std::string rel = relativePath(path);
  if (rel == ".") return root_;
  std::string host = root_;
  if (host.empty() || host.back() != '/') host += '/';
  host += rel;
  return host;
}

Result<Fd> FsRoot::openAt(std::string_view path, int flags, bool no_follow) const {
  std::string rel = relativePath(path);
  int full_flags = flags | O_CLOEXEC | (no_follow ? O_NOFOLLOW : 0);
  mode_t mode = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? kCreateMode : 0;
  // In a fixture tree, absolute symlinks and ".." must stay inside it, and /proc magic links
  // must not lead back out to the host.
  uint64_t resolve = live_ ? 0 : RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  // A subtree (cgroupfs) follows no symlink at all and cannot be left with "..".
  if (no_symlinks_) resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  // Decided once per call: re-reading the flag after a successful openat2 (another thread may
  // set it) would open the file twice and leak the first descriptor.
  bool use_openat = g_openat2_missing.load(std::memory_order_relaxed);
  int fd = -1;
  if (!use_openat) {
    fd = callOpenat2(dirfd_.get(), rel, full_flags, mode, resolve);
    use_openat = fd < 0 && errno == ENOSYS;
    if (use_openat) g_openat2_missing.store(true, std::memory_order_relaxed);
  }
  // Without openat2 nothing confines resolution to the root; kernels that old aren't targets.
  if (use_openat) fd = ::openat(dirfd_.get(), rel.c_str(), full_flags, mode);
  if (fd < 0) return errnoError(errno, "opening " + std::string(path));
  return Fd(fd);
}

Result<std::string> FsRoot::readFile(std::string_view path) const {
  auto fd = openAt(path, O_RDONLY);
  if (!fd) return errnoError(fd.error().code().value(), "reading " + std::string(path));
  // Never trust st_size: procfs reports 0 and sysfs a page, whatever the real length. Reads go
  // through one buffer per thread and only what was read is copied: growing the string by a
  // zero-filled chunk per read (twice per small file, counting the read that sees the end) was
  // most of the instructions of reading a topology, and much of its time under emulation.
  static thread_local std::array<char, kReadChunkBytes> chunk;
  std::string content;
  for (;;) {
    ssize_t n = readRetrying(fd->get(), chunk.data(), chunk.size());
    if (n < 0) return errnoError(errno, "reading " + std::string(path));
    if (n == 0) break;
    content.append(chunk.data(), static_cast<size_t>(n));
  }
  return content;
}

Result<std::vector<std::string>> FsRoot::readLines(std::string_view path) const {
  SZ_TRY(content, readFile(path));
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < content.size()) {
    size_t end = content.find('\n', start);
    if (end == std::string::npos) end = content.size();
    lines.emplace_back(content, start, end - start);
    start = end + 1;
  }
  return lines;
}

Result<std::string> FsRoot::readAttribute(std::string_view path) const {
  SZ_TRY(content, readFile(path));
  size_t end = content.find('\n');
  if (end != std::string::npos) content.resize(end);
  return content;
}

Result<std::vector<std::string>> FsRoot::listDir(std::string_view path) const {
  auto fd = openAt(path, O_RDONLY | O_DIRECTORY);
  if (!fd) return errnoError(fd.error().code().value(), "listing " + std::string(path));
  std::unique_ptr<DIR, DirCloser> dir(::fdopendir(fd->get()));
  if (!dir) return errnoError(errno, "listing " + std::string(path));
  fd->release();  // the DIR owns it now
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    const dirent* entry = ::readdir(dir.get());
    if (entry == nullptr) break;
    std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    names.emplace_back(name);
  }
  if (errno != 0) return errnoError(errno, "listing " + std::string(path));
  std::sort(names.begin(), names.end());
  return names;
}

bool FsRoot::exists(std::string_view path) const { return openAt(path, O_PATH).has_value(); }

Status FsRoot::writeAttribute(std::string_view path, std::string_view value) const {
  auto fd = openAt(path, O_WRONLY);
  if (!fd) return errnoError(fd.error().code().value(), writeMessage(path, value));
  // cgroupfs and sysfs take one write(2) as one command; a second write would be a new command.
  ssize_t n = writeRetrying(fd->get(), value.data(), value.size());
  if (n < 0) return errnoError(errno, writeMessage(path, value));
  if (static_cast<size_t>(n) != value.size()) {
    return errnoError(EIO, writeMessage(path, value) + ": short write of " + std::to_string(n) +
                               " of " + std::to_string(value.size()) + " bytes");
  }
  return {};
}

Result<std::pair<Fd, std::string>> FsRoot::openParentAt(std::string_view path) const {
  std::string rel = relativePath(path);
  while (rel.size() > 1 && rel.back() == '/') rel.pop_back();
  size_t slash = rel.rfind('/');
  std::string parent = slash == std::string::npos ? "." : rel.substr(0, slash);
  std::string leaf = slash == std::string::npos ? rel : rel.substr(slash + 1);
  if (leaf.empty() || leaf == "." || leaf == "..") {
    return errnoError(EINVAL, std::string(path) + " does not name an entry");
  }
  SZ_TRY(dir, openAt(parent, O_PATH | O_DIRECTORY));
  return std::pair<Fd, std::string>(std::move(dir), std::move(leaf));
}

Status FsRoot::mkdirAt(std::string_view path, mode_t mode) const {
  auto parent = openParentAt(path);
  if (!parent) return errnoError(parent.error().code().value(), "creating " + std::string(path));
  if (::mkdirat(parent->first.get(), parent->second.c_str(), mode) != 0) {
    return errnoError(errno, "creating " + std::string(path));
  }
  return {};
}

Status FsRoot::makeDirs(std::string_view path, mode_t mode) const {
  std::string rel = relativePath(path);
  if (rel == ".") return {};
  size_t pos = 0;
  while (pos <= rel.size()) {
    size_t end = rel.find('/', pos);
    if (end == std::string::npos) end = rel.size();
    if (end > pos) {
      std::string prefix = rel.substr(0, end);
      Status made = mkdirAt(prefix, mode);
      if (!made && made.error().code() != std::errc::file_exists) return made;
    }
    pos = end + 1;
  }
  auto dir = openAt(path, O_PATH | O_DIRECTORY);
  if (!dir) return std::move(dir).error();
  return {};
}

Status FsRoot::rmdirAt(std::string_view path) const {
  auto parent = openParentAt(path);
  if (!parent) return errnoError(parent.error().code().value(), "removing " + std::string(path));
  if (::unlinkat(parent->first.get(), parent->second.c_str(), AT_REMOVEDIR) != 0) {
    return errnoError(errno, "removing " + std::string(path));
  }
  return {};
}

Status FsRoot::unlinkAt(std::string_view path) const {
  auto parent = openParentAt(path);
  if (!parent) return errnoError(parent.error().code().value(), "removing " + std::string(path));
  if (::unlinkat(parent->first.get(), parent->second.c_str(), 0) != 0) {
    return errnoError(errno, "removing " + std::string(path));
  }
  return {};
}

Status FsRoot::replaceFile(std::string_view path, std::string_view content) const {
  auto parent = openParentAt(path);
  if (!parent) return errnoError(parent.error().code().value(), "writing " + std::string(path));
  // O_PATH descriptors can't be the dirfd of a create: reopen the directory for real.
  Fd dir(::openat(parent->first.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return errnoError(errno, "writing " + std::string(path));
  return replaceFileAt(dir.get(), parent->second, content, path, kCreateMode);
}

Result<FsRoot> FsRoot::openSubtree(std::string_view dir) const {
  SZ_TRY(fd, openAt(dir, O_PATH | O_DIRECTORY));
  FsRoot sub(hostPath(dir), std::move(fd), live_);
  sub.no_symlinks_ = true;
  return sub;
}

}  // namespace softzone

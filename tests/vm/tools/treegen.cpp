// treegen: library-like file trees for the shared-zone guest tests, with contents checked byte for
// byte after their page cache has been moved.
//
//   treegen make DIR --mib N [--seed S]   files like /usr/lib's (lib*.so.X.Y of 2 KiB - 6 MiB,
//                                         versioned symlinks, a few hard links), N MiB in all
//   treegen check DIR                     reads every file with read(2) and checks every byte
//   treegen map DIR --status FILE         maps every file, touches and checks every page, writes
//                                         "ready files=N bytes=B" to FILE and stays; SIGUSR1
//                                         checks every mapped byte again ("ok ..." or "bad ...");
//                                         SIGTERM ends it (exit 1 if any check failed)
//     [--anon-mib N]                      also fills N MiB of anonymous memory with the same kind
//                                         of pattern, checked with the files; its address is in
//                                         the status line ("anon=0x...")
//   treegen swap NAME --stage DIR --copy-of FILE --outside PATH
//                                         replaces NAME with rename(2), round after round until
//                                         SIGTERM, by a copy of FILE, a FIFO, a symlink to / and a
//                                         symlink to PATH, each made in DIR first (same
//                                         filesystem): NAME is always one of the four
//
// Each file starts with a 16-byte header (magic, file id); every later 8-byte word is a function
// of the id and its offset, so any name (hard link, symlink) can be checked without a manifest.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace {

constexpr uint64_t kMagic = 0x534f46545a4f4e45ULL;  // "SOFTZONE"
constexpr size_t kHeaderBytes = 16;

uint64_t mix(uint64_t x) {  // splitmix64
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

unsigned char byteAt(uint64_t id, uint64_t offset) {
  if (offset < 8) return static_cast<unsigned char>(kMagic >> (8 * offset));
  if (offset < kHeaderBytes) return static_cast<unsigned char>(id >> (8 * (offset - 8)));
  uint64_t word = mix(id * 0x100000001b3ULL ^ (offset / 8));
  return static_cast<unsigned char>(word >> (8 * (offset % 8)));
}

// The expected bytes [from, from + n) of file `id`, a word at a time.
void fillExpected(uint64_t id, uint64_t from, unsigned char* out, size_t n) {
  size_t i = 0;
  while (i < n && ((from + i) < kHeaderBytes || (from + i) % 8 != 0)) {
    out[i] = byteAt(id, from + i);
    ++i;
  }
  for (; i + 8 <= n; i += 8) {
    uint64_t word = mix(id * 0x100000001b3ULL ^ ((from + i) / 8));
    std::memcpy(out + i, &word, 8);  // little-endian: byte k is word >> 8k, as byteAt says
  }
  for (; i < n; ++i) out[i] = byteAt(id, from + i);
}

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "treegen: %s\n", message.c_str());
  std::exit(1);
}

void makeDirs(const std::string& path) {
  for (size_t slash = 1; slash != std::string::npos; slash = path.find('/', slash + 1)) {
    ::mkdir(path.substr(0, slash).c_str(), 0755);
  }
  ::mkdir(path.c_str(), 0755);
}

void writeFile(const std::string& path, uint64_t id, uint64_t size) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) die("create " + path + ": " + std::strerror(errno));
  std::vector<unsigned char> buffer(1 << 16);
  for (uint64_t offset = 0; offset < size; offset += buffer.size()) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(buffer.size(), size - offset));
    fillExpected(id, offset, buffer.data(), n);
    if (::write(fd, buffer.data(), n) != static_cast<ssize_t>(n)) die("write " + path);
  }
  ::close(fd);
}

int make(const std::string& dir, uint64_t mib, uint64_t seed) {
  const char* packages[] = {"core", "x11", "gtk", "python3", "perl", "ssl", "media", "db"};
  uint64_t target = mib << 20;
  uint64_t total = 0;
  uint64_t state = seed;
  uint64_t files = 0;
  for (uint64_t id = 1; total < target; ++id) {
    state = mix(state);
    // Sizes like a lib directory's: most small, some mid-sized, a few large.
    uint64_t pick = state % 100;
    uint64_t size = pick < 55   ? 2048 + mix(state + 1) % (60 << 10)
                    : pick < 90 ? (64 << 10) + mix(state + 2) % (900 << 10)
                                : (1 << 20) + mix(state + 3) % (5 << 20);
    size = std::min(size, target - total + kHeaderBytes);
    std::string sub = dir + "/lib/" + packages[id % 8] + (id % 3 == 0 ? "/plugins" : "");
    makeDirs(sub);
    std::string base = sub + "/lib" + packages[(id / 8) % 8] + std::to_string(id) + ".so";
    std::string real = base + "." + std::to_string(id % 5) + "." + std::to_string(id % 7);
    writeFile(real, id, std::max<uint64_t>(size, kHeaderBytes));
    total += std::max<uint64_t>(size, kHeaderBytes);
    ++files;
    // Versioned symlinks, as ldconfig leaves them; every tenth file also gets a hard link.
    if (::symlink(real.substr(real.rfind('/') + 1).c_str(), base.c_str()) != 0) die("symlink");
    if (id % 10 == 0 && ::link(real.c_str(), (base + ".hardlink").c_str()) != 0) die("link");
  }
  std::printf("made files=%llu bytes=%llu\n", static_cast<unsigned long long>(files),
              static_cast<unsigned long long>(total));
  return 0;
}

// Regular files under dir (symlinks not followed: the real files are listed anyway).
void listFiles(const std::string& dir, std::vector<std::string>& out) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) die("opendir " + dir + ": " + std::strerror(errno));
  std::vector<std::string> names;
  while (dirent* entry = ::readdir(d)) {
    if (std::strcmp(entry->d_name, ".") != 0 && std::strcmp(entry->d_name, "..") != 0) {
      names.push_back(dir + "/" + entry->d_name);
    }
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    struct stat st {};
    if (::lstat(name.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) listFiles(name, out);
    if (S_ISREG(st.st_mode)) out.push_back(name);
  }
}

uint64_t idOf(const unsigned char* header, const std::string& path) {
  uint64_t magic = 0;
  uint64_t id = 0;
  std::memcpy(&magic, header, 8);
  std::memcpy(&id, header + 8, 8);
  if (magic != kMagic) die("bad header in " + path);
  return id;
}

// The first offset whose byte is wrong, or -1.
long long firstBad(const unsigned char* data, uint64_t id, uint64_t from, size_t n) {
  static thread_local std::vector<unsigned char> expected;
  constexpr size_t kChunk = 1 << 16;
  expected.resize(kChunk);
  for (size_t done = 0; done < n; done += kChunk) {
    size_t len = std::min(kChunk, n - done);
    fillExpected(id, from + done, expected.data(), len);
    if (std::memcmp(data + done, expected.data(), len) == 0) continue;
    for (size_t i = 0; i < len; ++i) {
      if (data[done + i] != expected[i]) return static_cast<long long>(from + done + i);
    }
  }
  return -1;
}

int check(const std::string& dir) {
  std::vector<std::string> files;
  listFiles(dir, files);
  uint64_t bytes = 0;
  std::vector<unsigned char> buffer(1 << 16);
  for (const std::string& path : files) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) die("open " + path + ": " + std::strerror(errno));
    uint64_t id = 0;
    for (uint64_t offset = 0;;) {
      ssize_t n = ::read(fd, buffer.data(), buffer.size());
      if (n < 0) die("read " + path);
      if (n == 0) break;
      if (offset == 0) id = idOf(buffer.data(), path);
      long long bad = firstBad(buffer.data(), id, offset, static_cast<size_t>(n));
      if (bad >= 0) {
        std::printf("bad %s offset=%lld\n", path.c_str(), bad);
        return 1;
      }
      offset += static_cast<uint64_t>(n);
      bytes += static_cast<uint64_t>(n);
    }
    ::close(fd);
  }
  std::printf("ok files=%zu bytes=%llu\n", files.size(), static_cast<unsigned long long>(bytes));
  return 0;
}

volatile sig_atomic_t g_check = 0;
volatile sig_atomic_t g_stop = 0;

struct Mapped {
  std::string path;
  const unsigned char* data;
  uint64_t size;
};

void writeStatus(const std::string& path, const std::string& line) {
  std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) die("status file " + tmp);
  std::fprintf(f, "%s\n", line.c_str());
  std::fclose(f);
  std::rename(tmp.c_str(), path.c_str());
}

std::string checkMapped(const std::vector<Mapped>& maps, uint64_t& bytes) {
  bytes = 0;
  for (const Mapped& m : maps) {
    long long bad = firstBad(m.data, idOf(m.data, m.path), 0, m.size);
    if (bad >= 0) return "bad " + m.path + " offset=" + std::to_string(bad);
    bytes += m.size;
  }
  return "";
}

// The file id whose pattern the anonymous memory holds: no tree file has it (ids count from 1).
constexpr uint64_t kAnonId = 0xa4a4a4a4;

// N MiB of private anonymous memory holding file kAnonId's bytes, header included, so that
// checkMapped checks it like a file; nullopt for none.
std::optional<Mapped> fillAnonymous(uint64_t mib) {
  if (mib == 0) return std::nullopt;
  uint64_t size = mib << 20;
  void* data = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (data == MAP_FAILED) die("mmap anonymous: " + std::string(std::strerror(errno)));
  fillExpected(kAnonId, 0, static_cast<unsigned char*>(data), size);
  return Mapped{"[anonymous]", static_cast<const unsigned char*>(data), size};
}

int mapAndHold(const std::string& dir, const std::string& status, uint64_t anon_mib) {
  std::vector<std::string> files;
  listFiles(dir, files);
  std::vector<Mapped> maps;
  for (const std::string& path : files) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (fd < 0 || ::fstat(fd, &st) != 0) die("open " + path);
    void* data = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_SHARED, fd, 0);
    if (data == MAP_FAILED) die("mmap " + path);
    ::close(fd);
    maps.push_back(
        {path, static_cast<const unsigned char*>(data), static_cast<uint64_t>(st.st_size)});
  }
  char anon_address[32] = "";
  if (std::optional<Mapped> anon = fillAnonymous(anon_mib)) {
    std::snprintf(anon_address, sizeof(anon_address), " anon=%p", anon->data);
    maps.push_back(*anon);
  }
  struct sigaction action {};
  action.sa_handler = [](int sig) { (sig == SIGUSR1 ? g_check : g_stop) = 1; };
  ::sigaction(SIGUSR1, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
  uint64_t bytes = 0;
  std::string bad = checkMapped(maps, bytes);  // touches every page: all of it is mapped now
  if (!bad.empty()) {
    writeStatus(status, bad);
    return 1;
  }
  writeStatus(status, "ready files=" + std::to_string(maps.size()) +
                          " bytes=" + std::to_string(bytes) + anon_address);
  bool failed = false;
  for (int round = 1; !g_stop; ++round) {
    if (g_check) {
      g_check = 0;
      bad = checkMapped(maps, bytes);
      failed = failed || !bad.empty();
      writeStatus(status, bad.empty()
                              ? "ok " + std::to_string(round) + " bytes=" + std::to_string(bytes)
                              : bad);
    }
    ::usleep(20000);
  }
  return failed ? 1 : 0;
}

// Makes one staged entry of the given kind at `staged`; false if it could not.
bool makeStaged(int kind, const std::string& staged, const std::string& copy_of,
                const std::string& outside) {
  ::unlink(staged.c_str());
  switch (kind) {
    case 0: {
      int in = ::open(copy_of.c_str(), O_RDONLY | O_CLOEXEC);
      int out = ::open(staged.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      char buf[65536];
      ssize_t n = 0;
      while (in >= 0 && out >= 0 && (n = ::read(in, buf, sizeof(buf))) > 0) {
        if (::write(out, buf, static_cast<size_t>(n)) != n) n = -1;
      }
      bool ok = in >= 0 && out >= 0 && n == 0;
      if (in >= 0) ::close(in);
      if (out >= 0) ::close(out);
      return ok;
    }
    case 1:
      return ::mkfifo(staged.c_str(), 0644) == 0;
    case 2:
      return ::symlink("/", staged.c_str()) == 0;
    default:
      return ::symlink(outside.c_str(), staged.c_str()) == 0;
  }
}

int swapForever(const std::string& name, const std::string& stage, const std::string& copy_of,
                const std::string& outside) {
  struct sigaction action {};
  action.sa_handler = [](int) { g_stop = 1; };
  ::sigaction(SIGTERM, &action, nullptr);
  std::string staged = stage + "/next";
  uint64_t swaps = 0;
  for (int kind = 0; !g_stop; kind = (kind + 1) % 4) {
    if (!makeStaged(kind, staged, copy_of, outside)) die("staging " + staged);
    if (::rename(staged.c_str(), name.c_str()) != 0) die("rename onto " + name);
    ++swaps;
  }
  std::printf("treegen swap: %llu swaps\n", static_cast<unsigned long long>(swaps));
  return swaps >= 4 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto option = [&](const std::string& name, const std::string& fallback) {
    for (size_t i = 0; i + 1 < args.size(); ++i) {
      if (args[i] == name) return args[i + 1];
    }
    return fallback;
  };
  if (args.size() >= 2 && args[0] == "make") {
    return make(args[1], std::strtoull(option("--mib", "100").c_str(), nullptr, 10),
                std::strtoull(option("--seed", "1").c_str(), nullptr, 10));
  }
  if (args.size() >= 2 && args[0] == "check") return check(args[1]);
  if (args.size() >= 2 && args[0] == "map")
    return mapAndHold(args[1], option("--status", "/tmp/treegen.status"),
                      std::strtoull(option("--anon-mib", "0").c_str(), nullptr, 10));
  if (args.size() >= 2 && args[0] == "swap")
    return swapForever(args[1], option("--stage", ""), option("--copy-of", ""),
                       option("--outside", ""));
  std::fprintf(stderr,
               "usage: treegen make DIR --mib N [--seed S] | check DIR | map DIR --status FILE "
               "[--anon-mib N] | swap NAME --stage DIR --copy-of FILE --outside PATH\n");
  return 2;
}

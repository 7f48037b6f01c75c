// memhold: holds patterned anonymous memory in a guest and checks it byte for byte on demand.
//
//   memhold --mib N [--seed S] --status FILE [--threads T] [--thp off] [--touch on]
//           [--ramp MIB_PER_S]
//
// Fills N MiB with a pattern that depends on every byte's offset and the seed, writes
// "ready pid=P mib=N" to FILE, then waits. On SIGUSR1 it checks every byte and rewrites FILE with
// "ok checks=K" or "bad offset=O expected=E got=G checks=K"; on SIGTERM it exits 0 (1 when any
// check found a bad byte). With --threads, extra threads stay alive so "all threads" moves and
// attaches are exercised. With --thp off the memory is madvise(MADV_NOHUGEPAGE): 4 KiB pages even
// where transparent huge pages are "always" (Debian's kernels), for comparisons with memory that
// comes in 4 KiB pages (ext4's page cache). With --touch on, a thread writes every page again and
// again (each word's own pattern value, page after page) until a check, which pauses it: the
// memory is being written while it is migrated or while zonectl is killed half-way. Tests use it
// to prove that migrations lose nothing. With --ramp the memory is filled at that many MiB per
// second (a workload that grows, for zoned), FILE saying "filling mib=M" as it goes.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

volatile sig_atomic_t g_check_requested = 0;
volatile sig_atomic_t g_stop_requested = 0;

// The toucher writes while `g_touch` is set and says it has stopped in `g_touching`.
std::atomic<bool> g_touch{false};
std::atomic<bool> g_touching{false};

void onCheck(int) { g_check_requested = 1; }
void onStop(int) { g_stop_requested = 1; }

// The 8 bytes at offset 8 * word, least significant first: they differ with the offset and the
// seed, so a page moved to the wrong place, a zeroed page or a page swapped with another all show
// up. Filled and checked a word at a time: a byte loop takes many seconds under emulation.
static_assert(std::endian::native == std::endian::little,
              "patternWord's bytes are stored LSB first");

inline uint64_t patternWord(std::size_t word, uint64_t seed) {
  uint64_t x = word * 0x9E3779B97F4A7C15ull ^ seed;
  return x ^ (x >> 29);
}

inline uint8_t patternAt(std::size_t offset, uint64_t seed) {
  return static_cast<uint8_t>(patternWord(offset / 8, seed) >> (8 * (offset % 8)));
}

void writeStatus(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  std::string line = text + "\n";
  if (write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    close(fd);
    return;
  }
  fsync(fd);
  close(fd);
  rename(tmp.c_str(), path.c_str());  // readers never see half a line
}

// Rewrites one word per 4 KiB page with the value the pattern gives it, page after page, as long
// as g_touch is set: every page is dirtied over and over, and what a check expects stays.
void touchLoop(uint8_t* memory, std::size_t bytes, uint64_t seed) {
  constexpr std::size_t kPage = 4096;
  std::size_t offset = 0;
  for (;;) {
    if (!g_touch.load()) {
      g_touching.store(false);
      while (!g_touch.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      g_touching.store(true);
    }
    std::size_t word = offset / sizeof(uint64_t);
    volatile uint64_t* at = reinterpret_cast<volatile uint64_t*>(memory + offset);
    *at = patternWord(word, seed);
    offset = (offset + kPage) % bytes;
  }
}

// Fills `bytes` with the pattern, at `ramp_mib_per_s` MiB per second (0: at full speed), saying
// how far it got in `status` every 16 MiB.
void fill(uint8_t* memory, std::size_t bytes, uint64_t seed, long ramp_mib_per_s,
          const std::string& status) {
  constexpr std::size_t kMiB = 1 << 20;
  auto start = std::chrono::steady_clock::now();
  for (std::size_t done = 0; done < bytes; done += kMiB) {
    std::size_t end = std::min(bytes, done + kMiB);
    for (std::size_t w = done / sizeof(uint64_t); w < end / sizeof(uint64_t); ++w) {
      uint64_t value = patternWord(w, seed);
      std::memcpy(memory + w * sizeof(uint64_t), &value, sizeof value);  // bytes as patternAt says
    }
    if (ramp_mib_per_s == 0) continue;
    std::size_t mib_done = end / kMiB;
    if (mib_done % 16 == 0) writeStatus(status, "filling mib=" + std::to_string(mib_done));
    std::this_thread::sleep_until(start +
                                  std::chrono::microseconds(mib_done * 1000000 / ramp_mib_per_s));
  }
}

long numberArg(const char* text, const char* what) {
  long value = 0;
  auto [end, ec] = std::from_chars(text, text + std::strlen(text), value);
  if (ec != std::errc{} || *end != '\0' || value < 0) {
    std::fprintf(stderr, "memhold: %s needs a non-negative number, got '%s'\n", what, text);
    std::exit(2);
  }
  return value;
}

struct Options {
  std::size_t mib = 0;
  uint64_t seed = 1;
  long threads = 0;
  bool huge_pages = true;
  bool touch = false;
  long ramp = 0;
  std::string status;
};

Options parseOptions(int argc, char** argv) {
  Options opt;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string key = argv[i];
    if (key == "--mib") {
      opt.mib = static_cast<std::size_t>(numberArg(argv[i + 1], "--mib"));
    } else if (key == "--seed") {
      opt.seed = static_cast<uint64_t>(numberArg(argv[i + 1], "--seed"));
    } else if (key == "--threads") {
      opt.threads = numberArg(argv[i + 1], "--threads");
    } else if (key == "--thp" && std::string(argv[i + 1]) == "off") {
      opt.huge_pages = false;
    } else if (key == "--touch" && std::string(argv[i + 1]) == "on") {
      opt.touch = true;
    } else if (key == "--ramp") {
      opt.ramp = numberArg(argv[i + 1], "--ramp");
    } else if (key == "--status") {
      opt.status = argv[i + 1];
    } else {
      std::fprintf(stderr, "memhold: unknown option %s\n", key.c_str());
      std::exit(2);
    }
  }
  if (opt.mib == 0 || opt.status.empty()) {
    std::fprintf(stderr,
                 "usage: memhold --mib N [--seed S] --status FILE [--threads T] [--thp off] "
                 "[--touch on] [--ramp MIB_PER_S]\n");
    std::exit(2);
  }
  return opt;
}

void blockAllSignals() {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
}

// Extra threads that only sleep, so "all threads" moves and attaches have threads to move.
// Signals are for the main thread: a sleeper that took SIGUSR1 would leave it in pause().
void startSleepers(long threads) {
  for (long t = 0; t < threads; ++t) {
    std::thread([] {
      blockAllSignals();
      for (;;) pause();
    }).detach();
  }
}

void startToucher(uint8_t* memory, std::size_t bytes, uint64_t seed) {
  g_touch.store(true);
  g_touching.store(true);
  std::thread([memory, bytes, seed] {
    blockAllSignals();
    touchLoop(memory, bytes, seed);
  }).detach();
}

// The first byte that is not the pattern's, or `bytes` when all are.
std::size_t firstBadByte(const uint8_t* memory, std::size_t bytes, uint64_t seed) {
  for (std::size_t w = 0; w < bytes / sizeof(uint64_t); ++w) {
    uint64_t value = 0;
    std::memcpy(&value, memory + w * sizeof(uint64_t), sizeof value);
    if (value == patternWord(w, seed)) continue;
    for (std::size_t i = w * sizeof(uint64_t);; ++i) {
      if (memory[i] != patternAt(i, seed)) return i;
    }
  }
  return bytes;
}

// One check on SIGUSR1: the toucher stops first, so the check reads memory nobody writes.
bool checkOnce(const Options& opt, const uint8_t* memory, std::size_t bytes, long checks) {
  g_touch.store(false);
  while (opt.touch && g_touching.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::size_t first_bad = firstBadByte(memory, bytes, opt.seed);
  bool good = first_bad == bytes;
  if (good) {
    writeStatus(opt.status, "ok checks=" + std::to_string(checks));
  } else {
    writeStatus(opt.status, "bad offset=" + std::to_string(first_bad) +
                                " expected=" + std::to_string(patternAt(first_bad, opt.seed)) +
                                " got=" + std::to_string(memory[first_bad]) +
                                " checks=" + std::to_string(checks));
  }
  if (opt.touch) g_touch.store(true);
  return good;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt = parseOptions(argc, argv);
  struct sigaction check_action {};
  check_action.sa_handler = onCheck;
  sigaction(SIGUSR1, &check_action, nullptr);
  struct sigaction stop_action {};
  stop_action.sa_handler = onStop;
  sigaction(SIGTERM, &stop_action, nullptr);

  std::size_t bytes = opt.mib << 20;
  void* raw = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) {
    std::perror("memhold: mmap");
    return 1;
  }
  if (!opt.huge_pages && madvise(raw, bytes, MADV_NOHUGEPAGE) != 0) {
    std::perror("memhold: madvise(MADV_NOHUGEPAGE)");
    return 1;
  }
  auto* memory = static_cast<uint8_t*>(raw);
  fill(memory, bytes, opt.seed, opt.ramp, opt.status);
  startSleepers(opt.threads);
  if (opt.touch) startToucher(memory, bytes, opt.seed);

  writeStatus(opt.status,
              "ready pid=" + std::to_string(getpid()) + " mib=" + std::to_string(opt.mib));
  long checks = 0;
  bool all_good = true;
  while (!g_stop_requested) {
    pause();
    if (!g_check_requested) continue;
    g_check_requested = 0;
    if (!checkOnce(opt, memory, bytes, ++checks)) all_good = false;
  }
  return all_good ? 0 : 1;
}

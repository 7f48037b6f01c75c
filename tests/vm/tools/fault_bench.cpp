// fault_bench: page-fault throughput and short-process cost for the allocation-cost benchmark.
//
// Runs in a guest, inside whatever cpuset the caller put it in, so the same binary measures an
// unconstrained task and tasks whose cpuset spans 1..32 fake nodes. Two workloads:
//   faults:    map a buffer, touch every page once (first-touch faults: page allocation + zeroing),
//              unmap; repeated. Reports faults per second (median of rounds).
//   processes: fork a child that touches a few pages and exits, wait; repeated. Reports
//              processes per second (median of rounds), the "many short processes" workload.
// Besides wall-clock rates it reports kernel (system) CPU time per fault and per process: the
// allocator's own cost, less disturbed by whatever else the host is running.
// Prints one line of key=value pairs so a shell script can collect it.
//
//   fault_bench [--rounds N] [--repeats N] [--buffer-mib N] [--processes N] [--no-thp] [--where]
//   fault_bench --cpu-nodes
//   fault_bench --hold NODE --status FILE
//
// --no-thp: the buffers are MADV_NOHUGEPAGE, so every page is its own fault and allocation.
// --where: after the timed rounds, touches one more buffer and reports the nodes its pages are on
//   (where=NODE:PAGES,...), and the cpu and node the task ran on at the end.
// --cpu-nodes: for each cpu the task may run on, the node the kernel gives it (cpu_to_node, the
//   node whose zonelist a default-policy allocation on that cpu walks): cpu_nodes=0:0,1:1.
// --hold NODE: the full-partition helper. Binds itself to NODE (MPOL_BIND) and takes that node's
//   free memory until the node's only populated zone, its free count plus its per-cpu lists, sits
//   halfway between its min and low watermarks, where every allocation that checks the low
//   watermark passes it by; writes "ready gen=1 ..." to FILE and waits. SIGUSR1: take again
//   whatever the node has gained and rewrite FILE (gen+1); SIGTERM: exit.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::size_t buffer_bytes = 16u << 20;  // fits in one 32 MiB fake node with room to spare
  int fault_repeats = 8;                 // buffers per round
  int process_count = 200;               // children per round
  int rounds = 5;
  bool no_thp = false;
  bool where = false;
  bool cpu_nodes = false;
  long hold_node = -1;
  std::string status;
};

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

double systemSeconds(int who) {
  rusage usage{};
  getrusage(who, &usage);
  return static_cast<double>(usage.ru_stime.tv_sec) + usage.ru_stime.tv_usec / 1e6;
}

struct Rate {
  double per_second;
  double system_us_each;  // kernel CPU time per fault or per process
};

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

bool g_no_thp = false;  // --no-thp: every buffer is MADV_NOHUGEPAGE

// Touches every page of a fresh mapping; returns the number of faults taken, or -1 on failure.
long touchFreshBuffer(std::size_t bytes, long page) {
  void* raw = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return -1;
  if (g_no_thp) madvise(raw, bytes, MADV_NOHUGEPAGE);
  auto* bytes_ptr = static_cast<volatile char*>(raw);
  long faults = 0;
  for (std::size_t off = 0; off < bytes; off += static_cast<std::size_t>(page), ++faults) {
    bytes_ptr[off] = 1;
  }
  munmap(raw, bytes);
  return faults;
}

Rate faultRate(const Options& opt, long page) {
  long faults = 0;
  double system_start = systemSeconds(RUSAGE_SELF);
  auto start = Clock::now();
  for (int i = 0; i < opt.fault_repeats; ++i) {
    long n = touchFreshBuffer(opt.buffer_bytes, page);
    if (n < 0) {
      std::perror("fault_bench: mmap");
      std::exit(1);
    }
    faults += n;
  }
  double wall = seconds(Clock::now() - start);
  double system = systemSeconds(RUSAGE_SELF) - system_start;
  return {static_cast<double>(faults) / wall, system * 1e6 / static_cast<double>(faults)};
}

Rate processRate(const Options& opt, long page) {
  double system_start = systemSeconds(RUSAGE_CHILDREN) + systemSeconds(RUSAGE_SELF);
  auto start = Clock::now();
  for (int i = 0; i < opt.process_count; ++i) {
    pid_t pid = fork();
    if (pid < 0) {
      std::perror("fault_bench: fork");
      std::exit(1);
    }
    if (pid == 0) {
      // A short-lived process: a little stack, heap and page-table allocation, then exit.
      touchFreshBuffer(16 * static_cast<std::size_t>(page), page);
      _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
  }
  double wall = seconds(Clock::now() - start);
  double system = systemSeconds(RUSAGE_CHILDREN) + systemSeconds(RUSAGE_SELF) - system_start;
  return {opt.process_count / wall, system * 1e6 / opt.process_count};
}

long numberArg(const std::string& key, const char* text, long lowest) {
  long value = 0;
  auto [end, ec] = std::from_chars(text, text + std::strlen(text), value);
  if (ec != std::errc{} || *end != '\0' || value < lowest) {
    std::fprintf(stderr, "fault_bench: %s needs a number >= %ld\n", key.c_str(), lowest);
    std::exit(2);
  }
  return value;
}

Options parseArgs(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    std::string key = argv[i];
    if (key == "--no-thp") {
      opt.no_thp = true;
      continue;
    }
    if (key == "--where") {
      opt.where = true;
      continue;
    }
    if (key == "--cpu-nodes") {
      opt.cpu_nodes = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "fault_bench: %s needs a value\n", key.c_str());
      std::exit(2);
    }
    const char* text = argv[++i];
    if (key == "--status") {
      opt.status = text;
    } else if (key == "--hold") {
      opt.hold_node = numberArg(key, text, 0);
    } else if (key == "--buffer-mib") {
      opt.buffer_bytes = static_cast<std::size_t>(numberArg(key, text, 1)) << 20;
    } else if (key == "--repeats") {
      opt.fault_repeats = static_cast<int>(numberArg(key, text, 1));
    } else if (key == "--processes") {
      opt.process_count = static_cast<int>(numberArg(key, text, 1));
    } else if (key == "--rounds") {
      opt.rounds = static_cast<int>(numberArg(key, text, 1));
    } else {
      std::fprintf(stderr, "fault_bench: unknown option %s\n", key.c_str());
      std::exit(2);
    }
  }
  if (opt.hold_node >= 0 && opt.status.empty()) {
    std::fprintf(stderr, "fault_bench: --hold needs --status FILE\n");
    std::exit(2);
  }
  return opt;
}

// The cpu the task runs on now and its node by the kernel's cpu_to_node(); ~0u when getcpu fails.
void currentCpuNode(unsigned* cpu, unsigned* node) {
  *cpu = ~0u;
  *node = ~0u;
  syscall(SYS_getcpu, cpu, node, nullptr);
}

// --where: the nodes a fresh buffer's pages land on, by move_pages() with no target (query only).
std::string pageNodes(std::size_t bytes, long page) {
  void* raw = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return "mmap-failed";
  if (g_no_thp) madvise(raw, bytes, MADV_NOHUGEPAGE);
  auto* base = static_cast<char*>(raw);
  std::size_t count = bytes / static_cast<std::size_t>(page);
  std::vector<void*> pages(count);
  std::vector<int> status(count, -1);
  for (std::size_t i = 0; i < count; ++i) {
    base[i * static_cast<std::size_t>(page)] = 1;
    pages[i] = base + i * static_cast<std::size_t>(page);
  }
  std::map<int, long> per_node;
  if (syscall(SYS_move_pages, 0, count, pages.data(), nullptr, status.data(), 0) != 0) {
    munmap(raw, bytes);
    return "move_pages-failed";
  }
  for (int s : status) ++per_node[s];
  munmap(raw, bytes);
  std::string text;
  for (auto [node, n] : per_node) {
    if (!text.empty()) text += ',';
    text +=
        (node < 0 ? "err" + std::to_string(-node) : std::to_string(node)) + ':' + std::to_string(n);
  }
  return text;
}

// Runs fn(cpu) pinned to each cpu of `allowed` in turn (skipping any it cannot be pinned to),
// then restores `allowed`.
template <typename Fn>
void onEachCpu(const cpu_set_t& allowed, Fn&& fn) {
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (!CPU_ISSET(cpu, &allowed)) continue;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (sched_setaffinity(0, sizeof one, &one) != 0) continue;
    fn(cpu);
  }
  sched_setaffinity(0, sizeof allowed, &allowed);
}

int printCpuNodes() {
  cpu_set_t allowed;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) {
    std::perror("fault_bench: sched_getaffinity");
    return 1;
  }
  std::string text;
  onEachCpu(allowed, [&](int) {
    unsigned got_cpu = 0, node = 0;
    currentCpuNode(&got_cpu, &node);
    if (!text.empty()) text += ',';
    text += std::to_string(got_cpu) + ':' + std::to_string(node);
  });
  std::printf("cpu_nodes=%s\n", text.c_str());
  return 0;
}

// ---- --hold NODE ----

volatile sig_atomic_t g_topup_requested = 0;
volatile sig_atomic_t g_stop_requested = 0;
void onTopup(int) { g_topup_requested = 1; }
void onStop(int) { g_stop_requested = 1; }

// NODE's populated zone as /proc/zoneinfo shows it (pages): the free count, the pages sitting on
// the per-cpu lists (allocated as far as the free count goes, free again once drained), the
// watermarks. The per-cpu counter deltas are folded in first (vm.stat_refresh), so it is exact.
struct ZoneState {
  long free = 0, pcp = 0, min = 0, low = 0, high = 0, boost = 0, managed = 0;
  std::map<int, long> pcp_by_cpu;
  int populated_zones = 0;
};

ZoneState readZone(long node) {
  int fd = open("/proc/sys/vm/stat_refresh", O_WRONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (write(fd, "1\n", 2) < 0) {
      // without root the counters are a little stale; the margin to min absorbs that
    }
    close(fd);
  }
  std::ifstream in("/proc/zoneinfo");
  ZoneState result, zone;
  bool in_zone = false;
  auto finishZone = [&] {
    if (in_zone && zone.managed > 0) {
      int populated = result.populated_zones + 1;
      result = zone;
      result.populated_zones = populated;
    }
    zone = ZoneState{};
  };
  std::string line;
  int cpu = -1;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string first;
    words >> first;
    if (first == "Node") {
      finishZone();
      cpu = -1;
      std::string number;
      words >> number;  // "2,"
      in_zone = number == std::to_string(node) + ",";
      continue;
    }
    if (!in_zone) continue;
    long value = 0;
    std::string second;
    if (first == "pages" && (words >> second) && second == "free" && (words >> value)) {
      zone.free = value;
    }
    if (first == "boost" && (words >> value)) zone.boost = value;
    if (first == "min" && (words >> value)) zone.min = value;
    if (first == "low" && (words >> value)) zone.low = value;
    if (first == "high" && (words >> value)) zone.high = value;
    if (first == "managed" && (words >> value)) zone.managed = value;
    if (first == "cpu:" && (words >> value)) cpu = static_cast<int>(value);
    if (first == "count:" && (words >> value)) {
      zone.pcp += value;
      zone.pcp_by_cpu[cpu] += value;
    }
  }
  finishZone();
  return result;
}

void writeStatus(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text << "\n";
  }
  std::rename(tmp.c_str(), path.c_str());  // readers never see half a line
}

// Maps PAGES pages and touches each; huge: 2 MiB-aligned with MADV_HUGEPAGE (a fast bulk fill),
// then MADV_NOHUGEPAGE so khugepaged never tries to allocate on the full node. Returns false when
// the mapping fails.
bool takePages(long pages, long page, bool huge) {
  const std::size_t huge_bytes = 2u << 20;
  std::size_t bytes = static_cast<std::size_t>(pages) * static_cast<std::size_t>(page);
  std::size_t extra = huge ? huge_bytes : 0;
  void* raw =
      mmap(nullptr, bytes + extra, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return false;
  auto* start = static_cast<char*>(raw);
  if (huge) {
    auto address = reinterpret_cast<std::uintptr_t>(start);
    auto aligned = (address + huge_bytes - 1) & ~(huge_bytes - 1);
    start = reinterpret_cast<char*>(aligned);
    madvise(start, bytes, MADV_HUGEPAGE);
  } else {
    madvise(start, bytes, MADV_NOHUGEPAGE);
  }
  auto* touch = static_cast<volatile char*>(start);
  for (std::size_t off = 0; off < bytes; off += static_cast<std::size_t>(page)) touch[off] = 1;
  if (huge) madvise(start, bytes, MADV_NOHUGEPAGE);
  return true;
}

// The --hold helper's state: what it holds on its node and the level it holds the node to.
struct Holder {
  long node;
  long page;
  long target;      // pages: free + per-cpu lists are brought down to this
  long min_margin;  // pages kept above min while taking
  std::string status;
  cpu_set_t allowed{};
  long held = 0;  // pages
  int generation = 0;

  // Pages left on a cpu's list for this zone are handed out before the free count moves, but
  // only to allocations on that cpu: take them there.
  void takePerCpuLists() {
    onEachCpu(allowed, [&](int cpu) {
      ZoneState now = readZone(node);
      long listed = now.pcp_by_cpu[cpu];
      if (listed > 0 && now.free - now.min > min_margin && takePages(listed, page, false)) {
        held += listed;
      }
    });
  }

  void fill() {
    ZoneState now = readZone(node);
    long gap = now.free + now.pcp - target;
    // The bulk in huge pages, leaving 8 MiB to take in small pages.
    long huge_pages = (2l << 20) / page;
    long bulk = (gap - 2048) / huge_pages * huge_pages;
    if (bulk > 0 && takePages(bulk, page, true)) held += bulk;
    for (int step = 0; step < 50; ++step) {
      takePerCpuLists();
      now = readZone(node);
      gap = now.free + now.pcp - target;
      if (gap <= 0) break;
      // Every page taken lowers free + per-cpu by one, whether it comes off a per-cpu list or a
      // refill moves a batch from the free count onto one; page tables come from the node too.
      // Never below min (plus a margin for a refill's batch): the holder's next page would need
      // reclaim, which finds nothing here and ends in the OOM killer.
      long take = std::min(gap, now.free - now.min - min_margin);
      if (take <= 0 || !takePages(take, page, false)) break;
      held += take;
    }
    ++generation;
    writeReady();
  }

  void writeReady() {
    ZoneState now = readZone(node);
    long kib = page / 1024;
    writeStatus(status,
                "ready gen=" + std::to_string(generation) + " node=" + std::to_string(node) +
                    " free_kib=" + std::to_string(now.free * kib) + " pcp_kib=" +
                    std::to_string(now.pcp * kib) + " min_kib=" + std::to_string(now.min * kib) +
                    " low_kib=" + std::to_string(now.low * kib) +
                    " boost_kib=" + std::to_string(now.boost * kib) + " target_kib=" +
                    std::to_string(target * kib) + " held_kib=" + std::to_string(held * kib));
  }
};

bool bindToNode(long node) {
  unsigned long mask[1024 / (8 * sizeof(unsigned long))] = {};
  if (node >= 1024) return false;
  mask[node / (8 * sizeof(unsigned long))] |= 1ul << (node % (8 * sizeof(unsigned long)));
  const int mpol_bind = 2;
  if (syscall(SYS_set_mempolicy, mpol_bind, mask, 1024 + 1) != 0) {
    std::perror("fault_bench: set_mempolicy");
    return false;
  }
  return true;
}

// SIGUSR1 asks for a top-up, SIGTERM for the end; both stay blocked outside sigsuspend, so one
// sent while the holder is filling is served after, never lost.
void takeSignals() {
  struct sigaction topup {};
  topup.sa_handler = onTopup;
  sigaction(SIGUSR1, &topup, nullptr);
  struct sigaction stop {};
  stop.sa_handler = onStop;
  sigaction(SIGTERM, &stop, nullptr);
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGUSR1);
  sigaddset(&blocked, SIGTERM);
  sigprocmask(SIG_BLOCK, &blocked, nullptr);
}

void serveTopups(Holder& holder) {
  sigset_t none;
  sigemptyset(&none);
  while (!g_stop_requested) {
    if (g_topup_requested) {
      g_topup_requested = 0;
      holder.fill();
      continue;
    }
    sigsuspend(&none);
  }
}

int hold(const Options& opt, long page) {
  long node = opt.hold_node;
  ZoneState zone = readZone(node);
  if (zone.populated_zones != 1) {
    std::fprintf(stderr, "fault_bench: node %ld has %d populated zones, --hold needs exactly 1\n",
                 node, zone.populated_zones);
    return 2;
  }
  // Halfway between min and low: below low, so allocations that check the low watermark (every
  // fast-path allocation) pass the zone by; above min, so the holder's own pages never need
  // reclaim that finds nothing. What is held to it is the free count plus the pages on the
  // per-cpu lists: those drain back to the free count later (the lists keep up to a share of the
  // low watermark per cpu), and the node must still be below low then.
  long target = (zone.min + zone.low) / 2;
  // Pages kept above min while taking: more than one per-cpu refill batch while the lists are
  // kept short (the script does that), up to 32; small nodes have narrow gaps between watermarks.
  const long min_margin = std::clamp((zone.low - zone.min) / 4, 4l, 32l);
  if (target <= zone.min + min_margin) {
    std::fprintf(stderr, "fault_bench: node %ld: min %ld and low %ld leave no room\n", node,
                 zone.min, zone.low);
    return 2;
  }
  if (!bindToNode(node)) return node >= 1024 ? 2 : 1;

  Holder holder{node, page, target, min_margin, opt.status};
  sched_getaffinity(0, sizeof holder.allowed, &holder.allowed);
  takeSignals();
  holder.fill();
  serveTopups(holder);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt = parseArgs(argc, argv);
  long page = sysconf(_SC_PAGESIZE);
  g_no_thp = opt.no_thp;
  if (opt.cpu_nodes) return printCpuNodes();
  if (opt.hold_node >= 0) return hold(opt, page);
  std::vector<double> faults, fault_sys, processes, process_sys;
  touchFreshBuffer(opt.buffer_bytes, page);  // warm up: page tables, the allocator's lists
  for (int round = 0; round < opt.rounds; ++round) {
    Rate f = faultRate(opt, page);
    Rate p = processRate(opt, page);
    faults.push_back(f.per_second);
    fault_sys.push_back(f.system_us_each);
    processes.push_back(p.per_second);
    process_sys.push_back(p.system_us_each);
  }
  std::printf(
      "faults_per_s=%.0f sys_us_per_fault=%.2f processes_per_s=%.1f sys_us_per_process=%.0f "
      "rounds=%d buffer_mib=%zu",
      median(faults), median(fault_sys), median(processes), median(process_sys), opt.rounds,
      opt.buffer_bytes >> 20);
  if (opt.no_thp) std::printf(" thp=off");
  if (opt.where) {
    std::string where = pageNodes(opt.buffer_bytes, page);
    unsigned cpu = 0, node = 0;
    currentCpuNode(&cpu, &node);
    std::printf(" where=%s cpu=%u cpu_node=%u", where.c_str(), cpu, node);
  }
  std::printf("\n");
  return 0;
}

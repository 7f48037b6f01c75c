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
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::size_t buffer_bytes = 16u << 20;  // fits in one 32 MiB fake node with room to spare
  int fault_repeats = 8;                 // buffers per round
  int process_count = 200;               // children per round
  int rounds = 5;
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

// Touches every page of a fresh mapping; returns the number of faults taken, or -1 on failure.
long touchFreshBuffer(std::size_t bytes, long page) {
  void* raw = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return -1;
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

Options parseArgs(int argc, char** argv) {
  Options opt;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string key = argv[i];
    const char* text = argv[i + 1];
    long value = 0;
    auto [end, ec] = std::from_chars(text, text + std::strlen(text), value);
    if (ec != std::errc{} || *end != '\0' || value <= 0) {
      std::fprintf(stderr, "fault_bench: %s needs a positive number\n", key.c_str());
      std::exit(2);
    }
    if (key == "--buffer-mib") {
      opt.buffer_bytes = static_cast<std::size_t>(value) << 20;
    } else if (key == "--repeats") {
      opt.fault_repeats = static_cast<int>(value);
    } else if (key == "--processes") {
      opt.process_count = static_cast<int>(value);
    } else if (key == "--rounds") {
      opt.rounds = static_cast<int>(value);
    } else {
      std::fprintf(stderr, "fault_bench: unknown option %s\n", key.c_str());
      std::exit(2);
    }
  }
  return opt;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt = parseArgs(argc, argv);
  long page = sysconf(_SC_PAGESIZE);
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
      "rounds=%d buffer_mib=%zu\n",
      median(faults), median(fault_sys), median(processes), median(process_sys), opt.rounds,
      opt.buffer_bytes >> 20);
  return 0;
}

// Report benchmark: `zonectl report` against `numastat -m` over the same node tree in the same
// run. --tree N generates an N-node sysfs tree (node files as a 6.1 guest writes them) and shows
// it to numastat, whose paths are fixed, by bind-mounting it over /sys/devices/system/node in a
// private mount namespace (root only). --live compares both on the running machine (a guest).
// Also times the report in-process (read + sum + render), the part the 20 ms target is about.
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "softzone/report/kmsg_oom.h"
#include "softzone/report/reclaim_trace.h"
#include "softzone/report/report.h"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kRepeats = 21;  // odd, for a true median

double medianMs(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

void writeFile(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

std::string meminfo(int id) {
  static const char* const kKeys[] = {
      "MemTotal",       "MemFree",       "MemUsed",        "SwapCached",    "Active",
      "Inactive",       "Active(anon)",  "Inactive(anon)", "Active(file)",  "Inactive(file)",
      "Unevictable",    "Mlocked",       "Dirty",          "Writeback",     "FilePages",
      "Mapped",         "AnonPages",     "Shmem",          "KernelStack",   "PageTables",
      "SecPageTables",  "NFS_Unstable",  "Bounce",         "WritebackTmp",  "KReclaimable",
      "Slab",           "SReclaimable",  "SUnreclaim",     "AnonHugePages", "ShmemHugePages",
      "ShmemPmdMapped", "FileHugePages", "FilePmdMapped"};
  std::ostringstream out;
  for (const char* key : kKeys) {
    unsigned long kb = std::string(key) == "MemTotal"  ? 131072
                       : std::string(key) == "MemFree" ? 65536 + id
                       : std::string(key) == "MemUsed" ? 65536 - id
                                                       : (id * 7 + key[0]) % 4096;
    char line[96];
    std::snprintf(line, sizeof line, "Node %d %-16s%10lu kB\n", id,
                  (std::string(key) + ":").c_str(), kb);
    out << line;
  }
  for (const char* key : {"HugePages_Total", "HugePages_Free", "HugePages_Surp"}) {
    out << "Node " << id << " " << key << ":     0\n";
  }
  return out.str();
}

std::string vmstat(int id) {
  static const char* const kKeys[] = {"nr_free_pages",
                                      "nr_zone_inactive_anon",
                                      "nr_zone_active_anon",
                                      "nr_zone_inactive_file",
                                      "nr_zone_active_file",
                                      "nr_zone_unevictable",
                                      "nr_zone_write_pending",
                                      "nr_mlock",
                                      "nr_bounce",
                                      "nr_zspages",
                                      "nr_free_cma",
                                      "numa_hit",
                                      "numa_miss",
                                      "numa_foreign",
                                      "numa_interleave",
                                      "numa_local",
                                      "numa_other",
                                      "nr_inactive_anon",
                                      "nr_active_anon",
                                      "nr_inactive_file",
                                      "nr_active_file",
                                      "nr_unevictable",
                                      "nr_slab_reclaimable",
                                      "nr_slab_unreclaimable",
                                      "nr_isolated_anon",
                                      "nr_isolated_file",
                                      "workingset_nodes",
                                      "workingset_refault_anon",
                                      "workingset_refault_file",
                                      "workingset_activate_anon",
                                      "workingset_activate_file",
                                      "workingset_restore_anon",
                                      "workingset_restore_file",
                                      "workingset_nodereclaim",
                                      "nr_anon_pages",
                                      "nr_mapped",
                                      "nr_file_pages",
                                      "nr_dirty",
                                      "nr_writeback",
                                      "nr_writeback_temp",
                                      "nr_shmem",
                                      "nr_shmem_hugepages",
                                      "nr_shmem_pmdmapped",
                                      "nr_file_hugepages",
                                      "nr_file_pmdmapped",
                                      "nr_anon_transparent_hugepages",
                                      "nr_vmscan_write",
                                      "nr_vmscan_immediate_reclaim",
                                      "nr_dirtied",
                                      "nr_written",
                                      "nr_throttled_written",
                                      "nr_kernel_misc_reclaimable",
                                      "nr_foll_pin_acquired",
                                      "nr_foll_pin_released",
                                      "nr_kernel_stack",
                                      "nr_page_table_pages",
                                      "nr_sec_page_table_pages",
                                      "nr_swapcached",
                                      "pgpromote_success",
                                      "pgpromote_candidate"};
  std::ostringstream out;
  for (const char* key : kKeys) out << key << ' ' << (id * 13 + key[3]) % 100000 << '\n';
  return out.str();
}

std::string numastatFile(int id) {
  std::ostringstream out;
  out << "numa_hit " << 678 + id << "\nnuma_miss 0\nnuma_foreign 0\ninterleave_hit 60\n"
      << "local_node 0\nother_node " << 678 + id << "\n";
  return out.str();
}

// The machine files a report reads besides the nodes.
void generateTree(const std::filesystem::path& root, int nodes) {
  std::filesystem::path node_dir = root / "sys/devices/system/node";
  for (int id = 0; id < nodes; ++id) {
    std::filesystem::path dir = node_dir / ("node" + std::to_string(id));
    writeFile(dir / "meminfo", meminfo(id));
    writeFile(dir / "vmstat", vmstat(id));
    writeFile(dir / "numastat", numastatFile(id));
    writeFile(dir / "cpulist", id == 0 ? "0-1\n" : "\n");
  }
  std::string list = "0-" + std::to_string(nodes - 1) + "\n";
  writeFile(node_dir / "online", list);
  writeFile(node_dir / "possible", list);
  writeFile(node_dir / "has_memory", list);
  writeFile(node_dir / "has_cpu", "0\n");
  writeFile(root / "proc/meminfo",
            "MemTotal:       " + std::to_string(131072UL * nodes) + " kB\nMemFree: 1 kB\n");
  writeFile(root / "proc/vmstat", "pgmigrate_success 0\npgmigrate_fail 0\n");
  writeFile(root / "proc/self/mountinfo",
            "31 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw\n");
  writeFile(root / "sys/fs/cgroup/cgroup.controllers", "cpuset memory\n");
  writeFile(root / "sys/fs/cgroup/cpuset.cpus.effective", "0-1\n");
  writeFile(root / "sys/fs/cgroup/cpuset.mems.effective", list);
  writeFile(root / "sys/devices/system/cpu/online", "0-1\n");
}

// Runs a program with its output thrown away; returns the wall time in ms, -1 on failure.
double runMs(std::vector<std::string> args) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  auto start = Clock::now();
  pid_t pid = -1;
  int error = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) return -1;
  int status = 0;
  ::waitpid(pid, &status, 0);
  double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? ms : -1;
}

double medianRunMs(const std::vector<std::string>& args) {
  std::vector<double> times;
  for (int i = 0; i < kRepeats; ++i) {
    double ms = runMs(args);
    if (ms < 0) return -1;
    times.push_back(ms);
  }
  return medianMs(times);
}

// read + sum + render, in this process: the report itself without process start-up.
double inProcessMs(const softzone::FsRoot& fs) {
  using namespace softzone::report;
  std::vector<double> times;
  SampleOptions options;
  options.install_reclaim_trigger = false;
  for (int i = 0; i < kRepeats; ++i) {
    auto start = Clock::now();
    ReportZones zones = readReportZonesAt(fs, softzone::cpuset::CgroupMode::kAuto);
    auto sample = readMachineSampleAt(fs, zones.zones, zones.cgroup, options);
    if (!sample) {
      std::fprintf(stderr, "report_bench: %s\n", sample.error().describe().c_str());
      std::exit(1);
    }
    Report report = buildReport(zones.zones, *sample);
    std::ostringstream out;
    renderTable(report, out);
    times.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  return medianMs(times);
}

template <typename Fn>
double medianOf(Fn&& fn) {
  std::vector<double> times;
  for (int i = 0; i < kRepeats; ++i) {
    auto start = Clock::now();
    fn();
    times.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  return medianMs(times);
}

// Where a report's time goes, source by source (medians), and the cost of starting zonectl.
void printBreakdown(const softzone::FsRoot& fs, const std::string& zonectl) {
  using namespace softzone::report;
  std::printf("  breakdown (in-process medians):\n");
  std::printf("    zones (cgroup tree, state)         %8.2f ms\n",
              medianOf([&] { (void)readReportZonesAt(fs, softzone::cpuset::CgroupMode::kAuto); }));
  std::printf("    node meminfo+vmstat(+numastat)     %8.2f ms\n",
              medianOf([&] { (void)readNodeStatsAt(fs); }));
  auto nodes = readNodeStatsAt(fs);
  if (nodes) {
    std::printf("    kswapd CPU (/proc scan)            %8.2f ms\n",
                medianOf([&] { (void)readKswapdCpuAt(fs, nodes->nodes); }));
  }
  std::printf("    kernel log (/dev/kmsg)             %8.2f ms\n",
              medianOf([&] { (void)readKmsgAt(fs); }));
  std::printf("    reclaim hist (tracefs)             %8.2f ms\n", medianOf([&] {
                if (auto tracefs = findTracefsAt(fs)) (void)readReclaimHistAt(fs, *tracefs);
              }));
  double start_ms = medianRunMs({zonectl, "--version"});
  if (start_ms >= 0) std::printf("  zonectl --version (process start)    %8.2f ms\n", start_ms);
}

void printResult(const char* label, int nodes, double in_process, double zonectl, double numastat) {
  std::printf("%s, %d nodes (median of %d runs):\n", label, nodes, kRepeats);
  std::printf("  report in-process (read+sum+table)   %8.2f ms\n", in_process);
  std::printf("  zonectl report (process)             %8.2f ms\n", zonectl);
  if (numastat > 0) {
    std::printf("  numastat -m (process)                %8.2f ms\n", numastat);
    std::printf("  zonectl / numastat                   %8.2fx (target <= 0.5x)\n",
                zonectl / numastat);
  } else {
    std::printf(
        "  numastat -m                          not measured (needs root for the bind mount)\n");
  }
}

int usage() {
  std::fprintf(stderr, "usage: report_bench ZONECTL (--tree NODES [KEEP_DIR] | --live)\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  std::string zonectl = argv[1];
  std::string mode = argv[2];
  if (mode == "--live") {
    auto fs = softzone::FsRoot::live().value();
    int nodes = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/sys/devices/system/node")) {
      nodes += entry.path().filename().string().rfind("node", 0) == 0 ? 1 : 0;
    }
    double in_process = inProcessMs(fs);
    double ours = medianRunMs({zonectl, "report", "--no-trace"});
    double theirs = medianRunMs({"numastat", "-m"});
    printResult("live machine", nodes, in_process, ours, theirs);
    printBreakdown(fs, zonectl);
    return ours > 0 ? 0 : 1;
  }
  if (mode != "--tree" || argc < 4) return usage();
  int nodes = std::atoi(argv[3]);
  if (nodes < 1 || nodes > 1024) return usage();
  char pattern[] = "/tmp/softzone_report_bench.XXXXXX";
  bool keep = argc >= 5;
  if (!keep && ::mkdtemp(pattern) == nullptr) return 1;
  std::filesystem::path root =
      keep ? std::filesystem::path(argv[4]) : std::filesystem::path(pattern);
  generateTree(root, nodes);
  auto fs = softzone::FsRoot::open(root.string()).value();
  double in_process = inProcessMs(fs);
  double ours = medianRunMs({zonectl, "--root", root.string(), "report", "--no-trace"});
  double theirs = -1;
  // numastat reads /sys/devices/system/node itself: show it the tree there, privately.
  if (::geteuid() == 0 && ::unshare(CLONE_NEWNS) == 0 &&
      ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0) {
    std::string node_dir = (root / "sys/devices/system/node").string();
    if (::mount(node_dir.c_str(), "/sys/devices/system/node", nullptr, MS_BIND, nullptr) == 0) {
      theirs = medianRunMs({"numastat", "-m"});
    }
  }
  printResult("generated tree", nodes, in_process, ours, theirs);
  printBreakdown(fs, zonectl);
  if (!keep) std::filesystem::remove_all(root);
  return ours > 0 ? 0 : 1;
}

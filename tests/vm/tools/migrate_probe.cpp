// migrate_probe: drives the page-placement engine in guests and times commands for benchmarks.
//
//   migrate_probe move --pid P --from NODES --to NODES [--workers N] [--all] [--by-free]
//                      [--method move_pages|migrate_pages]
//   migrate_probe migrate --pid P --from NODES --to NODES      (migrate_pages(2))
//   migrate_probe census --pid P
//   migrate_probe time [--no-aslr] CMD ARGS...
//
// Results are key=value lines for guest scripts to pick apart with sed. `move` prints the
// MoveReport (failures as failed_ENOMEM=N, moves as moved_to_N=N); `census` prints node_N=pages
// and status_ENOENT=pages from the status query, numa_maps_node_N=pages from numa_maps;
// `time` runs CMD and then prints wall_ms by the monotonic clock (busybox `date` has no %N);
// --no-aslr runs it with the personality flag ADDR_NO_RANDOMIZE (as `setarch -R` does, without
// the extra exec). Why a benchmark wants that: under QEMU's software emulation, code is
// translated and cached by virtual address, so a position-independent program given new
// addresses on every run is translated again on every run (`zonectl list` 92 ms with address
// randomization, 19 ms without, same binary, same guest); hardware has no such cost.
// Exit status: 0 done (a move with failed pages included: the report says so), 1 the engine
// refused, 2 bad usage; `time` exits with CMD's status.
#include <sys/personality.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "softzone/zones/kernel_files.h"
#include "softzone/zones/nodeset.h"
#include "softzone/zones/page_placement.h"

namespace {

namespace zones = softzone::zones;
using softzone::NodeSet;

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr const char* kUsage =
    "usage: migrate_probe move --pid P --from NODES --to NODES [--workers N] [--all] [--by-free]\n"
    "                          [--method move_pages|migrate_pages]\n"
    "       migrate_probe migrate --pid P --from NODES --to NODES\n"
    "       migrate_probe census --pid P\n"
    "       migrate_probe time [--no-aslr] CMD ARGS...\n";

struct Args {
  std::optional<pid_t> pid;
  std::optional<NodeSet> from;
  std::optional<NodeSet> to;
  int workers = 1;
  bool move_all = false;
  bool by_free = false;
  zones::MoveMethod method = zones::MoveMethod::kMovePages;
};

int usage(const std::string& problem) {
  std::fprintf(stderr, "migrate_probe: %s\n%s", problem.c_str(), kUsage);
  return kExitUsage;
}

std::optional<long> parseNumber(std::string_view text) {
  long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Fills `args` from argv[2...]; returns a problem to report, or "".
std::string parseArgs(int argc, char** argv, Args& args) {
  for (int i = 2; i < argc; ++i) {
    std::string_view key = argv[i];
    if (key == "--all") {
      args.move_all = true;
      continue;
    }
    if (key == "--by-free") {
      args.by_free = true;
      continue;
    }
    if (i + 1 >= argc) return std::string(key) + " needs a value";
    std::string_view value = argv[++i];
    if (key == "--pid" || key == "--workers") {
      auto number = parseNumber(value);
      if (!number || *number <= 0) return std::string(key) + " needs a positive number";
      if (key == "--pid") args.pid = static_cast<pid_t>(*number);
      if (key == "--workers") args.workers = static_cast<int>(*number);
    } else if (key == "--method") {
      if (value == "move_pages") {
        args.method = zones::MoveMethod::kMovePages;
      } else if (value == "migrate_pages") {
        args.method = zones::MoveMethod::kMigratePages;
      } else {
        return "--method must be move_pages or migrate_pages";
      }
    } else if (key == "--from" || key == "--to") {
      auto nodes = NodeSet::parse(value, key);
      if (!nodes) return nodes.error().describe();
      (key == "--from" ? args.from : args.to) = *nodes;
    } else {
      return "unknown option " + std::string(key);
    }
  }
  return "";
}

// MemFree of each node, from nodeN/meminfo ("Node 4 MemFree:  123456 kB").
std::map<int, uint64_t> freeBytesOf(const NodeSet& nodes) {
  std::map<int, uint64_t> free_bytes;
  auto root = softzone::FsRoot::live();
  if (!root) return free_bytes;
  for (int node : nodes.ids()) {
    auto lines =
        root->readLines(softzone::kernel::nodeFile(node, softzone::kernel::kNodeMeminfoFile));
    if (!lines) continue;
    for (const std::string& line : *lines) {
      size_t at = line.find("MemFree:");
      if (at == std::string::npos) continue;
      size_t digits = line.find_first_of("0123456789", at);
      size_t end = line.find(' ', digits);
      auto kib = parseNumber(std::string_view(line).substr(digits, end - digits));
      if (kib) free_bytes[node] = static_cast<uint64_t>(*kib) * 1024;
    }
  }
  return free_bytes;
}

void printReport(const zones::MoveReport& report) {
  std::printf("pages_scanned=%lu\npages_found=%lu\npages_moved=%lu\npages_failed=%lu\n",
              report.pages_scanned, report.pages_found, report.pages_moved, report.pages_failed);
  std::printf("pages_gone=%lu\npages_left_on_from=%lu\nmove_calls=%lu\n", report.pages_gone,
              report.pages_left_on_from, report.move_calls);
  std::printf("pages_retried=%lu\npages_hidden=%lu\npages_swept=%lu\n", report.pages_retried,
              report.pages_hidden, report.pages_swept);
  std::printf("scan_ms=%.1f\nmove_ms=%.1f\nsweep_ms=%.1f\nverify_ms=%.1f\nelapsed_ms=%.1f\n",
              report.scan_ms, report.move_ms, report.sweep_ms, report.verify_ms, report.elapsed_ms);
  std::printf("pages_migrated=%lu\nmigrate_calls=%lu\nmigrate_ms=%.1f\n", report.pages_migrated,
              report.migrate_calls, report.migrate_ms);
  for (const auto& [node, pages] : report.moved_to) std::printf("moved_to_%d=%lu\n", node, pages);
  for (const auto& [err, pages] : report.failures) {
    std::printf("failed_%s=%lu\n", zones::errnoName(err).c_str(), pages);
  }
}

int fail(const softzone::Error& error) {
  std::fprintf(stderr, "migrate_probe: %s\n", error.describe().c_str());
  return error.exitStatus();
}

int runMove(const Args& args) {
  if (!args.pid || !args.from || !args.to) return usage("move needs --pid, --from and --to");
  zones::MoveOptions options;
  options.workers = args.workers;
  options.method = args.method;
  options.flags = args.move_all ? MPOL_MF_MOVE_ALL : MPOL_MF_MOVE;
  if (args.by_free) options.free_bytes = freeBytesOf(*args.to);
  auto live = softzone::FsRoot::live();
  if (!live) return fail(live.error());
  auto report = zones::movePages(*live, *args.pid, *args.from, *args.to, options);
  if (!report) return fail(report.error());
  printReport(*report);
  return 0;
}

int runMigrate(const Args& args) {
  if (!args.pid || !args.from || !args.to) return usage("migrate needs --pid, --from and --to");
  auto start = std::chrono::steady_clock::now();
  auto left = zones::migrateProcessPages(*args.pid, *args.from, *args.to);
  if (!left) return fail(left.error());
  std::chrono::duration<double, std::milli> elapsed = std::chrono::steady_clock::now() - start;
  std::printf("pages_not_moved=%lu\nelapsed_ms=%.1f\n", *left, elapsed.count());
  return 0;
}

int runCensus(const Args& args) {
  if (!args.pid) return usage("census needs --pid");
  auto root = softzone::FsRoot::live();
  if (!root) return fail(root.error());
  auto maps = zones::readMapsAt(*root, *args.pid);
  if (!maps) return fail(maps.error());
  auto numa_maps = zones::readNumaMapsAt(*root, *args.pid);
  auto ranges = zones::movableRanges(*maps);
  auto census =
      zones::queryPageNodes(*args.pid, numa_maps ? zones::denseRanges(ranges, *numa_maps) : ranges);
  if (!census) return fail(census.error());
  std::printf("pages_scanned=%lu\npages_not_present=%lu\n", census->pages_scanned,
              census->pages_not_present);
  for (const auto& [node, pages] : census->pages_per_node)
    std::printf("node_%d=%lu\n", node, pages);
  for (const auto& [err, pages] : census->errors) {
    std::printf("status_%s=%lu\n", zones::errnoName(err).c_str(), pages);
  }
  // The kernel's own page walk, which also sees pages the status query cannot.
  if (numa_maps) {
    auto pages = zones::numaMapsPagesIn(*numa_maps, ranges);
    for (const auto& [node, count] : pages) std::printf("numa_maps_node_%d=%lu\n", node, count);
  }
  return 0;
}

// Adds ADDR_NO_RANDOMIZE to this process's persona (0xffffffff reads it without changing it);
// the programs it then executes run at fixed addresses.
bool disableAddressRandomization() {
  int persona = personality(0xffffffff);
  if (persona < 0 || personality(static_cast<unsigned long>(persona) | ADDR_NO_RANDOMIZE) < 0) {
    std::perror("migrate_probe: personality(ADDR_NO_RANDOMIZE)");
    return false;
  }
  return true;
}

int runTime(int argc, char** argv) {
  int first = 2;
  bool fixed_addresses = argc > first && std::string_view(argv[first]) == "--no-aslr";
  if (fixed_addresses) ++first;
  if (argc <= first) return usage("time needs a command");
  auto start = std::chrono::steady_clock::now();
  pid_t child = fork();
  if (child < 0) {
    std::perror("migrate_probe: fork");
    return kExitFailed;
  }
  if (child == 0) {
    if (fixed_addresses && !disableAddressRandomization()) _exit(127);
    execvp(argv[first], argv + first);
    std::fprintf(stderr, "migrate_probe: cannot run %s: %s\n", argv[first], std::strerror(errno));
    _exit(127);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  std::chrono::duration<double, std::milli> elapsed = std::chrono::steady_clock::now() - start;
  std::fflush(stdout);
  std::printf("wall_ms=%.1f\n", elapsed.count());
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage("no command");
  std::string_view command = argv[1];
  if (command == "time") return runTime(argc, argv);
  Args args;
  if (std::string problem = parseArgs(argc, argv, args); !problem.empty()) return usage(problem);
  if (command == "move") return runMove(args);
  if (command == "migrate") return runMigrate(args);
  if (command == "census") return runCensus(args);
  return usage("unknown command " + std::string(command));
}

// Per-node counters: the metric table, the parsers of nodeN/{meminfo,vmstat,numastat} and the
// readers (with kswapdN CPU time from /proc).
#include "softzone/report/node_stats.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

#include "softzone/zones/kernel_files.h"
#include "softzone/zones/text_parse.h"

namespace softzone::report {
namespace {

using K = MetricKind;
using S = MetricSource;

// clang-format off
constexpr std::array<MetricInfo, kMetricCount> kMetrics = {{
    {Metric::kMemTotal, "mem_total_bytes", "MemTotal (MiB)", K::kGauge, S::kMeminfo, true},
    {Metric::kMemFree, "mem_free_bytes", "MemFree (MiB)", K::kGauge, S::kMeminfo, true},
    {Metric::kMemUsed, "mem_used_bytes", "MemUsed (MiB)", K::kGauge, S::kMeminfo, true},
    {Metric::kFile, "file_bytes", "File (MiB)", K::kGauge, S::kMeminfo, true},
    {Metric::kAnon, "anon_bytes", "Anon (MiB)", K::kGauge, S::kMeminfo, true},
    {Metric::kActiveFile, "active_file_bytes", "Active(file) (MiB)", K::kGauge, S::kMeminfo, true},
    {Metric::kInactiveFile, "inactive_file_bytes", "Inactive(file) (MiB)", K::kGauge, S::kMeminfo, true},
    {Metric::kActiveAnon, "active_anon_bytes", "Active(anon) (MiB)", K::kGauge, S::kMeminfo, true},
    {Metric::kInactiveAnon, "inactive_anon_bytes", "Inactive(anon) (MiB)", K::kGauge, S::kMeminfo, true},
    {Metric::kUnevictable, "unevictable_bytes", "Unevictable (MiB)", K::kGauge, S::kMeminfo, true},
    {Metric::kDirty, "dirty_bytes", "Dirty (MiB)", K::kGauge, S::kMeminfo, true},
    {Metric::kWriteback, "writeback_bytes", "Writeback (MiB)", K::kGauge, S::kMeminfo, true},
    {Metric::kShmem, "shmem_bytes", "Shmem (MiB)", K::kGauge, S::kMeminfo, true},
    {Metric::kSlab, "slab_bytes", "Slab (MiB)", K::kGauge, S::kMeminfo, true},
    {Metric::kSlabReclaimable, "slab_reclaimable_bytes", "SReclaimable (MiB)", K::kGauge, S::kMeminfo, true},
    {Metric::kKernelStack, "kernel_stack_bytes", "KernelStack (MiB)", K::kGauge, S::kMeminfo, true},
    {Metric::kPageTables, "page_tables_bytes", "PageTables (MiB)", K::kGauge, S::kMeminfo, true},
    {Metric::kRefaultAnon, "refaults_anon", "Refaults anon (pages)", K::kCounter, S::kVmstat, false},
    {Metric::kRefaultFile, "refaults_file", "Refaults file (pages)", K::kCounter, S::kVmstat, false},
    {Metric::kActivateAnon, "activations_anon", "Refault activations anon (pages)", K::kCounter, S::kVmstat, false},
    {Metric::kActivateFile, "activations_file", "Refault activations file (pages)", K::kCounter, S::kVmstat, false},
    {Metric::kVmscanWrite, "vmscan_write_pages", "Reclaim writes (pages)", K::kCounter, S::kVmstat, false},
    {Metric::kVmscanImmediate, "vmscan_immediate_pages", "Reclaim immediate (pages)", K::kCounter, S::kVmstat, false},
    {Metric::kNumaHit, "numa_hit", "numa_hit (pages)", K::kCounter, S::kNumastat, false},
    {Metric::kNumaMiss, "numa_miss", "numa_miss (pages)", K::kCounter, S::kNumastat, false},
    {Metric::kNumaForeign, "numa_foreign", "numa_foreign (pages)", K::kCounter, S::kNumastat, false},
    {Metric::kInterleaveHit, "interleave_hit", "interleave_hit (pages)", K::kCounter, S::kNumastat, false},
    {Metric::kLocalNode, "local_node", "local_node (pages)", K::kCounter, S::kNumastat, false},
    {Metric::kOtherNode, "other_node", "other_node (pages)", K::kCounter, S::kNumastat, false},
    {Metric::kReclaimScanned, "reclaim_scanned_pages", "Reclaim scanned (pages)", K::kCounter, S::kReclaimTrace, false},
    {Metric::kReclaimReclaimed, "reclaim_reclaimed_pages", "Reclaim reclaimed (pages)", K::kCounter, S::kReclaimTrace, false},
    {Metric::kReclaimPasses, "reclaim_passes", "Reclaim passes (count)", K::kCounter, S::kReclaimTrace, false},
    {Metric::kKswapdCpuMs, "kswapd_cpu_ms", "kswapd CPU (ms)", K::kCounter, S::kKswapd, false},
}};
// clang-format on

// A kernel file's key and the metric it feeds.
struct KeyMap {
  std::string_view key;
  Metric metric;
};

constexpr KeyMap kMeminfoKeys[] = {
    {"MemTotal", Metric::kMemTotal},
    {"MemFree", Metric::kMemFree},
    {"MemUsed", Metric::kMemUsed},
    {"FilePages", Metric::kFile},
    {"AnonPages", Metric::kAnon},
    {"Active(file)", Metric::kActiveFile},
    {"Inactive(file)", Metric::kInactiveFile},
    {"Active(anon)", Metric::kActiveAnon},
    {"Inactive(anon)", Metric::kInactiveAnon},
    {"Unevictable", Metric::kUnevictable},
    {"Dirty", Metric::kDirty},
    {"Writeback", Metric::kWriteback},
    {"Shmem", Metric::kShmem},
    {"Slab", Metric::kSlab},
    {"SReclaimable", Metric::kSlabReclaimable},
    {"KernelStack", Metric::kKernelStack},
    {"PageTables", Metric::kPageTables},
};

constexpr KeyMap kVmstatKeys[] = {
    {"workingset_refault_anon", Metric::kRefaultAnon},
    {"workingset_refault_file", Metric::kRefaultFile},
    {"workingset_refault", Metric::kRefaultFile},  // before 5.9: file pages only
    {"workingset_activate_anon", Metric::kActivateAnon},
    {"workingset_activate_file", Metric::kActivateFile},
    {"workingset_activate", Metric::kActivateFile},
    {"nr_vmscan_write", Metric::kVmscanWrite},
    {"nr_vmscan_immediate_reclaim", Metric::kVmscanImmediate},
    // Since 5.x nodeN/vmstat carries the NUMA events that nodeN/numastat shows (the same
    // counters): when they are here, numastat need not be read at all.
    {"numa_hit", Metric::kNumaHit},
    {"numa_miss", Metric::kNumaMiss},
    {"numa_foreign", Metric::kNumaForeign},
    {"numa_interleave", Metric::kInterleaveHit},
    {"numa_local", Metric::kLocalNode},
    {"numa_other", Metric::kOtherNode},
};

constexpr KeyMap kNumastatKeys[] = {
    {"numa_hit", Metric::kNumaHit},         {"numa_miss", Metric::kNumaMiss},
    {"numa_foreign", Metric::kNumaForeign}, {"interleave_hit", Metric::kInterleaveHit},
    {"local_node", Metric::kLocalNode},     {"other_node", Metric::kOtherNode},
};

// Bit L set: the table has a key of length L. A node's vmstat has 60-80 lines and the report
// wants about a dozen: a line whose key has no wanted length is passed over without comparing it
// with every key, which was most of the time of parsing 1024 nodes' files.
template <size_t N>
constexpr uint64_t keyLengthsOf(const KeyMap (&table)[N]) {
  uint64_t lengths = 0;
  for (const KeyMap& entry : table) {
    if (entry.key.size() < 64) lengths |= uint64_t{1} << entry.key.size();
  }
  return lengths;
}

template <const auto& kTable>
std::optional<Metric> lookup(std::string_view key) {
  static constexpr uint64_t kLengths = keyLengthsOf(kTable);
  if (key.size() >= 64 || ((kLengths >> key.size()) & 1) == 0) return std::nullopt;
  for (const KeyMap& entry : kTable) {
    if (entry.key == key) return entry.metric;
  }
  return std::nullopt;
}

// A hand loop, as trimBlanks is: string_view's find_first_of calls memchr once per character
// examined, which dominated reading 1024 nodes' files.
// The position of the first space or tab, npos when none.
size_t findBlank(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == ' ' || text[i] == '\t') return i;
  }
  return std::string_view::npos;
}

Error lineError(size_t line_no, std::string_view line, std::string_view what) {
  return badInput("line " + std::to_string(line_no) + " " + quoteInput(line) + ": " +
                  std::string(what));
}

// "key value" lines; values of keys in `table` are added.
template <const auto& kTable>
Status parseKeyValueLines(std::string_view text, MetricValues& values) {
  return forEachLine(text, [&](std::string_view line, size_t line_no) -> Status {
    std::string_view trimmed = trimBlanks(line);
    size_t space = findBlank(trimmed);
    if (space == std::string_view::npos) return lineError(line_no, line, "expected 'name value'");
    auto metric = lookup<kTable>(trimmed.substr(0, space));
    if (!metric) return {};
    auto value = parseNumber<uint64_t>(trimBlanks(trimmed.substr(space)));
    if (!value) return lineError(line_no, line, "the value is not a number");
    at(values, *metric) += *value;
    return {};
  });
}

// Reads a small kernel file into `buffer`, reused across files: with 1024 nodes and three files
// each, a fresh buffer per file (and zeroing it) costs more than the reads themselves.
// `dir` holds the file `name`; `shown` is its kernel path, for messages.
Status readSmallFile(const FsRoot& dir, const std::string& name, const std::string& shown,
                     std::string& buffer) {
  auto fd = dir.openAt(name, O_RDONLY);
  if (!fd) return errnoError(fd.error().code().value(), "reading " + shown);
  static thread_local char chunk[16384];
  buffer.clear();
  for (;;) {
    ssize_t n = ::read(fd->get(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errnoError(errno, "reading " + shown);
    if (n == 0) break;
    buffer.append(chunk, static_cast<size_t>(n));
    // A sysfs attribute is made whole by one show() call (at most a page) and the first read
    // returns all of it; a regular file (a --root tree) reads short only at its end. Either way
    // a short read is the end, and asking again only to be told so was one syscall in four.
    if (static_cast<size_t>(n) < sizeof chunk) break;
  }
  return {};
}

}  // namespace

const std::array<MetricInfo, kMetricCount>& metricInfos() noexcept { return kMetrics; }

const MetricInfo& metricInfo(Metric metric) noexcept {
  return kMetrics[static_cast<size_t>(metric)];
}

std::optional<Metric> metricByKey(std::string_view key) noexcept {
  for (const MetricInfo& info : kMetrics) {
    if (info.key == key) return info.metric;
  }
  return std::nullopt;
}

Status parseNodeMeminfo(std::string_view text, int node, MetricValues& values) {
  std::string prefix = "Node " + std::to_string(node) + " ";
  return forEachLine(text, [&](std::string_view line, size_t line_no) -> Status {
    if (line.substr(0, prefix.size()) != prefix) {
      return lineError(line_no, line, "expected a line of node " + std::to_string(node));
    }
    std::string_view rest = line.substr(prefix.size());
    size_t colon = rest.find(':');
    if (colon == std::string_view::npos) return lineError(line_no, line, "expected 'Key: value'");
    auto metric = lookup<kMeminfoKeys>(rest.substr(0, colon));
    if (!metric) return {};
    std::string_view number = trimBlanks(rest.substr(colon + 1));
    uint64_t scale = 1;
    if (number.size() > 3 && number.substr(number.size() - 3) == " kB") {
      number = trimBlanks(number.substr(0, number.size() - 3));
      scale = 1024;
    }
    auto value = parseNumber<uint64_t>(number);
    if (!value) return lineError(line_no, line, "the value is not a number");
    if (*value > UINT64_MAX / scale) return lineError(line_no, line, "the value is too large");
    at(values, *metric) += *value * scale;
    return {};
  });
}

Status parseNodeVmstat(std::string_view text, MetricValues& values) {
  return parseKeyValueLines<kVmstatKeys>(text, values);
}

Status parseNodeNumastat(std::string_view text, MetricValues& values) {
  return parseKeyValueLines<kNumastatKeys>(text, values);
}

Result<std::vector<std::pair<std::string, uint64_t>>> parseVmstatPrefixed(std::string_view text,
                                                                          std::string_view prefix) {
  std::vector<std::pair<std::string, uint64_t>> found;
  SZ_CHECK(forEachLine(text, [&](std::string_view line, size_t line_no) -> Status {
    std::string_view trimmed = trimBlanks(line);
    if (trimmed.substr(0, prefix.size()) != prefix) return {};
    size_t space = findBlank(trimmed);
    if (space == std::string_view::npos) return lineError(line_no, line, "expected 'name value'");
    auto value = parseNumber<uint64_t>(trimBlanks(trimmed.substr(space)));
    if (!value) return lineError(line_no, line, "the value is not a number");
    found.emplace_back(std::string(trimmed.substr(0, space)), *value);
    return {};
  }));
  return found;
}

Result<ProcStat> parseProcStat(std::string_view text) {
  // The command may hold spaces and parentheses: it ends at the last ')'.
  size_t open = text.find('(');
  size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return badInput("a /proc/PID/stat line without '(comm)': " + quoteInput(text));
  }
  ProcStat stat;
  stat.comm = std::string(text.substr(open + 1, close - open - 1));
  // After ")": state(3) ppid(4) ... flags(9) ... utime(14) stime(15); field 3 is the first.
  std::string_view rest = text.substr(close + 1);
  int field = 2;
  uint64_t ticks = 0;
  while (field < 15) {
    size_t start = rest.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    rest = rest.substr(start);
    size_t end = rest.find_first_of(" \n");
    std::string_view token = rest.substr(0, end);
    ++field;
    if (field == 9) {
      auto value = parseNumber<uint64_t>(token);
      if (!value)
        return badInput("/proc/PID/stat: flags " + quoteInput(token) + " is not a number");
      stat.flags = *value;
    }
    if (field == 14 || field == 15) {
      auto value = parseNumber<uint64_t>(token);
      if (!value)
        return badInput("/proc/PID/stat: field " + std::to_string(field) + " " + quoteInput(token) +
                        " is not a number");
      ticks += *value;
    }
    if (end == std::string_view::npos) break;
    rest = rest.substr(end);
  }
  if (field < 15) return badInput("/proc/PID/stat: fewer than 15 fields: " + quoteInput(text));
  stat.cpu_ticks = ticks;
  return stat;
}

std::optional<int> parseKswapdName(std::string_view comm) {
  constexpr std::string_view kPrefix = "kswapd";
  if (comm.substr(0, kPrefix.size()) != kPrefix || comm.size() == kPrefix.size()) {
    return std::nullopt;
  }
  std::string_view digits = comm.substr(kPrefix.size());
  int node = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), node);
  if (ec != std::errc() || ptr != digits.data() + digits.size() || node < 0) return std::nullopt;
  return node;
}

namespace {

// An optional file that failed: noted once per kind of file, and the source marked missing.
void notePartial(NodeStatsRead& read, bool& ok, int id, std::string_view file,
                 const Status& status) {
  if (status) return;
  if (ok) {
    read.problems.push_back(
        {"node" + std::to_string(id) + "/" + std::string(file), status.error().describe()});
  }
  ok = false;
}

}  // namespace

Result<NodeStatsRead> readNodeStatsAt(const FsRoot& fs) {
  SZ_TRY(entries, fs.listDir(kernel::kNodeDir));
  // Paths from the node directory: resolving the whole path from the root for each of up to
  // 3072 files was a good part of a 1024-node report's time.
  SZ_TRY(node_dir, fs.openSubtree(kernel::kNodeDir));
  NodeStatsRead read;
  std::string text;
  for (const std::string& name : entries) {
    if (name.size() <= kernel::kNodeDirPrefix.size() ||
        name.compare(0, kernel::kNodeDirPrefix.size(), kernel::kNodeDirPrefix) != 0) {
      continue;
    }
    int id = 0;
    const char* first = name.data() + kernel::kNodeDirPrefix.size();
    auto [ptr, ec] = std::from_chars(first, name.data() + name.size(), id);
    if (ec != std::errc() || ptr != name.data() + name.size()) continue;
    NodeStats node;
    node.id = id;
    std::string meminfo_path = kernel::nodeFile(id, kernel::kNodeMeminfoFile);
    SZ_CHECK(readSmallFile(node_dir, name + "/" + std::string(kernel::kNodeMeminfoFile),
                           meminfo_path, text));
    Status parsed = parseNodeMeminfo(text, id, node.values);
    if (!parsed) return Error(parsed.error()).withContext(fs.hostPath(meminfo_path));
    // vmstat and numastat add detail; a kernel or tree without them still has a report.
    std::string vmstat_name = name + "/" + std::string(kernel::kNodeVmstatFile);
    Status vmstat =
        readSmallFile(node_dir, vmstat_name, kernel::nodeFile(id, kernel::kNodeVmstatFile), text);
    if (vmstat) vmstat = parseNodeVmstat(text, node.values);
    bool numa_in_vmstat = vmstat && text.find("\nnuma_hit ") != std::string::npos;
    notePartial(read, read.vmstat, id, kernel::kNodeVmstatFile, vmstat);
    if (!numa_in_vmstat) {
      std::string numastat_name = name + "/" + std::string(kernel::kNodeNumastatFile);
      Status numastat = readSmallFile(node_dir, numastat_name,
                                      kernel::nodeFile(id, kernel::kNodeNumastatFile), text);
      if (numastat) {
        // Counted from vmstat when it had some of them: start these over from numastat.
        for (Metric m : {Metric::kNumaHit, Metric::kNumaMiss, Metric::kNumaForeign,
                         Metric::kInterleaveHit, Metric::kLocalNode, Metric::kOtherNode}) {
          at(node.values, m) = 0;
        }
        numastat = parseNodeNumastat(text, node.values);
      }
      notePartial(read, read.numastat, id, kernel::kNodeNumastatFile, numastat);
    }
    read.nodes.push_back(node);
  }
  std::sort(read.nodes.begin(), read.nodes.end(),
            [](const NodeStats& a, const NodeStats& b) { return a.id < b.id; });
  return read;
}

namespace {

long ticksPerSecond() {
  long ticks = ::sysconf(_SC_CLK_TCK);
  return ticks > 0 ? ticks : 100;
}

// Reads /proc/PID/stat; when it is a kswapd thread of one of `nodes`, fills that node's CPU time
// and returns its node id.
std::optional<int> readKswapdStat(const FsRoot& fs, const std::string& pid,
                                  std::vector<NodeStats>& nodes) {
  auto text = fs.readFile("/proc/" + pid + "/stat");
  if (!text) return std::nullopt;
  auto stat = parseProcStat(*text);
  if (!stat) return std::nullopt;
  if ((stat->flags & kTaskFlagKthread) == 0) return std::nullopt;
  auto node_id = parseKswapdName(stat->comm);
  if (!node_id) return std::nullopt;
  auto node = std::find_if(nodes.begin(), nodes.end(),
                           [&](const NodeStats& n) { return n.id == *node_id; });
  if (node == nodes.end()) return std::nullopt;
  at(node->values, Metric::kKswapdCpuMs) =
      stat->cpu_ticks * 1000 / static_cast<uint64_t>(ticksPerSecond());
  return node_id;
}

// The known pids, when every one still names its node's kswapd.
bool readKnownKswapd(const FsRoot& fs, std::vector<NodeStats>& nodes, const KswapdPids& known) {
  if (known.by_node.empty()) return false;
  for (const auto& [node, pid] : known.by_node) {
    if (readKswapdStat(fs, std::to_string(pid), nodes) != node) return false;
  }
  return true;
}

}  // namespace

bool readKswapdCpuAt(const FsRoot& fs, std::vector<NodeStats>& nodes, KswapdPids* known) {
  if (known != nullptr && readKnownKswapd(fs, nodes, *known)) return true;
  auto entries = fs.listDir("/proc");
  if (!entries) return false;
  // kswapd threads start at boot, so their pids are among the lowest: look in pid order and
  // stop once every node has one, instead of reading every process's stat.
  std::vector<std::pair<int, const std::string*>> pids;
  for (const std::string& entry : *entries) {
    if (auto pid = parseNumber<int>(entry); pid && *pid > 0) pids.emplace_back(*pid, &entry);
  }
  std::sort(pids.begin(), pids.end());
  KswapdPids found;
  for (const auto& [pid, entry] : pids) {
    // Kernel threads have no cmdline; reading stat alone is cheaper than comm then stat.
    auto node_id = readKswapdStat(fs, *entry, nodes);
    if (!node_id) continue;
    found.by_node[*node_id] = pid;
    if (found.by_node.size() == nodes.size()) break;
  }
  if (known != nullptr) *known = found;
  return !found.by_node.empty();
}

}  // namespace softzone::report

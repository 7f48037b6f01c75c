// /proc/PID/maps and numa_maps parsing and /proc/PID/task listing for page placement.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "softzone/zones/page_placement.h"
#include "softzone/zones/text_parse.h"

namespace softzone::zones {
namespace {

constexpr std::string_view kProcDir = "/proc";
constexpr std::string_view kMapsFile = "maps";
constexpr std::string_view kNumaMapsFile = "numa_maps";
constexpr std::string_view kPageSizeKey = "kernelpagesize_kB=";
constexpr std::string_view kTaskDir = "task";
constexpr std::string_view kStatusFile = "status";
// The nodes the process may allocate on (its cpuset mems), in /proc/PID/status.
constexpr std::string_view kMemsAllowedKey = "Mems_allowed_list:";
constexpr std::string_view kDeletedSuffix = " (deleted)";
// The kernel pads the fields before the path to this column (25 + 6 * sizeof(void*) - 1 on a
// 64-bit kernel) and writes one more space: knowing it keeps leading spaces of a path.
constexpr size_t kMapsPathPadColumn = 72;
constexpr std::string_view kKernelMappings[] = {"[vdso]", "[vvar]", "[vvar_vclock]", "[vsyscall]",
                                                "[uprobes]"};

std::string procPath(pid_t pid, std::string_view file) {
  return std::string(kProcDir) + "/" + std::to_string(pid) + "/" + std::string(file);
}

// The next space-separated field of `line` from `pos`; advances `pos` past one space.
std::string_view nextField(std::string_view line, size_t& pos) {
  size_t end = line.find(' ', pos);
  if (end == std::string_view::npos) end = line.size();
  std::string_view field = line.substr(pos, end - pos);
  pos = end < line.size() ? end + 1 : end;
  return field;
}

bool validPerms(std::string_view perms) {
  return perms.size() == 4 && (perms[0] == 'r' || perms[0] == '-') &&
         (perms[1] == 'w' || perms[1] == '-') && (perms[2] == 'x' || perms[2] == '-') &&
         (perms[3] == 'p' || perms[3] == 's');
}

bool validDevice(std::string_view device) {
  size_t colon = device.find(':');
  return colon != std::string_view::npos && parseNumber<uint64_t>(device.substr(0, colon), 16) &&
         parseNumber<uint64_t>(device.substr(colon + 1), 16);
}

// The path starts after the padding; when the padding is not the kernel's (a hand-written or
// re-formatted line), after the run of spaces.
std::string_view pathAfter(std::string_view line, size_t prefix_end) {
  if (prefix_end >= line.size()) return {};
  size_t start = std::max(prefix_end, kMapsPathPadColumn) + 1;
  bool kernel_padding =
      start <= line.size() &&
      line.substr(prefix_end, start - prefix_end).find_first_not_of(' ') == std::string_view::npos;
  if (kernel_padding) return line.substr(start);
  size_t first = line.find_first_not_of(' ', prefix_end);
  return first == std::string_view::npos ? std::string_view{} : line.substr(first);
}

Result<MapRange> parseMapsLine(std::string_view line) {
  size_t pos = 0;
  std::string_view span = nextField(line, pos);
  std::string_view perms = nextField(line, pos);
  std::string_view offset = nextField(line, pos);
  std::string_view device = nextField(line, pos);
  std::string_view inode = nextField(line, pos);
  MapRange range;
  size_t dash = span.find('-');
  std::optional<uint64_t> start;
  std::optional<uint64_t> end;
  if (dash != std::string_view::npos) {
    start = parseNumber<uint64_t>(span.substr(0, dash), 16);
    end = parseNumber<uint64_t>(span.substr(dash + 1), 16);
  }
  if (!start || !end || *end < *start) return badInput("bad address range " + quoteInput(span));
  range.start = *start;
  range.end = *end;
  if (!validPerms(perms)) return badInput("bad permissions " + quoteInput(perms));
  auto offset_value = parseNumber<uint64_t>(offset, 16);
  if (!offset_value) return badInput("bad offset " + quoteInput(offset));
  range.offset = *offset_value;
  if (!validDevice(device)) return badInput("bad device " + quoteInput(device));
  auto inode_value = parseNumber<uint64_t>(inode);
  if (!inode_value) return badInput("bad inode " + quoteInput(inode));
  range.inode = *inode_value;
  range.perms = perms;
  range.device = device;
  range.path = pathAfter(line, pos);
  return range;
}

Error processError(int err, pid_t pid, std::string_view what) {
  std::string context = std::string(what) + " of pid " + std::to_string(pid);
  // /proc/PID disappears with the process: say so rather than "no such file".
  if (err == ENOENT || err == ESRCH) return errnoError(ESRCH, context + ": the process is gone");
  if (err == EACCES || err == EPERM) {
    return errnoError(err, context + ": another user's process needs root (CAP_SYS_PTRACE)");
  }
  return errnoError(err, context);
}

// The words of a numa_maps line after the address and policy that the kernel writes itself; a
// file path (which may hold spaces) comes first, so they are taken from the end.
bool isNumaMapsField(std::string_view word) {
  constexpr std::string_view kFlags[] = {"heap", "stack", "huge"};
  constexpr std::string_view kKeys[] = {
      "anon=", "dirty=", "mapped=", "mapmax=", "swapcache=", "active=", "writeback=", kPageSizeKey};
  if (std::find(std::begin(kFlags), std::end(kFlags), word) != std::end(kFlags)) return true;
  for (std::string_view key : kKeys) {
    if (word.starts_with(key)) return true;
  }
  size_t equals = word.find('=');
  return word.size() > 1 && word[0] == 'N' && equals != std::string_view::npos &&
         parseNumber<uint64_t>(word.substr(1, equals - 1));
}

std::vector<std::string_view> splitWords(std::string_view line) {
  std::vector<std::string_view> words;
  size_t pos = 0;
  while (pos < line.size()) {
    size_t end = line.find(' ', pos);
    if (end == std::string_view::npos) end = line.size();
    if (end > pos) words.push_back(line.substr(pos, end - pos));
    pos = end + 1;
  }
  return words;
}

Result<NumaMapsEntry> parseNumaMapsLine(std::string_view line, uint64_t page_bytes) {
  std::vector<std::string_view> words = splitWords(line);
  NumaMapsEntry entry;
  auto start = words.size() < 2 ? std::nullopt : parseNumber<uint64_t>(words[0], 16);
  if (!start) return badInput("bad numa_maps line " + quoteInput(line));
  entry.start = *start;
  entry.policy = words[1];
  uint64_t unit_kib = page_bytes / 1024;  // kernelpagesize_kB is absent on old kernels
  std::map<int, uint64_t> counts;
  for (size_t i = words.size(); i > 2 && isNumaMapsField(words[i - 1]); --i) {
    std::string_view word = words[i - 1];
    size_t equals = word.find('=');
    if (word.starts_with(kPageSizeKey)) {
      auto unit = parseNumber<uint64_t>(word.substr(kPageSizeKey.size()));
      if (!unit || *unit == 0)
        return badInput("bad page size in numa_maps line " + quoteInput(line));
      unit_kib = *unit;
    } else if (word[0] == 'N') {
      // isNumaMapsField has checked the node number.
      uint64_t node = parseNumber<uint64_t>(word.substr(1, equals - 1)).value_or(0);
      auto pages = parseNumber<uint64_t>(word.substr(equals + 1));
      if (!pages) return badInput("bad page count in numa_maps line " + quoteInput(line));
      counts[static_cast<int>(node)] += *pages;
    }
  }
  // Hugetlb mappings count huge pages; everything here is in base pages.
  uint64_t base_per_unit = std::max<uint64_t>(1, unit_kib * 1024 / page_bytes);
  for (const auto& [node, pages] : counts) entry.pages_per_node[node] = pages * base_per_unit;
  return entry;
}

}  // namespace

bool MapRange::anonymous() const noexcept {
  if (inode != 0) return false;
  return path.empty() || path == "[heap]" || path.starts_with("[stack") ||
         path.starts_with("[anon:");
}

bool MapRange::deleted() const noexcept { return path.ends_with(kDeletedSuffix); }

bool MapRange::kernelMapping() const noexcept {
  return std::find(std::begin(kKernelMappings), std::end(kKernelMappings), path) !=
         std::end(kKernelMappings);
}

Result<std::vector<MapRange>> parseProcMaps(const std::vector<std::string>& lines) {
  std::vector<MapRange> ranges;
  ranges.reserve(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    auto range = parseMapsLine(lines[i]);
    if (!range) {
      return std::move(range).error().withContext("maps line " + std::to_string(i + 1));
    }
    ranges.push_back(std::move(*range));
  }
  return ranges;
}

Result<std::vector<MapRange>> readMapsAt(const FsRoot& root, pid_t pid) {
  auto lines = root.readLines(procPath(pid, kMapsFile));
  if (!lines) return processError(lines.error().code().value(), pid, "reading the memory map");
  return parseProcMaps(*lines);
}

Result<std::vector<NumaMapsEntry>> parseNumaMaps(const std::vector<std::string>& lines,
                                                 uint64_t page_bytes) {
  std::vector<NumaMapsEntry> entries;
  entries.reserve(lines.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].empty()) continue;
    auto entry = parseNumaMapsLine(lines[i], page_bytes);
    if (!entry) {
      return std::move(entry).error().withContext("numa_maps line " + std::to_string(i + 1));
    }
    entries.push_back(std::move(*entry));
  }
  return entries;
}

Result<std::vector<NumaMapsEntry>> readNumaMapsAt(const FsRoot& root, pid_t pid) {
  auto lines = root.readLines(procPath(pid, kNumaMapsFile));
  if (!lines) return processError(lines.error().code().value(), pid, "reading the NUMA map");
  return parseNumaMaps(*lines, static_cast<uint64_t>(sysconf(_SC_PAGESIZE)));
}

std::map<int, uint64_t> numaMapsPagesIn(const std::vector<NumaMapsEntry>& entries,
                                        const std::vector<MapRange>& ranges) {
  std::vector<uint64_t> starts;
  for (const MapRange& range : ranges) starts.push_back(range.start);
  std::sort(starts.begin(), starts.end());
  std::map<int, uint64_t> pages;
  for (const NumaMapsEntry& entry : entries) {
    if (!std::binary_search(starts.begin(), starts.end(), entry.start)) continue;
    for (const auto& [node, count] : entry.pages_per_node) pages[node] += count;
  }
  return pages;
}

Result<std::vector<pid_t>> listThreadsAt(const FsRoot& root, pid_t pid) {
  auto names = root.listDir(procPath(pid, kTaskDir));
  if (!names) return processError(names.error().code().value(), pid, "listing the threads");
  std::vector<pid_t> tids;
  tids.reserve(names->size());
  for (const std::string& name : *names) {
    // Anything else in task/ is not a thread; procfs has nothing else there today.
    if (auto tid = parseNumber<uint64_t>(name)) tids.push_back(static_cast<pid_t>(*tid));
  }
  std::sort(tids.begin(), tids.end());
  return tids;
}

Result<NodeSet> parseMemsAllowed(const std::vector<std::string>& status_lines) {
  for (const std::string& line : status_lines) {
    if (!line.starts_with(kMemsAllowedKey)) continue;
    std::string_view value = std::string_view(line).substr(kMemsAllowedKey.size());
    size_t first = value.find_first_not_of(" \t");
    value = first == std::string_view::npos ? std::string_view() : value.substr(first);
    return NodeSet::parse(value, "Mems_allowed_list");
  }
  return badInput("status: no Mems_allowed_list line");
}

Result<NodeSet> readMemsAllowedAt(const FsRoot& root, pid_t pid) {
  auto lines = root.readLines(procPath(pid, kStatusFile));
  if (!lines) return processError(lines.error().code().value(), pid, "reading the status");
  return parseMemsAllowed(*lines);
}

std::vector<MapRange> movableRanges(const std::vector<MapRange>& ranges) {
  std::vector<MapRange> movable;
  for (const MapRange& range : ranges) {
    if (range.readable() && !range.kernelMapping()) movable.push_back(range);
  }
  return movable;
}

}  // namespace softzone::zones

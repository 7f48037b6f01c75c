// Reading the machine's NUMA topology (fake and physical nodes, memory, CPUs, kernel facts) through
// an FsRoot.
#include "softzone/zones/topology.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <limits>
#include <system_error>

#include "softzone/zones/kernel_files.h"
#include "softzone/zones/text_parse.h"

namespace softzone::zones {
namespace {

constexpr std::string_view kWhitespace = " \t\n\r";
// Enough of a bad line to recognise it; the rest would bury the message.
constexpr size_t kMaxQuotedChars = 64;

std::string quoted(std::string_view text) {
  std::string out = "'";
  out += text.substr(0, kMaxQuotedChars);
  if (text.size() > kMaxQuotedChars) out += "...";
  out += "'";
  return out;
}

std::string_view trim(std::string_view text) {
  size_t first = text.find_first_not_of(kWhitespace);
  if (first == std::string_view::npos) return {};
  size_t last = text.find_last_not_of(kWhitespace);
  return text.substr(first, last - first + 1);
}

bool startsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// A whole unsigned decimal number, nothing around it (from_chars alone would take a '-').
template <typename Int>
std::optional<Int> parseWholeNumber(std::string_view text) {
  if (text.starts_with('-')) return std::nullopt;
  return parseNumber<Int>(text);
}

// Splits on runs of spaces and tabs.
std::vector<std::string_view> splitFields(std::string_view text) {
  std::vector<std::string_view> fields;
  size_t pos = 0;
  while (true) {
    pos = text.find_first_not_of(kWhitespace, pos);
    if (pos == std::string_view::npos) break;
    size_t end = text.find_first_of(kWhitespace, pos);
    if (end == std::string_view::npos) end = text.size();
    fields.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  return fields;
}

bool isNotFound(const Error& error) { return error.code() == std::errc::no_such_file_or_directory; }

// The release for finding the kernel config: osrelease, else /proc/version, else unknown.
std::string readKernelRelease(const FsRoot& fs) {
  if (auto release = fs.readAttribute(kernel::kOsRelease)) {
    std::string_view trimmed = trim(*release);
    if (!trimmed.empty()) return std::string(trimmed);
  }
  if (auto version = fs.readFile(kernel::kProcVersion)) {
    if (auto release = parseProcVersion(*version)) return *release;
  }
  return {};
}

// The config is optional: Debian ships it in /boot, many fixture trees and containers don't.
void readKernelConfig(const FsRoot& fs, Topology& topology) {
  if (topology.kernel_release.empty()) return;
  std::string path = kernel::kernelConfigPath(topology.kernel_release);
  auto lines = fs.readLines(path);
  if (!lines) return;
  topology.config = parseKernelConfigFromLines(*lines);
  topology.config_path = std::move(path);
}

Result<uint64_t> requireMeminfoField(const std::map<std::string, uint64_t, std::less<>>& fields,
                                     std::string_view key, std::string_view path) {
  auto it = fields.find(key);
  if (it == fields.end()) {
    return badInput(std::string(path) + ": no " + std::string(key) + " line");
  }
  return it->second;
}

struct MemTotals {
  uint64_t total_bytes = 0;
  uint64_t free_bytes = 0;
};

Result<MemTotals> readMeminfoTotalsAt(const FsRoot& fs, const std::string& path,
                                      std::optional<int> node) {
  SZ_TRY(lines, fs.readLines(path));
  auto fields = parseMeminfoFromLines(lines, node);
  if (!fields) return std::move(fields).error().withContext(path);
  SZ_TRY(total, requireMeminfoField(*fields, "MemTotal", path));
  SZ_TRY(free, requireMeminfoField(*fields, "MemFree", path));
  return MemTotals{total, free};
}

// A kernel list attribute (cpulist, online); `optional` turns a missing file into nullopt.
Result<std::optional<NodeSet>> readKernelListAt(const FsRoot& fs, const std::string& path,
                                                bool optional) {
  auto text = fs.readAttribute(path);
  if (!text) {
    if (optional && isNotFound(text.error())) return std::optional<NodeSet>();
    return std::move(text).error();
  }
  auto set = NodeSet::parseKernelList(*text, path);
  if (!set) return std::move(set).error();
  return std::optional<NodeSet>(std::move(*set));
}

Result<NodeInfo> readNodeAt(const FsRoot& fs, int id) {
  NodeInfo node;
  node.id = id;
  SZ_TRY(mem, readMeminfoTotalsAt(fs, kernel::nodeFile(id, kernel::kNodeMeminfoFile), id));
  node.mem_total_bytes = mem.total_bytes;
  node.mem_free_bytes = mem.free_bytes;
  // Read directly rather than through the optional-returning reader: a node's cpulist is
  // required, and GCC 12 misreports std::optional<NodeSet> as uninitialized at -O2.
  std::string cpulist_path = kernel::nodeFile(id, kernel::kNodeCpulistFile);
  SZ_TRY(cpulist, fs.readAttribute(cpulist_path));
  SZ_TRY(cpus, NodeSet::parseKernelList(cpulist, cpulist_path));
  node.cpus = std::move(cpus);
  std::string distance_path = kernel::nodeFile(id, kernel::kNodeDistanceFile);
  SZ_TRY(row, fs.readAttribute(distance_path));
  auto distances = parseDistanceRow(row);
  if (!distances) return std::move(distances).error().withContext(distance_path);
  node.distances = std::move(*distances);
  return node;
}

// Node ids from the node directory listing, ascending; nullopt when the directory is missing.
Result<std::optional<std::vector<int>>> listNodeIdsAt(const FsRoot& fs) {
  auto names = fs.listDir(kernel::kNodeDir);
  if (!names) {
    if (isNotFound(names.error())) return std::optional<std::vector<int>>();
    return std::move(names).error();
  }
  std::vector<int> ids;
  for (const std::string& name : *names) {
    if (auto id = parseNodeDirName(name)) ids.push_back(*id);
  }
  if (ids.empty()) {
    return badInput(std::string(kernel::kNodeDir) + ": no node<N> directories");
  }
  std::sort(ids.begin(), ids.end());
  return std::optional<std::vector<int>>(std::move(ids));
}

Status readNumaNodesAt(const FsRoot& fs, const std::vector<int>& ids, Topology& topology) {
  for (int id : ids) {
    SZ_TRY(node, readNodeAt(fs, id));
    if (node.distances.size() != ids.size()) {
      return badInput(kernel::nodeFile(id, kernel::kNodeDistanceFile) + ": " +
                      std::to_string(node.distances.size()) + " distances for " +
                      std::to_string(ids.size()) + " nodes");
    }
    topology.nodes.push_back(std::move(node));
  }
  NodeSet listed;
  for (int id : ids) listed.insert(id);
  // Older or trimmed trees may lack these lists; the directories say the same thing.
  SZ_TRY(online,
         readKernelListAt(fs, kernel::joinPath(kernel::kNodeDir, kernel::kNodeOnlineFile), true));
  SZ_TRY(possible,
         readKernelListAt(fs, kernel::joinPath(kernel::kNodeDir, kernel::kNodePossibleFile), true));
  topology.online_nodes = online.value_or(listed);
  topology.possible_nodes = possible.value_or(topology.online_nodes);
  return {};
}

// A kernel without NUMA sysfs still has memory and CPUs: one node 0 holding everything.
Status readSingleNodeAt(const FsRoot& fs, Topology& topology) {
  topology.numa_sysfs = false;
  NodeInfo node;
  SZ_TRY(mem, readMeminfoTotalsAt(fs, std::string(kernel::kProcMeminfo), std::nullopt));
  node.mem_total_bytes = mem.total_bytes;
  node.mem_free_bytes = mem.free_bytes;
  SZ_TRY(cpus, readKernelListAt(fs, std::string(kernel::kCpuOnline), true));
  if (cpus) node.cpus = std::move(*cpus);
  node.distances = {kernel::kLocalDistance};
  topology.nodes.push_back(std::move(node));
  topology.online_nodes = NodeSet::of({0});
  topology.possible_nodes = topology.online_nodes;
  return {};
}

}  // namespace

bool Topology::fakeNumaActive() const noexcept {
  return numa_cmdline.fake_numa_arg.has_value() && !numa_cmdline.numa_off &&
         config.numa_emu.value_or(true);
}

std::optional<int> Topology::maxNodes() const noexcept {
  if (!config.nodes_shift) return std::nullopt;
  return 1 << *config.nodes_shift;
}

const NodeInfo* Topology::node(int id) const noexcept {
  for (const NodeInfo& info : nodes) {
    if (info.id == id) return &info;
  }
  return nullptr;
}

std::optional<int> Topology::distance(int from, int to) const noexcept {
  const NodeInfo* source = node(from);
  if (source == nullptr) return std::nullopt;
  for (size_t i = 0; i < nodes.size() && i < source->distances.size(); ++i) {
    if (nodes[i].id == to) return source->distances[i];
  }
  return std::nullopt;
}

Result<std::map<std::string, uint64_t, std::less<>>> parseMeminfoFromLines(
    const std::vector<std::string>& lines, std::optional<int> node) {
  std::map<std::string, uint64_t, std::less<>> fields;
  const std::string prefix = node ? "Node " + std::to_string(*node) + " " : std::string();
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = trim(lines[i]);
    if (line.empty()) continue;
    auto bad = [&](std::string_view why) {
      return badInput("line " + std::to_string(i + 1) + ": " + std::string(why) + ", got " +
                      quoted(line));
    };
    if (!startsWith(line, prefix)) return bad("expected it to start with '" + prefix + "'");
    std::string_view rest = line.substr(prefix.size());
    size_t colon = rest.find(':');
    if (colon == std::string_view::npos || colon == 0) return bad("expected 'Key: value'");
    std::string_view key = trim(rest.substr(0, colon));
    std::vector<std::string_view> value = splitFields(rest.substr(colon + 1));
    if (value.empty() || value.size() > 2 || (value.size() == 2 && value[1] != "kB")) {
      return bad("expected a number optionally followed by kB");
    }
    auto number = parseWholeNumber<uint64_t>(value[0]);
    if (!number) return bad("expected a number optionally followed by kB");
    uint64_t amount = *number;
    if (value.size() == 2) {
      if (amount > std::numeric_limits<uint64_t>::max() / 1024) return bad("value too large");
      amount *= 1024;
    }
    fields.insert_or_assign(std::string(key), amount);
  }
  return fields;
}

Result<std::vector<int>> parseDistanceRow(std::string_view text) {
  std::vector<int> distances;
  for (std::string_view field : splitFields(text)) {
    auto value = parseWholeNumber<int>(field);
    // SLIT distances are one byte.
    if (!value || *value > 255) {
      return badInput("expected distances from 0 to 255, got " + quoted(field));
    }
    distances.push_back(*value);
  }
  if (distances.empty()) return badInput("empty distance row");
  return distances;
}

std::optional<int> parseNodeDirName(std::string_view name) {
  if (!startsWith(name, kernel::kNodeDirPrefix)) return std::nullopt;
  std::string_view digits = name.substr(kernel::kNodeDirPrefix.size());
  // "node01" is not a name the kernel makes.
  if (digits.size() > 1 && digits.front() == '0') return std::nullopt;
  auto id = parseWholeNumber<int>(digits);
  if (!id || *id > NodeSet::kMaxId) return std::nullopt;
  return id;
}

NumaCmdline parseNumaCmdline(std::string_view cmdline) {
  NumaCmdline result;
  size_t pos = 0;
  while (true) {
    pos = cmdline.find_first_not_of(kWhitespace, pos);
    if (pos == std::string_view::npos) break;
    // Like the kernel's next_arg(): spaces inside double quotes don't end a parameter.
    bool in_quotes = false;
    std::string param;
    for (; pos < cmdline.size(); ++pos) {
      char c = cmdline[pos];
      if (c == '"') {
        in_quotes = !in_quotes;
        continue;
      }
      if (!in_quotes && kWhitespace.find(c) != std::string_view::npos) break;
      param += c;
    }
    if (param == kernel::kCmdlineInitSeparator) break;
    if (!startsWith(param, kernel::kNumaParam)) continue;
    // The kernel keeps the last numa=fake= it sees and checks "off" with strncmp.
    if (startsWith(param, kernel::kFakeNumaParam)) {
      result.fake_numa_arg = param.substr(kernel::kFakeNumaParam.size());
    } else if (startsWith(param, kernel::kNumaOffParam)) {
      result.numa_off = true;
    }
  }
  return result;
}

KernelConfig parseKernelConfigFromLines(const std::vector<std::string>& lines) {
  KernelConfig config;
  bool any_config = false;
  bool shift_seen = false;
  std::optional<bool> numa_emu;
  for (const std::string& raw : lines) {
    std::string_view line = trim(raw);
    auto is_not_set = [&](std::string_view key) {
      return line == "# " + std::string(key) + " is not set";
    };
    auto value_of = [&](std::string_view key) -> std::optional<std::string_view> {
      if (!startsWith(line, key) || line.size() <= key.size() || line[key.size()] != '=') {
        return std::nullopt;
      }
      return line.substr(key.size() + 1);
    };
    if (startsWith(line, "CONFIG_") || startsWith(line, "# CONFIG_")) any_config = true;
    if (auto shift = value_of(kernel::kConfigNodesShift)) {
      shift_seen = true;
      config.nodes_shift = parseWholeNumber<int>(*shift);
    } else if (auto emu = value_of(kernel::kConfigNumaEmu)) {
      numa_emu = *emu == "y";
    } else if (is_not_set(kernel::kConfigNumaEmu)) {
      numa_emu = false;
    } else if (auto v1 = value_of(kernel::kConfigCpusetsV1)) {
      config.cpusets_v1 = *v1 == "y";
    } else if (is_not_set(kernel::kConfigCpusetsV1)) {
      config.cpusets_v1 = false;
    }
  }
  // In a real config an absent symbol is one whose dependencies are off: without CONFIG_NUMA
  // there is neither NODES_SHIFT (so MAX_NUMNODES is 1) nor NUMA_EMU. A file with no CONFIG_
  // lines at all is not a config and says nothing.
  if (any_config) {
    if (!shift_seen) config.nodes_shift = 0;
    config.numa_emu = numa_emu.value_or(false);
  }
  if (config.nodes_shift && (*config.nodes_shift < 0 || *config.nodes_shift > 10)) {
    config.nodes_shift.reset();  // outside what any architecture allows: don't report nonsense
  }
  return config;
}

std::optional<std::string> parseProcVersion(std::string_view text) {
  std::vector<std::string_view> fields = splitFields(text);
  if (fields.size() < 3 || fields[0] != "Linux" || fields[1] != "version") return std::nullopt;
  return std::string(fields[2]);
}

std::vector<PhysicalNode> groupPhysicalNodes(std::vector<NodeInfo>& nodes) {
  auto local = [&](size_t a, size_t b) {
    return nodes[a].distances.size() > b && nodes[b].distances.size() > a &&
           nodes[a].distances[b] == kernel::kLocalDistance &&
           nodes[b].distances[a] == kernel::kLocalDistance;
  };
  std::vector<PhysicalNode> groups;
  std::vector<bool> assigned(nodes.size(), false);
  // Nodes are in ascending id order, so the first member of a group is its lowest id.
  for (size_t first = 0; first < nodes.size(); ++first) {
    if (assigned[first]) continue;
    PhysicalNode group;
    group.id = nodes[first].id;
    group.cpus = nodes[first].cpus;
    for (size_t other = first; other < nodes.size(); ++other) {
      if (assigned[other]) continue;
      if (other != first && !(local(first, other) && nodes[other].cpus == nodes[first].cpus)) {
        continue;
      }
      assigned[other] = true;
      nodes[other].physical_node = group.id;
      group.nodes.insert(nodes[other].id);
      group.mem_total_bytes += nodes[other].mem_total_bytes;
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

Result<std::vector<NodeMemory>> readNodeMemoryAt(const FsRoot& fs) {
  SZ_TRY(ids, listNodeIdsAt(fs));
  std::vector<NodeMemory> nodes;
  if (!ids) {
    SZ_TRY(mem, readMeminfoTotalsAt(fs, std::string(kernel::kProcMeminfo), std::nullopt));
    nodes.push_back({0, mem.total_bytes, mem.free_bytes});
    return nodes;
  }
  for (int id : *ids) {
    SZ_TRY(mem, readMeminfoTotalsAt(fs, kernel::nodeFile(id, kernel::kNodeMeminfoFile), id));
    nodes.push_back({id, mem.total_bytes, mem.free_bytes});
  }
  return nodes;
}

Result<Topology> readTopologyAt(const FsRoot& fs) {
  Topology topology;
  SZ_TRY(cmdline, fs.readAttribute(kernel::kProcCmdline));
  topology.cmdline = std::string(trim(cmdline));
  topology.numa_cmdline = parseNumaCmdline(topology.cmdline);
  topology.kernel_release = readKernelRelease(fs);
  readKernelConfig(fs, topology);

  SZ_TRY(ids, listNodeIdsAt(fs));
  if (ids) {
    SZ_CHECK(readNumaNodesAt(fs, *ids, topology));
  } else {
    SZ_CHECK(readSingleNodeAt(fs, topology));
  }
  topology.physical_nodes = groupPhysicalNodes(topology.nodes);
  for (const NodeInfo& node : topology.nodes) {
    topology.mem_total_bytes += node.mem_total_bytes;
    topology.mem_free_bytes += node.mem_free_bytes;
    topology.cpus = topology.cpus.unionWith(node.cpus);
  }
  return topology;
}

}  // namespace softzone::zones

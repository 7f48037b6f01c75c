// Per-node page cache and shared memory left on nodes a shrink gives back to the free pool.
#include "softzone/cpuset/node_leftovers.h"

#include "softzone/zones/kernel_files.h"
#include "softzone/zones/size.h"
#include "softzone/zones/text_parse.h"

namespace softzone::cpuset {
namespace {

constexpr std::string_view kFilePagesKey = "FilePages:";
constexpr std::string_view kShmemKey = "Shmem:";

// "Node 2 FilePages:       2048 kB" split at blanks.
std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < line.size()) {
    size_t start = line.find_first_not_of(" \t", pos);
    if (start == std::string_view::npos) break;
    size_t end = line.find_first_of(" \t", start);
    if (end == std::string_view::npos) end = line.size();
    out.push_back(line.substr(start, end - start));
    pos = end;
  }
  return out;
}

Result<uint64_t> kilobytesAsBytes(std::string_view number, std::string_view line) {
  auto kb = parseNumber<uint64_t>(number);
  if (!kb) return badInput("node meminfo: expected a number of kB in " + quoteInput(line));
  return *kb * 1024;
}

}  // namespace

Result<NodeLeftovers> parseNodeLeftovers(std::string_view text, int node) {
  NodeLeftovers found;
  bool file = false;
  bool shmem = false;
  std::string want_node = std::to_string(node);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    std::vector<std::string_view> parts = fields(line);
    if (parts.size() != 5 || parts[0] != "Node" || parts[4] != "kB") continue;
    if (parts[2] != kFilePagesKey && parts[2] != kShmemKey) continue;
    if (parts[1] != want_node) {
      return badInput("node meminfo of node " + want_node +
                      " has a line of another node: " + quoteInput(line));
    }
    SZ_TRY(bytes, kilobytesAsBytes(parts[3], line));
    if (parts[2] == kFilePagesKey) {
      found.file_bytes = bytes;
      file = true;
    } else {
      found.shmem_bytes = bytes;
      shmem = true;
    }
  }
  if (!file || !shmem) {
    return mismatch("node " + want_node + "'s meminfo has no FilePages or Shmem line");
  }
  return found;
}

Result<std::map<int, NodeLeftovers>> readNodeLeftoversAt(const FsRoot& fs, const NodeSet& nodes) {
  std::map<int, NodeLeftovers> out;
  for (int node : nodes.ids()) {
    std::string path = kernel::nodeFile(node, kernel::kNodeMeminfoFile);
    SZ_TRY(text, fs.readFile(path));
    auto parsed = parseNodeLeftovers(text, node);
    if (!parsed) return std::move(parsed).error().withContext("reading " + path);
    out[node] = *parsed;
  }
  return out;
}

std::string describeLeftovers(const std::map<int, NodeLeftovers>& leftovers) {
  NodeSet holding;
  uint64_t file = 0;
  uint64_t shmem = 0;
  for (const auto& [node, left] : leftovers) {
    if (left.file_bytes == 0 && left.shmem_bytes == 0) continue;
    holding.insert(node);
    file += left.file_bytes;
    shmem += left.shmem_bytes;
  }
  if (holding.empty()) return "";
  return "nodes " + holding.format() + " still hold " + formatSize(file) + " of page cache (" +
         formatSize(shmem) +
         " of it shared memory) that no process of the partition maps: not moved; it leaves as "
         "the kernel reclaims it, or with the files (drop_caches, removing tmpfs files)";
}

}  // namespace softzone::cpuset

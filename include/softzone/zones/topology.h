// Topology: NUMA nodes (fake and physical), memory, CPUs and kernel facts, from sysfs/procfs.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "softzone/zones/fs_root.h"
#include "softzone/zones/nodeset.h"
#include "softzone/zones/result.h"

namespace softzone::zones {

struct NodeInfo {
  int id = 0;
  int physical_node = 0;  // the lowest node id of its physical node (see groupPhysicalNodes)
  uint64_t mem_total_bytes = 0;
  uint64_t mem_free_bytes = 0;
  NodeSet cpus;
  // The kernel's distance row: one entry per node of Topology::nodes, in the same order.
  std::vector<int> distances;
};

// Fake nodes carved out of one physical node (or a real node on its own).
struct PhysicalNode {
  int id = 0;  // its lowest node id
  NodeSet nodes;
  NodeSet cpus;
  uint64_t mem_total_bytes = 0;
};

// What the kernel command line says about NUMA.
struct NumaCmdline {
  std::optional<std::string> fake_numa_arg;  // the value after the last "numa=fake="
  bool numa_off = false;                     // "numa=off": no NUMA at all, emulation included
};

// Facts from the kernel's build configuration; each is unknown when the config is unreadable.
struct KernelConfig {
  std::optional<int> nodes_shift;  // CONFIG_NODES_SHIFT
  std::optional<bool> numa_emu;    // CONFIG_NUMA_EMU
  std::optional<bool>
      cpusets_v1;  // CONFIG_CPUSETS_V1 (6.12+; absent before, where v1 always exists)
};

struct Topology {
  std::string kernel_release;  // "" when unknown
  std::string cmdline;
  NumaCmdline numa_cmdline;
  KernelConfig config;
  std::string config_path;  // the config file read, "" when none was readable
  // False when /sys/devices/system/node is missing: a kernel without NUMA, seen as one node
  // holding all of /proc/meminfo.
  bool numa_sysfs = true;
  NodeSet online_nodes;
  NodeSet possible_nodes;
  std::vector<NodeInfo> nodes;               // ascending id
  std::vector<PhysicalNode> physical_nodes;  // ascending id
  uint64_t mem_total_bytes = 0;
  uint64_t mem_free_bytes = 0;
  NodeSet cpus;

  // numa=fake= is on the command line, NUMA is not off, and the kernel can emulate (when known).
  bool fakeNumaActive() const noexcept;
  // 1 << CONFIG_NODES_SHIFT when known.
  std::optional<int> maxNodes() const noexcept;
  const NodeInfo* node(int id) const noexcept;
  // The distance between two nodes of this topology; nullopt when either is unknown.
  std::optional<int> distance(int from, int to) const noexcept;
};

// --- Pure parsers: text in, values out. Messages name lines, callers add the file. ---

// meminfo lines, per node ("Node 0 MemTotal:  123456 kB") when `node` is given, else /proc/meminfo
// ("MemTotal:  123456 kB"). Values in kB become bytes; unit-less values (HugePages_Total) stay as
// is.
Result<std::map<std::string, uint64_t, std::less<>>> parseMeminfoFromLines(
    const std::vector<std::string>& lines, std::optional<int> node = std::nullopt);

// A node's distance row ("10 20 20 20").
Result<std::vector<int>> parseDistanceRow(std::string_view text);

// "node12" -> 12; anything else (online, has_cpu, power, ...) -> nullopt.
std::optional<int> parseNodeDirName(std::string_view name);

// The NUMA parameters of a kernel command line. Parameters after a bare "--" belong to init.
NumaCmdline parseNumaCmdline(std::string_view cmdline);

// The facts softzone needs from a kernel .config.
KernelConfig parseKernelConfigFromLines(const std::vector<std::string>& lines);

// The release from /proc/version ("Linux version 6.1.0-28-amd64 (...) ...").
std::optional<std::string> parseProcVersion(std::string_view text);

// Fills each node's physical_node and returns the groups: nodes at kLocalDistance from each other
// (both ways) with the same cpulist are fake nodes of one physical node, the way NUMA emulation
// lays them out. A real multi-node machine has kLocalDistance only on the diagonal.
std::vector<PhysicalNode> groupPhysicalNodes(std::vector<NodeInfo>& nodes);

// --- I/O through an FsRoot ---

// Reads the whole topology. Errors name the file (as a host path) and keep the errno; malformed
// contents are bad input. Optional sources: osrelease (falls back to /proc/version), the kernel
// config, the node online/possible lists, the CPU online list on a machine without NUMA sysfs.
Result<Topology> readTopologyAt(const FsRoot& fs);

// Each node's MemTotal and MemFree (nodeN/meminfo), ascending by id; on a kernel without NUMA
// sysfs, node 0 from /proc/meminfo. What commands that place pages need, without the rest of
// readTopologyAt (kernel config, command line, cgroup mounts, CPU lists, distances): one file per
// node instead of three, and none of the six others.
struct NodeMemory {
  int id = 0;
  uint64_t mem_total_bytes = 0;
  uint64_t mem_free_bytes = 0;
};
Result<std::vector<NodeMemory>> readNodeMemoryAt(const FsRoot& fs);

}  // namespace softzone::zones

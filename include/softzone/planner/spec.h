// The spec: what an admin asks of the machine (reserve, shared zone, partitions), read from INI.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "softzone/zones/nodeset.h"
#include "softzone/zones/result.h"
#include "softzone/zones/size.h"

namespace softzone::planner {

// Enough for the host's own daemons and page cache when the admin does not say.
inline constexpr uint64_t kDefaultReserveBytes = 512 * kMiB;
// Partition names become cgroup directory names; 64 keeps them readable in tables and paths.
inline constexpr size_t kMaxPartitionNameChars = 64;

// Room every zone keeps for the kernel image, which KASLR puts in a node no plan can predict:
// Debian's 6.1 and 6.12 kernels took 35-45 MiB of one or two 64 MiB nodes in guests
// (docs/user-guide.md, "The kernel image"). 0 for kernels booted with nokaslr.
inline constexpr uint64_t kDefaultKernelImageBytes = 48 * kMiB;

struct MachineSpec {
  uint64_t reserve_bytes = kDefaultReserveBytes;
  uint64_t kernel_image_bytes = kDefaultKernelImageBytes;
  std::optional<uint64_t> node_size_bytes;  // absent: the planner chooses
};

struct SharedSpec {
  uint64_t size_bytes = 0;              // 0: no shared zone
  std::vector<std::string> bind_paths;  // absolute paths whose page cache lives in the zone
};

struct PartitionSpec {
  std::string name;
  uint64_t memory_bytes = 0;
  // CPUs: a count taken from the partition's physical node, or an explicit list. Neither: the
  // partition has no CPUs of its own and runs on all CPUs of its physical node(s), shared.
  int cpu_count = 0;
  std::optional<NodeSet> cpu_list;
  std::optional<uint64_t> min_bytes;  // overcommit floor for zoned
  std::optional<uint64_t> max_bytes;  // overcommit ceiling for zoned
  bool mem_hardwall = false;
  // Where it was written, so later checks (the planner's CPU checks) can point at the line.
  int line = 0;       // its [partition.NAME] header; 0 when built in code
  int cpus_line = 0;  // its cpus key; 0 when absent or built in code
};

// A `key = value` line kept as read, with its line for messages.
struct SpecLine {
  std::string key;
  int line = 0;
  std::string value;
};

struct Spec {
  std::string file_name;  // for messages; "" when built in code
  MachineSpec machine;
  SharedSpec shared;
  std::vector<PartitionSpec> partitions;  // in file order
  // The [zoned] section, in file order, no key twice: zoned's to check (softzone/zoned/config.h).
  std::vector<SpecLine> zoned_keys;

  const PartitionSpec* partition(std::string_view name) const noexcept;
};

// Whether `name` may name a partition: [A-Za-z0-9_.-]{1,64}, not "." or "..", and not one of the
// zone names the planner uses itself (system, shared, free). On failure, the reason.
std::optional<std::string> checkPartitionName(std::string_view name);

// Parses a spec. Every error is bad input and reads "FILE:LINE: [SECTION] KEY = "VALUE": what was
// expected"; nothing is trimmed or guessed. A spec needs at least one partition.
Result<Spec> parseSpec(std::string_view text, std::string_view file_name);

// Reads and parses the file at `path`; a missing or unreadable file is bad input naming it.
Result<Spec> readSpecFile(const std::string& path);

// "web.ini:7: " (or "line 7: " without a file name): the prefix every spec message starts with.
std::string specLocation(std::string_view file_name, int line);

}  // namespace softzone::planner

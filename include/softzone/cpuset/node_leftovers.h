// What a node still holds by the kernel's per-node counters (nodeN/meminfo): the page cache and
// shared memory no process maps, which a shrink's page moves cannot see.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "softzone/zones/fs_root.h"
#include "softzone/zones/nodeset.h"
#include "softzone/zones/result.h"

namespace softzone::cpuset {

struct NodeLeftovers {
  uint64_t file_bytes = 0;   // FilePages: page cache, mapped or not (shmem included)
  uint64_t shmem_bytes = 0;  // Shmem: tmpfs, shared anonymous memory, SysV shm
};

// Pure: the FilePages and Shmem lines of node `node`'s meminfo
// ("Node 2 FilePages:       2048 kB"). A line of another node, or a malformed one among those
// two keys, is bad input; a missing key is a mismatch (the counter was not read, not 0).
Result<NodeLeftovers> parseNodeLeftovers(std::string_view text, int node);

// Per node of `nodes`, read through `fs`.
Result<std::map<int, NodeLeftovers>> readNodeLeftoversAt(const FsRoot& fs, const NodeSet& nodes);

// "nodes 2-3 still hold 12M of page cache (4M of it shared memory)", or "" when they hold none.
std::string describeLeftovers(const std::map<int, NodeLeftovers>& leftovers);

}  // namespace softzone::cpuset

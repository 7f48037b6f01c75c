// The NUMA system calls softzone makes: move_pages(2), migrate_pages(2), set_mempolicy(2).
//
// Called directly, not through libnuma. libnuma's wrappers for them are one syscall(2) line
// each, but linking libnuma runs its constructor in every program at every start, and that
// constructor reads the meminfo of every node: in a 64-node guest, 30-40 ms of an 80-100 ms
// `zonectl --version` under emulation; on any machine, one file per node before main().
#pragma once

#include <linux/mempolicy.h>  // MPOL_BIND, MPOL_DEFAULT, MPOL_MF_MOVE, MPOL_MF_MOVE_ALL
#include <sys/types.h>

#include <array>

#include "softzone/zones/nodeset.h"

namespace softzone::zones {

// The node masks these calls take: Debian's kernels have CONFIG_NODES_SHIFT=10.
inline constexpr int kMaxNodes = 1024;
using NodeMask = std::array<unsigned long, kMaxNodes / (8 * sizeof(unsigned long))>;

// The mask of `nodes`; ids at or above kMaxNodes are left out.
NodeMask toNodeMask(const NodeSet& nodes);

// Each returns what the kernel returns (0, or for the moves the number of pages not moved), or
// -errno when the call failed as a whole.
long movePagesCall(pid_t pid, unsigned long count, void* const* pages, const int* nodes,
                   int* status, int flags);
long migratePagesCall(pid_t pid, const NodeSet& from, const NodeSet& to);
// The calling thread's policy: `mode` (MPOL_BIND, ...) over `nodes`.
long setMempolicyCall(int mode, const NodeSet& nodes);

}  // namespace softzone::zones

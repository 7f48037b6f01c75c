// The NUMA system calls, by syscall(2) (see numa_syscalls.h for why not libnuma).
#include "softzone/zones/numa_syscalls.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace softzone::zones {

namespace {

// maxnode counts one past the last bit: the kernel drops the top one.
constexpr unsigned long kMaxNodeArg = kMaxNodes + 1;

long resultOf(long rc) { return rc < 0 ? -errno : rc; }

}  // namespace

NodeMask toNodeMask(const NodeSet& nodes) {
  NodeMask mask{};
  constexpr int kBits = 8 * sizeof(unsigned long);
  for (int id : nodes.ids()) {
    if (id >= 0 && id < kMaxNodes) mask[static_cast<size_t>(id / kBits)] |= 1UL << (id % kBits);
  }
  return mask;
}

long movePagesCall(pid_t pid, unsigned long count, void* const* pages, const int* nodes,
                   int* status, int flags) {
  return resultOf(::syscall(SYS_move_pages, pid, count, pages, nodes, status, flags));
}

long migratePagesCall(pid_t pid, const NodeSet& from, const NodeSet& to) {
  NodeMask old_mask = toNodeMask(from);
  NodeMask new_mask = toNodeMask(to);
  return resultOf(::syscall(SYS_migrate_pages, pid, kMaxNodeArg, old_mask.data(), new_mask.data()));
}

long setMempolicyCall(int mode, const NodeSet& nodes) {
  NodeMask mask = toNodeMask(nodes);
  return resultOf(::syscall(SYS_set_mempolicy, mode, nodes.empty() ? nullptr : mask.data(),
                            nodes.empty() ? 0UL : kMaxNodeArg));
}

}  // namespace softzone::zones

// A partition as a cgroup subtree: walking the cgroups below it, keeping their mems inside the
// partition's, moving their processes out by pidfd, and the names a partition cannot take.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <set>

#include "softzone/cpuset/cgroup_backend.h"
#include "softzone/zones/kernel_files.h"
#include "softzone/zones/process_handle.h"

namespace softzone::cpuset {
namespace {

// Files cgroupfs puts in every cgroup directory whose names have no controller prefix.
constexpr std::array<std::string_view, 3> kPlainControlFiles = {"tasks", "notify_on_release",
                                                                "release_agent"};
// v1 cpuset files in a hierarchy mounted with "noprefix".
constexpr std::array<std::string_view, 14> kNoprefixCpusetFiles = {"cpus",
                                                                   "mems",
                                                                   "cpu_exclusive",
                                                                   "mem_exclusive",
                                                                   "mem_hardwall",
                                                                   "memory_migrate",
                                                                   "memory_pressure",
                                                                   "memory_pressure_enabled",
                                                                   "memory_spread_page",
                                                                   "memory_spread_slab",
                                                                   "sched_load_balance",
                                                                   "sched_relax_domain_level",
                                                                   "effective_cpus",
                                                                   "effective_mems"};
// "<prefix>.<anything>" belongs to cgroupfs: the core files and every controller's.
constexpr std::array<std::string_view, 16> kControlPrefixes = {
    "cgroup",  "cpuset",  "cpu",      "cpuacct",    "io",      "blkio", "memory", "devices",
    "freezer", "net_cls", "net_prio", "perf_event", "hugetlb", "pids",  "rdma",   "misc"};

template <size_t N>
bool listed(const std::array<std::string_view, N>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::string join(std::string_view cgroup, std::string_view child) {
  if (cgroup.empty()) return std::string(child);
  return std::string(cgroup) + "/" + std::string(child);
}

}  // namespace

std::optional<std::string> checkPartitionCgroupName(std::string_view name) {
  std::string why;
  size_t dot = name.find('.');
  if (listed(kPlainControlFiles, name) || listed(kNoprefixCpusetFiles, name)) {
    why = "is the name of a file cgroupfs keeps in every cgroup";
  } else if (dot != std::string_view::npos && listed(kControlPrefixes, name.substr(0, dot))) {
    why = "starts with \"" + std::string(name.substr(0, dot + 1)) +
          "\", the prefix of cgroupfs's own files";
  } else {
    return std::nullopt;
  }
  return "the partition name " + quoteInput(name) + " " + why +
         " (its cgroup directory would clash with them); choose another name";
}

Result<std::vector<CgroupTasks>> CgroupBackend::readSubtree(std::string_view cgroup) const {
  SZ_TRY(below, tree().openSubtree(cgroup.empty() ? std::string_view(".") : cgroup));
  std::vector<CgroupTasks> found;
  // (path relative to `cgroup`, depth), parents before children.
  std::vector<std::pair<std::string, int>> pending = {{"", 0}};
  while (!pending.empty()) {
    auto [relative, depth] = pending.back();
    pending.pop_back();
    std::string full = relative.empty() ? std::string(cgroup) : join(cgroup, relative);
    SZ_TRY(pids, readProcs(full));
    found.push_back({full, std::move(pids)});
    SZ_TRY(names, below.listDir(relative.empty() ? std::string_view(".") : relative));
    // Reversed onto the stack: children come out in name order.
    for (auto name = names.rbegin(); name != names.rend(); ++name) {
      std::string child = join(relative, *name);
      // Only directories are cgroups; O_DIRECTORY through the subtree refuses symlinks too.
      if (!below.openAt(child, O_PATH | O_DIRECTORY, true)) continue;
      if (depth + 1 > kMaxSubtreeDepth || found.size() + pending.size() >= kMaxSubtreeCgroups) {
        return infeasible("cgroup " + std::string(cgroup) + " has more than " +
                          std::to_string(kMaxSubtreeDepth) + " levels or " +
                          std::to_string(kMaxSubtreeCgroups) + " cgroups below it; not walked");
      }
      pending.push_back({child, depth + 1});
    }
  }
  return found;
}

Result<std::vector<pid_t>> CgroupBackend::readSubtreeProcs(std::string_view cgroup) const {
  SZ_TRY(subtree, readSubtree(cgroup));
  std::set<pid_t> pids;
  for (const CgroupTasks& one : subtree) pids.insert(one.pids.begin(), one.pids.end());
  return std::vector<pid_t>(pids.begin(), pids.end());
}

Status CgroupBackend::writeSubtreeMems(std::string_view cgroup, const NodeSet& old_mems,
                                       const NodeSet& mems) const {
  bool growing = old_mems.isSubsetOf(mems);
  if (growing && old_mems != mems) SZ_CHECK(writeMems(cgroup, mems));
  SZ_TRY(children, listChildren(cgroup));
  for (const std::string& name : children) {
    std::string child = join(cgroup, name);
    auto own = readMems(child);
    if (!own) {
      // v2 without +cpuset below the partition: no cpuset files, the partition's nodes apply.
      if (childMayLackCpuset() && own.error().code() == std::errc::no_such_file_or_directory) {
        continue;
      }
      return std::move(own).error();
    }
    // v2: an empty list means "the parent's": it follows without a write.
    if (own->empty()) continue;
    NodeSet next = *own == old_mems ? mems : own->intersectionWith(mems);
    if (next.empty()) next = mems;
    SZ_CHECK(writeSubtreeMems(child, *own, next));
  }
  if (!growing && old_mems != mems) SZ_CHECK(writeMems(cgroup, mems));
  return {};
}

Status CgroupBackend::moveProcessFrom(const FsRoot& fs, std::string_view from,
                                      std::string_view cgroup, pid_t pid) const {
  if (!fs.canActOnProcesses()) return moveProcess(cgroup, pid);
  SZ_TRY(held, zones::holdProcessIn(fs, pid, from, procCgroupController()));
  // Still there after the read: /proc/PID was that process's, not a successor's with its pid.
  if (held.exited()) return errnoError(ESRCH, "process " + std::to_string(pid) + " is gone");
  return moveProcess(cgroup, pid);
}

}  // namespace softzone::cpuset

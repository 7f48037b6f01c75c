// The cgroup cpuset backends: one interface over cgroup v1 (a cpuset hierarchy) and v2 (the
// unified hierarchy's cpuset controller). Every path is relative to the cgroup mount and every
// file is opened beneath it with no symlink followed (FsRoot::openSubtree).
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "softzone/cpuset/cgroup.h"
#include "softzone/zones/fs_root.h"
#include "softzone/zones/nodeset.h"
#include "softzone/zones/result.h"

namespace softzone::cpuset {

// Where partitions live under the mount unless the state file (or SOFTZONE_CGROUP_PARENT, for a
// systemd unit with Delegate=yes) says otherwise.
inline constexpr std::string_view kDefaultCgroupParent = "softzone";
inline constexpr std::string_view kCgroupParentEnv = "SOFTZONE_CGROUP_PARENT";

// The parent path to use when the state file names none: $SOFTZONE_CGROUP_PARENT when set and
// well formed (relative, no "." or ".." components), else "softzone".
Result<std::string> defaultCgroupParent();

// Whether `path` is a usable cgroup path below the mount: relative, non-empty components made of
// [A-Za-z0-9_.:@-], no "." or "..". On failure, the reason.
std::optional<std::string> checkCgroupPath(std::string_view path);

// Whether `name` can be a partition's cgroup directory without clashing with the files cgroupfs
// puts beside it: "tasks", "notify_on_release", "release_agent", v1's noprefix cpuset files
// ("mems", "cpus", ...), and any "<controller>.<anything>" or "cgroup.<anything>" (a controller
// enabled later would add such a file, or mkdir fails on the one there). On failure, the reason.
std::optional<std::string> checkPartitionCgroupName(std::string_view name);

// One cgroup of a subtree with the processes in it (its own cgroup.procs).
struct CgroupTasks {
  std::string cgroup;  // relative to the mount
  std::vector<pid_t> pids;
};

// Limits of a subtree walk: a user who may create cgroups below a partition (a delegated
// container) must not make zonectl walk without end.
inline constexpr int kMaxSubtreeDepth = 32;
inline constexpr size_t kMaxSubtreeCgroups = 4096;

struct CgroupSettings {
  NodeSet mems;  // never empty for a partition
  NodeSet cpus;  // empty: the parent's CPUs
  // v1 only: the cpuset's kernel allocations (slab, ...) stay on its own nodes too. v2 has no
  // such file; see docs/partitions.md.
  bool mem_hardwall = false;
};

class CgroupBackend {
 public:
  // The backend for `choice`, its files reached through a subtree of `fs` at the mount point.
  static Result<std::unique_ptr<CgroupBackend>> open(const FsRoot& fs, const CgroupChoice& choice);

  virtual ~CgroupBackend() = default;
  CgroupBackend(const CgroupBackend&) = delete;
  CgroupBackend& operator=(const CgroupBackend&) = delete;

  virtual CgroupVersion version() const noexcept = 0;
  const std::string& mountPoint() const noexcept { return mount_point_; }
  // Which line of /proc/PID/cgroup names a process's cpuset (zones::readProcessCgroupAt): v1's
  // line of the cpuset controller, "" for v2's single line.
  virtual std::string_view procCgroupController() const noexcept = 0;
  // clone3(2)'s CLONE_INTO_CGROUP (v2): a child starts in the cgroup, no move and no migration.
  // v1 cannot: a child is started outside and moved in.
  virtual bool canCloneInto() const noexcept = 0;
  // Whether a move into a cgroup can be made without the kernel migrating the pages (v1: with
  // memory_migrate off for the move). v2 migrates on every attach and every mems write.
  virtual bool canMoveWithoutMigrating() const noexcept = 0;
  // v1's cpuset.mem_hardwall; v2 has none.
  virtual bool hasMemHardwall() const noexcept = 0;
  // Whether a child cgroup may have no cpuset files and use its parent's nodes (v2, when the
  // parent's subtree_control lacks +cpuset); every v1 cpuset has them.
  virtual bool childMayLackCpuset() const noexcept = 0;

  // --- reading; `cgroup` is relative to the mount, "" the root cgroup ---
  bool exists(std::string_view cgroup) const;
  Result<NodeSet> readMems(std::string_view cgroup) const;
  Result<NodeSet> readCpus(std::string_view cgroup) const;
  // What the kernel enforces (the parent's when the cgroup's own list is empty, on v2).
  virtual Result<NodeSet> readEffectiveMems(std::string_view cgroup) const = 0;
  virtual Result<NodeSet> readEffectiveCpus(std::string_view cgroup) const = 0;
  // Processes (thread group ids) of this one cgroup, ascending.
  Result<std::vector<pid_t>> readProcs(std::string_view cgroup) const;
  // A partition is a subtree: container runtimes and systemd make cgroups below it. The cgroup
  // and every cgroup below it, parents before children, each with its processes; walked through
  // a root at the cgroup's directory (no symlink followed, no climbing out), at most
  // kMaxSubtreeDepth levels and kMaxSubtreeCgroups cgroups.
  Result<std::vector<CgroupTasks>> readSubtree(std::string_view cgroup) const;
  // The processes of the whole subtree, ascending, each once.
  Result<std::vector<pid_t>> readSubtreeProcs(std::string_view cgroup) const;
  // Child cgroups (directories), sorted.
  Result<std::vector<std::string>> listChildren(std::string_view cgroup) const;
  // v1: cpuset.mem_hardwall; false on v2.
  virtual Result<bool> readMemHardwall(std::string_view cgroup) const = 0;

  // --- changing ---
  // Creates `parent` and the cgroups above it as needed, ready to hold partitions: v2 enables
  // +cpuset in every subtree_control from the root down to it; v1 gives new levels their
  // parent's CPUs and nodes (a v1 cpuset starts empty and takes no task until both are set).
  virtual Status prepareParent(std::string_view parent) const = 0;
  // mkdir + CPUs + nodes (+ v1's memory_migrate=1 and mem_hardwall). EEXIST when it exists.
  virtual Status createCgroup(std::string_view cgroup, const CgroupSettings& settings) const = 0;
  // Sets CPUs, nodes and options of an existing cgroup (recovery, apply).
  virtual Status configureCgroup(std::string_view cgroup, const CgroupSettings& settings) const = 0;
  Status writeMems(std::string_view cgroup, const NodeSet& mems) const;
  // Sets the cgroup's mems from `old_mems` to `mems`, and its descendants' with it: a child
  // whose own mems were the old ones follows; one with a narrower set keeps what of it is left
  // (all of `mems` when nothing is). Growing writes parents first, shrinking children first: v1
  // wants every child's mems inside its parent's at all times. v2 children without cpuset files
  // (no +cpuset in the partition's subtree_control) use the partition's and are left alone.
  Status writeSubtreeMems(std::string_view cgroup, const NodeSet& old_mems,
                          const NodeSet& mems) const;
  Status writeCpus(std::string_view cgroup, const NodeSet& cpus) const;
  // Moves a whole process (every thread) into `cgroup` (cgroup.procs takes a thread group).
  Status moveProcess(std::string_view cgroup, pid_t pid) const;
  // Moves process `pid`, read earlier from `from`'s subtree, to `cgroup` only while it is that
  // same process: a pidfd is opened first, then
  // /proc/PID/cgroup must still name `from` or a cgroup below it - a pid reused by a process
  // elsewhere is not moved. ESRCH when it is gone or has left the subtree. On a --root tree the
  // pids are data: only the file is written.
  // `fs` is the root /proc is read in.
  Status moveProcessFrom(const FsRoot& fs, std::string_view from, std::string_view cgroup,
                         pid_t pid) const;
  // Moves whole processes into `cgroup`, appending each pid to `moved` once it is in. With
  // `migrate` false the kernel is told not to move their pages: v1's memory_migrate is off for
  // the moves and on again after, also when one fails (partitions keep it on for resize); v2
  // cannot be told (unsupported, nothing moved).
  Status moveProcesses(std::string_view cgroup, const std::vector<pid_t>& pids, bool migrate,
                       std::vector<pid_t>& moved) const;
  // The cgroup's directory, opened O_PATH: what clone3(2)'s CLONE_INTO_CGROUP takes (v2).
  Result<Fd> openCgroupDir(std::string_view cgroup) const;
  // rmdir: EBUSY while it holds tasks or children.
  Status removeCgroup(std::string_view cgroup) const;
  // v1: cpuset.memory_migrate (whether attaching a task or writing mems moves its pages). On v2
  // the kernel always migrates: setting false is unsupported.
  virtual Status setMemoryMigrate(std::string_view cgroup, bool migrate) const = 0;

 protected:
  CgroupBackend(FsRoot tree, std::string mount_point, std::string prefix)
      : tree_(std::move(tree)), mount_point_(std::move(mount_point)), prefix_(std::move(prefix)) {}

  // "cgroup/cpuset.<name>" (v1 mounted with noprefix drops "cpuset.").
  std::string cpusetFile(std::string_view cgroup, std::string_view name) const;
  static std::string file(std::string_view cgroup, std::string_view name);
  const FsRoot& tree() const noexcept { return tree_; }
  Result<NodeSet> readList(const std::string& path) const;
  // Writes one cgroupfs attribute (on a --root tree, a plain file it creates).
  Status put(const std::string& path, std::string_view value) const;

 private:
  FsRoot tree_;
  std::string mount_point_;
  std::string prefix_;
};

}  // namespace softzone::cpuset

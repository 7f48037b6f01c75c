// The machine's zones as they are: the cgroup tree (the truth for partitions' nodes and CPUs) plus
// softzone's state file (what the tree cannot hold), with every disagreement reported as drift.
//
// The state file: /var/lib/softzone/state.json (inside --root DIR when given), written whole and
// atomically (temporary file + rename) by the verbs that change zones, under the lock. Keys:
//   version        1
//   cgroup         {"version": "v1"|"v2", "mount_point": "/sys/fs/cgroup", "parent": "softzone"}
//                  where the partitions' cgroups are (parent is relative to the mount)
//   system         {"nodes": "0", "cpus": "0-3"}: the host's zone; node 0 always
//   shared         {"nodes": "1", "cpus": "0-3", "bind": ["/lib", ...]}, or absent/null
//   partitions     [{"name": "web", "nodes": "2-3", "cpus": "1", "min_bytes": N|null,
//                    "max_bytes": N|null, "mem_hardwall": false}, ...]
//                  "nodes" and "cpus" are what softzone last wrote to the cgroup: they exist only
//                  to detect drift, the cgroup's own files are what counts
//   spec           the spec file `apply` last reconciled with (informational), or absent
// Node and CPU lists use numactl's syntax; unknown keys are kept out (the file is rewritten whole).
//
// Drift rules (each adds one readable line to MachineZones::drift; none is fatal to reading):
// - a partition in the state file whose cgroup is gone: it is not a partition any more (its nodes
//   are free); "partition web: its cgroup softzone/web is gone".
// - a cgroup under the parent the state file does not list: it is a partition all the same (the
//   tree is the truth), with no min/max.
// - a partition whose cpuset.mems differs from the nodes the state file recorded; or whose CPUs do.
// - a partition with empty mems, with nodes the machine does not have, with nodes of the system
//   or shared zone, or sharing nodes with another partition.
// - the state file written for another cgroup interface or mount than the one in use.
// A state file that cannot be parsed is an error (kMismatch), never silently replaced.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "softzone/cpuset/cgroup.h"
#include "softzone/zones/fs_root.h"
#include "softzone/zones/nodeset.h"
#include "softzone/zones/result.h"
#include "softzone/zones/zone_kind.h"

namespace softzone::cpuset {

inline constexpr std::string_view kStateDir = "/var/lib/softzone";
inline constexpr std::string_view kStateFile = "/var/lib/softzone/state.json";
inline constexpr int kStateVersion = 1;

inline constexpr std::string_view kSystemZoneName = "system";
inline constexpr std::string_view kSharedZoneName = "shared";
inline constexpr std::string_view kFreeZoneName = "free";

struct ZoneView {
  std::string name;  // "system", "shared", a partition's name, or "free"
  ZoneKind kind = ZoneKind::kPartition;
  NodeSet nodes;  // partitions: the cgroup's cpuset.mems (the cgroup tree is the truth)
  NodeSet cpus;   // partitions: cpuset.cpus, or the effective CPUs when it is empty
  std::string
      cgroup_path;  // relative to the cgroup mount ("softzone/web"); "" when it has no cgroup
  // Partitions, from the state file.
  std::optional<uint64_t> min_bytes;
  std::optional<uint64_t> max_bytes;
  bool mem_hardwall = false;
  bool in_state = false;  // listed in the state file (false: a cgroup found under the parent)
};

// --- the state file's contents ---

struct StatePartition {
  std::string name;
  NodeSet nodes;
  NodeSet cpus;
  std::optional<uint64_t> min_bytes;
  std::optional<uint64_t> max_bytes;
  bool mem_hardwall = false;
};

struct StateZone {
  NodeSet nodes;
  NodeSet cpus;
  std::vector<std::string> bind;  // shared zone only
};

struct StateFile {
  std::string cgroup_version;  // "v1" | "v2"
  std::string mount_point;
  std::string parent;  // relative to the mount
  StateZone system;
  std::optional<StateZone> shared;
  std::vector<StatePartition> partitions;  // by name
  std::string spec;

  const StatePartition* partition(std::string_view name) const noexcept;
  StatePartition* partition(std::string_view name) noexcept;
  void removePartition(std::string_view name);
  // Inserts or replaces by name, keeping the list sorted.
  void putPartition(StatePartition partition);
};

// Pure: JSON text <-> StateFile. A malformed file is kMismatch naming the key at fault.
Result<StateFile> parseStateFile(std::string_view text);
std::string formatStateFile(const StateFile& state);

// The state file through fs; nullopt when there is none (softzone never ran here).
Result<std::optional<StateFile>> readStateFileAt(const FsRoot& fs);
// Writes it atomically, creating /var/lib/softzone as needed.
Status writeStateFileAt(const FsRoot& fs, const StateFile& state);

// --- the zones ---

struct MachineZones {
  CgroupChoice cgroup;             // the interface in use and its mount
  std::vector<ZoneView> zones;     // system, shared (when configured), partitions by name, free
  std::vector<std::string> drift;  // readable disagreements between state file and cgroup tree
  const ZoneView* find(std::string_view name) const noexcept;

  std::string parent;              // where partitions live, relative to the mount
  NodeSet machine_nodes;           // the nodes the kernel has online
  NodeSet machine_cpus;            // the CPUs online
  std::optional<StateFile> state;  // as read (nullopt: no state file)
  std::vector<const ZoneView*> partitions() const;
};

// What was read from the cgroup tree for one child of the parent.
struct CgroupSnapshot {
  std::string name;
  NodeSet mems;
  NodeSet cpus;  // cpuset.cpus, or the effective CPUs when empty
  bool mem_hardwall = false;
};

// Pure: the zones from a state file (or none), the cgroups found under the parent and the
// machine's nodes and CPUs, with the drift rules above applied.
MachineZones buildMachineZones(const CgroupChoice& cgroup, const std::string& parent,
                               const std::optional<StateFile>& state,
                               const std::vector<CgroupSnapshot>& cgroups,
                               const NodeSet& machine_nodes, const NodeSet& machine_cpus);

// State file + cgroup tree, through fs (so --root fixture trees work). With no state file
// (softzone never ran on this machine): system = node 0, no shared zone, no partitions, the
// rest free.
Result<MachineZones> readMachineZones(const FsRoot& fs, CgroupMode mode);

// The same with the interface already chosen (callers holding a backend).
Result<MachineZones> readMachineZonesWith(const FsRoot& fs, const CgroupChoice& choice);

}  // namespace softzone::cpuset

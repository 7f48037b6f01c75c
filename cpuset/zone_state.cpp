// The state file (JSON, atomically replaced) and the machine's zones built from it and the tree.
#include "softzone/cpuset/zone_state.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "softzone/cpuset/cgroup_backend.h"
#include "softzone/zones/kernel_files.h"

namespace softzone::cpuset {
namespace {

using json = nlohmann::ordered_json;

Error badState(const std::string& what) {
  return mismatch("the state file " + std::string(kStateFile) + " is damaged (" + what +
                  "); repair it or move it away and run `zonectl apply SPEC` again");
}

Result<std::string> stringAt(const json& object, const char* key, bool required) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    if (required) return badState(std::string("no \"") + key + "\"");
    return std::string();
  }
  if (!it->is_string()) return badState(std::string("\"") + key + "\" is not a string");
  return it->get<std::string>();
}

Result<NodeSet> listAt(const json& object, const char* key, const std::string& where) {
  SZ_TRY(text, stringAt(object, key, false));
  auto list = NodeSet::parseKernelList(text, key);
  if (!list) return badState(where + "." + key + ": " + list.error().message());
  return list;
}

Result<std::optional<uint64_t>> bytesAt(const json& object, const char* key,
                                        const std::string& where) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::optional<uint64_t>();
  if (!it->is_number_unsigned()) return badState(where + "." + key + " is not a byte count");
  return std::optional<uint64_t>(it->get<uint64_t>());
}

Result<StateZone> zoneAt(const json& value, const std::string& where) {
  if (!value.is_object()) return badState(where + " is not an object");
  StateZone zone;
  SZ_TRY(nodes, listAt(value, "nodes", where));
  SZ_TRY(cpus, listAt(value, "cpus", where));
  zone.nodes = nodes;
  zone.cpus = cpus;
  if (auto bind = value.find("bind"); bind != value.end() && !bind->is_null()) {
    if (!bind->is_array()) return badState(where + ".bind is not an array");
    for (const json& path : *bind) {
      if (!path.is_string()) return badState(where + ".bind holds a non-string");
      zone.bind.push_back(path.get<std::string>());
    }
  }
  return zone;
}

json zoneJson(const StateZone& zone, bool with_bind) {
  json out = {{"nodes", zone.nodes.format()}, {"cpus", zone.cpus.format()}};
  if (with_bind) out["bind"] = zone.bind;
  return out;
}

json optionalBytes(const std::optional<uint64_t>& value) {
  return value ? json(*value) : json(nullptr);
}

Result<NodeSet> readListFile(const FsRoot& fs, std::string_view path) {
  SZ_TRY(text, fs.readFile(path));
  return NodeSet::parseKernelList(text, path);
}

// Online nodes, or node 0 alone on a kernel without NUMA sysfs.
Result<NodeSet> readMachineNodes(const FsRoot& fs) {
  std::string online = kernel::joinPath(kernel::kNodeDir, kernel::kNodeOnlineFile);
  auto nodes = readListFile(fs, online);
  if (nodes) return nodes;
  if (nodes.error().code() == std::errc::no_such_file_or_directory) return NodeSet::of({0});
  return nodes;
}

void addOverlapDrift(std::vector<std::string>& drift, const ZoneView& zone, const NodeSet& others,
                     std::string_view what) {
  NodeSet common = zone.nodes.intersectionWith(others);
  if (!common.empty()) {
    drift.push_back("partition " + zone.name + ": nodes " + common.format() + " belong to " +
                    std::string(what));
  }
}

// One child of the partitions' parent as a partition. A child that cannot be one - a name that
// clashes with cgroupfs's files, no readable cpuset.mems or cpuset.cpus (another tool's cgroup
// without the cpuset controller) - is an error saying it was skipped: one foreign cgroup must
// not hide every partition.
Result<CgroupSnapshot> readPartitionCgroup(const CgroupBackend& backend, const std::string& parent,
                                           const std::string& name) {
  std::string path = parent + "/" + name;
  auto skip = [&](const std::string& why) {
    return mismatch("cgroup " + path + " is not a partition (" + why + "): skipped");
  };
  if (auto clash = checkPartitionCgroupName(name)) return skip("its name clashes with cgroupfs");
  CgroupSnapshot snapshot{name, {}, {}, false};
  auto mems = backend.readMems(path);
  if (!mems) return skip("cpuset.mems: " + mems.error().describe());
  auto cpus = backend.readCpus(path);
  if (!cpus) return skip("cpuset.cpus: " + cpus.error().describe());
  snapshot.mems = *mems;
  snapshot.cpus = *cpus;
  if (cpus->empty()) {
    auto effective = backend.readEffectiveCpus(path);
    if (effective) snapshot.cpus = *effective;
  }
  snapshot.mem_hardwall = backend.readMemHardwall(path).value_or(false);
  return snapshot;
}

}  // namespace

const StatePartition* StateFile::partition(std::string_view name) const noexcept {
  for (const StatePartition& p : partitions) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

StatePartition* StateFile::partition(std::string_view name) noexcept {
  for (StatePartition& p : partitions) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

void StateFile::removePartition(std::string_view name) {
  partitions.erase(std::remove_if(partitions.begin(), partitions.end(),
                                  [&](const StatePartition& p) { return p.name == name; }),
                   partitions.end());
}

void StateFile::putPartition(StatePartition partition) {
  removePartition(partition.name);
  auto at = std::lower_bound(
      partitions.begin(), partitions.end(), partition.name,
      [](const StatePartition& p, const std::string& name) { return p.name < name; });
  partitions.insert(at, std::move(partition));
}

Result<StateFile> parseStateFile(std::string_view text) {
  json root = json::parse(text, nullptr, false);
  if (root.is_discarded()) return badState("not JSON");
  if (!root.is_object()) return badState("not a JSON object");
  auto version = root.find("version");
  if (version == root.end() || !version->is_number_integer() ||
      version->get<int>() != kStateVersion) {
    return badState("\"version\" is not " + std::to_string(kStateVersion));
  }
  StateFile state;
  auto cgroup = root.find("cgroup");
  if (cgroup == root.end() || !cgroup->is_object()) return badState("no \"cgroup\" object");
  SZ_TRY(cgroup_version, stringAt(*cgroup, "version", true));
  SZ_TRY(mount_point, stringAt(*cgroup, "mount_point", true));
  SZ_TRY(parent, stringAt(*cgroup, "parent", true));
  if (cgroup_version != "v1" && cgroup_version != "v2") return badState("cgroup.version");
  if (auto problem = checkCgroupPath(parent)) return badState("cgroup.parent: " + *problem);
  state.cgroup_version = cgroup_version;
  state.mount_point = mount_point;
  state.parent = parent;
  auto system = root.find("system");
  if (system == root.end()) return badState("no \"system\"");
  SZ_TRY(system_zone, zoneAt(*system, "system"));
  state.system = std::move(system_zone);
  if (auto shared = root.find("shared"); shared != root.end() && !shared->is_null()) {
    SZ_TRY(shared_zone, zoneAt(*shared, "shared"));
    state.shared = std::move(shared_zone);
  }
  auto partitions = root.find("partitions");
  if (partitions == root.end() || !partitions->is_array())
    return badState("no \"partitions\" array");
  for (const json& entry : *partitions) {
    if (!entry.is_object()) return badState("a partition is not an object");
    StatePartition partition;
    SZ_TRY(name, stringAt(entry, "name", true));
    std::string where = "partition " + quoteInput(name);
    if (auto problem = checkCgroupPath(name); problem || name.find('/') != std::string::npos) {
      return badState(where + ": not a partition name");
    }
    if (state.partition(name) != nullptr) return badState(where + " is listed twice");
    partition.name = name;
    SZ_TRY(nodes, listAt(entry, "nodes", where));
    SZ_TRY(cpus, listAt(entry, "cpus", where));
    SZ_TRY(min, bytesAt(entry, "min_bytes", where));
    SZ_TRY(max, bytesAt(entry, "max_bytes", where));
    partition.nodes = nodes;
    partition.cpus = cpus;
    partition.min_bytes = min;
    partition.max_bytes = max;
    if (auto hardwall = entry.find("mem_hardwall"); hardwall != entry.end()) {
      if (!hardwall->is_boolean()) return badState(where + ".mem_hardwall is not true/false");
      partition.mem_hardwall = hardwall->get<bool>();
    }
    state.putPartition(std::move(partition));
  }
  SZ_TRY(spec, stringAt(root, "spec", false));
  state.spec = spec;
  return state;
}

std::string formatStateFile(const StateFile& state) {
  json partitions = json::array();
  for (const StatePartition& p : state.partitions) {
    partitions.push_back({{"name", p.name},
                          {"nodes", p.nodes.format()},
                          {"cpus", p.cpus.format()},
                          {"min_bytes", optionalBytes(p.min_bytes)},
                          {"max_bytes", optionalBytes(p.max_bytes)},
                          {"mem_hardwall", p.mem_hardwall}});
  }
  json root = {
      {"version", kStateVersion},
      {"cgroup",
       {{"version", state.cgroup_version},
        {"mount_point", state.mount_point},
        {"parent", state.parent}}},
      {"system", zoneJson(state.system, false)},
      {"shared", state.shared ? zoneJson(*state.shared, true) : json(nullptr)},
      {"partitions", partitions},
  };
  if (!state.spec.empty()) root["spec"] = state.spec;
  return root.dump(2) + "\n";
}

Result<std::optional<StateFile>> readStateFileAt(const FsRoot& fs) {
  auto text = fs.readFile(kStateFile);
  if (!text) {
    if (text.error().code() == std::errc::no_such_file_or_directory) {
      return std::optional<StateFile>();
    }
    return std::move(text).error();
  }
  SZ_TRY(state, parseStateFile(*text));
  return std::optional<StateFile>(std::move(state));
}

Status writeStateFileAt(const FsRoot& fs, const StateFile& state) {
  SZ_CHECK(fs.makeDirs(kStateDir, 0755));
  return fs.replaceFile(kStateFile, formatStateFile(state));
}

const ZoneView* MachineZones::find(std::string_view name) const noexcept {
  for (const ZoneView& zone : zones) {
    if (zone.name == name) return &zone;
  }
  return nullptr;
}

std::vector<const ZoneView*> MachineZones::partitions() const {
  std::vector<const ZoneView*> out;
  for (const ZoneView& zone : zones) {
    if (zone.kind == ZoneKind::kPartition) out.push_back(&zone);
  }
  return out;
}

namespace {

// The system zone (node 0 unless the state file says more) and, when the state file has one,
// the shared zone; returns the nodes they hold.
NodeSet addReservedZones(MachineZones& machine, const std::optional<StateFile>& state) {
  ZoneView system{std::string(kSystemZoneName),
                  ZoneKind::kSystem,
                  NodeSet::of({0}),
                  machine.machine_cpus,
                  "",
                  {},
                  {},
                  false,
                  state.has_value()};
  if (state && !state->system.nodes.empty()) system.nodes = state->system.nodes;
  if (state && !state->system.cpus.empty()) system.cpus = state->system.cpus;
  machine.zones.push_back(system);
  NodeSet reserved = system.nodes;
  if (state && state->shared) {
    ZoneView shared{std::string(kSharedZoneName),
                    ZoneKind::kShared,
                    state->shared->nodes,
                    state->shared->cpus.empty() ? system.cpus : state->shared->cpus,
                    "",
                    {},
                    {},
                    false,
                    true};
    reserved = reserved.unionWith(shared.nodes);
    machine.zones.push_back(shared);
  }
  return reserved;
}

// What the state file says that the cgroup tree does not hold: another cgroup interface, or
// partitions whose cgroups are gone.
void addStateDrift(MachineZones& machine, const StateFile& state,
                   const std::map<std::string, const CgroupSnapshot*>& found) {
  std::string_view in_use = formatCgroupVersion(machine.cgroup.version);
  if (state.cgroup_version != in_use || state.mount_point != machine.cgroup.mount_point) {
    machine.drift.push_back("the state file was written for cgroup " + state.cgroup_version +
                            " at " + state.mount_point + ", but cgroup " + std::string(in_use) +
                            " at " + machine.cgroup.mount_point +
                            " is in use: its partitions are not seen here");
  }
  for (const StatePartition& p : state.partitions) {
    if (found.count(p.name) == 0) {
      machine.drift.push_back("partition " + p.name + ": in the state file, but its cgroup " +
                              machine.parent + "/" + p.name + " is gone (its nodes " +
                              p.nodes.format() + " count as free)");
    }
  }
}

// A partition as its cgroup shows it, with the state file's limits, and the drift of the one
// partition on its own (its record, empty or absent nodes).
ZoneView partitionZone(MachineZones& machine, const std::string& name,
                       const CgroupSnapshot& snapshot) {
  std::vector<std::string>& drift = machine.drift;
  ZoneView zone{
      name, ZoneKind::kPartition,  snapshot.mems, snapshot.cpus, machine.parent + "/" + name, {},
      {},   snapshot.mem_hardwall, false};
  const StatePartition* recorded = machine.state ? machine.state->partition(name) : nullptr;
  if (recorded != nullptr) {
    zone.in_state = true;
    zone.min_bytes = recorded->min_bytes;
    zone.max_bytes = recorded->max_bytes;
    if (recorded->nodes != zone.nodes) {
      drift.push_back("partition " + name + ": cpuset.mems is " + quoteInput(zone.nodes.format()) +
                      ", the state file recorded " + quoteInput(recorded->nodes.format()) +
                      " (the cgroup is what counts)");
    }
  } else {
    drift.push_back("partition " + name + ": cgroup " + zone.cgroup_path +
                    " is not in the state file (softzone did not make it, or its record is lost)");
  }
  if (zone.nodes.empty()) {
    drift.push_back("partition " + name +
                    ": its cpuset.mems is empty (it gets its parent's nodes)");
  }
  NodeSet absent = zone.nodes.minus(machine.machine_nodes);
  if (!absent.empty()) {
    drift.push_back("partition " + name + ": nodes " + absent.format() +
                    " are not online on this machine");
  }
  return zone;
}

}  // namespace

MachineZones buildMachineZones(const CgroupChoice& cgroup, const std::string& parent,
                               const std::optional<StateFile>& state,
                               const std::vector<CgroupSnapshot>& cgroups,
                               const NodeSet& machine_nodes, const NodeSet& machine_cpus) {
  MachineZones machine;
  machine.cgroup = cgroup;
  machine.parent = parent;
  machine.machine_nodes = machine_nodes;
  machine.machine_cpus = machine_cpus;
  machine.state = state;
  std::vector<std::string>& drift = machine.drift;
  NodeSet reserved = addReservedZones(machine, state);
  NodeSet system_nodes = machine.zones.front().nodes;

  std::map<std::string, const CgroupSnapshot*> found;
  for (const CgroupSnapshot& snapshot : cgroups) found.emplace(snapshot.name, &snapshot);
  if (state) addStateDrift(machine, *state, found);
  NodeSet taken = reserved;
  std::vector<ZoneView> partitions;
  for (const auto& [name, snapshot] : found) {
    ZoneView zone = partitionZone(machine, name, *snapshot);
    addOverlapDrift(drift, zone, system_nodes, "the system zone");
    if (state && state->shared)
      addOverlapDrift(drift, zone, state->shared->nodes, "the shared zone");
    for (const ZoneView& other : partitions) {
      NodeSet common = zone.nodes.intersectionWith(other.nodes);
      if (!common.empty()) {
        drift.push_back("partitions " + other.name + " and " + name + " share nodes " +
                        common.format());
      }
    }
    taken = taken.unionWith(zone.nodes);
    partitions.push_back(std::move(zone));
  }
  for (ZoneView& zone : partitions) machine.zones.push_back(std::move(zone));
  machine.zones.push_back(ZoneView{std::string(kFreeZoneName),
                                   ZoneKind::kFree,
                                   machine_nodes.minus(taken),
                                   NodeSet(),
                                   "",
                                   {},
                                   {},
                                   false,
                                   false});
  return machine;
}

Result<MachineZones> readMachineZonesWith(const FsRoot& fs, const CgroupChoice& choice) {
  SZ_TRY(state, readStateFileAt(fs));
  std::string parent;
  if (state && state->cgroup_version == formatCgroupVersion(choice.version) &&
      state->mount_point == choice.mount_point) {
    parent = state->parent;
  } else {
    SZ_TRY(fallback, defaultCgroupParent());
    parent = fallback;
  }
  SZ_TRY(backend, CgroupBackend::open(fs, choice));
  std::vector<CgroupSnapshot> cgroups;
  std::vector<std::string> skipped;
  if (backend->exists(parent)) {
    SZ_TRY(children, backend->listChildren(parent));
    for (const std::string& name : children) {
      auto snapshot = readPartitionCgroup(*backend, parent, name);
      // softzone never leaves a partition without nodes: an empty, unrecorded one is another's.
      if (snapshot && snapshot->mems.empty() && !(state && state->partition(name))) {
        skipped.push_back("cgroup " + parent + "/" + name +
                          " is not a partition (empty cpuset.mems, not in the state file): "
                          "skipped");
        continue;
      }
      if (snapshot) {
        cgroups.push_back(std::move(*snapshot));
      } else {
        skipped.push_back(snapshot.error().message());
      }
    }
  }
  SZ_TRY(nodes, readMachineNodes(fs));
  auto cpus = readListFile(fs, kernel::kCpuOnline);
  NodeSet machine_cpus = cpus ? *cpus : NodeSet::of({0});
  MachineZones machine = buildMachineZones(choice, parent, state, cgroups, nodes, machine_cpus);
  machine.drift.insert(machine.drift.end(), skipped.begin(), skipped.end());
  return machine;
}

Result<MachineZones> readMachineZones(const FsRoot& fs, CgroupMode mode) {
  SZ_TRY(interfaces, detectCgroupInterfacesAt(fs));
  SZ_TRY(choice, resolveCgroupMode(mode, interfaces));
  return readMachineZonesWith(fs, choice);
}

}  // namespace softzone::cpuset

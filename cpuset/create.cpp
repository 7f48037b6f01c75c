// Creating a partition: checks, the journaled cgroup and state writes, and their rollback.
#include "partition_internal.h"

namespace softzone::cpuset {

namespace {

// Which zone holds `node`, for messages: "partition web", "the system zone".
std::string ownerOf(const MachineZones& zones, int node) {
  for (const ZoneView& zone : zones.zones) {
    if (zone.kind == ZoneKind::kFree || !zone.nodes.contains(node)) continue;
    if (zone.kind == ZoneKind::kPartition) return "partition " + zone.name;
    return "the " + zone.name + " zone";
  }
  return "nobody";
}

const ZoneView& freeZone(const MachineZones& zones) {
  const ZoneView* free = zones.find(kFreeZoneName);
  if (free == nullptr) std::abort();  // buildMachineZones always adds it
  return *free;
}

}  // namespace

// Nodes in `wanted` that are neither free nor in `own`: bad input naming their owners.
Status checkNodesAvailable(const MachineZones& zones, const NodeSet& wanted, const NodeSet& own,
                           std::string_view what) {
  if (wanted.empty()) return badInput(std::string(what) + ": the node list is empty");
  NodeSet absent = wanted.minus(zones.machine_nodes);
  if (!absent.empty()) {
    return badInput(std::string(what) + ": nodes " + absent.format() +
                    " do not exist on this machine (its nodes: " + zones.machine_nodes.format() +
                    ")");
  }
  NodeSet taken = wanted.minus(own).minus(freeZone(zones).nodes);
  if (!taken.empty()) {
    std::string owners;
    for (int node : taken.ids()) {
      if (!owners.empty()) owners += ", ";
      owners += "node " + std::to_string(node) + " is " + ownerOf(zones, node) + "'s";
    }
    return badInput(std::string(what) + ": nodes " + taken.format() + " are not free (" + owners +
                    "); free nodes: " +
                    (freeZone(zones).nodes.empty() ? "none" : freeZone(zones).nodes.format()));
  }
  return {};
}

Status runCreate(Session& session, JournalEntry& entry) {
  const json& args = entry.args;
  std::string name = stringArg(args, "name");
  SZ_TRY(nodes, nodesArg(args, "nodes"));
  SZ_TRY(cpus, nodesArg(args, "cpus"));
  CgroupSettings settings{nodes, cpus, args.value("mem_hardwall", false)};
  std::string cgroup = cgroupOf(session, name);
  SZ_CHECK(session.backend->prepareParent(session.zones.parent));
  if (session.backend->exists(cgroup)) {
    SZ_CHECK(session.backend->configureCgroup(cgroup, settings));
  } else {
    SZ_CHECK(session.backend->createCgroup(cgroup, settings));
  }
  SZ_CHECK(journalStep(session, entry, "cgroup"));
  StateFile state = baseState(session);
  state.putPartition({name, nodes, cpus, bytesArg(args, "min_bytes"), bytesArg(args, "max_bytes"),
                      settings.mem_hardwall});
  SZ_CHECK(writeStateFileAt(*session.fs, state));
  SZ_CHECK(journalStep(session, entry, "state"));
  return {};
}

// Undoes a create: the cgroup goes (when it holds no task) and so does its state record.
Status rollBackCreate(Session& session, const std::string& name) {
  std::string cgroup = cgroupOf(session, name);
  if (session.backend->exists(cgroup)) SZ_CHECK(session.backend->removeCgroup(cgroup));
  StateFile state = baseState(session);
  if (state.partition(name) != nullptr) {
    state.removePartition(name);
    SZ_CHECK(writeStateFileAt(*session.fs, state));
  }
  return {};
}

Status checkCreate(const Session& session, const CreateRequest& request) {
  if (auto clash = checkPartitionCgroupName(request.name)) return badInput(*clash);
  if (const ZoneView* zone = session.zones.find(request.name)) {
    return badInput("partition " + quoteInput(request.name) + " exists (nodes " +
                    zone->nodes.format() + "); resize it, or destroy it first");
  }
  if (session.backend->exists(cgroupOf(session, request.name))) {
    return badInput("cgroup " + cgroupOf(session, request.name) + " exists already");
  }
  SZ_CHECK(checkNodesAvailable(session.zones, request.nodes, NodeSet(), "--nodes"));
  NodeSet missing = request.cpus.minus(session.zones.machine_cpus);
  if (!missing.empty()) {
    return badInput("--cpus: CPUs " + missing.format() +
                    " do not exist (online: " + session.zones.machine_cpus.format() + ")");
  }
  if (request.min_bytes && request.max_bytes && *request.min_bytes > *request.max_bytes) {
    return badInput("min is above max");
  }
  return {};
}

Status createPartition(Session& session, const CreateRequest& request) {
  SZ_CHECK(checkCreate(session, request));
  json args = {{"name", request.name},
               {"nodes", request.nodes.format()},
               {"cpus", request.cpus.format()},
               {"mem_hardwall", request.mem_hardwall}};
  if (request.min_bytes) args["min_bytes"] = *request.min_bytes;
  if (request.max_bytes) args["max_bytes"] = *request.max_bytes;
  JournalEntry entry{"create", args, "", ""};
  SZ_CHECK(journalStep(session, entry, "journal"));
  auto outcome = runEntry(session, entry);
  if (!outcome) return journalKept(session, outcome.error(), "create " + request.name);
  SZ_CHECK(finishJournal(session));
  SZ_CHECK(reloadSession(session));
  return std::move(outcome->ran);
}

}  // namespace softzone::cpuset

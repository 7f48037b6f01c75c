// Sessions: the root check, the v1 cpuset mount, the lock, the zones as read, and lookups in them.
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>

#include "partition_internal.h"
#include "softzone/zones/page_placement.h"
#include "softzone/zones/topology.h"

namespace softzone::cpuset {

namespace {

// Where zonectl mounts a v1 cpuset hierarchy when asked for v1 and none is mounted: never under
// a cgroup2 mount (a mkdir there would make a cgroup).
constexpr std::string_view kV1MountPoint = "/run/softzone/cpuset";

Status mountV1Cpuset(const FsRoot& fs) {
  SZ_CHECK(fs.makeDirs(kV1MountPoint, 0755));
  std::string target = fs.hostPath(kV1MountPoint);
  if (::mount("cpuset", target.c_str(), "cgroup", MS_NOSUID | MS_NODEV | MS_NOEXEC, "cpuset") !=
      0) {
    return errnoError(errno, "mounting a cgroup v1 cpuset hierarchy at " + target +
                                 " (the kernel may lack v1 cpusets, or cpuset is bound to v2)");
  }
  return {};
}

}  // namespace

std::string cgroupOf(const Session& session, const std::string& name) {
  return session.zones.parent + "/" + name;
}

Result<Session> openSession(const FsRoot& fs, CgroupMode mode, bool mutate, std::ostream& log) {
  if (mutate && fs.isLive() && ::geteuid() != 0) {
    return errnoError(EPERM,
                      "needs root: it changes cgroups and /var/lib/softzone; nothing was changed");
  }
  Session session;
  session.fs = &fs;
  session.log = &log;
  SZ_TRY(interfaces, detectCgroupInterfacesAt(fs));
  auto choice = resolveCgroupMode(mode, interfaces);
  if (!choice && mutate && fs.isLive() && mode != CgroupMode::kV2 && !interfaces.v1_cpuset &&
      !(interfaces.v2 && interfaces.v2_cpuset_controller)) {
    Status mounted = mountV1Cpuset(fs);
    if (!mounted) return std::move(choice).error();
    log << "zonectl: mounted a cgroup v1 cpuset hierarchy at " << kV1MountPoint << "\n";
    SZ_TRY(again, detectCgroupInterfacesAt(fs));
    choice = resolveCgroupMode(mode, again);
  }
  if (!choice) return std::move(choice).error();
  if (mutate) {
    SZ_TRY(lock, OpLock::acquire(fs));
    session.lock.emplace(std::move(lock));
  }
  SZ_TRY(backend, CgroupBackend::open(fs, *choice));
  session.backend = std::move(backend);
  SZ_CHECK(reloadSession(session));
  if (mutate) {
    SZ_TRY(recovered, recoverJournal(session));
    for (const std::string& line : recovered) log << "zonectl: recovered: " << line << "\n";
  }
  return session;
}

Status reloadZones(Session& session) {
  SZ_TRY(zones, readMachineZonesWith(*session.fs, CgroupChoice{session.backend->version(),
                                                               session.backend->mountPoint()}));
  session.zones = std::move(zones);
  return {};
}

Status reloadSession(Session& session) {
  SZ_CHECK(reloadZones(session));
  session.node_total_bytes.clear();
  session.node_free_bytes.clear();
  auto memory = zones::readNodeMemoryAt(*session.fs);
  if (memory) {
    for (const zones::NodeMemory& node : *memory) {
      session.node_total_bytes[node.id] = node.mem_total_bytes;
      session.node_free_bytes[node.id] = node.mem_free_bytes;
    }
  }
  return {};
}

StateFile baseState(const Session& session) {
  if (session.zones.state) {
    StateFile state = *session.zones.state;
    state.cgroup_version = std::string(formatCgroupVersion(session.backend->version()));
    state.mount_point = session.backend->mountPoint();
    state.parent = session.zones.parent;
    // Records of partitions whose cgroups are gone are dropped: the tree is the truth.
    std::vector<StatePartition> kept;
    for (const StatePartition& p : state.partitions) {
      if (session.zones.find(p.name) != nullptr) kept.push_back(p);
    }
    state.partitions = kept;
    return state;
  }
  StateFile state;
  state.cgroup_version = std::string(formatCgroupVersion(session.backend->version()));
  state.mount_point = session.backend->mountPoint();
  state.parent = session.zones.parent;
  const ZoneView* system = session.zones.find(kSystemZoneName);
  state.system = {system->nodes, system->cpus, {}};
  return state;
}

Result<const ZoneView*> findPartition(const Session& session, const std::string& name) {
  const ZoneView* zone = session.zones.find(name);
  if (zone != nullptr && zone->kind == ZoneKind::kPartition) return zone;
  std::string known;
  for (const ZoneView* p : session.zones.partitions()) {
    known += (known.empty() ? "" : ", ") + p->name;
  }
  if (zone != nullptr) {
    return badInput(quoteInput(name) + " is the " + std::string(zoneKindName(zone->kind)) +
                    " zone, not a partition");
  }
  return badInput("unknown partition " + quoteInput(name) + "; partitions: " +
                  (known.empty() ? "none (zonectl create NAME makes one)" : known));
}

Result<std::vector<pid_t>> partitionProcesses(const Session& session, const ZoneView& zone) {
  return session.backend->readSubtreeProcs(zone.cgroup_path);
}

uint64_t bytesOnNodes(const Session& session, const std::vector<pid_t>& pids,
                      const NodeSet& nodes) {
  uint64_t pages = 0;
  for (pid_t pid : pids) {
    auto entries = zones::readNumaMapsAt(*session.fs, pid);
    if (!entries) continue;  // gone, or a kernel thread
    for (const zones::NumaMapsEntry& entry : *entries) {
      for (const auto& [node, count] : entry.pages_per_node) {
        if (nodes.contains(node)) pages += count;
      }
    }
  }
  return pages * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace softzone::cpuset

// The zones a report covers, from the machine's zone state (the partitions engineer's model).
#include <algorithm>

#include "softzone/cpuset/zone_state.h"
#include "softzone/report/report.h"
#include "softzone/zones/kernel_files.h"

namespace softzone::report {
namespace {

// One line of a /proc/sys file, its trailing newline dropped; "" when unreadable. Capped: the
// header shows it, and a kernel file this long would be no hostname or release.
std::string firstLineAt(const FsRoot& fs, std::string_view path) {
  auto text = fs.readFile(path);
  if (!text) return "";
  std::string line = text->substr(0, text->find('\n'));
  return line.size() > 256 ? line.substr(0, 256) : line;
}

}  // namespace

HostInfo readHostInfoAt(const FsRoot& fs, const std::optional<cpuset::CgroupChoice>& cgroup) {
  HostInfo host;
  host.hostname = firstLineAt(fs, kernel::kHostname);
  host.kernel_release = firstLineAt(fs, kernel::kOsRelease);
  if (auto online = NodeSet::parseKernelList(firstLineAt(fs, kernel::kCpuOnline), "cpu list")) {
    host.cpus_online = online->size();
  }
  if (cgroup) host.cgroup_version = cpuset::formatCgroupVersion(cgroup->version);
  return host;
}

ReportZones readReportZonesAt(const FsRoot& fs, cpuset::CgroupMode mode) {
  ReportZones result;
  auto machine = cpuset::readMachineZones(fs, mode);
  if (machine) {
    result.cgroup = machine->cgroup;
    result.drift = machine->drift;
    for (const cpuset::ZoneView& view : machine->zones) {
      std::string path = view.cgroup_path.empty()
                             ? std::string()
                             : kernel::joinPath(machine->cgroup.mount_point, view.cgroup_path);
      result.zones.push_back({view.name, view.kind, view.nodes, view.cpus, path});
    }
    return result;
  }
  result.problem = SourceProblem{
      "zones", machine.error().describe() + "; showing node 0 as the system zone, the rest free"};
  result.zones.push_back(
      {std::string(cpuset::kSystemZoneName), ZoneKind::kSystem, NodeSet::of({0}), {}, ""});
  return result;
}

Result<std::vector<ZoneInput>> selectZones(const std::vector<ZoneInput>& zones,
                                           const std::vector<std::string>& names) {
  if (names.empty()) return zones;
  std::vector<ZoneInput> selected;
  for (const std::string& name : names) {
    auto it = std::find_if(zones.begin(), zones.end(),
                           [&](const ZoneInput& zone) { return zone.name == name; });
    if (it == zones.end()) {
      std::string known;
      for (const ZoneInput& zone : zones) known += (known.empty() ? "" : ", ") + zone.name;
      return badInput("no zone named " + quoteInput(name) + " (zones: " + known + ")");
    }
    selected.push_back(*it);
  }
  return selected;
}

}  // namespace softzone::report

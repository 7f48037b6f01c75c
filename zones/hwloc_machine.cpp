// Reads an hwloc XML machine description with hwloc itself: the format is hwloc's, so is the
// parser.
#include "softzone/zones/hwloc_machine.h"

#include <hwloc.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>

namespace softzone::zones {
namespace {

struct TopologyDeleter {
  void operator()(hwloc_topology* topology) const { hwloc_topology_destroy(topology); }
};
using TopologyPtr = std::unique_ptr<hwloc_topology, TopologyDeleter>;

NodeSet bitmapToNodeSet(hwloc_const_bitmap_t bitmap) {
  NodeSet set;
  if (bitmap == nullptr) return set;
  // A bitmap can be infinite ("all further bits set"); hwloc's cpusets of real objects are not,
  // and ids past NodeSet's range would be a machine no kernel builds.
  for (int id = hwloc_bitmap_first(bitmap); id >= 0 && id <= NodeSet::kMaxId;
       id = hwloc_bitmap_next(bitmap, id)) {
    set.insert(id);
  }
  return set;
}

int countObjects(hwloc_topology_t topology, hwloc_obj_type_t type) {
  return std::max(0, hwloc_get_nbobjs_by_type(topology, type));
}

Error xmlError(const std::string& path, const std::string& what) {
  return badInput("--machine " + quoteInput(path) + ": " + what);
}

}  // namespace

Result<HwlocMachine> readHwlocXml(const std::string& path) {
  // hwloc reports a missing file as a generic load failure: check it first for a clear message.
  std::ifstream probe(path);
  if (!probe) {
    return xmlError(path, std::string("cannot read it (") + std::strerror(errno) + ")");
  }
  hwloc_topology_t raw = nullptr;
  if (hwloc_topology_init(&raw) != 0) return errnoError(errno, "hwloc_topology_init");
  TopologyPtr topology(raw);
  if (hwloc_topology_set_xml(raw, path.c_str()) != 0 || hwloc_topology_load(raw) != 0) {
    return xmlError(path, "not an hwloc XML topology (write one with `lstopo FILE.xml`)");
  }

  HwlocMachine machine;
  int count = countObjects(raw, HWLOC_OBJ_NUMANODE);
  for (int i = 0; i < count; ++i) {
    hwloc_obj_t node = hwloc_get_obj_by_type(raw, HWLOC_OBJ_NUMANODE, static_cast<unsigned>(i));
    HwlocNumaNode info;
    info.os_index = static_cast<int>(node->os_index);
    info.memory_bytes = node->attr != nullptr ? node->attr->numanode.local_memory : 0;
    info.cpus = bitmapToNodeSet(node->cpuset);
    hwloc_obj_t package = hwloc_get_ancestor_obj_by_type(raw, HWLOC_OBJ_PACKAGE, node);
    if (package != nullptr) info.package = static_cast<int>(package->os_index);
    machine.numa_nodes.push_back(std::move(info));
  }
  if (machine.numa_nodes.empty()) return xmlError(path, "it describes no NUMA node");
  std::sort(machine.numa_nodes.begin(), machine.numa_nodes.end(),
            [](const HwlocNumaNode& a, const HwlocNumaNode& b) { return a.os_index < b.os_index; });
  for (size_t i = 0; i < machine.numa_nodes.size(); ++i) {
    if (machine.numa_nodes[i].os_index != static_cast<int>(i)) machine.numbering_has_gaps = true;
  }
  machine.packages = countObjects(raw, HWLOC_OBJ_PACKAGE);
  machine.cores = countObjects(raw, HWLOC_OBJ_CORE);
  machine.pus = countObjects(raw, HWLOC_OBJ_PU);
  return machine;
}

}  // namespace softzone::zones

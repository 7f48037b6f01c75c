// The machine a plan is made for, from the three places one can come from: the running kernel's
// topology, an hwloc XML (another machine), or zonectl's own topology JSON.
#include <nlohmann/json.hpp>
#include <string>

#include "softzone/planner/plan.h"
#include "softzone/zones/hwloc_machine.h"
#include "softzone/zones/topology.h"

namespace softzone::planner {
namespace {

using json = nlohmann::json;

Error jsonError(const std::string& where, const std::string& expected) {
  return badInput("topology JSON: " + where + ": expected " + expected);
}

Result<uint64_t> unsignedAt(const json& object, const std::string& key, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number_unsigned()) {
    return jsonError(where + "." + key, "a non-negative integer");
  }
  return it->get<uint64_t>();
}

Result<PhysicalNodeInfo> physicalNodeFromJson(const json& node, const std::string& where) {
  if (!node.is_object()) return jsonError(where, "an object");
  PhysicalNodeInfo info;
  SZ_TRY(id, unsignedAt(node, "id", where));
  SZ_TRY(mem, unsignedAt(node, "mem_total_bytes", where));
  auto cpus = node.find("cpus");
  if (cpus == node.end() || !cpus->is_string()) return jsonError(where + ".cpus", "a CPU list");
  auto cpu_set = NodeSet::parseKernelList(cpus->get<std::string>(), "CPU list");
  if (!cpu_set) return jsonError(where + ".cpus", "a CPU list (" + cpu_set.error().message() + ")");
  if (id > static_cast<uint64_t>(NodeSet::kMaxId)) {
    return jsonError(where + ".id", "a node id up to " + std::to_string(NodeSet::kMaxId));
  }
  info.id = static_cast<int>(id);
  info.mem_bytes = mem;
  info.cpus = std::move(*cpu_set);
  return info;
}

}  // namespace

Machine machineFromTopology(const zones::Topology& topology) {
  Machine machine;
  if (topology.config.nodes_shift) machine.max_nodes = 1 << *topology.config.nodes_shift;
  for (const zones::PhysicalNode& node : topology.physical_nodes) {
    // Memory-less nodes get no fake nodes: the kernel splits only nodes with memory, in order.
    if (node.mem_total_bytes == 0) continue;
    machine.physical_nodes.push_back({node.id, node.mem_total_bytes, node.cpus});
  }
  if (machine.physical_nodes.empty()) {
    machine.physical_nodes.push_back({0, topology.mem_total_bytes, topology.cpus});
  }
  return machine;
}

Machine machineFromHwloc(const zones::HwlocMachine& hwloc) {
  Machine machine;
  for (const zones::HwlocNumaNode& node : hwloc.numa_nodes) {
    if (node.memory_bytes == 0) continue;
    machine.physical_nodes.push_back({node.os_index, node.memory_bytes, node.cpus});
  }
  return machine;
}

Result<Machine> machineFromTopologyJson(const json& topology) {
  if (!topology.is_object()) return jsonError("the document", "an object");
  auto nodes = topology.find("physical_nodes");
  if (nodes == topology.end() || !nodes->is_array() || nodes->empty()) {
    return jsonError("physical_nodes",
                     "a non-empty array (the output of `zonectl --json topology`)");
  }
  Machine machine;
  if (auto max = topology.find("max_nodes"); max != topology.end() && !max->is_null()) {
    if (!max->is_number_unsigned() || max->get<uint64_t>() < 1 || max->get<uint64_t>() > 65536) {
      return jsonError("max_nodes", "a node count from 1 to 65536");
    }
    machine.max_nodes = max->get<int>();
  }
  for (size_t i = 0; i < nodes->size(); ++i) {
    SZ_TRY(node, physicalNodeFromJson((*nodes)[i], "physical_nodes[" + std::to_string(i) + "]"));
    if (node.mem_bytes == 0) continue;
    machine.physical_nodes.push_back(std::move(node));
  }
  if (machine.physical_nodes.empty()) {
    return jsonError("physical_nodes", "at least one node with memory");
  }
  return machine;
}

}  // namespace softzone::planner

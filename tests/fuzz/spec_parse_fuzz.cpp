// libFuzzer target for the spec reader and the planner behind it: parseSpec never crashes, its
// errors are bad input located in the file, and whatever it accepts the planner either plans
// with every zone given its memory or refuses with a reason.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "softzone/planner/plan.h"
#include "softzone/planner/spec.h"

using softzone::fuzz::check;

namespace {

// Two sockets of 8 GiB, 4 CPUs each: big enough that many fuzzed specs plan.
softzone::planner::Machine fuzzMachine() {
  softzone::planner::Machine machine;
  machine.physical_nodes.push_back({0, 8 * softzone::kGiB, softzone::NodeSet::range(0, 3)});
  machine.physical_nodes.push_back({1, 8 * softzone::kGiB, softzone::NodeSet::range(4, 7)});
  return machine;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto spec = softzone::planner::parseSpec(text, "fuzz.ini");
  if (!spec) {
    check(spec.error().isBadInput(), "spec errors are bad input");
    check(spec.error().message().rfind("fuzz.ini", 0) == 0, "spec errors name the file first");
    return 0;
  }
  check(!spec->partitions.empty(), "an accepted spec has a partition");
  for (const auto& partition : spec->partitions) {
    check(!softzone::planner::checkPartitionName(partition.name), "accepted names are valid");
  }
  static const softzone::planner::Machine machine = fuzzMachine();
  auto plan = softzone::planner::planZones(machine, *spec);
  if (!plan) {
    check(!plan.error().message().empty(), "a refusal says why");
    return 0;
  }
  for (const auto& zone : plan->zones) {
    if (zone.kind == softzone::planner::ZoneKind::kFree) continue;
    check(zone.capacity_bytes >= zone.requested_bytes, "every zone gets its memory");
    check(!zone.nodes.contains(0) || zone.kind == softzone::planner::ZoneKind::kSystem,
          "node 0 is the system zone's");
  }
  check(plan->node_count <= machine.max_nodes, "no more nodes than the kernel allows");
  return 0;
}

// libFuzzer target for --machine's JSON reader: any document is either a machine with memory on
// every physical node or a bad-input error naming the key.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

#include "fuzz_check.h"
#include "softzone/planner/plan.h"

using softzone::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto document = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) return 0;
  auto machine = softzone::planner::machineFromTopologyJson(document);
  if (!machine) {
    check(machine.error().isBadInput(), "machine JSON errors are bad input");
    check(machine.error().message().rfind("topology JSON: ", 0) == 0, "errors say what was read");
    return 0;
  }
  check(!machine->physical_nodes.empty(), "a machine has a physical node");
  for (const auto& node : machine->physical_nodes) check(node.mem_bytes > 0, "nodes have memory");
  check(machine->max_nodes >= 1, "the node limit is positive");
  return 0;
}

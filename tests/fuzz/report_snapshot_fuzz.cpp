// libFuzzer target for snapshot files (`zonectl report --since FILE`): never crashes or throws;
// errors are bad input; a snapshot that parses is written back and parses to the same thing.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "fuzz_check.h"
#include "softzone/report/report.h"

using softzone::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto sample = softzone::report::parseSnapshot(text);
  if (!sample) {
    check(sample.error().isBadInput(), "snapshot errors are bad input");
    return 0;
  }
  auto json = softzone::report::sampleToJson(*sample);
  auto again = softzone::report::parseSnapshot(json.dump());
  check(again.has_value(), "a written snapshot parses");
  check(softzone::report::sampleToJson(*again) == json, "snapshots round-trip");
  return 0;
}

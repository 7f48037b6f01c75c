// zoned's configuration: the spec `zonectl apply` reads plus its [zoned] section (keys, defaults).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "softzone/planner/spec.h"
#include "softzone/zones/result.h"

namespace softzone::zoned {

// A memory amount given either in bytes ("64M") or as a share of a whole ("5%").
struct SizeOrPercent {
  uint64_t bytes = 0;
  double percent = 0;  // used when is_percent
  bool is_percent = false;

  // The amount this stands for out of `whole_bytes`.
  uint64_t of(uint64_t whole_bytes) const noexcept;
};

// Where the optional HTTP /metrics endpoint listens: a loopback address only.
struct ListenAddress {
  std::string host;  // an IPv4 address in 127.0.0.0/8, or "::1"
  uint16_t port = 0;
};

// The [zoned] section with its defaults (docs/zoned.md says why each is what it is).
struct ZonedConfig {
  int64_t interval_ms = 1000;   // sampling period
  int64_t cooldown_ms = 30000;  // a node moved is not moved again sooner
  int max_moves_per_minute = 4;
  std::string metrics_textfile;         // "" writes none
  std::optional<ListenAddress> listen;  // absent: no HTTP endpoint

  // Grow thresholds, each enough on its own: PSI avg10 percentages (v2), the v1 cpuset's
  // memory_pressure, and the refault rate in pages per second (0 leaves it out).
  double pressure_some_avg10 = 10;
  double pressure_full_avg10 = 5;
  uint64_t memory_pressure = 1000;
  uint64_t refault_rate = 0;
  // Samples in a row over a threshold before a partition grows (hysteresis against spikes).
  int sustain = 3;
  // A partition lends a node only after its PSI some avg10 stayed under idle_pressure (on v1: no
  // memory_pressure at all) for idle_for.
  double idle_pressure = 1;
  int64_t idle_for_ms = 60000;
  // Free memory of a partition (summed over its nodes; a percentage is of its memory) under which
  // a partition that is not idle grows at once, without waiting for `sustain` samples.
  SizeOrPercent free_low{0, 2, true};
  // Free memory under which a partition that is not idle counts a pressured sample; 0 is off.
  SizeOrPercent headroom{};
  // A PSI trigger per partition (cgroup v2): tasks stalled on memory for stall_trigger within
  // stall_window wake zoned at once, and the partition grows without waiting for `sustain`
  // samples. 0 turns it off. The kernel takes windows of 500ms to 10s.
  int64_t stall_trigger_ms = 100;
  int64_t stall_window_ms = 1000;
  // The shared zone's keeper: every bind_check (0: never) it walks the [shared] bind trees and
  // moves their cached pages found off the shared zone's nodes back there, looking at new and
  // changed files first and at most bind_check_pages pages of file (64 MiB; each file counts
  // kFileCostPages more) per check.
  int64_t bind_check_ms = 10000;
  uint64_t bind_check_pages = 16384;
};

inline constexpr int64_t kMinBindCheckMs = 100;
inline constexpr uint64_t kMaxBindCheckPages = uint64_t{1} << 24;

inline constexpr int64_t kMinStallWindowMs = 500;
inline constexpr int64_t kMaxStallWindowMs = 10000;

// The spec and zoned's section of it, read from one file.
struct ZonedSpec {
  planner::Spec spec;
  ZonedConfig config;
};

// Checks the [zoned] lines parseSpec kept (spec.zoned_keys) and makes them a config; a spec
// without the section gets the defaults. Errors are bad input on one line:
// "FILE:LINE: [zoned] KEY = "VALUE": what was expected".
Result<ZonedConfig> parseZonedConfig(const planner::Spec& spec);

// The whole file: parseSpec for [machine], [shared] and [partition.*], then [zoned].
Result<ZonedSpec> parseZonedSpec(std::string_view text, std::string_view file_name);

// Reads the regular file at `path` (at most 1 MiB) and parses it; failures are bad input.
Result<ZonedSpec> readZonedSpecFile(const std::string& path);

// "500ms", "30s", "2m": a whole number with a unit (ms, s or m), as milliseconds.
Result<int64_t> parseDurationMs(std::string_view text);

// "127.0.0.1:9747" (any 127.0.0.0/8 address) or "[::1]:9747"; any other host is refused.
Result<ListenAddress> parseListenAddress(std::string_view text);

// True for a literal loopback address: dotted IPv4 in 127.0.0.0/8, or "::1". Names are not.
bool isLoopbackHost(std::string_view host);

// "64M" or "5%".
Result<SizeOrPercent> parseSizeOrPercent(std::string_view text);

// "1s", "250ms", "2m": the shortest exact form, for messages and docs.
std::string formatDuration(int64_t ms);

}  // namespace softzone::zoned

// The [zoned] section of the spec: its lines come from the spec reader (planner/spec.cpp), which
// locates them and refuses repeats; here each key's value is checked and set.
#include "softzone/zoned/config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <sstream>
#include <vector>

#include "softzone/zones/size.h"
#include "softzone/zones/text_parse.h"

namespace softzone::zoned {
namespace {

constexpr std::string_view kDurationExpected = "expected a duration like 500ms, 1s or 2m";
constexpr std::string_view kPercentExpected = "expected a percentage from 0 to 100, like 10 or 2.5";
constexpr std::string_view kSizeOrPercentExpected =
    "expected a size like 64M or a percentage like 5%";
constexpr std::string_view kListenExpected =
    "expected a loopback address and port, 127.0.0.1:PORT (any of 127.0.0.0/8) or [::1]:PORT";
constexpr int64_t kMinuteMs = 60 * 1000;
constexpr int64_t kHourMs = 60 * kMinuteMs;
constexpr size_t kMaxSpecBytes = 1 << 20;  // a spec is a few hundred bytes; more is not a spec

// A plain decimal ("10", "2.5", "10%"), finite, from 0 to 100.
std::optional<double> percentage(std::string_view text) {
  if (!text.empty() && text.back() == '%') text.remove_suffix(1);
  if (text.empty() || text.front() == '-' || text.front() == '+') return std::nullopt;
  double value = 0;
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::fixed);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  if (value < 0 || value > 100) return std::nullopt;
  return value;
}

std::optional<int64_t> duration(std::string_view text) {
  size_t digits = text.find_first_not_of("0123456789");
  if (digits == 0 || digits == std::string_view::npos) return std::nullopt;
  auto count = parseNumber<int64_t>(text.substr(0, digits));
  std::string_view unit = text.substr(digits);
  int64_t unit_ms = unit == "ms" ? 1 : unit == "s" ? 1000 : unit == "m" ? kMinuteMs : 0;
  if (!count || unit_ms == 0 || *count > std::numeric_limits<int64_t>::max() / unit_ms) {
    return std::nullopt;
  }
  return *count * unit_ms;
}

std::optional<ListenAddress> listenAddress(std::string_view text) {
  ListenAddress address;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find("]:");
    if (close == std::string_view::npos) return std::nullopt;
    address.host = std::string(text.substr(1, close - 1));
    if (address.host.find(':') == std::string::npos) return std::nullopt;  // brackets are IPv6's
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    address.host = std::string(text.substr(0, colon));
    if (address.host.find(':') != std::string::npos) return std::nullopt;  // IPv6 needs brackets
    port = text.substr(colon + 1);
  }
  if (!isLoopbackHost(address.host)) return std::nullopt;
  auto number = parseNumber<unsigned>(port);
  if (!number || *number < 1 || *number > 65535) return std::nullopt;
  address.port = static_cast<uint16_t>(*number);
  return address;
}

// node_exporter's textfile collector reads only *.prom files, by absolute path.
std::optional<std::string> metricsPathProblem(std::string_view path) {
  if (path.front() != '/') return "expected an absolute path ending in .prom";
  if (path.size() < 6 || path.substr(path.size() - 5) != ".prom") {
    return "expected a file name ending in .prom (node_exporter's textfile collector reads only "
           "those)";
  }
  if (path.find_first_of(" \t") != std::string_view::npos) return "expected a path without spaces";
  std::string slashed = std::string(path) + "/";
  if (slashed.find("/../") != std::string::npos || slashed.find("/./") != std::string::npos ||
      slashed.find("//") != std::string::npos) {
    return "expected a plain path without ., .. or empty components";
  }
  return std::nullopt;
}

using Problem = std::optional<std::string>;  // what was expected, when a value is refused

Problem setDuration(std::string_view value, int64_t min_ms, int64_t max_ms, int64_t& out) {
  auto ms = duration(value);
  if (!ms) return std::string(kDurationExpected);
  if (*ms < min_ms || *ms > max_ms) {
    return "expected " + formatDuration(min_ms) + " to " + formatDuration(max_ms);
  }
  out = *ms;
  return std::nullopt;
}

Problem setCount(std::string_view value, int min, int max, int& out) {
  auto count = parseNumber<int>(value);
  std::string range = std::to_string(min) + " to " + std::to_string(max);
  if (!count || *count < min || *count > max) return "expected a whole number from " + range;
  out = *count;
  return std::nullopt;
}

Problem setRate(std::string_view value, uint64_t& out) {
  auto rate = parseNumber<uint64_t>(value);
  if (!rate) return std::string("expected a whole number, 0 or more");
  out = *rate;
  return std::nullopt;
}

Problem setPercent(std::string_view value, double& out) {
  auto percent = percentage(value);
  if (!percent) return std::string(kPercentExpected);
  out = *percent;
  return std::nullopt;
}

Problem setSizeOrPercent(std::string_view value, SizeOrPercent& out) {
  auto parsed = parseSizeOrPercent(value);
  if (!parsed) return std::string(kSizeOrPercentExpected);
  out = *parsed;
  return std::nullopt;
}

// 0 turns the keeper off; otherwise a check at most every 100ms (each one walks the trees).
Problem setBindCheck(std::string_view value, int64_t& out) {
  auto ms = value == "0" ? std::optional<int64_t>(0) : duration(value);
  if (!ms) return std::string(kDurationExpected) + ", or 0 for off";
  if (*ms != 0 && (*ms < kMinBindCheckMs || *ms > kHourMs)) {
    return "expected 0 (off) or " + formatDuration(kMinBindCheckMs) + " to " +
           formatDuration(kHourMs);
  }
  out = *ms;
  return std::nullopt;
}

Problem setBindCheckPages(std::string_view value, uint64_t& out) {
  auto pages = parseNumber<uint64_t>(value);
  if (!pages || *pages < 1 || *pages > kMaxBindCheckPages) {
    return "expected a whole number of pages from 1 to " + std::to_string(kMaxBindCheckPages);
  }
  out = *pages;
  return std::nullopt;
}

// One row per key: its name and how its value lands in the config.
struct KeyRule {
  std::string_view name;
  Problem (*apply)(std::string_view value, ZonedConfig& config);
};

constexpr std::array<KeyRule, 18> kKeys = {{
    {"interval", [](std::string_view v,
                    ZonedConfig& c) { return setDuration(v, 10, 10 * kMinuteMs, c.interval_ms); }},
    {"cooldown",
     [](std::string_view v, ZonedConfig& c) { return setDuration(v, 0, kHourMs, c.cooldown_ms); }},
    {"max_moves_per_minute",
     [](std::string_view v, ZonedConfig& c) { return setCount(v, 1, 60, c.max_moves_per_minute); }},
    {"metrics_textfile",
     [](std::string_view v, ZonedConfig& c) -> Problem {
       if (auto problem = metricsPathProblem(v)) return problem;
       c.metrics_textfile = v;
       return std::nullopt;
     }},
    {"listen",
     [](std::string_view v, ZonedConfig& c) -> Problem {
       c.listen = listenAddress(v);
       if (!c.listen) return std::string(kListenExpected) + " (the endpoint is not authenticated)";
       return std::nullopt;
     }},
    {"pressure_some_avg10",
     [](std::string_view v, ZonedConfig& c) { return setPercent(v, c.pressure_some_avg10); }},
    {"pressure_full_avg10",
     [](std::string_view v, ZonedConfig& c) { return setPercent(v, c.pressure_full_avg10); }},
    {"memory_pressure",
     [](std::string_view v, ZonedConfig& c) { return setRate(v, c.memory_pressure); }},
    {"refault_rate", [](std::string_view v, ZonedConfig& c) { return setRate(v, c.refault_rate); }},
    {"sustain", [](std::string_view v, ZonedConfig& c) { return setCount(v, 1, 100, c.sustain); }},
    {"idle_pressure",
     [](std::string_view v, ZonedConfig& c) { return setPercent(v, c.idle_pressure); }},
    {"idle_for",
     [](std::string_view v, ZonedConfig& c) { return setDuration(v, 0, kHourMs, c.idle_for_ms); }},
    {"free_low",
     [](std::string_view v, ZonedConfig& c) { return setSizeOrPercent(v, c.free_low); }},
    {"headroom",
     [](std::string_view v, ZonedConfig& c) { return setSizeOrPercent(v, c.headroom); }},
    {"stall_trigger",
     [](std::string_view v, ZonedConfig& c) {
       return setDuration(v, 0, kMaxStallWindowMs, c.stall_trigger_ms);
     }},
    {"stall_window",
     [](std::string_view v, ZonedConfig& c) {
       return setDuration(v, kMinStallWindowMs, kMaxStallWindowMs, c.stall_window_ms);
     }},
    {"bind_check",
     [](std::string_view v, ZonedConfig& c) { return setBindCheck(v, c.bind_check_ms); }},
    {"bind_check_pages",
     [](std::string_view v, ZonedConfig& c) { return setBindCheckPages(v, c.bind_check_pages); }},
}};

const KeyRule* findRule(std::string_view key) {
  auto it =
      std::find_if(kKeys.begin(), kKeys.end(), [key](const KeyRule& r) { return r.name == key; });
  return it == kKeys.end() ? nullptr : &*it;
}

std::string keyNames() {
  std::string names;
  for (size_t i = 0; i < kKeys.size(); ++i)
    names += (i == 0 ? "" : ", ") + std::string(kKeys[i].name);
  return names;
}

Error keyError(std::string_view file_name, const planner::SpecLine& key,
               const std::string& expected) {
  return badInput(planner::specLocation(file_name, key.line) + "[zoned] " + key.key + " = " +
                  quoteInput(key.value) + ": " + expected);
}

std::vector<planner::SpecLine>::const_iterator givenKey(const std::vector<planner::SpecLine>& keys,
                                                        std::string_view name) {
  return std::find_if(keys.begin(), keys.end(),
                      [name](const planner::SpecLine& k) { return k.key == name; });
}

// The line of the first of `names` the spec gives, for an error about keys that go together.
// The defaults meet every such rule, so one of them was given; the fallback only keeps this safe.
planner::SpecLine lineOfEither(const std::vector<planner::SpecLine>& keys, std::string_view first,
                               std::string_view second) {
  auto line = givenKey(keys, first);
  if (line == keys.end()) line = givenKey(keys, second);
  return line == keys.end() ? planner::SpecLine{std::string(first), 0, ""} : *line;
}

// Checks that span keys: growing and idling must not meet, or one sample could do both; a stall
// trigger must be shorter than its window, which the kernel refuses otherwise.
Status checkTogether(std::string_view file_name, const std::vector<planner::SpecLine>& keys,
                     const ZonedConfig& config) {
  if (config.idle_pressure >= config.pressure_some_avg10) {
    std::ostringstream message;
    message << "expected idle_pressure (" << config.idle_pressure << ") below pressure_some_avg10 ("
            << config.pressure_some_avg10
            << "), so a partition cannot be pressured and idle at once";
    return keyError(file_name, lineOfEither(keys, "idle_pressure", "pressure_some_avg10"),
                    message.str());
  }
  if (config.stall_trigger_ms >= config.stall_window_ms) {
    return keyError(file_name, lineOfEither(keys, "stall_trigger", "stall_window"),
                    "expected stall_trigger (" + formatDuration(config.stall_trigger_ms) +
                        ") below stall_window (" + formatDuration(config.stall_window_ms) +
                        "): the stall is counted within the window");
  }
  return {};
}

}  // namespace

uint64_t SizeOrPercent::of(uint64_t whole_bytes) const noexcept {
  if (!is_percent) return bytes;
  return static_cast<uint64_t>(static_cast<long double>(whole_bytes) * percent / 100.0L);
}

Result<ZonedConfig> parseZonedConfig(const planner::Spec& spec) {
  ZonedConfig config;
  for (const planner::SpecLine& key : spec.zoned_keys) {
    const KeyRule* rule = findRule(key.key);
    if (!rule) {
      return badInput(planner::specLocation(spec.file_name, key.line) + "[zoned] unknown key " +
                      quoteInput(key.key) + ": expected " + keyNames());
    }
    if (key.value.empty()) return keyError(spec.file_name, key, "expected a value");
    if (auto problem = rule->apply(key.value, config)) {
      return keyError(spec.file_name, key, *problem);
    }
  }
  SZ_CHECK(checkTogether(spec.file_name, spec.zoned_keys, config));
  return config;
}

Result<ZonedSpec> parseZonedSpec(std::string_view text, std::string_view file_name) {
  SZ_TRY(spec, planner::parseSpec(text, file_name));
  SZ_TRY(config, parseZonedConfig(spec));
  return ZonedSpec{std::move(spec), std::move(config)};
}

Result<ZonedSpec> readZonedSpecFile(const std::string& path) {
  std::string what = "cannot read the spec " + quoteInput(path) + ": ";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return badInput(what + std::strerror(errno));
  std::unique_ptr<int, void (*)(int*)> closer(&fd, [](int* f) { ::close(*f); });
  struct stat info {};
  if (::fstat(fd, &info) != 0) return badInput(what + std::strerror(errno));
  if (!S_ISREG(info.st_mode)) return badInput(what + "not a regular file");
  if (static_cast<uint64_t>(info.st_size) > kMaxSpecBytes) {
    return badInput(what + "larger than " + formatSize(kMaxSpecBytes) + ", not a spec");
  }
  std::string contents;
  std::array<char, 8192> buffer;
  while (contents.size() <= kMaxSpecBytes) {
    ssize_t got = ::read(fd, buffer.data(), buffer.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return badInput(what + std::strerror(errno));
    if (got == 0) return parseZonedSpec(contents, path);
    contents.append(buffer.data(), static_cast<size_t>(got));
  }
  return badInput(what + "it grew past " + formatSize(kMaxSpecBytes) + " while being read");
}

Result<int64_t> parseDurationMs(std::string_view text) {
  auto ms = duration(trimBlanks(text));
  if (!ms) return badInput("duration " + quoteInput(text) + ": " + std::string(kDurationExpected));
  return *ms;
}

Result<ListenAddress> parseListenAddress(std::string_view text) {
  auto address = listenAddress(trimBlanks(text));
  if (!address) return badInput("listen " + quoteInput(text) + ": " + std::string(kListenExpected));
  return *address;
}

// inet_pton takes only the plain forms ("127.0.0.1", not "127.1" or "0x7f.1"), so what is
// checked here is what the server binds.
bool isLoopbackHost(std::string_view host) {
  std::string text(host);
  in_addr v4{};
  if (::inet_pton(AF_INET, text.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return ::inet_pton(AF_INET6, text.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

Result<SizeOrPercent> parseSizeOrPercent(std::string_view text) {
  text = trimBlanks(text);
  if (!text.empty() && text.back() == '%') {
    auto percent = percentage(text);
    if (!percent) return badInput(quoteInput(text) + ": " + std::string(kPercentExpected));
    return SizeOrPercent{0, *percent, true};
  }
  SZ_TRY(bytes, parseSize(text));
  return SizeOrPercent{bytes, 0, false};
}

std::string formatDuration(int64_t ms) {
  if (ms != 0 && ms % kMinuteMs == 0) return std::to_string(ms / kMinuteMs) + "m";
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace softzone::zoned

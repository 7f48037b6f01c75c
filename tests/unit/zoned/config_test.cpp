// The [zoned] section: every key read with good values, every garbage value refused naming the
// file, line, key and value; the spec around it still read by parseSpec.
#include "softzone/zoned/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace softzone::zoned {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kPartitions[] = R"([machine]
reserve = 512M
[partition.web]
memory = 1G
min = 512M
max = 2G
)";

std::string withZoned(const std::string& lines) {
  return std::string(kPartitions) + "[zoned]\n" + lines;
}

TEST(ZonedConfigTest, ReadsEveryKey) {
  std::string text = withZoned(R"(interval = 500ms
cooldown = 2m
max_moves_per_minute = 6
metrics_textfile = /var/lib/prometheus/node-exporter/softzone.prom
listen = 127.0.0.1:9747   # loopback only
pressure_some_avg10 = 20
pressure_full_avg10 = 7.5%
memory_pressure = 2500
refault_rate = 4000
sustain = 5
idle_pressure = 0.5
idle_for = 90s
free_low = 64M
headroom = 15%
stall_trigger = 50ms
stall_window = 2s
)");
  auto read = parseZonedSpec(text, "z.ini");
  ASSERT_TRUE(read) << read.error().message();
  const ZonedConfig& c = read->config;
  EXPECT_EQ(c.interval_ms, 500);
  EXPECT_EQ(c.cooldown_ms, 120000);
  EXPECT_EQ(c.max_moves_per_minute, 6);
  EXPECT_EQ(c.metrics_textfile, "/var/lib/prometheus/node-exporter/softzone.prom");
  ASSERT_TRUE(c.listen);
  EXPECT_EQ(c.listen->host, "127.0.0.1");
  EXPECT_EQ(c.listen->port, 9747);
  EXPECT_EQ(c.pressure_some_avg10, 20);
  EXPECT_EQ(c.pressure_full_avg10, 7.5);
  EXPECT_EQ(c.memory_pressure, 2500u);
  EXPECT_EQ(c.refault_rate, 4000u);
  EXPECT_EQ(c.sustain, 5);
  EXPECT_EQ(c.idle_pressure, 0.5);
  EXPECT_EQ(c.idle_for_ms, 90000);
  EXPECT_FALSE(c.free_low.is_percent);
  EXPECT_EQ(c.free_low.bytes, 64 * kMiB);
  EXPECT_TRUE(c.headroom.is_percent);
  EXPECT_EQ(c.headroom.of(kGiB), kGiB * 15 / 100);
  EXPECT_EQ(c.stall_trigger_ms, 50);
  EXPECT_EQ(c.stall_window_ms, 2000);
  ASSERT_EQ(read->spec.partitions.size(), 1u);
  EXPECT_EQ(read->spec.partitions[0].min_bytes, 512 * kMiB);
  EXPECT_EQ(read->spec.partitions[0].max_bytes, 2 * kGiB);
}

TEST(ZonedConfigTest, NoSectionGivesTheDefaults) {
  auto read = parseZonedSpec(kPartitions, "z.ini");
  ASSERT_TRUE(read) << read.error().message();
  const ZonedConfig defaults;
  EXPECT_EQ(read->config.interval_ms, 1000);
  EXPECT_EQ(read->config.cooldown_ms, 30000);
  EXPECT_EQ(read->config.max_moves_per_minute, 4);
  EXPECT_EQ(read->config.metrics_textfile, "");
  EXPECT_FALSE(read->config.listen);
  EXPECT_EQ(read->config.sustain, defaults.sustain);
  EXPECT_EQ(read->config.free_low.of(1000), 20u);  // 2%
  EXPECT_EQ(read->config.headroom.of(1000), 0u);   // off
  EXPECT_EQ(read->config.stall_trigger_ms, 100);
  EXPECT_EQ(read->config.stall_window_ms, 1000);
  EXPECT_EQ(read->config.bind_check_ms, 10000);
  EXPECT_EQ(read->config.bind_check_pages, 16384u);
}

TEST(ZonedConfigTest, TheSpecReaderKeepsTheSectionsLinesForZoned) {
  // zonectl apply reads the same file: [zoned] must not make parseSpec refuse it.
  auto spec = planner::parseSpec(withZoned("interval = 1s\nlisten = [::1]:9000 # v6\n"), "z.ini");
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_EQ(spec->partitions.size(), 1u);
  ASSERT_EQ(spec->zoned_keys.size(), 2u);
  EXPECT_EQ(spec->zoned_keys[0].key, "interval");
  EXPECT_EQ(spec->zoned_keys[0].line, 8);
  EXPECT_EQ(spec->zoned_keys[0].value, "1s");
  EXPECT_EQ(spec->zoned_keys[1].key, "listen");
  EXPECT_EQ(spec->zoned_keys[1].line, 9);
  EXPECT_EQ(spec->zoned_keys[1].value, "[::1]:9000");
}

TEST(ZonedConfigTest, TheSectionMayComeFirst) {
  auto read = parseZonedSpec("[zoned]\nsustain = 2\n" + std::string(kPartitions), "z.ini");
  ASSERT_TRUE(read) << read.error().message();
  EXPECT_EQ(read->config.sustain, 2);
}

TEST(ZonedConfigTest, AcceptsTheIpv6Loopback) {
  auto read = parseZonedSpec(withZoned("listen = [::1]:65535\n"), "z.ini");
  ASSERT_TRUE(read) << read.error().message();
  EXPECT_EQ(read->config.listen->host, "::1");
  EXPECT_EQ(read->config.listen->port, 65535);
}

struct GoodValue {
  const char* key;
  const char* value;
};

// ctest shows the case, not a dump of its bytes.
void PrintTo(const GoodValue& test, std::ostream* out) { *out << test.key << " = " << test.value; }

class ZonedGoodValueTest : public ::testing::TestWithParam<GoodValue> {};

TEST_P(ZonedGoodValueTest, IsAccepted) {
  auto read =
      parseZonedSpec(withZoned(std::string(GetParam().key) + " = " + GetParam().value + "\n"), "z");
  EXPECT_TRUE(read) << read.error().message();
}

INSTANTIATE_TEST_SUITE_P(
    Keys, ZonedGoodValueTest,
    ::testing::Values(
        GoodValue{"interval", "10ms"}, GoodValue{"interval", "10m"}, GoodValue{"cooldown", "0s"},
        GoodValue{"cooldown", "60m"}, GoodValue{"max_moves_per_minute", "1"},
        GoodValue{"max_moves_per_minute", "60"},
        GoodValue{"metrics_textfile", "/run/softzone.prom"}, GoodValue{"listen", "127.0.0.1:1"},
        GoodValue{"listen", "127.0.0.2:9747"}, GoodValue{"listen", "127.255.255.254:9747"},
        GoodValue{"pressure_some_avg10", "100"}, GoodValue{"pressure_full_avg10", "0.25"},
        GoodValue{"memory_pressure", "0"}, GoodValue{"refault_rate", "0"},
        GoodValue{"sustain", "1"}, GoodValue{"sustain", "100"}, GoodValue{"idle_pressure", "0"},
        GoodValue{"idle_for", "0ms"}, GoodValue{"free_low", "0"}, GoodValue{"free_low", "1.5G"},
        GoodValue{"headroom", "100%"}, GoodValue{"headroom", "0.5%"},
        GoodValue{"stall_trigger", "0ms"}, GoodValue{"stall_trigger", "999ms"},
        GoodValue{"stall_window", "500ms"}, GoodValue{"stall_window", "10s"},
        GoodValue{"bind_check", "0"}, GoodValue{"bind_check", "0s"},
        GoodValue{"bind_check", "100ms"}, GoodValue{"bind_check", "60m"},
        GoodValue{"bind_check_pages", "1"}, GoodValue{"bind_check_pages", "16777216"}));

struct BadValue {
  const char* name;
  const char* key;
  const char* value;
  const char* expected;  // a part of the message saying what was expected
};

void PrintTo(const BadValue& test, std::ostream* out) { *out << test.name; }

class ZonedBadValueTest : public ::testing::TestWithParam<BadValue> {};

// Every refusal is bad input (exit 2) on one line: file:line, section, key, value, expectation.
TEST_P(ZonedBadValueTest, IsRefusedWithFileLineKeyAndValue) {
  const BadValue& bad = GetParam();
  std::string line = std::string(bad.key) + " = " + bad.value;
  auto read = parseZonedSpec(withZoned("# line 8\n" + line + "\n"), "z.ini");
  ASSERT_FALSE(read) << line;
  const Error& error = read.error();
  EXPECT_TRUE(error.isBadInput());
  EXPECT_THAT(error.message(), StartsWith("z.ini:9: [zoned] " + std::string(bad.key) + " = "));
  EXPECT_THAT(error.message(), HasSubstr(quoteInput(bad.value)));
  EXPECT_THAT(error.message(), HasSubstr(bad.expected));
  EXPECT_EQ(error.message().find('\n'), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Keys, ZonedBadValueTest,
    ::testing::Values(
        BadValue{"interval_no_unit", "interval", "1", "duration like 500ms"},
        BadValue{"interval_hours", "interval", "1h", "duration like 500ms"},
        BadValue{"interval_negative", "interval", "-1s", "duration like 500ms"},
        BadValue{"interval_fraction", "interval", "1.5s", "duration like 500ms"},
        BadValue{"interval_too_short", "interval", "5ms", "expected 10ms to 10m"},
        BadValue{"interval_zero", "interval", "0s", "expected 10ms to 10m"},
        BadValue{"interval_overflow", "interval", "99999999999999999999m", "duration"},
        BadValue{"interval_huge", "interval", "9223372036854775807m", "duration"},
        BadValue{"cooldown_words", "cooldown", "thirty seconds", "duration like 500ms"},
        BadValue{"cooldown_too_long", "cooldown", "61m", "expected 0ms to 60m"},
        BadValue{"moves_zero", "max_moves_per_minute", "0", "whole number from 1 to 60"},
        BadValue{"moves_many", "max_moves_per_minute", "61", "whole number from 1 to 60"},
        BadValue{"moves_text", "max_moves_per_minute", "four", "whole number"},
        BadValue{"moves_fraction", "max_moves_per_minute", "4.5", "whole number"},
        BadValue{"textfile_relative", "metrics_textfile", "softzone.prom", "absolute path"},
        BadValue{"textfile_suffix", "metrics_textfile", "/var/lib/softzone.txt", ".prom"},
        BadValue{"textfile_dotdot", "metrics_textfile", "/var/../etc/x.prom", "without ., .."},
        BadValue{"textfile_space", "metrics_textfile", "/var/a b.prom", "without spaces"},
        BadValue{"listen_any", "listen", "0.0.0.0:9747", "loopback"},
        BadValue{"listen_public", "listen", "192.168.1.4:9747", "loopback"},
        BadValue{"listen_name", "listen", "localhost:9747", "loopback"},
        BadValue{"listen_next_to_loopback", "listen", "128.0.0.1:9747", "loopback"},
        BadValue{"listen_short_loopback", "listen", "127.1:9747", "loopback"},
        BadValue{"listen_octet_big", "listen", "127.0.0.256:9747", "loopback"},
        BadValue{"listen_v4_mapped", "listen", "[::ffff:127.0.0.1]:9747", "loopback"},
        BadValue{"listen_v4_in_brackets", "listen", "[127.0.0.1]:9747", "loopback"},
        BadValue{"listen_v6_other", "listen", "[::2]:9747", "loopback"},
        BadValue{"listen_v6_any", "listen", "[::]:9747", "loopback"},
        BadValue{"listen_v6_bare", "listen", "::1:9747", "loopback"},
        BadValue{"listen_no_port", "listen", "127.0.0.1", "loopback"},
        BadValue{"listen_port_zero", "listen", "127.0.0.1:0", "loopback"},
        BadValue{"listen_port_big", "listen", "127.0.0.1:65536", "loopback"},
        BadValue{"listen_port_text", "listen", "127.0.0.1:http", "loopback"},
        BadValue{"some_over_100", "pressure_some_avg10", "101", "percentage from 0 to 100"},
        BadValue{"some_negative", "pressure_some_avg10", "-1", "percentage"},
        BadValue{"some_nan", "pressure_some_avg10", "nan", "percentage"},
        BadValue{"full_text", "pressure_full_avg10", "high", "percentage"},
        BadValue{"full_double_percent", "pressure_full_avg10", "5%%", "percentage"},
        BadValue{"v1_negative", "memory_pressure", "-5", "whole number"},
        BadValue{"refaults_fraction", "refault_rate", "1.5", "whole number"},
        BadValue{"sustain_zero", "sustain", "0", "whole number from 1 to 100"},
        BadValue{"sustain_text", "sustain", "3x", "whole number"},
        BadValue{"idle_text", "idle_pressure", "low", "percentage"},
        BadValue{"idle_for_no_unit", "idle_for", "60", "duration like 500ms"},
        BadValue{"free_low_percent_big", "free_low", "150%", "size like 64M or a percentage"},
        BadValue{"free_low_words", "free_low", "some", "size like 64M or a percentage"},
        BadValue{"headroom_negative", "headroom", "-10%", "size like 64M or a percentage"},
        BadValue{"headroom_empty", "headroom", "", "expected a value"},
        BadValue{"stall_trigger_no_unit", "stall_trigger", "100", "duration like 500ms"},
        BadValue{"stall_trigger_long", "stall_trigger", "11s", "expected 0ms to 10s"},
        BadValue{"stall_window_short", "stall_window", "499ms", "expected 500ms to 10s"},
        BadValue{"stall_window_long", "stall_window", "11s", "expected 500ms to 10s"},
        BadValue{"bind_check_no_unit", "bind_check", "10", "duration like 500ms"},
        BadValue{"bind_check_short", "bind_check", "99ms", "expected 0 (off) or 100ms to 60m"},
        BadValue{"bind_check_long", "bind_check", "61m", "expected 0 (off) or 100ms to 60m"},
        BadValue{"bind_check_words", "bind_check", "off", "or 0 for off"},
        BadValue{"bind_check_pages_zero", "bind_check_pages", "0", "from 1 to 16777216"},
        BadValue{"bind_check_pages_big", "bind_check_pages", "16777217", "from 1 to 16777216"},
        BadValue{"bind_check_pages_size", "bind_check_pages", "64M", "whole number of pages"}),
    [](const auto& test) { return std::string(test.param.name); });

TEST(ZonedConfigTest, RefusesAnUnknownKeyNamingTheKnownOnes) {
  auto read = parseZonedSpec(withZoned("intervall = 1s\n"), "z.ini");
  ASSERT_FALSE(read);
  EXPECT_THAT(read.error().message(), StartsWith("z.ini:8: [zoned] unknown key \"intervall\""));
  EXPECT_THAT(read.error().message(), HasSubstr("interval, cooldown"));
}

TEST(ZonedConfigTest, RefusesAKeyGivenTwice) {
  auto read = parseZonedSpec(withZoned("cooldown = 1s\ncooldown = 2s\n"), "z.ini");
  ASSERT_FALSE(read);
  EXPECT_THAT(read.error().message(),
              StartsWith("z.ini:9: [zoned] cooldown is given twice (first at line 8)"));
}

TEST(ZonedConfigTest, RefusesTwoZonedSections) {
  auto read = parseZonedSpec(withZoned("sustain = 2\n[zoned]\ncooldown = 2s\n"), "z.ini");
  ASSERT_FALSE(read);
  EXPECT_TRUE(read.error().isBadInput());
  EXPECT_THAT(read.error().message(), HasSubstr("duplicate section [zoned]"));
}

TEST(ZonedConfigTest, RefusesIdlePressureNotBelowTheGrowThreshold) {
  auto read = parseZonedSpec(withZoned("pressure_some_avg10 = 5\nidle_pressure = 5\n"), "z.ini");
  ASSERT_FALSE(read);
  EXPECT_THAT(read.error().message(), StartsWith("z.ini:9: [zoned] idle_pressure = \"5\""));
  EXPECT_THAT(read.error().message(), HasSubstr("below pressure_some_avg10"));
}

TEST(ZonedConfigTest, RefusesAStallTriggerNotShorterThanItsWindow) {
  auto read = parseZonedSpec(withZoned("stall_window = 2s\nstall_trigger = 2s\n"), "z.ini");
  ASSERT_FALSE(read);
  EXPECT_TRUE(read.error().isBadInput());
  EXPECT_THAT(read.error().message(), StartsWith("z.ini:9: [zoned] stall_trigger = \"2s\""));
  EXPECT_THAT(read.error().message(), HasSubstr("below stall_window (2s)"));
  auto window_only = parseZonedSpec(withZoned("stall_window = 500ms\n"), "z.ini");
  ASSERT_TRUE(window_only) << window_only.error().message();  // 100ms in 500ms
}

TEST(ZonedConfigTest, ErrorsInTheRestOfTheSpecStillComeFromTheSpecReader) {
  auto read = parseZonedSpec("[zoned]\nsustain = 2\n[partition.web]\nmemory = lots\n", "z.ini");
  ASSERT_FALSE(read);
  EXPECT_THAT(read.error().message(), StartsWith("z.ini:4: [partition.web] memory"));
}

TEST(ZonedConfigTest, ReadsAFileAndRefusesWhatIsNotARegularFile) {
  std::string dir = ::testing::TempDir() + "zoned_config_" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);
  std::string path = dir + "/softzone.ini";
  std::ofstream(path) << withZoned("interval = 2s\n");
  auto read = readZonedSpecFile(path);
  ASSERT_TRUE(read) << read.error().message();
  EXPECT_EQ(read->config.interval_ms, 2000);
  auto directory = readZonedSpecFile(dir);
  ASSERT_FALSE(directory);
  EXPECT_TRUE(directory.error().isBadInput());
  EXPECT_THAT(directory.error().message(), HasSubstr("not a regular file"));
  auto missing = readZonedSpecFile(dir + "/missing.ini");
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message(), HasSubstr("missing.ini"));
  std::filesystem::remove_all(dir);
}

TEST(ZonedConfigTest, PublicParsersSayWhatTheyRefuse) {
  EXPECT_EQ(parseDurationMs("250ms").value(), 250);
  EXPECT_EQ(parseDurationMs("3m").value(), 180000);
  EXPECT_FALSE(parseDurationMs("3 m"));
  EXPECT_FALSE(parseDurationMs(""));
  EXPECT_FALSE(parseListenAddress("[::1]"));
  EXPECT_EQ(parseListenAddress("127.3.2.1:80").value().host, "127.3.2.1");
  EXPECT_TRUE(isLoopbackHost("::1"));
  EXPECT_TRUE(isLoopbackHost("127.0.0.1"));
  EXPECT_FALSE(isLoopbackHost("localhost"));
  EXPECT_FALSE(isLoopbackHost("0.0.0.0"));
  EXPECT_THAT(parseListenAddress("10.0.0.1:80").error().message(), HasSubstr("loopback"));
  EXPECT_EQ(parseSizeOrPercent("5%").value().of(200), 10u);
  EXPECT_EQ(parseSizeOrPercent("1K").value().of(200), 1024u);
  EXPECT_EQ(formatDuration(90000), "90s");
  EXPECT_EQ(formatDuration(120000), "2m");
  EXPECT_EQ(formatDuration(1500), "1500ms");
}

}  // namespace
}  // namespace softzone::zoned

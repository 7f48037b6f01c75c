// Spec parsing: good specs become values; every bad one is bad input naming file, line and key.
#include "softzone/planner/spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace softzone::planner {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kFull[] = R"(# a spec with everything
[machine]
reserve = 1G            # the host's share
node_size = 256M
kernel_image = 64M

[shared]
size = 256M
bind = /lib /usr/lib

[partition.web]
memory = 1G
cpus = 2
min = 512M
max = 2G
mem_hardwall = yes

[partition.db-1.main]
memory = 1.5G
cpus = 4-5,7
)";

TEST(SpecTest, ReadsEveryKey) {
  auto spec = parseSpec(kFull, "full.ini");
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_EQ(spec->file_name, "full.ini");
  EXPECT_EQ(spec->machine.reserve_bytes, kGiB);
  EXPECT_EQ(spec->machine.node_size_bytes, 256 * kMiB);
  EXPECT_EQ(spec->machine.kernel_image_bytes, 64 * kMiB);
  EXPECT_EQ(spec->shared.size_bytes, 256 * kMiB);
  EXPECT_EQ(spec->shared.bind_paths, (std::vector<std::string>{"/lib", "/usr/lib"}));
  ASSERT_EQ(spec->partitions.size(), 2u);
  const PartitionSpec& web = spec->partitions[0];
  EXPECT_EQ(web.name, "web");
  EXPECT_EQ(web.memory_bytes, kGiB);
  EXPECT_EQ(web.cpu_count, 2);
  EXPECT_FALSE(web.cpu_list);
  EXPECT_EQ(web.min_bytes, 512 * kMiB);
  EXPECT_EQ(web.max_bytes, 2 * kGiB);
  EXPECT_TRUE(web.mem_hardwall);
  EXPECT_EQ(web.line, 11);
  EXPECT_EQ(web.cpus_line, 13);
  const PartitionSpec& db = spec->partitions[1];
  EXPECT_EQ(db.name, "db-1.main");
  EXPECT_EQ(db.memory_bytes, 3 * kGiB / 2);
  EXPECT_EQ(db.cpu_count, 0);
  ASSERT_TRUE(db.cpu_list);
  EXPECT_EQ(db.cpu_list->format(), "4-5,7");
  EXPECT_FALSE(db.mem_hardwall);
  EXPECT_EQ(spec->partition("db-1.main"), &spec->partitions[1]);
  EXPECT_EQ(spec->partition("nope"), nullptr);
}

TEST(SpecTest, DefaultsWhenOnlyAPartitionIsGiven) {
  auto spec = parseSpec("[partition.a]\nmemory = 64M\n", "min.ini");
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_EQ(spec->machine.reserve_bytes, kDefaultReserveBytes);
  EXPECT_FALSE(spec->machine.node_size_bytes);
  EXPECT_EQ(spec->machine.kernel_image_bytes, kDefaultKernelImageBytes);
  EXPECT_EQ(spec->shared.size_bytes, 0u);
  EXPECT_TRUE(spec->shared.bind_paths.empty());
  EXPECT_EQ(spec->partitions[0].cpu_count, 0);
  EXPECT_FALSE(spec->partitions[0].cpu_list);
  EXPECT_FALSE(spec->partitions[0].min_bytes);
}

struct GoodCase {
  const char* label;
  const char* text;
};

void PrintTo(const GoodCase& test, std::ostream* out) { *out << test.label; }

class GoodSpecTest : public ::testing::TestWithParam<GoodCase> {};

TEST_P(GoodSpecTest, Parses) {
  auto spec = parseSpec(GetParam().text, "good.ini");
  EXPECT_TRUE(spec) << spec.error().message();
}

INSTANTIATE_TEST_SUITE_P(
    Table, GoodSpecTest,
    ::testing::Values(
        GoodCase{"crlf", "[partition.a]\r\nmemory = 1G\r\n"},
        GoodCase{"bom", "\xEF\xBB\xBF[partition.a]\nmemory = 1G\n"},
        GoodCase{"no_final_newline", "[partition.a]\nmemory=1G"},
        GoodCase{"tabs_and_comments", "# c\n\t[partition.a]  # c\n\tmemory\t=\t1G\t# c\n"},
        GoodCase{"cpu_zero_as_list", "[partition.a]\nmemory = 1G\ncpus = 0-0\n"},
        GoodCase{"bools",
                 "[partition.a]\nmemory = 1G\nmem_hardwall = FALSE\n"
                 "[partition.b]\nmemory = 1G\nmem_hardwall = on\n"},
        GoodCase{"min_equals_memory_equals_max",
                 "[partition.a]\nmemory = 1G\nmin = 1G\nmax = 1024M\n"},
        GoodCase{"reserve_zero", "[machine]\nreserve = 0\n[partition.a]\nmemory = 1G\n"},
        GoodCase{"long_name",
                 "[partition.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]"
                 "\nmemory = 1G\n"},
        GoodCase{"name_like_reserved_prefix", "[partition.systemd]\nmemory = 1G\n"},
        GoodCase{"sections_in_any_order",
                 "[partition.a]\nmemory = 1G\n[shared]\nsize = 1G\n[machine]\nreserve = 1G\n"}),
    [](const auto& test) { return std::string(test.param.label); });

// A bad input, the line it is on, and words the message must contain (the key, mostly).
struct BadCase {
  const char* label;
  const char* text;
  int line;
  std::vector<std::string> words;
};

void PrintTo(const BadCase& test, std::ostream* out) { *out << test.label; }

class BadSpecTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadSpecTest, IsBadInputNamingFileLineAndKey) {
  const BadCase& bad = GetParam();
  auto spec = parseSpec(bad.text, "bad.ini");
  ASSERT_FALSE(spec) << "parsed: " << bad.text;
  EXPECT_TRUE(spec.error().isBadInput());
  EXPECT_THAT(spec.error().message(), StartsWith("bad.ini:" + std::to_string(bad.line) + ": "));
  for (const std::string& word : bad.words) EXPECT_THAT(spec.error().message(), HasSubstr(word));
}

constexpr char kWeb[] = "[partition.web]\nmemory = 1G\n";

INSTANTIATE_TEST_SUITE_P(
    Table, BadSpecTest,
    ::testing::Values(
        BadCase{"unknown_key",
                "[partition.web]\nmemory = 1G\nmemroy = 2G\n",
                3,
                {"[partition.web]", "\"memroy\"", "memory, cpus, min, max or mem_hardwall"}},
        BadCase{"unknown_machine_key",
                "[machine]\nreserved = 1G\n",
                2,
                {"[machine]", "\"reserved\"", "reserve, node_size or kernel_image"}},
        BadCase{"bad_kernel_image",
                "[machine]\nkernel_image = lots\n[partition.web]\nmemory = 1G\n",
                2,
                {"[machine] kernel_image = \"lots\"", "a size"}},
        BadCase{"unknown_section",
                "[partition.web]\nmemory = 1G\n[machines]\nreserve = 1G\n",
                3,
                {"[machines]", "[machine], [shared] or [partition.NAME]"}},
        BadCase{"bad_size",
                "[machine]\nreserve = 1G\n\n[partition.web]\n\nmemory = 1Q\n",
                6,
                {"[partition.web] memory = \"1Q\": expected a size like 512M or 1.5G"}},
        BadCase{"empty_size", "[partition.web]\nmemory =\n", 2, {"memory = \"\"", "a size"}},
        BadCase{"zero_memory", "[partition.web]\nmemory = 0\n", 2, {"memory", "above 0"}},
        BadCase{"negative_size",
                "[shared]\nsize = -1G\n[partition.web]\nmemory = 1G\n",
                2,
                {"[shared] size", "negative"}},
        BadCase{"bad_reserve",
                "[machine]\nreserve = lots\n[partition.web]\nmemory = 1G\n",
                2,
                {"[machine] reserve = \"lots\""}},
        BadCase{"zero_node_size",
                "[machine]\nnode_size = 0\n[partition.web]\nmemory = 1G\n",
                2,
                {"node_size", "above 0"}},
        BadCase{"duplicate_key",
                "[partition.web]\nmemory = 1G\ncpus = 2\nmemory = 2G\n",
                4,
                {"[partition.web] memory", "twice", "line 2"}},
        BadCase{"duplicate_partition",
                "[partition.web]\nmemory = 1G\n[partition.db]\nmemory = 1G\n[partition.web]\n",
                5,
                {"duplicate section [partition.web]", "line 1"}},
        BadCase{"duplicate_machine",
                "[machine]\n[partition.web]\nmemory = 1G\n[machine]\n",
                4,
                {"duplicate section [machine]"}},
        BadCase{"bad_name_chars",
                "[partition.web!]\nmemory = 1G\n",
                1,
                {"[partition.web!]", "A-Z a-z 0-9"}},
        BadCase{"reserved_name",
                "[partition.shared]\nmemory = 1G\n",
                1,
                {"[partition.shared]", "reserved"}},
        BadCase{"dot_name", "[partition..]\nmemory = 1G\n", 1, {"[partition..]", "directory"}},
        BadCase{"dotdot_name", "[partition...]\nmemory = 1G\n", 1, {"\"..\""}},
        BadCase{"long_name",
                "[partition.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]\n",
                1,
                {"too long"}},
        BadCase{"nameless_partition", "[partition]\nmemory = 1G\n", 1, {"[partition.NAME]"}},
        BadCase{"empty_partition_name", "[partition.]\nmemory = 1G\n", 1, {"empty"}},
        BadCase{"min_above_memory",
                "[partition.web]\nmemory = 1G\nmax = 2G\nmin = 2G\n",
                4,
                {"[partition.web] min = 2G", "above memory (1G at line 2)"}},
        BadCase{"max_below_memory",
                "[partition.web]\nmemory = 1G\nmax = 512M\n",
                3,
                {"[partition.web] max = 512M", "below memory"}},
        BadCase{"missing_memory",
                "[machine]\nreserve = 1G\n[partition.web]\ncpus = 2\n",
                3,
                {"[partition.web]", "memory is missing"}},
        BadCase{"key_outside_section",
                "memory = 1G\n[partition.web]\nmemory = 1G\n",
                1,
                {"memory = \"1G\"", "outside a section"}},
        BadCase{"line_without_equals",
                "[partition.web]\nmemory 1G\n",
                2,
                {"KEY = VALUE", "\"memory 1G\""}},
        BadCase{"missing_key", "[partition.web]\n= 1G\n", 2, {"[partition.web]", "no key"}},
        BadCase{"unterminated_section",
                "[partition.web\nmemory = 1G\n",
                1,
                {"malformed section header"}},
        BadCase{"garbage_bytes",
                "[partition.web]\nmemory = 1G\n\x7f"
                "ELF\x02\x01\x01\x00\n",
                3,
                {"unexpected byte 0x7f", "text file"}},
        BadCase{"empty_file", "", 1, {"[partition.NAME]", "memory"}},
        BadCase{"only_comments", "# nothing\n\n   \n", 1, {"no [partition.NAME]"}},
        BadCase{"no_partition", "[machine]\nreserve = 1G\n", 1, {"at least one partition"}},
        BadCase{"cpus_zero",
                "[partition.web]\nmemory = 1G\ncpus = 0\n",
                3,
                {"[partition.web] cpus = \"0\"", "0-0"}},
        BadCase{"cpus_word",
                "[partition.web]\nmemory = 1G\ncpus = two\n",
                3,
                {"cpus = \"two\"", "a CPU count like 2 or a list like 2-3"}},
        BadCase{"cpus_backwards",
                "[partition.web]\nmemory = 1G\ncpus = 3-1\n",
                3,
                {"cpus = \"3-1\"", "below its start"}},
        BadCase{"bad_bool",
                "[partition.web]\nmemory = 1G\nmem_hardwall = maybe\n",
                3,
                {"mem_hardwall = \"maybe\"", "true or false"}},
        BadCase{"relative_bind",
                "[shared]\nsize = 1G\nbind = /lib usr/lib\n",
                3,
                {"[shared] bind", "\"usr/lib\"", "absolute"}},
        BadCase{"empty_bind", "[shared]\nsize = 1G\nbind =\n", 3, {"[shared] bind", "absolute"}},
        BadCase{"bind_without_size",
                "[shared]\nbind = /lib\n[partition.web]\nmemory = 1G\n",
                2,
                {"[shared] bind", "size"}},
        BadCase{"section_key_case", "[partition.web]\nMemory = 1G\n", 2, {"\"Memory\""}}),
    [](const auto& test) { return std::string(test.param.label); });

TEST(SpecTest, NulByteIsGarbage) {
  // Not in the table: a C string would end at the NUL.
  std::string text("[partition.web]\nmem\0ory = 1G\n", 29);
  auto spec = parseSpec(text, "nul.ini");
  ASSERT_FALSE(spec);
  EXPECT_THAT(spec.error().message(), StartsWith("nul.ini:2: unexpected byte 0x00"));
}

TEST(SpecTest, MessageWithoutFileNameSaysLine) {
  auto spec = parseSpec("[partition.web]\nmemory = 1Q\n", "");
  ASSERT_FALSE(spec);
  EXPECT_THAT(spec.error().message(), StartsWith("line 2: [partition.web] memory"));
}

TEST(SpecTest, SizeMessageKeepsTheReason) {
  auto spec = parseSpec(kWeb + std::string("[shared]\nsize = 1Q\n"), "web.ini");
  ASSERT_FALSE(spec);
  EXPECT_EQ(spec.error().message(),
            "web.ini:4: [shared] size = \"1Q\": expected a size like 512M or 1.5G (unknown unit "
            "\"Q\"; use K, M, G, T or P)");
}

// `memory = 96` was 96 bytes, `512MB` silently binary: both refused, naming file:line and key.
TEST(SpecTest, ABareNumberOrADecimalUnitIsRefused) {
  auto bare = parseSpec("[partition.web]\nmemory = 96\n", "web.ini");
  ASSERT_FALSE(bare);
  EXPECT_TRUE(bare.error().isBadInput());
  EXPECT_EQ(bare.error().message(),
            "web.ini:2: [partition.web] memory = \"96\": expected a size like 512M or 1.5G (a bare "
            "number would be bytes; write 96M, 96G or 96B)");
  for (const char* line : {"reserve = 1024", "node_size = 64", "kernel_image = 100"}) {
    SCOPED_TRACE(line);
    auto spec =
        parseSpec("[machine]\n" + std::string(line) + "\n[partition.web]\nmemory = 1G\n", "m.ini");
    ASSERT_FALSE(spec);
    EXPECT_THAT(spec.error().message(), HasSubstr("a bare number would be bytes"));
  }
  auto decimal = parseSpec("[partition.web]\nmemory = 512MB\n", "web.ini");
  ASSERT_FALSE(decimal);
  EXPECT_THAT(decimal.error().message(), StartsWith("web.ini:2: [partition.web] memory"));
  EXPECT_THAT(decimal.error().message(), HasSubstr("write 512M or 512MiB"));
  auto lower = parseSpec("[partition.web]\nmemory = 128m\nmin = 0\n", "web.ini");
  ASSERT_TRUE(lower) << lower.error().message();
  EXPECT_EQ(lower->partitions[0].memory_bytes, 128 * kMiB);
}

TEST(SpecTest, ReservedNamesAndRules) {
  EXPECT_FALSE(checkPartitionName("web"));
  EXPECT_FALSE(checkPartitionName("a.b-c_d"));
  EXPECT_TRUE(checkPartitionName("system"));
  EXPECT_TRUE(checkPartitionName("free"));
  EXPECT_TRUE(checkPartitionName("shared"));
  EXPECT_TRUE(checkPartitionName(""));
  EXPECT_TRUE(checkPartitionName("a/b"));
  EXPECT_TRUE(checkPartitionName("a b"));
  EXPECT_TRUE(checkPartitionName(std::string(65, 'a')));
  EXPECT_FALSE(checkPartitionName(std::string(64, 'a')));
}

TEST(SpecTest, ReadsAFile) {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("softzone_spec_test_" + std::to_string(::getpid()) + ".ini");
  {
    std::ofstream out(path);
    out << kFull;
  }
  auto spec = readSpecFile(path.string());
  std::filesystem::remove(path);
  ASSERT_TRUE(spec) << spec.error().message();
  EXPECT_EQ(spec->file_name, path.string());
  EXPECT_EQ(spec->partitions.size(), 2u);
}

TEST(SpecTest, MissingFileIsBadInputNamingIt) {
  auto spec = readSpecFile("/nonexistent/softzone/web.ini");
  ASSERT_FALSE(spec);
  EXPECT_TRUE(spec.error().isBadInput());
  EXPECT_THAT(spec.error().message(), HasSubstr("/nonexistent/softzone/web.ini"));
  EXPECT_THAT(spec.error().message(), HasSubstr("No such file"));
}

TEST(SpecTest, DirectoryIsBadInput) {
  auto spec = readSpecFile(std::filesystem::temp_directory_path().string());
  ASSERT_FALSE(spec);
  EXPECT_TRUE(spec.error().isBadInput());
}

TEST(SpecTest, BadLineInAFileNamesThePath) {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("softzone_bad_" + std::to_string(::getpid()) + ".ini");
  {
    std::ofstream out(path);
    out << "[partition.web]\nmemory = 1G\ncpus = x\n";
  }
  auto spec = readSpecFile(path.string());
  std::filesystem::remove(path);
  ASSERT_FALSE(spec);
  EXPECT_THAT(spec.error().message(), StartsWith(path.string() + ":3: [partition.web] cpus"));
}

}  // namespace
}  // namespace softzone::planner

// Tests for parseProcMaps: real kernel lines (padding, odd paths) and malformed ones.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <string>
#include <vector>

#include "softzone/zones/page_placement.h"

namespace softzone::zones {
namespace {

using ::testing::HasSubstr;

struct MapsCase {
  const char* name;
  std::string line;
  MapRange expected;
  bool anonymous;
  bool deleted;
  bool kernel;
};
void PrintTo(const MapsCase& test, std::ostream* out) { *out << test.name; }

// Lines as a 64-bit kernel prints them: the path padded to column 73.
const MapsCase kMapsCases[] = {
    {"executable",
     "560bbf7fe000-560bbf800000 r--p 00000000 fe:00 247134                     /usr/bin/cat",
     {0x560bbf7fe000, 0x560bbf800000, "r--p", 0, "fe:00", 247134, "/usr/bin/cat"},
     false,
     false,
     false},
    {"heap",
     "560bee1f7000-560bee218000 rw-p 00000000 00:00 0                          [heap]",
     {0x560bee1f7000, 0x560bee218000, "rw-p", 0, "00:00", 0, "[heap]"},
     true,
     false,
     false},
    {"anonymous with the kernel's trailing space",
     "7f1abb71a000-7f1abb7de000 rw-p 00000000 00:00 0 ",
     {0x7f1abb71a000, 0x7f1abb7de000, "rw-p", 0, "00:00", 0, ""},
     true,
     false,
     false},
    {"anonymous trimmed",
     "7f1abb71a000-7f1abb7de000 rw-p 00000000 00:00 0",
     {0x7f1abb71a000, 0x7f1abb7de000, "rw-p", 0, "00:00", 0, ""},
     true,
     false,
     false},
    {"stack",
     "7ffc1d2e4000-7ffc1d305000 rw-p 00000000 00:00 0                          [stack]",
     {0x7ffc1d2e4000, 0x7ffc1d305000, "rw-p", 0, "00:00", 0, "[stack]"},
     true,
     false,
     false},
    {"named anonymous",
     "7f0000000000-7f0000100000 rw-p 00000000 00:00 0                          [anon:jemalloc]",
     {0x7f0000000000, 0x7f0000100000, "rw-p", 0, "00:00", 0, "[anon:jemalloc]"},
     true,
     false,
     false},
    {"path with spaces, one leading",
     "55e0c4a00000-55e0c4a02000 r--p 00000000 fe:00 1310794                    /tmp/a b/ sle ep",
     {0x55e0c4a00000, 0x55e0c4a02000, "r--p", 0, "fe:00", 1310794, "/tmp/a b/ sle ep"},
     false,
     false,
     false},
    {"deleted file",
     "7f1abba24000-7f1abba2b000 rw-s 00001000 00:01 4096                       /dev/shm/x "
     "(deleted)",
     {0x7f1abba24000, 0x7f1abba2b000, "rw-s", 0x1000, "00:01", 4096, "/dev/shm/x (deleted)"},
     false,
     true,
     false},
    {"vvar",
     "7f1abba2e000-7f1abba32000 r--p 00000000 00:00 0                          [vvar]",
     {0x7f1abba2e000, 0x7f1abba32000, "r--p", 0, "00:00", 0, "[vvar]"},
     false,
     false,
     true},
    {"vsyscall",
     "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]",
     {0xffffffffff600000, 0xffffffffff601000, "--xp", 0, "00:00", 0, "[vsyscall]"},
     false,
     false,
     true},
    {"prefix longer than the padding",
     "7f1abba24000-7f1abba2b000 r-xp 7fffffffffff 103:02 18446744073709551615  /x y",
     {0x7f1abba24000, 0x7f1abba2b000, "r-xp", 0x7fffffffffff, "103:02", 18446744073709551615ull,
      "/x y"},
     false,
     false,
     false},
    {"hand-written, one space before the path",
     "1000-2000 rw-p 0 00:00 0 [heap]",
     {0x1000, 0x2000, "rw-p", 0, "00:00", 0, "[heap]"},
     true,
     false,
     false},
};

class ProcMapsTable : public ::testing::TestWithParam<MapsCase> {};

TEST_P(ProcMapsTable, ParsesLine) {
  const MapsCase& c = GetParam();
  auto ranges = parseProcMaps({c.line});
  ASSERT_TRUE(ranges) << ranges.error().describe();
  ASSERT_EQ(ranges->size(), 1u);
  const MapRange& range = ranges->front();
  EXPECT_EQ(range, c.expected) << "path '" << range.path << "'";
  EXPECT_EQ(range.anonymous(), c.anonymous);
  EXPECT_EQ(range.deleted(), c.deleted);
  EXPECT_EQ(range.kernelMapping(), c.kernel);
}

std::string caseName(const ::testing::TestParamInfo<MapsCase>& param_info) {
  std::string name;
  for (char ch : std::string(param_info.param.name)) {
    name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Lines, ProcMapsTable, ::testing::ValuesIn(kMapsCases), caseName);

TEST(ProcMaps, SkipsEmptyLinesAndKeepsOrder) {
  auto ranges = parseProcMaps({"1000-2000 rw-p 0 00:00 0", "", "3000-5000 r--s 0 00:00 0"});
  ASSERT_TRUE(ranges);
  ASSERT_EQ(ranges->size(), 2u);
  EXPECT_EQ((*ranges)[1].start, 0x3000u);
  EXPECT_EQ((*ranges)[1].bytes(), 0x2000u);
  EXPECT_TRUE((*ranges)[1].shared());
  EXPECT_FALSE((*ranges)[0].shared());
}

struct BadLine {
  std::string line;
  std::string message;
};

TEST(ProcMaps, RefusesMalformedLinesNamingThem) {
  const BadLine kBad[] = {
      {"1000 rw-p 0 00:00 0", "address range"},      {"zz-2000 rw-p 0 00:00 0", "address range"},
      {"2000-1000 rw-p 0 00:00 0", "address range"}, {"1000-2000 rwxq 0 00:00 0", "permissions"},
      {"1000-2000 rw 0 00:00 0", "permissions"},     {"1000-2000 rw-p g 00:00 0", "offset"},
      {"1000-2000 rw-p 0 0000 0", "device"},         {"1000-2000 rw-p 0 00:00 x", "inode"},
      {"1000-2000 rw-p 0 00:00", "inode"},           {"1000-2000 rw-p 0 00:00 -1", "inode"},
  };
  for (const BadLine& bad : kBad) {
    auto ranges = parseProcMaps({"1000-2000 rw-p 0 00:00 0", bad.line});
    ASSERT_FALSE(ranges) << bad.line;
    EXPECT_TRUE(ranges.error().isBadInput());
    EXPECT_THAT(ranges.error().describe(), HasSubstr("maps line 2")) << bad.line;
    EXPECT_THAT(ranges.error().describe(), HasSubstr(bad.message)) << bad.line;
  }
}

TEST(ProcMaps, MovableRangesDropUnreadableAndKernelMappings) {
  auto ranges = parseProcMaps({
      "1000-2000 rw-p 0 00:00 0 [heap]",
      "2000-3000 ---p 0 00:00 0",
      "3000-4000 r--p 0 00:00 0 [vvar]",
      "4000-5000 r-xp 0 00:00 0 [vdso]",
      "5000-6000 r--p 0 fe:00 12 /lib/x.so",
      "ffffffffff600000-ffffffffff601000 --xp 0 00:00 0 [vsyscall]",
  });
  ASSERT_TRUE(ranges);
  auto movable = movableRanges(*ranges);
  ASSERT_EQ(movable.size(), 2u);
  EXPECT_EQ(movable[0].path, "[heap]");
  EXPECT_EQ(movable[1].path, "/lib/x.so");
}

TEST(NumaMaps, SumsNodesInBasePages) {
  auto entries = parseNumaMaps(
      {
          "7fdd84b85000 default anon=65540 dirty=65540 active=0 N2=59040 N3=6500 "
          "kernelpagesize_kB=4",
          "56479468f000 default file=/usr/bin/cat mapped=2 N0=2 kernelpagesize_kB=4",
          "7f0000000000 bind:2-3 file=/tmp/a N9=1 b huge anon=2 dirty=2 N1=2 "
          "kernelpagesize_kB=2048",
          "7ffc8f2f6000 default stack anon=4 dirty=4 active=1 N2=4 kernelpagesize_kB=4",
          "7f1000000000 default",
      },
      4096);
  ASSERT_TRUE(entries) << entries.error().describe();
  ASSERT_EQ(entries->size(), 5u);
  EXPECT_EQ((*entries)[0].start, 0x7fdd84b85000u);
  EXPECT_EQ((*entries)[0].policy, "default");
  EXPECT_EQ((*entries)[0].pages_per_node, (std::map<int, uint64_t>{{2, 59040}, {3, 6500}}));
  // A path with spaces and a word like a node count is still the path; huge pages count 512.
  EXPECT_EQ((*entries)[2].policy, "bind:2-3");
  EXPECT_EQ((*entries)[2].pages_per_node, (std::map<int, uint64_t>{{1, 1024}}));
  EXPECT_TRUE((*entries)[4].pages_per_node.empty());

  std::vector<MapRange> ranges = {
      {0x7fdd84b85000, 0x7fdd94b85000, "rw-p", 0, "00:00", 0, ""},
      {0x7ffc8f2f6000, 0x7ffc8f317000, "rw-p", 0, "00:00", 0, "[stack]"}};
  EXPECT_EQ(numaMapsPagesIn(*entries, ranges), (std::map<int, uint64_t>{{2, 59044}, {3, 6500}}));
}

TEST(NumaMaps, RefusesMalformedLines) {
  for (const char* line : {"zz default N0=1", "7f00", "7f00 default N0=x kernelpagesize_kB=4",
                           "7f00 default N0=1 kernelpagesize_kB=0"}) {
    auto entries = parseNumaMaps({line}, 4096);
    ASSERT_FALSE(entries) << line;
    EXPECT_THAT(entries.error().describe(), HasSubstr("numa_maps line 1")) << line;
  }
}

TEST(MemsAllowed, ReadsTheListLineOfStatus) {
  auto nodes = parseMemsAllowed({"Name:\tmemhold", "Mems_allowed:\t00000000,00000006",
                                 "Mems_allowed_list:\t1-2,5", "voluntary_ctxt_switches:\t3"});
  ASSERT_TRUE(nodes) << nodes.error().describe();
  EXPECT_EQ(*nodes, NodeSet::of({1, 2, 5}));
}

TEST(MemsAllowed, RefusesAStatusWithoutTheLineOrWithGarbage) {
  auto none = parseMemsAllowed({"Name:\tx", "Mems_allowed:\t1"});
  ASSERT_FALSE(none);
  EXPECT_TRUE(none.error().isBadInput());
  EXPECT_THAT(none.error().describe(), HasSubstr("Mems_allowed_list"));
  EXPECT_FALSE(parseMemsAllowed({"Mems_allowed_list:\t1-x"}));
}

}  // namespace
}  // namespace softzone::zones

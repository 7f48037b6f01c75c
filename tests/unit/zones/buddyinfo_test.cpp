// parseBuddyinfo / readNodeFreeBytesAt: every node's free memory from one /proc/buddyinfo.
#include "softzone/zones/buddyinfo.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "softzone/zones/topology.h"
#include "support/fake_tree.h"

namespace softzone::zones {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kPage = 4096;

TEST(Buddyinfo, SumsEveryOrderOfEveryZoneOfANode) {
  auto free = parseBuddyinfo(
      "Node 0, zone      DMA      1      0      0      0      0      0      0      0      1      1"
      "      3 \n"
      "Node 0, zone    DMA32      2      1      0      0      0      0      0      0      0      0"
      "      1 \n"
      "Node 1, zone   Normal      0      0      1 \n",
      kPage);
  ASSERT_TRUE(free) << free.error().describe();
  // Node 0: DMA 1 + 256 + 512 + 3*1024, DMA32 2 + 2 + 1024; node 1: 4 pages.
  EXPECT_EQ(free->at(0), (1 + 256 + 512 + 3 * 1024 + 2 + 2 + 1024) * kPage);
  EXPECT_EQ(free->at(1), 4 * kPage);
  EXPECT_EQ(free->size(), 2u);
}

// The fixtures' buddyinfo has the zones of a real boot, its counts fitted to the capture's
// MemFree (tests/fixtures/*/MANIFEST): read through the parser, every node's free bytes are
// meminfo's MemFree, with DMA zones and 11 orders summed.
TEST(Buddyinfo, EveryNodeOfACapturedGuestIsItsMemFree) {
  for (const char* name : {"debian-6.1-fake8-v1", "debian-6.12-fake16-v2",
                           "debian-6.1-2socket-fake4U-v2", "debian-6.12-nofake-v2"}) {
    auto fs = FsRoot::open(std::string(SOFTZONE_FIXTURES) + "/" + name + "/root");
    ASSERT_TRUE(fs) << name;
    auto free = readNodeFreeBytesAt(*fs);
    auto memory = readNodeMemoryAt(*fs);
    ASSERT_TRUE(free) << name << ": " << free.error().describe();
    ASSERT_TRUE(memory) << name;
    for (const NodeMemory& node : *memory) {
      ASSERT_EQ(free->count(node.id), 1u) << name << " node " << node.id;
      EXPECT_EQ(free->at(node.id), node.mem_free_bytes) << name << " node " << node.id;
    }
    EXPECT_EQ(free->size(), memory->size()) << name;
  }
}

struct Garbage {
  const char* text;
  const char* says;
};

TEST(Buddyinfo, GarbageIsBadInputNamingTheLine) {
  for (const Garbage& g : {
           Garbage{"", "no \"Node N, zone\" line"},
           Garbage{"Node 0, zone Normal 1 2\nNode 1 zone Normal 1\n", "line 2: not \"Node N"},
           Garbage{"Node x, zone Normal 1\n", "line 1: the node is not a number"},
           Garbage{"Node -1, zone Normal 1\n", "the node is not a number"},
           Garbage{"Node 0, zone Normal\n", "line 1: no free counts after the zone's name"},
           Garbage{"Node 0, zone\n", "line 1: not \"Node N"},
           Garbage{"Node 0, zone Normal 1 -2\n", "order 1 count \"-2\" is not a number"},
           Garbage{"Node 0, zone Normal 1 2x\n", "order 1 count \"2x\""},
           Garbage{"Node 0, zone Normal 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 "
                   "0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1\n",
                   "more than 64 orders"},
           Garbage{"Node 0, zone Normal 0 18446744073709551615\n", "the free counts overflow"},
           Garbage{"Node 0, zone Normal 18446744073709551615\n"
                   "Node 0, zone Movable 1\n",
                   "line 2: node 0's free counts overflow"},
           Garbage{"Node 0, zone Normal 4503599627370496\n", "overflow in bytes"},
       }) {
    auto free = parseBuddyinfo(g.text, kPage);
    ASSERT_FALSE(free) << g.text;
    EXPECT_TRUE(free.error().isBadInput()) << g.text;
    EXPECT_THAT(free.error().describe(), HasSubstr(g.says)) << g.text;
  }
}

TEST(Buddyinfo, AMissingFileNamesIt) {
  testing::FakeTree tree;
  tree.put("/proc/meminfo", "MemTotal: 1 kB\n");
  auto free = readNodeFreeBytesAt(tree.open());
  ASSERT_FALSE(free);
  EXPECT_THAT(free.error().describe(), HasSubstr("buddyinfo"));
}

}  // namespace
}  // namespace softzone::zones

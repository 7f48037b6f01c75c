// readNodeMemoryAt: the per-node memory the page-moving commands read instead of the topology.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "softzone/zones/fs_root.h"
#include "softzone/zones/topology.h"
#include "support/fake_tree.h"

namespace softzone::zones {
namespace {

using ::testing::HasSubstr;

// On every tree captured in a guest it reads what the whole topology reads, node for node.
TEST(NodeMemory, SameAsTheTopologyOnCapturedTrees) {
  for (const char* name : {"debian-6.1-fake8-v1", "debian-6.12-fake16-v2",
                           "debian-6.1-2socket-fake4U-v2", "debian-6.12-nofake-v2"}) {
    auto fs = FsRoot::open(std::string(SOFTZONE_FIXTURES) + "/" + name + "/root");
    ASSERT_TRUE(fs) << name;
    auto topology = readTopologyAt(*fs);
    auto memory = readNodeMemoryAt(*fs);
    ASSERT_TRUE(topology) << name;
    ASSERT_TRUE(memory) << name << ": " << memory.error().describe();
    ASSERT_EQ(memory->size(), topology->nodes.size()) << name;
    for (size_t i = 0; i < memory->size(); ++i) {
      EXPECT_EQ((*memory)[i].id, topology->nodes[i].id) << name;
      EXPECT_EQ((*memory)[i].mem_total_bytes, topology->nodes[i].mem_total_bytes) << name;
      EXPECT_EQ((*memory)[i].mem_free_bytes, topology->nodes[i].mem_free_bytes) << name;
    }
  }
}

TEST(NodeMemory, GarbageIsBadInputNamingTheFile) {
  testing::FakeTree tree;
  tree.put("/sys/devices/system/node/node0/meminfo",
           "Node 0 MemTotal:       lots kB\nNode 0 MemFree:  1 kB\n");
  auto memory = readNodeMemoryAt(tree.open());
  ASSERT_FALSE(memory);
  EXPECT_TRUE(memory.error().isBadInput());
  EXPECT_THAT(memory.error().describe(), HasSubstr("node0/meminfo"));

  testing::FakeTree missing_free;
  missing_free.put("/sys/devices/system/node/node0/meminfo", "Node 0 MemTotal:  1024 kB\n");
  auto no_free = readNodeMemoryAt(missing_free.open());
  ASSERT_FALSE(no_free);
  EXPECT_THAT(no_free.error().describe(), HasSubstr("MemFree"));
}

// A kernel without NUMA sysfs: one node 0 holding /proc/meminfo's memory.
TEST(NodeMemory, WithoutNumaSysfsNodeZeroIsTheMachine) {
  testing::FakeTree tree;
  tree.put("/proc/meminfo", "MemTotal:  2048 kB\nMemFree:  1024 kB\n");
  auto memory = readNodeMemoryAt(tree.open());
  ASSERT_TRUE(memory) << memory.error().describe();
  ASSERT_EQ(memory->size(), 1u);
  EXPECT_EQ((*memory)[0].id, 0);
  EXPECT_EQ((*memory)[0].mem_total_bytes, 2048u * 1024);
  EXPECT_EQ((*memory)[0].mem_free_bytes, 1024u * 1024);
}

}  // namespace
}  // namespace softzone::zones

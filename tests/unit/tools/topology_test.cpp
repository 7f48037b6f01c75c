// Tests for the topology readers: pure parsers, physical grouping, synthetic sysfs trees.
#include "softzone/zones/topology.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <system_error>

#include "softzone/zones/size.h"
#include "support/fake_tree.h"

namespace softzone::zones {
namespace {

using ::softzone::testing::FakeMachine;
using ::softzone::testing::FakeNode;
using ::softzone::testing::fakeNodes;
using ::softzone::testing::FakeTree;
using ::softzone::testing::putMachine;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// --- parseMeminfoFromLines ---

TEST(ParseMeminfo, NodeLinesInBytes) {
  auto fields = parseMeminfoFromLines(
      {"Node 3 MemTotal:        1014764 kB", "Node 3 MemFree:          853216 kB",
       "Node 3 Active(anon):          4 kB", "Node 3 HugePages_Total:     7", ""},
      3);
  ASSERT_TRUE(fields) << fields.error().describe();
  EXPECT_EQ(fields->at("MemTotal"), 1014764 * kKiB);
  EXPECT_EQ(fields->at("MemFree"), 853216 * kKiB);
  EXPECT_EQ(fields->at("Active(anon)"), 4 * kKiB);
  EXPECT_EQ(fields->at("HugePages_Total"), 7u);  // no unit: a count, not kB
}

TEST(ParseMeminfo, ProcMeminfoHasNoNodePrefix) {
  auto fields = parseMeminfoFromLines({"MemTotal:       16297148 kB", "MemFree: 1 kB"});
  ASSERT_TRUE(fields);
  EXPECT_EQ(fields->at("MemTotal"), 16297148 * kKiB);
}

TEST(ParseMeminfo, WrongNodeIsBadInput) {
  auto fields = parseMeminfoFromLines({"Node 1 MemTotal: 5 kB"}, 0);
  ASSERT_FALSE(fields);
  EXPECT_TRUE(fields.error().isBadInput());
  EXPECT_THAT(fields.error().message(), HasSubstr("line 1"));
  EXPECT_THAT(fields.error().message(), HasSubstr("Node 0 "));
}

TEST(ParseMeminfo, MalformedValuesAreBadInput) {
  for (const char* line : {"MemTotal 5 kB", "MemTotal: kB", "MemTotal: 5 MB", "MemTotal: -5 kB",
                           "MemTotal: 5 kB extra", ": 5 kB", "MemTotal: 99999999999999999999 kB",
                           "MemTotal: 18014398509481984 kB"}) {
    auto fields = parseMeminfoFromLines({line});
    EXPECT_FALSE(fields) << line;
    if (!fields) {
      EXPECT_TRUE(fields.error().isBadInput()) << line;
    }
  }
}

// --- parseDistanceRow, parseNodeDirName ---

TEST(ParseDistanceRow, Values) {
  auto row = parseDistanceRow("10 20 20 10\n");
  ASSERT_TRUE(row);
  EXPECT_THAT(*row, ElementsAre(10, 20, 20, 10));
}

TEST(ParseDistanceRow, BadRowsAreBadInput) {
  for (const char* text : {"", "\n", "10 x", "10 -1", "10 256", "10,20"}) {
    auto row = parseDistanceRow(text);
    EXPECT_FALSE(row) << text;
    if (!row) {
      EXPECT_TRUE(row.error().isBadInput());
    }
  }
}

TEST(ParseNodeDirName, OnlyNodeDirectories) {
  EXPECT_EQ(parseNodeDirName("node0"), 0);
  EXPECT_EQ(parseNodeDirName("node17"), 17);
  EXPECT_EQ(parseNodeDirName("node"), std::nullopt);
  EXPECT_EQ(parseNodeDirName("node01"), std::nullopt);
  EXPECT_EQ(parseNodeDirName("nodex"), std::nullopt);
  EXPECT_EQ(parseNodeDirName("online"), std::nullopt);
  EXPECT_EQ(parseNodeDirName("has_cpu"), std::nullopt);
  EXPECT_EQ(parseNodeDirName("node99999"), std::nullopt);
}

// --- parseNumaCmdline ---

TEST(ParseNumaCmdline, FindsFakeNuma) {
  NumaCmdline cmdline = parseNumaCmdline("BOOT_IMAGE=/vmlinuz root=/dev/vda1 numa=fake=4U quiet");
  EXPECT_EQ(cmdline.fake_numa_arg, "4U");
  EXPECT_FALSE(cmdline.numa_off);
}

TEST(ParseNumaCmdline, LastOneWinsAndNumaOffIsSeen) {
  NumaCmdline cmdline = parseNumaCmdline("numa=fake=8 numa=off numa=fake=512M");
  EXPECT_EQ(cmdline.fake_numa_arg, "512M");
  EXPECT_TRUE(cmdline.numa_off);
}

TEST(ParseNumaCmdline, InitArgumentsAreNotKernelParameters) {
  NumaCmdline cmdline = parseNumaCmdline("root=/dev/vda1 -- numa=fake=8");
  EXPECT_EQ(cmdline.fake_numa_arg, std::nullopt);
}

TEST(ParseNumaCmdline, QuotesKeepSpacesInsideOneParameter) {
  NumaCmdline cmdline = parseNumaCmdline("dyndbg=\"file x numa=fake=8\" \"numa=fake=2\"");
  EXPECT_EQ(cmdline.fake_numa_arg, "2");
}

TEST(ParseNumaCmdline, NothingAboutNuma) {
  NumaCmdline cmdline = parseNumaCmdline("");
  EXPECT_EQ(cmdline.fake_numa_arg, std::nullopt);
  EXPECT_FALSE(cmdline.numa_off);
}

// --- parseKernelConfigFromLines, parseProcVersion ---

TEST(ParseKernelConfig, DebianConfig) {
  KernelConfig config = parseKernelConfigFromLines(
      {"#", "# Automatically generated file; DO NOT EDIT.", "CONFIG_NUMA=y", "CONFIG_NUMA_EMU=y",
       "CONFIG_NODES_SHIFT=10", "CONFIG_CPUSETS_V1=y"});
  EXPECT_EQ(config.nodes_shift, 10);
  EXPECT_EQ(config.numa_emu, true);
  EXPECT_EQ(config.cpusets_v1, true);
}

TEST(ParseKernelConfig, NotSetAndAbsentSymbols) {
  KernelConfig config =
      parseKernelConfigFromLines({"# CONFIG_NUMA is not set", "# CONFIG_CPUSETS_V1 is not set"});
  EXPECT_EQ(config.nodes_shift, 0);  // no NUMA: MAX_NUMNODES is 1
  EXPECT_EQ(config.numa_emu, false);
  EXPECT_EQ(config.cpusets_v1, false);
}

TEST(ParseKernelConfig, NotAConfigSaysNothing) {
  KernelConfig config = parseKernelConfigFromLines({"hello", ""});
  EXPECT_EQ(config.nodes_shift, std::nullopt);
  EXPECT_EQ(config.numa_emu, std::nullopt);
}

TEST(ParseKernelConfig, NonsenseShiftIsUnknown) {
  EXPECT_EQ(parseKernelConfigFromLines({"CONFIG_NODES_SHIFT=x"}).nodes_shift, std::nullopt);
  EXPECT_EQ(parseKernelConfigFromLines({"CONFIG_NODES_SHIFT=40"}).nodes_shift, std::nullopt);
}

TEST(ParseProcVersion, Release) {
  EXPECT_EQ(parseProcVersion("Linux version 6.1.0-28-amd64 (debian-kernel@lists.debian.org) #1"),
            "6.1.0-28-amd64");
  EXPECT_EQ(parseProcVersion("garbage"), std::nullopt);
}

// --- groupPhysicalNodes ---

std::vector<NodeInfo> nodesFrom(const std::vector<FakeNode>& fakes) {
  std::vector<NodeInfo> nodes;
  for (const FakeNode& fake : fakes) {
    NodeInfo node;
    node.id = fake.id;
    node.mem_total_bytes = fake.total_kb * kKiB;
    node.cpus = NodeSet::parseKernelList(fake.cpulist).value();
    node.distances = fake.distances;
    nodes.push_back(node);
  }
  return nodes;
}

TEST(GroupPhysicalNodes, EightFakeNodesOnOnePhysical) {
  std::vector<NodeInfo> nodes = nodesFrom(fakeNodes(1, 8, 1024));
  std::vector<PhysicalNode> groups = groupPhysicalNodes(nodes);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].id, 0);
  EXPECT_EQ(groups[0].nodes, NodeSet::range(0, 7));
  EXPECT_EQ(groups[0].mem_total_bytes, 8 * 1024 * kKiB);
  for (const NodeInfo& node : nodes) EXPECT_EQ(node.physical_node, 0);
}

TEST(GroupPhysicalNodes, TwoSocketsOfFourFake) {
  std::vector<NodeInfo> nodes = nodesFrom(fakeNodes(2, 4, 1024));
  std::vector<PhysicalNode> groups = groupPhysicalNodes(nodes);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].id, 0);
  EXPECT_EQ(groups[0].nodes, NodeSet::range(0, 3));
  EXPECT_EQ(groups[0].cpus, NodeSet::of({0}));
  EXPECT_EQ(groups[1].id, 4);
  EXPECT_EQ(groups[1].nodes, NodeSet::range(4, 7));
  EXPECT_EQ(groups[1].cpus, NodeSet::of({1}));
  EXPECT_EQ(nodes[5].physical_node, 4);
}

TEST(GroupPhysicalNodes, RealNodesStandAlone) {
  std::vector<NodeInfo> nodes = nodesFrom(fakeNodes(2, 1, 1024));
  EXPECT_EQ(groupPhysicalNodes(nodes).size(), 2u);
  EXPECT_EQ(nodes[1].physical_node, 1);
}

TEST(GroupPhysicalNodes, SameDistanceDifferentCpusAreDifferentNodes) {
  std::vector<FakeNode> fakes = fakeNodes(1, 2, 1024);
  fakes[1].cpulist = "4-7";
  std::vector<NodeInfo> nodes = nodesFrom(fakes);
  EXPECT_EQ(groupPhysicalNodes(nodes).size(), 2u);
}

// --- readTopologyAt on synthetic trees ---

TEST(ReadTopology, EightFakeNodesOnOnePhysicalNode) {
  FakeTree tree;
  putMachine(tree, FakeMachine{});
  auto topology = readTopologyAt(tree.open());
  ASSERT_TRUE(topology) << topology.error().describe();
  EXPECT_EQ(topology->kernel_release, "6.1.0-28-amd64");
  EXPECT_EQ(topology->numa_cmdline.fake_numa_arg, "8");
  EXPECT_TRUE(topology->fakeNumaActive());
  EXPECT_EQ(topology->maxNodes(), 1024);
  EXPECT_EQ(topology->config_path, "/boot/config-6.1.0-28-amd64");
  EXPECT_TRUE(topology->numa_sysfs);
  ASSERT_EQ(topology->nodes.size(), 8u);
  EXPECT_EQ(topology->nodes[3].id, 3);
  EXPECT_EQ(topology->nodes[3].mem_total_bytes, 131072 * kKiB);
  EXPECT_EQ(topology->nodes[3].mem_free_bytes, 65536 * kKiB);
  EXPECT_EQ(topology->nodes[3].cpus, NodeSet::range(0, 3));
  EXPECT_EQ(topology->nodes[3].distances, std::vector<int>(8, 10));
  ASSERT_EQ(topology->physical_nodes.size(), 1u);
  EXPECT_EQ(topology->physical_nodes[0].nodes, NodeSet::range(0, 7));
  EXPECT_EQ(topology->mem_total_bytes, 8 * 131072 * kKiB);
  EXPECT_EQ(topology->mem_free_bytes, 8 * 65536 * kKiB);
  EXPECT_EQ(topology->cpus, NodeSet::range(0, 3));
  EXPECT_EQ(topology->online_nodes, NodeSet::range(0, 7));
}

TEST(ReadTopology, TwoPhysicalNodesOfFourFakeEach) {
  FakeTree tree;
  FakeMachine machine;
  machine.cmdline = "root=/dev/vda1 numa=fake=4U";
  machine.nodes = fakeNodes(2, 4, 262144);
  putMachine(tree, machine);
  auto topology = readTopologyAt(tree.open());
  ASSERT_TRUE(topology) << topology.error().describe();
  ASSERT_EQ(topology->physical_nodes.size(), 2u);
  EXPECT_EQ(topology->physical_nodes[1].id, 4);
  EXPECT_EQ(topology->physical_nodes[1].nodes, NodeSet::range(4, 7));
  EXPECT_EQ(topology->physical_nodes[1].mem_total_bytes, 4 * 262144 * kKiB);
  EXPECT_EQ(topology->nodes[6].physical_node, 4);
  EXPECT_EQ(topology->distance(0, 3), 10);
  EXPECT_EQ(topology->distance(0, 4), 20);
  EXPECT_EQ(topology->distance(0, 9), std::nullopt);
  EXPECT_EQ(topology->cpus, NodeSet::range(0, 1));
}

TEST(ReadTopology, NoNodeDirIsOneNodeHoldingProcMeminfo) {
  FakeTree tree;
  FakeMachine machine;
  machine.cmdline = "root=/dev/vda1";
  putMachine(tree, machine);
  tree.remove("/sys/devices/system/node");
  auto topology = readTopologyAt(tree.open());
  ASSERT_TRUE(topology) << topology.error().describe();
  EXPECT_FALSE(topology->numa_sysfs);
  EXPECT_FALSE(topology->fakeNumaActive());
  ASSERT_EQ(topology->nodes.size(), 1u);
  EXPECT_EQ(topology->nodes[0].mem_total_bytes, 8 * 131072 * kKiB);  // /proc/meminfo's total
  EXPECT_EQ(topology->nodes[0].cpus, NodeSet::range(0, 3));          // cpu/online
  EXPECT_THAT(topology->nodes[0].distances, ElementsAre(10));
  EXPECT_EQ(topology->physical_nodes.size(), 1u);
}

TEST(ReadTopology, MeminfoWithoutMemTotalIsBadInputNamingTheFile) {
  FakeTree tree;
  putMachine(tree, FakeMachine{});
  tree.put("/sys/devices/system/node/node2/meminfo", "Node 2 MemFree: 5 kB\n");
  auto topology = readTopologyAt(tree.open());
  ASSERT_FALSE(topology);
  EXPECT_TRUE(topology.error().isBadInput());
  EXPECT_EQ(topology.error().message(), "/sys/devices/system/node/node2/meminfo: no MemTotal line");
}

TEST(ReadTopology, GarbledMeminfoNamesFileAndLine) {
  FakeTree tree;
  putMachine(tree, FakeMachine{});
  tree.put("/sys/devices/system/node/node1/meminfo", "Node 1 MemTotal: 5 kB\nwhat\n");
  auto topology = readTopologyAt(tree.open());
  ASSERT_FALSE(topology);
  EXPECT_THAT(topology.error().message(),
              HasSubstr("/sys/devices/system/node/node1/meminfo: line 2"));
}

TEST(ReadTopology, MissingCpulistIsAnErrorNamingTheFile) {
  FakeTree tree;
  putMachine(tree, FakeMachine{});
  tree.remove("/sys/devices/system/node/node5/cpulist");
  auto topology = readTopologyAt(tree.open());
  ASSERT_FALSE(topology);
  EXPECT_EQ(topology.error().code(), std::errc::no_such_file_or_directory);
  EXPECT_THAT(topology.error().describe(), HasSubstr("/sys/devices/system/node/node5/cpulist"));
}

TEST(ReadTopology, UnparsableCpulistIsBadInputNamingTheFile) {
  FakeTree tree;
  putMachine(tree, FakeMachine{});
  tree.put("/sys/devices/system/node/node0/cpulist", "0-x\n");
  auto topology = readTopologyAt(tree.open());
  ASSERT_FALSE(topology);
  EXPECT_TRUE(topology.error().isBadInput());
  EXPECT_THAT(topology.error().message(), HasSubstr("/sys/devices/system/node/node0/cpulist"));
}

TEST(ReadTopology, ShortDistanceRowIsBadInput) {
  FakeTree tree;
  putMachine(tree, FakeMachine{});
  tree.put("/sys/devices/system/node/node7/distance", "10 10\n");
  auto topology = readTopologyAt(tree.open());
  ASSERT_FALSE(topology);
  EXPECT_TRUE(topology.error().isBadInput());
  EXPECT_EQ(topology.error().message(),
            "/sys/devices/system/node/node7/distance: 2 distances for 8 nodes");
}

TEST(ReadTopology, EmptyNodeDirIsBadInput) {
  FakeTree tree;
  putMachine(tree, FakeMachine{});
  tree.remove("/sys/devices/system/node");
  tree.mkdir("/sys/devices/system/node");
  auto topology = readTopologyAt(tree.open());
  ASSERT_FALSE(topology);
  EXPECT_TRUE(topology.error().isBadInput());
}

TEST(ReadTopology, MissingCmdlineIsAnError) {
  FakeTree tree;
  putMachine(tree, FakeMachine{});
  tree.remove("/proc/cmdline");
  auto topology = readTopologyAt(tree.open());
  ASSERT_FALSE(topology);
  EXPECT_THAT(topology.error().describe(), HasSubstr("/proc/cmdline"));
}

TEST(ReadTopology, OptionalFilesMayBeMissing) {
  FakeTree tree;
  FakeMachine machine;
  machine.config.clear();
  putMachine(tree, machine);
  tree.remove("/proc/sys/kernel/osrelease");
  tree.remove("/sys/devices/system/node/online");
  tree.remove("/sys/devices/system/node/possible");
  tree.put("/proc/version", "Linux version 6.12.9-amd64 (debian-kernel@lists.debian.org) #1\n");
  auto topology = readTopologyAt(tree.open());
  ASSERT_TRUE(topology) << topology.error().describe();
  EXPECT_EQ(topology->kernel_release, "6.12.9-amd64");
  EXPECT_EQ(topology->maxNodes(), std::nullopt);
  EXPECT_TRUE(topology->config_path.empty());
  EXPECT_TRUE(topology->fakeNumaActive());  // unknown config: trust the command line
  EXPECT_EQ(topology->online_nodes, NodeSet::range(0, 7));
}

TEST(ReadTopology, FakeNumaIgnoredWithoutNumaEmuOrWithNumaOff) {
  FakeTree tree;
  FakeMachine machine;
  machine.config = "CONFIG_NUMA=y\n# CONFIG_NUMA_EMU is not set\nCONFIG_NODES_SHIFT=6\n";
  putMachine(tree, machine);
  auto topology = readTopologyAt(tree.open());
  ASSERT_TRUE(topology);
  EXPECT_FALSE(topology->fakeNumaActive());
  EXPECT_EQ(topology->maxNodes(), 64);

  machine.config = "CONFIG_NUMA_EMU=y\n";
  machine.cmdline = "numa=fake=8 numa=off";
  putMachine(tree, machine);
  topology = readTopologyAt(tree.open());
  ASSERT_TRUE(topology);
  EXPECT_FALSE(topology->fakeNumaActive());
}

TEST(ReadTopology, NodeIdsWithGapsFollowTheListing) {
  FakeTree tree;
  FakeMachine machine;
  machine.nodes = fakeNodes(2, 1, 1024);
  machine.nodes[1].id = 2;
  putMachine(tree, machine);
  tree.put("/sys/devices/system/node/online", "0,2\n");
  auto topology = readTopologyAt(tree.open());
  ASSERT_TRUE(topology) << topology.error().describe();
  ASSERT_EQ(topology->nodes.size(), 2u);
  EXPECT_EQ(topology->nodes[1].id, 2);
  EXPECT_EQ(topology->distance(2, 0), 20);
  EXPECT_EQ(topology->online_nodes, NodeSet::of({0, 2}));
}

}  // namespace
}  // namespace softzone::zones

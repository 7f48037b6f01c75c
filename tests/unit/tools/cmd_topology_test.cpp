// Tests for `zonectl topology` run in-process against synthetic trees: text, JSON, exit policy.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "command.h"
#include "support/fake_tree.h"

namespace softzone::tools {
namespace {

using ::softzone::testing::FakeMachine;
using ::softzone::testing::fakeNodes;
using ::softzone::testing::FakeTree;
using ::softzone::testing::putMachine;
using ::testing::HasSubstr;
using ::testing::Not;

struct Outcome {
  Status status;
  std::string out;
  std::string err;
};

Outcome runTopology(const FakeTree& tree, bool json, std::vector<std::string> args = {},
                    cpuset::CgroupMode mode = cpuset::CgroupMode::kAuto) {
  std::ostringstream out;
  std::ostringstream err;
  Context ctx{tree.open(), json, mode, out, err};
  Status status = cmdTopology(ctx, args);
  return {std::move(status), out.str(), err.str()};
}

TEST(CmdTopology, TextForEightFakeNodes) {
  FakeTree tree;
  putMachine(tree, FakeMachine{});
  Outcome run = runTopology(tree, false);
  ASSERT_TRUE(run.status) << run.status.error().describe();
  EXPECT_THAT(run.out, HasSubstr("kernel release:    6.1.0-28-amd64\n"));
  EXPECT_THAT(run.out,
              HasSubstr("fake NUMA:         active, numa=fake=8 (8 nodes over all RAM)\n"));
  EXPECT_THAT(run.out, HasSubstr("max nodes:         1024 (CONFIG_NODES_SHIFT=10)\n"));
  EXPECT_THAT(run.out,
              HasSubstr("cpuset interfaces: v2 at /sys/fs/cgroup (cpuset controller available)\n"));
  EXPECT_THAT(run.out, HasSubstr("cgroup backend:    v2 at /sys/fs/cgroup (--cgroup auto)\n"));
  EXPECT_THAT(run.out, HasSubstr("NODE  PHYS  SIZE (MiB)  FREE (MiB)  CPUS  DISTANCES\n"));
  EXPECT_THAT(run.out,
              HasSubstr("   7     0         128          64  0-3   10 10 10 10 10 10 10 10\n"));
}

TEST(CmdTopology, TextWithoutFakeNuma) {
  FakeTree tree;
  FakeMachine machine;
  machine.cmdline = "root=/dev/vda1";
  machine.nodes = fakeNodes(2, 1, 1024 * 1024);
  putMachine(tree, machine);
  Outcome run = runTopology(tree, false);
  ASSERT_TRUE(run.status);
  EXPECT_THAT(run.out,
              HasSubstr("not active (no numa=fake= on the kernel command line): this machine has 2 "
                        "real NUMA nodes; softzone needs a kernel booted with numa=fake=, see "
                        "`zonectl plan`"));
  EXPECT_THAT(run.out, HasSubstr("in 2 nodes on 2 physical nodes"));
}

TEST(CmdTopology, TextWithoutNumaSysfsAndConfig) {
  FakeTree tree;
  FakeMachine machine;
  machine.config.clear();
  machine.mountinfo = "1 0 0:1 / / rw - ext4 /dev/vda rw\n";
  putMachine(tree, machine);
  tree.remove("/sys/devices/system/node");
  Outcome run = runTopology(tree, false);
  ASSERT_TRUE(run.status) << run.status.error().describe();
  EXPECT_THAT(run.out, HasSubstr("NUMA sysfs:        absent (no /sys/devices/system/node)"));
  EXPECT_THAT(run.out, HasSubstr("max nodes:         unknown (/boot/config-6.1.0-28-amd64 is not "
                                 "readable)"));
  EXPECT_THAT(run.out, HasSubstr("cpuset interfaces: none\n"));
  EXPECT_THAT(run.out, HasSubstr("cgroup backend:    none (no cgroup cpuset interface"));
}

TEST(CmdTopology, UnknownFakeNumaFormIsShownNotFatal) {
  FakeTree tree;
  FakeMachine machine;
  machine.cmdline = "numa=fake=512m";
  putMachine(tree, machine);
  Outcome run = runTopology(tree, false);
  ASSERT_TRUE(run.status);
  EXPECT_THAT(run.out, HasSubstr("active, numa=fake=512m (a form softzone does not understand:"));
}

TEST(CmdTopology, JsonForTwoSockets) {
  FakeTree tree;
  FakeMachine machine;
  machine.cmdline = "root=/dev/vda1 numa=fake=4U";
  machine.nodes = fakeNodes(2, 4, 262144);
  putMachine(tree, machine);
  Outcome run = runTopology(tree, true);
  ASSERT_TRUE(run.status);
  auto doc = nlohmann::json::parse(run.out);
  EXPECT_EQ(doc["kernel_release"], "6.1.0-28-amd64");
  EXPECT_EQ(doc["fake_numa"]["active"], true);
  EXPECT_EQ(doc["fake_numa"]["arg"], "4U");
  EXPECT_EQ(doc["fake_numa"]["form"]["kind"], "per_physical");
  EXPECT_EQ(doc["fake_numa"]["form"]["count"], 4);
  EXPECT_EQ(doc["max_nodes"], 1024);
  EXPECT_EQ(doc["nodes_shift"], 10);
  ASSERT_EQ(doc["physical_nodes"].size(), 2u);
  EXPECT_EQ(doc["physical_nodes"][1]["id"], 4);
  EXPECT_EQ(doc["physical_nodes"][1]["nodes"], nlohmann::json({4, 5, 6, 7}));
  EXPECT_EQ(doc["physical_nodes"][1]["cpus"], "1");
  ASSERT_EQ(doc["nodes"].size(), 8u);
  EXPECT_EQ(doc["nodes"][5]["physical_node"], 4);
  EXPECT_EQ(doc["nodes"][5]["mem_total_bytes"], 262144ull * 1024);
  EXPECT_EQ(doc["nodes"][5]["distances"], nlohmann::json({20, 20, 20, 20, 10, 10, 10, 10}));
  EXPECT_EQ(doc["mem_total_bytes"], 8ull * 262144 * 1024);
  EXPECT_EQ(doc["cgroup"]["v2"], "/sys/fs/cgroup");
  EXPECT_EQ(doc["cgroup"]["v1_cpuset"], nullptr);
  EXPECT_EQ(doc["cgroup"]["v2_cpuset_controller"], true);
  EXPECT_EQ(doc["cgroup"]["selected"]["version"], "v2");
}

TEST(CmdTopology, JsonNullsWhenUnknown) {
  FakeTree tree;
  FakeMachine machine;
  machine.cmdline = "quiet";
  machine.config.clear();
  putMachine(tree, machine);
  Outcome run = runTopology(tree, true, {}, cpuset::CgroupMode::kV1);
  ASSERT_TRUE(run.status);
  auto doc = nlohmann::json::parse(run.out);
  EXPECT_EQ(doc["fake_numa"]["active"], false);
  EXPECT_EQ(doc["fake_numa"]["arg"], nullptr);
  EXPECT_EQ(doc["fake_numa"]["form"], nullptr);
  EXPECT_EQ(doc["max_nodes"], nullptr);
  EXPECT_EQ(doc["nodes_shift"], nullptr);
  EXPECT_EQ(doc["cgroup"]["mode"], "v1");
  EXPECT_EQ(doc["cgroup"]["selected"], nullptr);
  EXPECT_THAT(doc["cgroup"]["selected_error"].get<std::string>(), HasSubstr("--cgroup v1"));
}

TEST(CmdTopology, MalformedTreeUnderRootIsBadInput) {
  FakeTree tree;
  putMachine(tree, FakeMachine{});
  tree.put("/sys/devices/system/node/node0/meminfo", "nonsense\n");
  Outcome run = runTopology(tree, false);
  ASSERT_FALSE(run.status);
  EXPECT_EQ(run.status.error().exitStatus(), 2);
  EXPECT_THAT(run.status.error().describe(), HasSubstr("in --root " + tree.path()));
  EXPECT_THAT(run.status.error().describe(), HasSubstr("/sys/devices/system/node/node0/meminfo"));
  EXPECT_EQ(run.out, "");
}

TEST(CmdTopology, MissingFileUnderRootIsBadInput) {
  FakeTree tree;
  putMachine(tree, FakeMachine{});
  tree.remove("/proc/self/mountinfo");
  Outcome run = runTopology(tree, false);
  ASSERT_FALSE(run.status);
  EXPECT_EQ(run.status.error().exitStatus(), 2);
  EXPECT_THAT(run.status.error().describe(), HasSubstr("/proc/self/mountinfo"));
  EXPECT_THAT(run.status.error().describe(), HasSubstr("No such file or directory"));
}

TEST(CmdTopology, HelpPrintsAndReadsNothing) {
  FakeTree tree;  // empty: reading it would fail
  Outcome run = runTopology(tree, false, {"--help"});
  ASSERT_TRUE(run.status);
  EXPECT_THAT(run.out, HasSubstr("usage: zonectl [global options] topology"));
  EXPECT_THAT(run.out, Not(HasSubstr("NODE")));
}

TEST(ReadError, LiveSystemKeepsFailuresAsFailures) {
  std::ostringstream out;
  std::ostringstream err;
  Context ctx{FsRoot::live().value(), false, cpuset::CgroupMode::kAuto, out, err};
  Error missing = readError(ctx, errnoError(ENOENT, "reading /proc/cmdline"));
  EXPECT_EQ(missing.exitStatus(), 1);
  EXPECT_EQ(missing.code(), std::errc::no_such_file_or_directory);
  Error garbled = readError(ctx, badInput("/proc/cmdline: bad"));
  EXPECT_EQ(garbled.exitStatus(), 1);
  EXPECT_EQ(garbled.code(), make_error_code(Errc::kUnsupported));
}

}  // namespace
}  // namespace softzone::tools

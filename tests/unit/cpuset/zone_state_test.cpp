// Tests for the zones' state: the state file's format, the drift rules, and reading a fake tree.
#include "softzone/cpuset/zone_state.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "softzone/zones/result.h"
#include "softzone/zones/size.h"
#include "support/fake_tree.h"

namespace softzone::cpuset {
namespace {

using ::softzone::testing::FakeMachine;
using ::softzone::testing::FakeTree;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

const CgroupChoice kV2{CgroupVersion::kV2, "/sys/fs/cgroup"};
const CgroupChoice kV1{CgroupVersion::kV1, "/sys/fs/cgroup/cpuset"};

NodeSet nodes(std::string_view text) { return NodeSet::parse(text).value(); }

StateFile sampleState() {
  StateFile state;
  state.cgroup_version = "v2";
  state.mount_point = "/sys/fs/cgroup";
  state.parent = "softzone";
  state.system = {nodes("0"), nodes("0-3"), {}};
  state.shared = StateZone{nodes("1"), nodes("0-3"), {"/lib", "/usr/lib"}};
  state.putPartition({"web", nodes("2-3"), nodes("1"), 512 * kMiB, 2 * kGiB, false});
  state.putPartition({"db", nodes("4-5"), NodeSet(), std::nullopt, std::nullopt, true});
  state.spec = "/etc/softzone/spec.ini";
  return state;
}

std::vector<std::string> names(const MachineZones& machine) {
  std::vector<std::string> out;
  for (const ZoneView& zone : machine.zones)
    out.push_back(zone.name + ":" + std::string(zoneKindName(zone.kind)));
  return out;
}

// --- the state file's format ---

TEST(StateFile, RoundTrips) {
  StateFile state = sampleState();
  auto parsed = parseStateFile(formatStateFile(state));
  ASSERT_TRUE(parsed) << parsed.error().describe();
  EXPECT_EQ(formatStateFile(*parsed), formatStateFile(state));
  ASSERT_EQ(parsed->partitions.size(), 2u);
  EXPECT_EQ(parsed->partitions[0].name, "db");  // kept sorted by name
  EXPECT_TRUE(parsed->partitions[0].mem_hardwall);
  EXPECT_EQ(parsed->partitions[1].min_bytes, 512 * kMiB);
  EXPECT_EQ(parsed->shared->bind, (std::vector<std::string>{"/lib", "/usr/lib"}));
}

TEST(StateFile, DamageIsAMismatchNamingWhat) {
  struct Case {
    const char* text;
    const char* says;
  };
  for (
      const Case& c : {
          Case{"{", "not JSON"},
          Case{"[]", "not a JSON object"},
          Case{R"({"version": 2})", "version"},
          Case{R"({"version": 1})", "cgroup"},
          Case{R"({"version": 1, "cgroup": {"version": "v3", "mount_point": "/x", "parent": "s"}})",
               "cgroup.version"},
          Case{
              R"({"version": 1, "cgroup": {"version": "v2", "mount_point": "/x", "parent": "../x"}})",
              "cgroup.parent"},
          Case{R"({"version": 1, "cgroup": {"version": "v2", "mount_point": "/x", "parent": "s"},
                "system": {"nodes": "0-"}, "partitions": []})",
               "system.nodes"},
          Case{R"({"version": 1, "cgroup": {"version": "v2", "mount_point": "/x", "parent": "s"},
                "system": {"nodes": "0"}, "partitions": [{"name": "a/b"}]})",
               "not a partition name"},
          Case{R"({"version": 1, "cgroup": {"version": "v2", "mount_point": "/x", "parent": "s"},
                "system": {"nodes": "0"}, "partitions": [{"name": "a"}, {"name": "a"}]})",
               "twice"},
      }) {
    auto parsed = parseStateFile(c.text);
    ASSERT_FALSE(parsed) << c.text;
    EXPECT_EQ(parsed.error().code(), make_error_code(Errc::kMismatch)) << c.text;
    EXPECT_THAT(parsed.error().message(), HasSubstr(c.says)) << c.text;
    EXPECT_THAT(parsed.error().message(), HasSubstr("/var/lib/softzone/state.json"));
  }
}

// --- the zones and the drift rules ---

TEST(BuildMachineZones, NoStateFileSystemIsNodeZeroRestFree) {
  MachineZones machine =
      buildMachineZones(kV2, "softzone", std::nullopt, {}, nodes("0-7"), nodes("0-3"));
  EXPECT_THAT(names(machine), ElementsAre("system:system", "free:free"));
  EXPECT_EQ(machine.find("system")->nodes, nodes("0"));
  EXPECT_EQ(machine.find("free")->nodes, nodes("1-7"));
  EXPECT_EQ(machine.find("free")->cgroup_path, "");
  EXPECT_THAT(machine.drift, IsEmpty());
  EXPECT_EQ(machine.find("nope"), nullptr);
}

TEST(BuildMachineZones, AgreeingStateAndTreeHaveNoDrift) {
  std::vector<CgroupSnapshot> tree = {{"db", nodes("4-5"), nodes("0-3"), true},
                                      {"web", nodes("2-3"), nodes("1"), false}};
  MachineZones machine =
      buildMachineZones(kV2, "softzone", sampleState(), tree, nodes("0-7"), nodes("0-3"));
  EXPECT_THAT(names(machine), ElementsAre("system:system", "shared:shared", "db:partition",
                                          "web:partition", "free:free"));
  EXPECT_THAT(machine.drift, IsEmpty());
  const ZoneView* web = machine.find("web");
  EXPECT_EQ(web->cgroup_path, "softzone/web");
  EXPECT_EQ(web->cpus, nodes("1"));
  EXPECT_EQ(web->max_bytes, 2 * kGiB);
  EXPECT_EQ(machine.find("shared")->nodes, nodes("1"));
  EXPECT_EQ(machine.find("free")->nodes, nodes("6-7"));
  EXPECT_THAT(machine.partitions(), SizeIs(2));
}

TEST(BuildMachineZones, TheTreeIsTheTruthAndDisagreementIsDrift) {
  // web's mems were changed behind softzone's back, db's cgroup is gone, "extra" was made by
  // hand and overlaps the shared zone and web.
  std::vector<CgroupSnapshot> tree = {{"extra", nodes("1,3"), nodes("0-3"), false},
                                      {"web", nodes("2-3,6"), nodes("1"), false}};
  MachineZones machine =
      buildMachineZones(kV2, "softzone", sampleState(), tree, nodes("0-7"), nodes("0-3"));
  EXPECT_EQ(machine.find("web")->nodes, nodes("2-3,6"));
  EXPECT_EQ(machine.find("db"), nullptr);
  EXPECT_EQ(machine.find("extra")->kind, ZoneKind::kPartition);
  EXPECT_FALSE(machine.find("extra")->in_state);
  EXPECT_EQ(machine.find("free")->nodes, nodes("4-5,7"));
  std::string all;
  for (const std::string& line : machine.drift) all += line + "\n";
  EXPECT_THAT(all,
              HasSubstr("partition db: in the state file, but its cgroup softzone/db is gone"));
  EXPECT_THAT(
      all, HasSubstr("partition web: cpuset.mems is \"2-3,6\", the state file recorded \"2-3\""));
  EXPECT_THAT(all, HasSubstr("partition extra: cgroup softzone/extra is not in the state file"));
  EXPECT_THAT(all, HasSubstr("partition extra: nodes 1 belong to the shared zone"));
  EXPECT_THAT(all, HasSubstr("partitions extra and web share nodes 3"));
  EXPECT_THAT(machine.drift, SizeIs(5));
}

TEST(BuildMachineZones, EmptyAbsentAndSystemNodesAreDrift) {
  StateFile state = sampleState();
  state.partitions.clear();
  state.putPartition({"a", NodeSet(), NodeSet(), {}, {}, false});
  state.putPartition({"b", nodes("0,9"), NodeSet(), {}, {}, false});
  std::vector<CgroupSnapshot> tree = {{"a", NodeSet(), nodes("0-3"), false},
                                      {"b", nodes("0,9"), nodes("0-3"), false}};
  MachineZones machine =
      buildMachineZones(kV2, "softzone", state, tree, nodes("0-7"), nodes("0-3"));
  std::string all;
  for (const std::string& line : machine.drift) all += line + "\n";
  EXPECT_THAT(all, HasSubstr("partition a: its cpuset.mems is empty"));
  EXPECT_THAT(all, HasSubstr("partition b: nodes 9 are not online"));
  EXPECT_THAT(all, HasSubstr("partition b: nodes 0 belong to the system zone"));
}

TEST(BuildMachineZones, StateOfAnotherInterfaceIsDrift) {
  MachineZones machine =
      buildMachineZones(kV1, "softzone", sampleState(), {}, nodes("0-7"), nodes("0-3"));
  ASSERT_FALSE(machine.drift.empty());
  EXPECT_THAT(machine.drift[0],
              HasSubstr("written for cgroup v2 at /sys/fs/cgroup, but cgroup v1"));
}

// --- reading a fake tree ---

class ReadMachineZonesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::softzone::testing::putMachine(tree_, FakeMachine{});
    tree_.put("/sys/fs/cgroup/cgroup.procs", "1\n");
    tree_.put("/sys/fs/cgroup/cpuset.mems.effective", "0-7\n");
  }

  void putCgroup(const std::string& path, const std::string& mems, const std::string& cpus) {
    tree_.put("/sys/fs/cgroup/" + path + "/cpuset.mems", mems + "\n");
    tree_.put("/sys/fs/cgroup/" + path + "/cpuset.cpus", cpus + "\n");
    tree_.put("/sys/fs/cgroup/" + path + "/cpuset.cpus.effective", "0-3\n");
    tree_.put("/sys/fs/cgroup/" + path + "/cgroup.procs", "");
  }

  FakeTree tree_;
};

TEST_F(ReadMachineZonesTest, NeverRanHere) {
  auto machine = readMachineZones(tree_.open(), CgroupMode::kAuto);
  ASSERT_TRUE(machine) << machine.error().describe();
  EXPECT_EQ(machine->cgroup.version, CgroupVersion::kV2);
  EXPECT_EQ(machine->cgroup.mount_point, "/sys/fs/cgroup");
  EXPECT_THAT(names(*machine), ElementsAre("system:system", "free:free"));
  EXPECT_EQ(machine->find("free")->nodes, nodes("1-7"));
  EXPECT_EQ(machine->find("system")->cpus, nodes("0-3"));
  EXPECT_FALSE(machine->state.has_value());
}

TEST_F(ReadMachineZonesTest, StateAndCgroups) {
  putCgroup("softzone", "", "");
  putCgroup("softzone/web", "2-3", "1");
  putCgroup("softzone/db", "4-5", "");
  ASSERT_TRUE(writeStateFileAt(tree_.open(), sampleState()));
  auto machine = readMachineZones(tree_.open(), CgroupMode::kV2);
  ASSERT_TRUE(machine) << machine.error().describe();
  EXPECT_THAT(names(*machine), ElementsAre("system:system", "shared:shared", "db:partition",
                                           "web:partition", "free:free"));
  EXPECT_THAT(machine->drift, IsEmpty());
  EXPECT_EQ(machine->find("db")->cpus, nodes("0-3"));  // no CPUs of its own: the effective ones
  EXPECT_EQ(machine->find("web")->nodes, nodes("2-3"));
}

TEST_F(ReadMachineZonesTest, DamagedStateFileIsAnError) {
  tree_.put("/var/lib/softzone/state.json", "{\"version\": 1");
  auto machine = readMachineZones(tree_.open(), CgroupMode::kAuto);
  ASSERT_FALSE(machine);
  EXPECT_EQ(machine.error().exitStatus(), 1);
  EXPECT_THAT(machine.error().message(), HasSubstr("damaged"));
}

TEST_F(ReadMachineZonesTest, V1Hierarchy) {
  FakeMachine v1;
  v1.mountinfo =
      "27 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
      "34 27 0:31 / /sys/fs/cgroup/cpuset rw,nosuid shared:14 - cgroup cgroup rw,cpuset\n";
  ::softzone::testing::putMachine(tree_, v1);
  tree_.remove("/sys/fs/cgroup/cgroup.controllers");
  tree_.put("/sys/fs/cgroup/cpuset/cpuset.mems", "0-7\n");
  tree_.put("/sys/fs/cgroup/cpuset/cpuset.cpus", "0-3\n");
  tree_.put("/sys/fs/cgroup/cpuset/softzone/web/cpuset.mems", "3\n");
  tree_.put("/sys/fs/cgroup/cpuset/softzone/web/cpuset.cpus", "2\n");
  tree_.put("/sys/fs/cgroup/cpuset/softzone/web/cpuset.mem_hardwall", "1\n");
  auto machine = readMachineZones(tree_.open(), CgroupMode::kAuto);
  ASSERT_TRUE(machine) << machine.error().describe();
  EXPECT_EQ(machine->cgroup.version, CgroupVersion::kV1);
  const ZoneView* web = machine->find("web");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->nodes, nodes("3"));
  EXPECT_TRUE(web->mem_hardwall);
  EXPECT_EQ(machine->find("free")->nodes, nodes("1-2,4-7"));
  ASSERT_THAT(machine->drift, SizeIs(1));  // made by hand: not in a state file
}

}  // namespace
}  // namespace softzone::cpuset

// zonectl plan and verify, run as the binary: formats, --machine sources, exit statuses and the
// one-line errors for bad input.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/fake_tree.h"
#include "support/run_zonectl.h"

namespace softzone::tools {
namespace {

using ::softzone::testing::FakeTree;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

const std::string kFixtures = SOFTZONE_FIXTURES;
const std::string kDemoSpec = std::string(SOFTZONE_FIXTURES) + "/../../examples/demo.ini";
const std::string kNoFakeXml = kFixtures + "/debian-6.12-nofake-v2/machine.xml";
const std::string kNoFakeRoot = kFixtures + "/debian-6.12-nofake-v2/root";

size_t lineCount(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

// A spec file in a scratch tree that lives as long as the test.
class PlanTest : public ::testing::Test {
 protected:
  std::string writeFile(const std::string& name, const std::string& text) {
    scratch_.put("/" + name, text);
    return scratch_.hostPath("/" + name);
  }

  FakeTree scratch_;
};

TEST_F(PlanTest, CmdlineIsExactlyOneLine) {
  Outcome run = zonectl({"plan", kDemoSpec, "--machine", kNoFakeXml, "--format", "cmdline"});
  EXPECT_EQ(run.exit_status, 0) << run.err;
  EXPECT_THAT(run.out, MatchesRegex("numa=fake=[0-9]+U?\n"));
  EXPECT_EQ(run.err, "");
}

TEST_F(PlanTest, XmlAndRunningMachineAgree) {
  // The same 1 GiB guest, once as lstopo's XML and once as its captured sysfs tree.
  Outcome from_xml = zonectl({"plan", kDemoSpec, "--machine", kNoFakeXml, "--format", "cmdline"});
  Outcome from_tree = zonectl({"--root", kNoFakeRoot, "plan", kDemoSpec, "--format", "cmdline"});
  EXPECT_EQ(from_xml.exit_status, 0);
  EXPECT_EQ(from_tree.exit_status, 0);
  EXPECT_EQ(from_xml.out, from_tree.out);
}

TEST_F(PlanTest, TextShowsTheMapAndTheParameter) {
  Outcome run = zonectl({"plan", kDemoSpec, "--machine", kNoFakeXml});
  EXPECT_EQ(run.exit_status, 0) << run.err;
  EXPECT_THAT(run.out, StartsWith("machine: " + kNoFakeXml + " (hwloc XML): 1 physical node, "));
  EXPECT_THAT(run.out, HasSubstr("ZONE "));
  EXPECT_THAT(run.out, HasSubstr("\nweb "));
  EXPECT_THAT(run.out, HasSubstr("\nkernel parameter: numa=fake="));
}

TEST_F(PlanTest, GrubDropInAppendsTheParameter) {
  Outcome cmdline = zonectl({"plan", kDemoSpec, "--machine", kNoFakeXml, "--format", "cmdline"});
  Outcome grub = zonectl({"plan", kDemoSpec, "--machine", kNoFakeXml, "--format", "grub"});
  EXPECT_EQ(grub.exit_status, 0);
  std::string param = cmdline.out.substr(0, cmdline.out.size() - 1);
  EXPECT_THAT(grub.out, HasSubstr("GRUB_CMDLINE_LINUX_DEFAULT=\"${GRUB_CMDLINE_LINUX_DEFAULT} " +
                                  param + "\""));
}

TEST_F(PlanTest, JsonFromGlobalFlagOrFormat) {
  Outcome global = zonectl({"--json", "plan", kDemoSpec, "--machine", kNoFakeXml});
  Outcome format = zonectl({"plan", kDemoSpec, "--machine", kNoFakeXml, "--format", "json"});
  EXPECT_EQ(global.out, format.out);
  nlohmann::json doc = nlohmann::json::parse(global.out);
  EXPECT_THAT(doc["fake_numa_arg"].get<std::string>(), MatchesRegex("[0-9]+"));
  EXPECT_EQ(doc["machine"]["source"], kNoFakeXml + " (hwloc XML)");
  bool has_web = std::any_of(doc["zones"].begin(), doc["zones"].end(),
                             [](const nlohmann::json& z) { return z["name"] == "web"; });
  EXPECT_TRUE(has_web);
}

TEST_F(PlanTest, TopologyJsonPlansTwoSockets) {
  // zonectl's own topology JSON is exact where hwloc hides fake nodes: 2 sockets of ~1 GiB.
  std::string spec = writeFile("two.ini",
                               "[machine]\nreserve = 400M\n[partition.a]\nmemory = 560M\n"
                               "[partition.b]\nmemory = 560M\n");
  Outcome run = zonectl({"plan", spec, "--machine",
                         kFixtures + "/debian-6.1-2socket-fake4U-v2/topology-live.json", "--format",
                         "cmdline"});
  EXPECT_EQ(run.exit_status, 0) << run.err;
  EXPECT_THAT(run.out, MatchesRegex("numa=fake=[0-9]+U\n"));
}

TEST_F(PlanTest, XmlFromAFakeNumaMachineIsFlagged) {
  std::string spec =
      writeFile("small.ini", "[machine]\nreserve = 64M\n[partition.a]\nmemory = 64M\n");
  Outcome run =
      zonectl({"plan", spec, "--machine", kFixtures + "/debian-6.1-2socket-fake4U-v2/machine.xml",
               "--format", "cmdline"});
  EXPECT_EQ(run.exit_status, 0);
  EXPECT_THAT(run.err, StartsWith("zonectl plan: warning: NUMA node numbers in "));
  EXPECT_EQ(lineCount(run.err), 1u);
}

TEST_F(PlanTest, InfeasibleSpecExplainsAndExitsOne) {
  std::string spec = writeFile("big.ini", "[partition.huge]\nmemory = 4G\n");
  Outcome run = zonectl({"plan", spec, "--machine", kNoFakeXml});
  EXPECT_EQ(run.exit_status, 1);
  EXPECT_EQ(run.out, "");
  EXPECT_THAT(run.err, StartsWith("zonectl plan: "));
  EXPECT_THAT(run.err, HasSubstr("4G"));
  EXPECT_EQ(lineCount(run.err), 1u);
}

// A copy of the no-fake fixture tree whose kernel config is `config` ("" removes the file).
std::string noFakeRootWithConfig(FakeTree& scratch, const std::string& config) {
  namespace fs = std::filesystem;
  const fs::path root = fs::path(scratch.hostPath("/")) / "root";
  fs::copy(kNoFakeRoot, root, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  const fs::path path = root / "boot/config-6.12.117+deb12-amd64";
  fs::remove(path);
  if (!config.empty()) std::ofstream(path) << config;
  return root.string();
}

TEST_F(PlanTest, AKernelWithoutNumaEmuIsWarnedAbout) {
  const std::string root = noFakeRootWithConfig(
      scratch_, "CONFIG_NUMA=y\nCONFIG_NODES_SHIFT=6\n# CONFIG_NUMA_EMU is not set\n");
  Outcome run = zonectl({"--root", root, "plan", kDemoSpec, "--format", "cmdline"});
  EXPECT_EQ(run.exit_status, 0) << run.err;
  EXPECT_THAT(run.out, MatchesRegex("numa=fake=[0-9]+U?\n"));
  EXPECT_EQ(run.err,
            "zonectl plan: warning: this kernel (6.12.117+deb12-amd64) is built without "
            "CONFIG_NUMA_EMU (/boot/config-6.12.117+deb12-amd64): it would ignore numa=fake=; "
            "boot a kernel built with CONFIG_NUMA_EMU=y\n");
}

TEST_F(PlanTest, AnUnreadableKernelConfigIsSaid) {
  const std::string root = noFakeRootWithConfig(scratch_, "");
  Outcome run = zonectl({"--root", root, "plan", kDemoSpec, "--format", "cmdline"});
  EXPECT_EQ(run.exit_status, 0) << run.err;
  EXPECT_EQ(run.err,
            "zonectl plan: warning: could not check that this kernel supports numa=fake= (no "
            "readable /boot/config-6.12.117+deb12-amd64); it needs CONFIG_NUMA_EMU=y\n");
}

TEST_F(PlanTest, NoKernelWarningWithNumaEmuOrForAnotherMachine) {
  Outcome supported = zonectl({"--root", kNoFakeRoot, "plan", kDemoSpec, "--format", "cmdline"});
  EXPECT_EQ(supported.exit_status, 0);
  EXPECT_EQ(supported.err, "");
  // --machine plans for a machine whose kernel this one cannot see: nothing to check.
  const std::string root = noFakeRootWithConfig(scratch_, "# CONFIG_NUMA_EMU is not set\n");
  Outcome other =
      zonectl({"--root", root, "plan", kDemoSpec, "--machine", kNoFakeXml, "--format", "cmdline"});
  EXPECT_EQ(other.exit_status, 0);
  EXPECT_EQ(other.err, "");
}

TEST_F(PlanTest, ARefusalOnTheRunningMachinePointsAtMachine) {
  std::string spec = writeFile("big.ini", "[partition.huge]\nmemory = 4G\n");
  Outcome run = zonectl({"--root", kNoFakeRoot, "plan", spec});
  EXPECT_EQ(run.exit_status, 1);
  EXPECT_THAT(run.err, StartsWith("zonectl plan: "));
  EXPECT_THAT(run.err, HasSubstr(" (planning for another machine? --machine FILE; "
                                 "examples/machines/ has some)\n"));
  EXPECT_EQ(lineCount(run.err), 1u);
  Outcome given = zonectl({"plan", spec, "--machine", kNoFakeXml});
  EXPECT_EQ(given.exit_status, 1);
  EXPECT_THAT(given.err, ::testing::Not(HasSubstr("planning for another machine")));
}

struct BadPlanInput {
  const char* name;
  std::vector<std::string> args;  // after "plan"; "SPEC" is replaced by a valid spec
  const char* message;
};
void PrintTo(const BadPlanInput& test, std::ostream* out) { *out << test.name; }

class PlanBadInput : public PlanTest, public ::testing::WithParamInterface<BadPlanInput> {};

TEST_P(PlanBadInput, OneLineAndExitTwo) {
  std::string good = writeFile("good.ini", "[partition.a]\nmemory = 64M\n");
  std::string bad_spec = writeFile("bad.ini", "[partition.a]\nmemory = lots\n");
  std::string garbage = writeFile("garbage.txt", "hello\n");
  std::string bad_json = writeFile("bad.json", "{ \"physical_nodes\": 3 }");
  std::string broken_json = writeFile("broken.json", "{ nope");
  std::string bad_xml = writeFile("bad.xml", "<not hwloc/>");
  std::string bad_image =
      writeFile("image.ini", "[machine]\nkernel_image = -48M\n[partition.a]\nmemory = 64M\n");
  std::vector<std::string> args = {"plan"};
  for (std::string arg : GetParam().args) {
    if (arg == "SPEC") arg = good;
    if (arg == "BADSPEC") arg = bad_spec;
    if (arg == "GARBAGE") arg = garbage;
    if (arg == "BADJSON") arg = bad_json;
    if (arg == "BROKENJSON") arg = broken_json;
    if (arg == "BADXML") arg = bad_xml;
    if (arg == "BADIMAGE") arg = bad_image;
    args.push_back(arg);
  }
  Outcome run = zonectl(args);
  EXPECT_EQ(run.exit_status, 2) << run.err;
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(lineCount(run.err), 1u) << run.err;
  EXPECT_THAT(run.err, HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, PlanBadInput,
    ::testing::Values(
        BadPlanInput{"NoSpec", {}, "spec"},
        BadPlanInput{"MissingSpec", {"/nonexistent/spec.ini"}, "/nonexistent/spec.ini"},
        BadPlanInput{"BadSpecValue", {"BADSPEC"}, "bad.ini:2:"},
        BadPlanInput{
            "BadKernelImage", {"BADIMAGE"}, "image.ini:2: [machine] kernel_image = \"-48M\""},
        BadPlanInput{"UnknownFormat", {"SPEC", "--format", "yaml"}, "--format \"yaml\""},
        BadPlanInput{
            "MissingMachine", {"SPEC", "--machine", "/nonexistent.xml"}, "/nonexistent.xml"},
        BadPlanInput{"GarbageMachine", {"SPEC", "--machine", "GARBAGE"}, "neither an hwloc XML"},
        BadPlanInput{"JsonWithoutNodes", {"SPEC", "--machine", "BADJSON"}, "physical_nodes"},
        BadPlanInput{"BrokenJson", {"SPEC", "--machine", "BROKENJSON"}, "not valid JSON"},
        BadPlanInput{"NotHwloc", {"SPEC", "--machine", "BADXML"}, "not an hwloc XML"},
        BadPlanInput{"MarginTooBig", {"SPEC", "--size-margin", "2"}, "--size-margin"},
        BadPlanInput{"NoNodesPerPartition",
                     {"SPEC", "--max-nodes-per-partition", "0"},
                     "--max-nodes-per-partition 0"},
        BadPlanInput{"ExtraArgument", {"SPEC", "other.ini"}, "too many positional"}),
    [](const auto& test_info) { return std::string(test_info.param.name); });

TEST_F(PlanTest, VerifyPassesOnTheKernelItPlanned) {
  std::string spec = writeFile("eight.ini",
                               "[machine]\nreserve = 200M\nnode_size = 112M\n"
                               "[partition.a]\nmemory = 200M\n[partition.b]\nmemory = 100M\n");
  Outcome run = zonectl({"--root", kFixtures + "/debian-6.1-fake8-v1/root", "verify", spec});
  EXPECT_EQ(run.exit_status, 0) << run.out << run.err;
  EXPECT_THAT(run.out, HasSubstr("verify: OK"));
}

TEST_F(PlanTest, VerifyFailsWithADiffAndExitOne) {
  Outcome run = zonectl({"--root", kFixtures + "/debian-6.12-fake16-v2/root", "verify", kDemoSpec});
  EXPECT_EQ(run.exit_status, 1);
  EXPECT_THAT(run.out, HasSubstr("\n+ numa=fake: numa=fake=16\n"));
  EXPECT_THAT(run.out, HasSubstr("verify: FAILED"));
  EXPECT_THAT(run.err, StartsWith("zonectl verify: "));
  EXPECT_EQ(lineCount(run.err), 1u);

  Outcome json =
      zonectl({"--json", "--root", kFixtures + "/debian-6.12-fake16-v2/root", "verify", kDemoSpec});
  EXPECT_EQ(json.exit_status, 1);
  nlohmann::json doc = nlohmann::json::parse(json.out);
  EXPECT_EQ(doc["ok"], false);
  EXPECT_GE(doc["failures"].get<int>(), 1);
}

TEST_F(PlanTest, VerifyOnAMachineWithoutFakeNuma) {
  Outcome run = zonectl({"--root", kNoFakeRoot, "verify", kDemoSpec});
  EXPECT_EQ(run.exit_status, 1);
  EXPECT_THAT(run.out, HasSubstr("fake NUMA is not active; boot with numa=fake="));
}

TEST_F(PlanTest, VerifyBadSpecIsBadInput) {
  Outcome run = zonectl({"--root", kNoFakeRoot, "verify", "/nonexistent.ini"});
  EXPECT_EQ(run.exit_status, 2);
  EXPECT_EQ(lineCount(run.err), 1u);
}

}  // namespace
}  // namespace softzone::tools

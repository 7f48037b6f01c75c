// Tests that run the zonectl binary: global options, verb dispatch, exit statuses, --root trees.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/fake_tree.h"
#include "support/run_zonectl.h"

namespace softzone::tools {
namespace {

using ::softzone::testing::FakeMachine;
using ::softzone::testing::FakeTree;
using ::softzone::testing::putMachine;
using ::testing::HasSubstr;
using ::testing::StartsWith;

size_t lineCount(const std::string& text) {
  return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
}

TEST(ZonectlCli, Help) {
  Outcome run = zonectl({"--help"});
  EXPECT_EQ(run.exit_status, 0);
  EXPECT_THAT(run.out, StartsWith("usage: zonectl [--json] [--root DIR] [--cgroup auto|v1|v2]"));
  EXPECT_THAT(run.out, HasSubstr("  topology  "));
  EXPECT_THAT(run.out, HasSubstr("--root DIR"));
  EXPECT_THAT(run.out, HasSubstr("accepted before or after the command"));
  EXPECT_EQ(run.err, "");
}

TEST(ZonectlCli, Version) {
  Outcome run = zonectl({"--version"});
  EXPECT_EQ(run.exit_status, 0);
  EXPECT_THAT(run.out, StartsWith("zonectl "));
}

TEST(ZonectlCli, VerbHelpIsTheVerbs) {
  Outcome run = zonectl({"topology", "--help"});
  EXPECT_EQ(run.exit_status, 0);
  EXPECT_THAT(run.out, StartsWith("usage: zonectl [global options] topology"));
  EXPECT_THAT(run.out, HasSubstr("topology options"));
  EXPECT_THAT(run.out, HasSubstr("global options (also accepted before the verb)"));
  EXPECT_THAT(run.out, HasSubstr("--root DIR"));
}

TEST(ZonectlCli, NoVerbIsUsageError) {
  Outcome run = zonectl({});
  EXPECT_EQ(run.exit_status, 2);
  EXPECT_EQ(lineCount(run.err), 1u);
}

TEST(ZonectlCli, UnknownVerbIsOneLineAndExit2) {
  Outcome run = zonectl({"frobnicate"});
  EXPECT_EQ(run.exit_status, 2);
  EXPECT_EQ(run.err, "zonectl: unknown command 'frobnicate'; see zonectl --help\n");
  EXPECT_EQ(run.out, "");
}

TEST(ZonectlCli, AMistypedVerbGetsASuggestion) {
  Outcome run = zonectl({"plna"});
  EXPECT_EQ(run.exit_status, 2);
  EXPECT_EQ(run.err,
            "zonectl: unknown command 'plna'; did you mean 'plan'? (zonectl --help lists them)\n");
  Outcome dropped = zonectl({"topolgy"});
  EXPECT_THAT(dropped.err, HasSubstr("did you mean 'topology'?"));
  Outcome far = zonectl({"ls"});  // two edits from `list`, but half the word: no guess
  EXPECT_EQ(far.err, "zonectl: unknown command 'ls'; see zonectl --help\n");
}

// A verb's positional argument is reported, and shown, as the argument it is, not as an option.
TEST(ZonectlCli, AMissingPositionalIsNamedWithTheUsage) {
  Outcome plan = zonectl({"plan"});
  EXPECT_EQ(plan.exit_status, 2);
  EXPECT_EQ(plan.err,
            "zonectl plan: missing SPEC (the spec file); usage: zonectl plan SPEC [options]\n");
  Outcome exec = zonectl({"exec"});
  EXPECT_EQ(exec.exit_status, 2);
  EXPECT_THAT(exec.err, StartsWith("zonectl exec: missing NAME (partition name); usage: "));
  Outcome attach = zonectl({"attach", "web"});
  EXPECT_EQ(attach.exit_status, 2);
  EXPECT_THAT(attach.err, StartsWith("zonectl attach: missing PID (processes); usage: "));
}

TEST(ZonectlCli, PositionalsAreNotOptions) {
  const std::vector<std::pair<std::string, std::string>> verbs = {
      {"plan", "spec"},   {"verify", "spec"},  {"apply", "spec"},   {"create", "name"},
      {"resize", "name"}, {"destroy", "name"}, {"attach", "name"},  {"attach", "pid"},
      {"exec", "name"},   {"exec", "command"}, {"migrate", "name"}, {"status", "name"},
      {"report", "zone"}, {"run", "zone"},     {"run", "command"},  {"residency", "path"},
      {"bind", "path"}};
  for (const auto& [verb, name] : verbs) {
    SCOPED_TRACE(verb + " --" + name);
    Outcome help = zonectl({verb, "--help"});
    EXPECT_EQ(help.exit_status, 0);
    EXPECT_THAT(help.out, HasSubstr("\narguments:\n"));
    EXPECT_THAT(help.out, ::testing::Not(HasSubstr("--" + name + " ")));
    Outcome given = zonectl({verb, "--" + name, "x"});
    EXPECT_EQ(given.exit_status, 2);
    EXPECT_EQ(given.err, "zonectl " + verb + ": unrecognised option '--" + name + "'\n");
  }
  Outcome plan = zonectl({"plan", "--help"});
  EXPECT_THAT(plan.out, HasSubstr("\narguments:\n  SPEC  the spec file\n"));
}

TEST(ZonectlCli, BadCgroupValueIsExit2) {
  Outcome run = zonectl({"--cgroup", "v3", "topology"});
  EXPECT_EQ(run.exit_status, 2);
  EXPECT_EQ(lineCount(run.err), 1u);
  EXPECT_THAT(run.err, HasSubstr("--cgroup: expected auto, v1 or v2"));
}

TEST(ZonectlCli, UnknownOptionsAreExit2) {
  Outcome global = zonectl({"--frob", "topology"});
  EXPECT_EQ(global.exit_status, 2);
  EXPECT_THAT(global.err, StartsWith("zonectl: "));
  EXPECT_EQ(lineCount(global.err), 1u);
  Outcome verb = zonectl({"topology", "--frob"});
  EXPECT_EQ(verb.exit_status, 2);
  EXPECT_EQ(lineCount(verb.err), 1u);
  Outcome extra = zonectl({"topology", "extra"});
  EXPECT_EQ(extra.exit_status, 2);
}

TEST(ZonectlCli, RootMissingOrNotADirectoryIsExit2) {
  FakeTree tree;
  tree.put("/file", "x");
  Outcome missing = zonectl({"--root", tree.hostPath("/nope"), "topology"});
  EXPECT_EQ(missing.exit_status, 2);
  EXPECT_EQ(missing.err, "zonectl: --root DIR: " + tree.hostPath("/nope") + " does not exist\n");
  Outcome file = zonectl({"--root=" + tree.hostPath("/file"), "topology"});
  EXPECT_EQ(file.exit_status, 2);
  EXPECT_EQ(lineCount(file.err), 1u);
  Outcome no_value = zonectl({"topology", "--root"});
  EXPECT_EQ(no_value.exit_status, 2);
}

TEST(ZonectlCli, MalformedRootTreeIsExit2NamingTheFile) {
  FakeTree tree;
  putMachine(tree, FakeMachine{});
  tree.put("/sys/devices/system/node/node4/meminfo", "Node 4 MemFree: 1 kB\n");
  Outcome run = zonectl({"--root", tree.path(), "topology"});
  EXPECT_EQ(run.exit_status, 2);
  EXPECT_EQ(lineCount(run.err), 1u);
  EXPECT_THAT(run.err, StartsWith("zonectl topology: in --root " + tree.path()));
  EXPECT_THAT(run.err, HasSubstr("/sys/devices/system/node/node4/meminfo: no MemTotal line"));
  EXPECT_EQ(run.out, "");
}

TEST(ZonectlCli, RootTreeWithoutCmdlineIsExit2) {
  FakeTree tree;
  putMachine(tree, FakeMachine{});
  tree.remove("/proc/cmdline");
  Outcome run = zonectl({"--root", tree.path(), "topology"});
  EXPECT_EQ(run.exit_status, 2);
  EXPECT_THAT(run.err, HasSubstr("/proc/cmdline"));
  EXPECT_EQ(lineCount(run.err), 1u);
}

TEST(ZonectlCli, TopologyJson) {
  FakeTree tree;
  putMachine(tree, FakeMachine{});
  Outcome run = zonectl({"--json", "--root", tree.path(), "topology"});
  ASSERT_EQ(run.exit_status, 0) << run.err;
  auto doc = nlohmann::json::parse(run.out);
  EXPECT_EQ(doc["kernel_release"], "6.1.0-28-amd64");
  EXPECT_EQ(doc["fake_numa"]["active"], true);
  EXPECT_EQ(doc["fake_numa"]["arg"], "8");
  EXPECT_EQ(doc["fake_numa"]["form"]["kind"], "count");
  EXPECT_EQ(doc["fake_numa"]["form"]["count"], 8);
  EXPECT_EQ(doc["max_nodes"], 1024);
  EXPECT_EQ(doc["nodes"].size(), 8u);
  EXPECT_EQ(doc["physical_nodes"].size(), 1u);
  EXPECT_EQ(doc["physical_nodes"][0]["nodes"], nlohmann::json({0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(doc["nodes"][2]["cpus"], "0-3");
  EXPECT_EQ(doc["mem_total_bytes"], 8ull * 128 * 1024 * 1024);
  EXPECT_EQ(doc["cgroup"]["v2_cpuset_controller"], true);
}

TEST(ZonectlCli, GlobalOptionsAfterTheVerbMeanTheSame) {
  FakeTree tree;
  putMachine(tree, FakeMachine{});
  Outcome before = zonectl({"--json", "--root", tree.path(), "--cgroup", "v2", "topology"});
  ASSERT_EQ(before.exit_status, 0) << before.err;
  Outcome after = zonectl({"topology", "--json", "--root", tree.path(), "--cgroup", "v2"});
  ASSERT_EQ(after.exit_status, 0) << after.err;
  EXPECT_EQ(after.out, before.out);
  EXPECT_EQ(nlohmann::json::parse(after.out)["cgroup"]["selected"]["version"], "v2");
  Outcome mixed = zonectl({"--root", tree.path(), "topology", "--json", "--cgroup", "v2"});
  ASSERT_EQ(mixed.exit_status, 0) << mixed.err;
  EXPECT_EQ(mixed.out, before.out);
  Outcome equals = zonectl({"topology", "--root=" + tree.path(), "--json", "--cgroup=v2"});
  ASSERT_EQ(equals.exit_status, 0) << equals.err;
  EXPECT_EQ(equals.out, before.out);
}

TEST(ZonectlCli, GlobalOptionsAfterTheVerbKeepThePositionals) {
  // The 1 GiB guest without fake NUMA that examples/demo.ini is planned on.
  std::string root = std::string(SOFTZONE_FIXTURES) + "/debian-6.12-nofake-v2/root";
  std::string spec = std::string(SOFTZONE_FIXTURES) + "/../../examples/demo.ini";
  Outcome before = zonectl({"--root", root, "--json", "plan", spec});
  ASSERT_EQ(before.exit_status, 0) << before.err;
  // --root takes a value: the spec is still the positional SPEC, wherever it is.
  Outcome after = zonectl({"plan", "--root", root, spec, "--json"});
  ASSERT_EQ(after.exit_status, 0) << after.err;
  EXPECT_EQ(after.out, before.out);
  EXPECT_TRUE(nlohmann::json::parse(after.out).is_object());
}

TEST(ZonectlCli, GlobalOptionsAfterTheVerbAreCheckedAsBefore) {
  FakeTree tree;
  putMachine(tree, FakeMachine{});
  Outcome bad_cgroup = zonectl({"topology", "--root", tree.path(), "--cgroup", "v3"});
  EXPECT_EQ(bad_cgroup.exit_status, 2);
  EXPECT_EQ(lineCount(bad_cgroup.err), 1u);
  EXPECT_THAT(bad_cgroup.err, HasSubstr("--cgroup: expected auto, v1 or v2"));
  Outcome missing = zonectl({"topology", "--root", tree.hostPath("/nowhere")});
  EXPECT_EQ(missing.exit_status, 2);
  EXPECT_EQ(lineCount(missing.err), 1u);
  EXPECT_THAT(missing.err, HasSubstr("does not exist"));
  Outcome no_value = zonectl({"topology", "--root"});
  EXPECT_EQ(no_value.exit_status, 2);
  EXPECT_EQ(lineCount(no_value.err), 1u);
  // Two different roots: refused, not one silently winning.
  Outcome twice = zonectl({"--root", tree.path(), "topology", "--root", "/"});
  EXPECT_EQ(twice.exit_status, 2);
  EXPECT_THAT(twice.err, HasSubstr("--root is given both before and after the verb"));
  EXPECT_EQ(twice.out, "");
  Outcome cgroup_twice = zonectl({"--cgroup", "v1", "topology", "--cgroup", "v2"});
  EXPECT_EQ(cgroup_twice.exit_status, 2);
  EXPECT_THAT(cgroup_twice.err, HasSubstr("--cgroup is given both before and after the verb"));
}

TEST(ZonectlCli, TopologyOnTheLiveSystem) {
  Outcome run = zonectl({"topology"});
  // Whatever this machine is, the verb either reports it or fails with one line and exit 1.
  if (run.exit_status != 0) {
    EXPECT_EQ(run.exit_status, 1) << run.err;
    EXPECT_EQ(lineCount(run.err), 1u);
  } else {
    EXPECT_THAT(run.out, HasSubstr("NODE  PHYS"));
  }
}

}  // namespace
}  // namespace softzone::tools

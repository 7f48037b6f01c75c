// The report verbs as the zonectl binary, on captured fixtures and on fake trees with zones,
// a kernel log and a reclaim histogram.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "support/fake_tree.h"
#include "support/run_zonectl.h"

namespace softzone::tools {
namespace {

using ::softzone::testing::FakeMachine;
using ::softzone::testing::FakeTree;
using ::softzone::testing::putMachine;
using ::testing::HasSubstr;
using json = nlohmann::json;

std::string fixtureRoot(const std::string& name) {
  return std::string(SOFTZONE_FIXTURES) + "/" + name + "/root";
}

// Every captured fixture: zones add up to the machine, within 1% of /proc/meminfo's MemTotal,
// and what a captured tree lacks (tracefs, the kernel log) is said, not invented.
TEST(ReportCli, FixturesAddUp) {
  for (std::string fixture :
       {"debian-6.1-fake8-v1", "debian-6.12-fake16-v2", "debian-6.1-2socket-fake4U-v2"}) {
    Outcome run = zonectl({"--root", fixtureRoot(fixture), "--json", "report"});
    ASSERT_EQ(run.exit_status, 0) << fixture << ": " << run.err;
    json report = json::parse(run.out);
    uint64_t zones = report["machine"]["zones_mem_total_bytes"];
    uint64_t nodes = report["machine"]["node_mem_total_bytes"];
    uint64_t proc = report["machine"]["proc_mem_total_bytes"];
    EXPECT_EQ(zones, nodes) << fixture;
    EXPECT_NEAR(static_cast<double>(zones), static_cast<double>(proc), proc * 0.01) << fixture;
    EXPECT_EQ(report["system"]["nodes"], json::array({0})) << fixture;
    EXPECT_TRUE(report["partitions"][0].is_null() || report["partitions"].is_array());
    std::string missing = report["missing"].dump();
    EXPECT_THAT(missing, HasSubstr("reclaim tracepoint")) << fixture;
    EXPECT_THAT(missing, HasSubstr("OOM kills")) << fixture;
    EXPECT_TRUE(report["system"]["reclaim_reclaimed_pages"].is_null());
  }
}

TEST(ReportCli, FixtureTable) {
  Outcome run = zonectl({"--root", fixtureRoot("debian-6.1-fake8-v1"), "report"});
  ASSERT_EQ(run.exit_status, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("MemTotal (MiB)"));
  EXPECT_THAT(run.out, HasSubstr("system"));
  EXPECT_THAT(run.out, HasSubstr("missing: reclaim tracepoint"));
}

// A v2 machine with one partition A on nodes 2-3 and B on 4-5, a kernel log holding an OOM
// kill inside A, and a reclaim histogram.
void putZones(const FakeTree& tree) {
  FakeMachine machine;
  putMachine(tree, machine);
  tree.put("/var/lib/softzone/state.json", R"({
  "version": 1,
  "cgroup": {"version": "v2", "mount_point": "/sys/fs/cgroup", "parent": "softzone"},
  "system": {"nodes": "0", "cpus": "0"},
  "shared": {"nodes": "1", "cpus": "0-3", "bind": []},
  "partitions": [
    {"name": "A", "nodes": "2-3", "cpus": "1", "min_bytes": null, "max_bytes": null, "mem_hardwall": false},
    {"name": "B", "nodes": "4-5", "cpus": "2", "min_bytes": null, "max_bytes": null, "mem_hardwall": false}
  ]
})");
  tree.put("/sys/fs/cgroup/cgroup.subtree_control", "cpuset\n");
  tree.put("/sys/fs/cgroup/cpuset.cpus.effective", "0-3\n");
  tree.put("/sys/fs/cgroup/cpuset.mems.effective", "0-7\n");
  tree.put("/sys/fs/cgroup/softzone/cgroup.subtree_control", "cpuset\n");
  tree.put("/sys/fs/cgroup/softzone/cpuset.mems", "\n");
  tree.put("/sys/fs/cgroup/softzone/cpuset.cpus", "\n");
  tree.put("/sys/fs/cgroup/softzone/cpuset.mems.effective", "0-7\n");
  tree.put("/sys/fs/cgroup/softzone/cpuset.cpus.effective", "0-3\n");
  for (auto [name, mems, cpus] : {std::tuple{"A", "2-3", "1"}, std::tuple{"B", "4-5", "2"}}) {
    std::string dir = std::string("/sys/fs/cgroup/softzone/") + name + "/";
    tree.put(dir + "cpuset.mems", std::string(mems) + "\n");
    tree.put(dir + "cpuset.mems.effective", std::string(mems) + "\n");
    tree.put(dir + "cpuset.cpus", std::string(cpus) + "\n");
    tree.put(dir + "cpuset.cpus.effective", std::string(cpus) + "\n");
    tree.put(dir + "cgroup.procs", "");
    tree.put(dir + "memory.pressure",
             "some avg10=2.00 avg60=0.00 avg300=0.00 total=900\n"
             "full avg10=1.00 avg60=0.00 avg300=0.00 total=400\n");
  }
  tree.put(
      "/dev/kmsg",
      "6,813,93412400,-;oom-kill:constraint=CONSTRAINT_CPUSET,nodemask=(null),cpuset=A,"
      "mems_allowed=2-3,global_oom,task_memcg=/,task=memhog,pid=125,uid=0\n"
      "3,814,93412410,-;Out of memory: Killed process 125 (memhog) total-vm:300000kB, "
      "anon-rss:180000kB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:400kB oom_score_adj:0\n");
  std::string event = "/sys/kernel/tracing/events/vmscan/mm_vmscan_lru_shrink_inactive/";
  tree.put(event + "trigger", "");
  tree.put(
      event + "hist",
      "# trigger info: hist:keys=nid:vals=hitcount,nr_scanned,nr_reclaimed:sort=hitcount:size=2048 "
      "[active]\n"
      "{ nid:          2 } hitcount:         15  nr_scanned:       1234  nr_reclaimed:       1200\n"
      "{ nid:          3 } hitcount:          1  nr_scanned:         32  nr_reclaimed:         "
      "30\n");
}

TEST(ReportCli, ZonesOomAndReclaimFromATree) {
  FakeTree tree;
  putZones(tree);
  Outcome run = zonectl({"--root", tree.path(), "--json", "report"});
  ASSERT_EQ(run.exit_status, 0) << run.err;
  json report = json::parse(run.out);
  ASSERT_EQ(report["partitions"].size(), 2u) << run.out;
  json a = report["partitions"][0];
  json b = report["partitions"][1];
  EXPECT_EQ(a["name"], "A");
  EXPECT_EQ(a["nodes"], json::array({2, 3}));
  EXPECT_EQ(a["reclaim_reclaimed_pages"], 1230);
  EXPECT_EQ(a["reclaim_scanned_pages"], 1266);
  EXPECT_EQ(a["limit_hits"], 16);
  EXPECT_EQ(b["reclaim_reclaimed_pages"], 0);
  EXPECT_EQ(a["oom_kills"], 1);
  EXPECT_EQ(a["oom_victims"][0]["pid"], 125);
  EXPECT_EQ(a["oom_victims"][0]["task"], "memhog");
  EXPECT_EQ(b["oom_kills"], 0);
  EXPECT_EQ(a["pressure"]["source"], "psi");
  EXPECT_EQ(a["pressure"]["some_total_us"], 900);
  EXPECT_EQ(report["shared"]["nodes"], json::array({1}));
  uint64_t zones = report["machine"]["zones_mem_total_bytes"];
  EXPECT_EQ(zones, report["machine"]["node_mem_total_bytes"].get<uint64_t>());

  Outcome only = zonectl({"--root", tree.path(), "--json", "report", "B"});
  ASSERT_EQ(only.exit_status, 0) << only.err;
  json b_only = json::parse(only.out);
  EXPECT_EQ(b_only["partitions"].size(), 1u);
  EXPECT_TRUE(b_only["system"].is_null());
}

TEST(ReportCli, JsonAfterTheVerbIsTheSameDocument) {
  FakeTree tree;
  putZones(tree);
  Outcome before = zonectl({"--json", "--root", tree.path(), "report"});
  ASSERT_EQ(before.exit_status, 0) << before.err;
  Outcome after = zonectl({"report", "--json", "--root", tree.path()});
  ASSERT_EQ(after.exit_status, 0) << after.err;
  json first = json::parse(before.out);
  json second = json::parse(after.out);
  ASSERT_EQ(second["partitions"].size(), 2u) << after.out;
  for (json* doc : {&first, &second}) doc->erase("time_ms");  // when each was sampled
  EXPECT_EQ(second, first);
}

TEST(ReportCli, SnapshotThenSince) {
  FakeTree tree;
  putZones(tree);
  std::string snapshot = tree.hostPath("/snap.json");
  Outcome snap = zonectl({"--root", tree.path(), "snapshot", "-o", snapshot});
  ASSERT_EQ(snap.exit_status, 0) << snap.err;
  // More reclaim on node 2 and no new kill after the snapshot.
  tree.put(
      "/sys/kernel/tracing/events/vmscan/mm_vmscan_lru_shrink_inactive/hist",
      "# trigger info: hist:keys=nid:vals=hitcount,nr_scanned,nr_reclaimed:sort=hitcount:size=2048 "
      "[active]\n"
      "{ nid:          2 } hitcount:         20  nr_scanned:       1334  nr_reclaimed:       1290\n"
      "{ nid:          3 } hitcount:          1  nr_scanned:         32  nr_reclaimed:         "
      "30\n");
  Outcome run = zonectl({"--root", tree.path(), "--json", "report", "--since", snapshot});
  ASSERT_EQ(run.exit_status, 0) << run.err;
  json report = json::parse(run.out);
  EXPECT_FALSE(report["since_ms"].is_null());
  EXPECT_EQ(report["partitions"][0]["reclaim_reclaimed_pages"], 90);
  EXPECT_EQ(report["partitions"][0]["limit_hits"], 5);
  EXPECT_EQ(report["partitions"][0]["oom_kills"], 0);
}

TEST(ReportCli, HtmlToAFile) {
  FakeTree tree;
  putZones(tree);
  std::string html = tree.hostPath("/report.html");
  Outcome run = zonectl({"--root", tree.path(), "report", "--format", "html", "-o", html});
  ASSERT_EQ(run.exit_status, 0) << run.err;
  EXPECT_EQ(run.out, "");
  std::string text = slurp(html);
  EXPECT_THAT(text, HasSubstr("<svg id=\"node-map\""));
  EXPECT_THAT(text, HasSubstr("<td>A</td><td>125</td><td>memhog</td>"));
  // The header's facts come from the tree: its osrelease, online CPUs and cgroup v2.
  EXPECT_THAT(text, HasSubstr("<dt>kernel</dt><dd>6.1.0-28-amd64</dd>"));
  EXPECT_THAT(text, HasSubstr("8 nodes, 4 CPUs"));
  EXPECT_THAT(text, HasSubstr("<dt>cgroup</dt><dd>v2</dd>"));
  EXPECT_THAT(text, HasSubstr("since boot"));
}

TEST(ReportCli, JsonSaysWhichHostAndSnapshot) {
  FakeTree tree;
  putZones(tree);
  tree.put("/proc/sys/kernel/hostname", "numa-box\n");
  std::string snap = tree.hostPath("/snap.json");
  ASSERT_EQ(zonectl({"--root", tree.path(), "snapshot", "-o", snap}).exit_status, 0);
  Outcome run = zonectl({"--root", tree.path(), "report", "--json", "--since", snap});
  ASSERT_EQ(run.exit_status, 0) << run.err;
  json report = json::parse(run.out);
  EXPECT_EQ(report["host"]["hostname"], "numa-box");
  EXPECT_EQ(report["host"]["kernel_release"], "6.1.0-28-amd64");
  EXPECT_EQ(report["host"]["cgroup_version"], "v2");
  EXPECT_EQ(report["host"]["cpus_online"], 4);
  EXPECT_EQ(report["since_snapshot"], snap);
}

// -o never writes through a symlink (an unprivileged user may plant one where root writes):
// the link's target keeps its content, the link stays, and nothing is sampled or written.
TEST(ReportCli, OutputAtASymlinkIsRefusedAndItsTargetUnchanged) {
  FakeTree tree;
  putZones(tree);
  tree.put("/precious", "precious\n");
  std::string link = tree.hostPath("/out.json");
  std::filesystem::create_symlink(tree.hostPath("/precious"), link);
  for (std::vector<std::string> args : {std::vector<std::string>{"report", "-o", link},
                                        std::vector<std::string>{"snapshot", "-o", link}}) {
    args.insert(args.begin(), {"--root", tree.path()});
    Outcome run = zonectl(args);
    EXPECT_EQ(run.exit_status, 2) << args[2] << ": " << run.err;
    EXPECT_THAT(run.err, HasSubstr("symlink")) << args[2];
    EXPECT_EQ(slurp(tree.hostPath("/precious")), "precious\n") << args[2];
    EXPECT_TRUE(std::filesystem::is_symlink(link)) << args[2];
  }
}

// An existing regular file is replaced by a new one (rename), not rewritten in place: another
// name of the old file (a hard link) keeps the old content.
TEST(ReportCli, OutputReplacesAFileInsteadOfWritingIntoIt) {
  FakeTree tree;
  putZones(tree);
  tree.put("/out.json", "old\n");
  ASSERT_EQ(::link(tree.hostPath("/out.json").c_str(), tree.hostPath("/other").c_str()), 0);
  Outcome run =
      zonectl({"--root", tree.path(), "--json", "report", "-o", tree.hostPath("/out.json")});
  ASSERT_EQ(run.exit_status, 0) << run.err;
  EXPECT_EQ(json::parse(slurp(tree.hostPath("/out.json")))["partitions"].size(), 2u);
  EXPECT_EQ(slurp(tree.hostPath("/other")), "old\n");
}

// report reads the reclaim trigger, never installs it, and removes it only when asked; a tree
// is never changed, so --stop-trace on --root is refused.
TEST(ReportCli, ReportLeavesTheTraceTriggerAlone) {
  FakeTree tree;
  putZones(tree);
  std::string trigger =
      tree.hostPath("/sys/kernel/tracing/events/vmscan/mm_vmscan_lru_shrink_inactive/trigger");
  Outcome run = zonectl({"--root", tree.path(), "report"});
  ASSERT_EQ(run.exit_status, 0) << run.err;
  Outcome stop = zonectl({"--root", tree.path(), "report", "--stop-trace"});
  EXPECT_EQ(stop.exit_status, 2) << stop.err;
  EXPECT_THAT(stop.err, HasSubstr("--stop-trace"));
  EXPECT_EQ(slurp(trigger), "");
}

TEST(ReportCli, TopOnce) {
  FakeTree tree;
  putZones(tree);
  Outcome run = zonectl({"--root", tree.path(), "top", "--once"});
  ASSERT_EQ(run.exit_status, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("softzone top"));
  EXPECT_THAT(run.out, HasSubstr("RECLAIMED"));
  EXPECT_THAT(run.out, ::testing::ContainsRegex("\nA +partition +2-3 "));
  Outcome two = zonectl({"--root", tree.path(), "top", "-n", "2", "--interval", "0.1"});
  ASSERT_EQ(two.exit_status, 0) << two.err;
  EXPECT_EQ(std::count(two.out.begin(), two.out.end(), 'q'),
            2 * std::count(run.out.begin(), run.out.end(), 'q'));
}

// Reads from the pty until `text` appears; gives up (and fails) after a minute without output.
bool readUntil(int fd, std::string_view text, std::string& seen) {
  while (seen.find(text) == std::string::npos) {
    struct pollfd p = {fd, POLLIN, 0};
    if (::poll(&p, 1, 60000) <= 0) return false;
    char buffer[4096];
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) return false;
    seen.append(buffer, static_cast<size_t>(n));
  }
  return true;
}

// top on a terminal: raw keys, a frame, and q quits with status 0 (and the terminal restored).
TEST(ReportCli, TopQuitsOnQFromATerminal) {
  FakeTree tree;
  putZones(tree);
  std::string binary = SOFTZONE_ZONECTL;
  std::string root = tree.path();
  int master = -1;
  pid_t pid = ::forkpty(&master, nullptr, nullptr, nullptr);
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::execl(binary.c_str(), binary.c_str(), "--root", root.c_str(), "top", "--interval", "0.2",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  std::string seen;
  bool framed = readUntil(master, "(q quits)", seen);
  // A second frame proves it keeps refreshing until asked to stop.
  bool refreshed =
      framed && readUntil(master, "(q quits)", seen = seen.substr(seen.find("(q quits)") + 1));
  ASSERT_EQ(::write(master, "q", 1), 1);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ::close(master);
  EXPECT_TRUE(framed);
  EXPECT_TRUE(refreshed);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_THAT(seen, HasSubstr("\x1b[2J"));  // a terminal gets the screen cleared
}

TEST(ReportCli, BadUsageExitsTwo) {
  FakeTree tree;
  putZones(tree);
  std::string snapshot = tree.hostPath("/bad.json");
  tree.put("/bad.json", "{\"format\": \"softzone-snapshot\", \"version\": 1}");
  for (std::vector<std::string> args :
       {std::vector<std::string>{"report", "--format", "xml"},
        std::vector<std::string>{"report", "--since", tree.hostPath("/none.json")},
        std::vector<std::string>{"report", "--since", snapshot},
        std::vector<std::string>{"report", "nosuchzone"}, std::vector<std::string>{"snapshot"},
        std::vector<std::string>{"top", "--interval", "0"},
        std::vector<std::string>{"run", "A", "--", "true"}, std::vector<std::string>{"run", "A"}}) {
    args.insert(args.begin(), {"--root", tree.path()});
    Outcome run = zonectl(args);
    EXPECT_EQ(run.exit_status, 2) << args[2] << " " << (args.size() > 3 ? args[3] : "") << ": "
                                  << run.err;
    EXPECT_FALSE(run.err.empty());
    EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
  }
}

}  // namespace
}  // namespace softzone::tools

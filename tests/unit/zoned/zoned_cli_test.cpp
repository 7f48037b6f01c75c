// The zoned binary on copies of captured guest trees (--root, --dry-run): the decisions it prints
// for partitions zonectl made there, its refusals (a tree without --dry-run, a bad spec) and the
// metrics file it writes.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/fake_tree.h"
#include "support/notify_socket.h"
#include "support/run_zonectl.h"

namespace softzone::tools {
namespace {

namespace fs = std::filesystem;
using ::softzone::testing::FakeTree;
using ::testing::HasSubstr;

const std::string kFixture = std::string(SOFTZONE_FIXTURES) + "/debian-6.12-fake16-v2/root";

Outcome zoned(std::vector<std::string> args) { return runBinary(SOFTZONE_ZONED, std::move(args)); }

std::string psi(double some, double full) {
  return "some avg10=" + std::to_string(some) +
         " avg60=0.00 avg300=0.00 total=1\nfull avg10=" + std::to_string(full) +
         " avg60=0.00 avg300=0.00 total=1\n";
}

// /proc/buddyinfo's text without the lines of `node`.
std::string withoutNode(const std::string& buddyinfo, int node) {
  std::string prefix = "Node " + std::to_string(node) + ",", kept;
  for (size_t at = 0; at < buddyinfo.size();) {
    size_t end = std::min(buddyinfo.find('\n', at), buddyinfo.size() - 1);
    std::string line = buddyinfo.substr(at, end - at + 1);
    if (line.rfind(prefix, 0) != 0) kept += line;
    at = end + 1;
  }
  return kept;
}

// A copy of a 16-node guest (nodes of about 45M) with partitions web (node 2) and db (node 3),
// and a spec giving web room to grow; db has no bounds and its node holds its memory already.
class ZonedCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::copy(kFixture, tree_.path(), fs::copy_options::recursive);
    ASSERT_EQ(zonectlOn(tree_.path(), {"create", "web", "--nodes", "2"}).exit_status, 0);
    ASSERT_EQ(zonectlOn(tree_.path(), {"create", "db", "--nodes", "3"}).exit_status, 0);
    tree_.put("/sys/fs/cgroup/softzone/web/memory.pressure", psi(40, 0));
    tree_.put("/sys/fs/cgroup/softzone/db/memory.pressure", psi(0, 0));
    writeSpec("");
  }

  void writeSpec(const std::string& extra) {
    scratch_.put("/spec.ini",
                 "[partition.web]\nmemory = 100M\nmin = 50M\nmax = 1G\n"
                 "[partition.db]\nmemory = 40M\n"
                 "[zoned]\nsustain = 1\nmetrics_textfile = " +
                     scratch_.hostPath("/zoned.prom") + "\n" + extra);
  }

  // zoned --dry-run in the background, its stderr to `log`; the pid, or -1.
  pid_t startZoned(const std::string& log) {
    std::string binary = SOFTZONE_ZONED, root = "--root", tree = tree_.path(), config = "--config",
                spec = scratch_.hostPath("/spec.ini"), dry = "--dry-run";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<char*> argv = {binary.data(), root.data(), tree.data(), config.data(),
                               spec.data(),   dry.data(),  nullptr};
    pid_t pid = -1;
    int failed = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    return failed == 0 ? pid : -1;
  }

  Outcome dryRun() {
    return zoned({"--root", tree_.path(), "--config", scratch_.hostPath("/spec.ini"), "--dry-run",
                  "--once"});
  }

  FakeTree tree_;
  FakeTree scratch_;
};

TEST_F(ZonedCliTest, APressuredPartitionWouldGrowFromTheFreePool) {
  Outcome run = dryRun();
  ASSERT_EQ(run.exit_status, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("zoned: would grow web by node"));
  EXPECT_THAT(run.out, HasSubstr("PSI some 40.00% >= 10.00% for 1 samples"));
  // A dry run changes nothing.
  EXPECT_EQ(slurp(tree_.hostPath("/sys/fs/cgroup/softzone/web/cpuset.mems")), "2\n");
  EXPECT_FALSE(fs::exists(tree_.hostPath("/var/lib/softzone/zoned.json")));
}

TEST_F(ZonedCliTest, APartitionWithoutBoundsIsNeverGrown) {
  tree_.put("/sys/fs/cgroup/softzone/web/memory.pressure", psi(0, 0));
  tree_.put("/sys/fs/cgroup/softzone/db/memory.pressure", psi(50, 20));
  Outcome run = dryRun();
  ASSERT_EQ(run.exit_status, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("no move for db: db at max"));
  EXPECT_THAT(run.out, ::testing::Not(HasSubstr("would grow")));
}

TEST_F(ZonedCliTest, ItWritesMetricsForEveryZone) {
  Outcome run = dryRun();
  ASSERT_EQ(run.exit_status, 0) << run.err;
  std::string metrics = slurp(scratch_.hostPath("/zoned.prom"));
  EXPECT_THAT(metrics, HasSubstr("softzone_nodes{zone=\"web\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr("softzone_nodes{zone=\"db\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr("softzone_pressure_some_avg10_ratio{zone=\"web\"} 0.4\n"));
  EXPECT_THAT(metrics, HasSubstr("softzone_max_bytes{zone=\"web\"} 1073741824\n"));
  EXPECT_THAT(metrics, HasSubstr("softzone_zoned_samples_total 1\n"));
}

// With refault_rate set, a node's vmstat that cannot be read is a failed sample, said with the
// file: read as no refaults, it would make a thrashing partition look calm.
TEST_F(ZonedCliTest, AnUnreadableNodeVmstatFailsTheSample) {
  writeSpec("refault_rate = 1000\n");
  fs::remove(tree_.hostPath("/sys/devices/system/node/node2/vmstat"));
  Outcome run = dryRun();
  EXPECT_EQ(run.exit_status, 1) << run.err;
  EXPECT_THAT(run.err, HasSubstr("zoned: sample failed, nothing decided: refaults of node 2: "));
  EXPECT_THAT(run.err, HasSubstr("node2/vmstat"));
  EXPECT_THAT(run.out, ::testing::Not(HasSubstr("would grow")));
}

// Without refault_rate no vmstat is read (what a sample costs: docs/zoned.md), and the log and
// the metrics say nothing of refaults rather than a rate nobody measured.
TEST_F(ZonedCliTest, WithoutRefaultRateNoVmstatIsRead) {
  fs::remove(tree_.hostPath("/sys/devices/system/node/node2/vmstat"));
  Outcome run = dryRun();
  ASSERT_EQ(run.exit_status, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("zoned: would grow web by node"));
  EXPECT_THAT(run.out, ::testing::Not(HasSubstr("refaults")));
  std::string metrics = slurp(scratch_.hostPath("/zoned.prom"));
  EXPECT_THAT(metrics, HasSubstr("# TYPE softzone_refault_rate_pages_per_second gauge\n"));
  EXPECT_THAT(metrics, ::testing::Not(HasSubstr("softzone_refault_rate_pages_per_second{")));
}

// Free memory comes from /proc/buddyinfo: a node with memory that has no line there was misread,
// and the sample fails naming the node and the file instead of seeing it empty or full.
TEST_F(ZonedCliTest, ANodeMissingFromBuddyinfoFailsTheSample) {
  std::string buddyinfo = slurp(tree_.hostPath("/proc/buddyinfo"));
  std::string kept = withoutNode(buddyinfo, 2);
  ASSERT_NE(kept, buddyinfo);
  tree_.put("/proc/buddyinfo", kept);
  Outcome run = dryRun();
  EXPECT_EQ(run.exit_status, 1) << run.err;
  EXPECT_THAT(run.err, HasSubstr("zoned: sample failed, nothing decided: node 2 has "));
  EXPECT_THAT(run.err, HasSubstr("but no line in "));
  EXPECT_THAT(run.err, HasSubstr("proc/buddyinfo"));
  EXPECT_THAT(run.out, ::testing::Not(HasSubstr("would grow")));
}

// The free memory in the metrics is buddyinfo's: each zone's free blocks, in pages.
TEST_F(ZonedCliTest, FreeMemoryIsReadFromBuddyinfo) {
  std::string others = withoutNode(slurp(tree_.hostPath("/proc/buddyinfo")), 2);
  // 3 blocks of 1 page, 1 of 2 and 2 of 1024: 2053 pages.
  tree_.put("/proc/buddyinfo", others + "Node 2, zone   Normal  3  1  0  0  0  0  0  0  0  0  2\n");
  Outcome run = dryRun();
  ASSERT_EQ(run.exit_status, 0) << run.err;
  std::string metrics = slurp(scratch_.hostPath("/zoned.prom"));
  EXPECT_THAT(metrics, HasSubstr("softzone_mem_free_bytes{zone=\"web\"} " +
                                 std::to_string(2053 * ::sysconf(_SC_PAGESIZE)) + "\n"));
}

TEST_F(ZonedCliTest, ATreeIsOnlyReadWithDryRun) {
  Outcome run =
      zoned({"--root", tree_.path(), "--config", scratch_.hostPath("/spec.ini"), "--once"});
  EXPECT_EQ(run.exit_status, 2);
  EXPECT_THAT(run.err, HasSubstr("zoned moves nodes only on the running system"));
  EXPECT_EQ(slurp(tree_.hostPath("/sys/fs/cgroup/softzone/web/cpuset.mems")), "2\n");
}

TEST_F(ZonedCliTest, ABadSpecIsBadInputNamingTheLine) {
  writeSpec("listen = 0.0.0.0:9747\n");
  Outcome run = dryRun();
  EXPECT_EQ(run.exit_status, 2);
  EXPECT_THAT(run.err, HasSubstr("spec.ini:10: [zoned] listen = \"0.0.0.0:9747\""));
}

// Polls `done` every 50 ms for up to 10 s.
template <typename Done>
bool waitFor(Done done) {
  for (int i = 0; i < 200 && !done(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

// A socket listening on an ephemeral loopback port, or (listen = false) only bound to learn a
// port nobody listens on.
struct LoopbackPort {
  explicit LoopbackPort(bool listen) {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof at;
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&at), sizeof at), 0);
    if (listen) {
      EXPECT_EQ(::listen(fd, 1), 0);
    }
    EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&at), &size), 0);
    port = ntohs(at.sin_port);
    if (!listen) {
      ::close(fd);
      fd = -1;
    }
  }
  ~LoopbackPort() {
    if (fd >= 0) ::close(fd);
  }
  int fd = -1;
  uint16_t port = 0;
};

// GET /metrics on 127.0.0.1:PORT with a plain socket; "" when nothing answers.
std::string fetchMetrics(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string text;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0) {
    std::string request = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    EXPECT_EQ(::write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
    char buffer[4096];
    ssize_t got = 0;
    while ((got = ::read(fd, buffer, sizeof buffer)) > 0) text.append(buffer, got);
  }
  ::close(fd);
  size_t body = text.find("\r\n\r\n");
  return text.rfind("HTTP/1.1 200", 0) == 0 && body != std::string::npos ? text.substr(body + 4)
                                                                         : std::string();
}

TEST_F(ZonedCliTest, AnAddressInUseStopsItAtStart) {
  LoopbackPort taken(true);
  writeSpec("listen = 127.0.0.1:" + std::to_string(taken.port) + "\n");
  Outcome run = dryRun();
  EXPECT_EQ(run.exit_status, 1);
  EXPECT_THAT(run.err,
              HasSubstr("cannot serve /metrics on 127.0.0.1:" + std::to_string(taken.port)));
  EXPECT_THAT(run.err, HasSubstr("in use"));
  EXPECT_FALSE(fs::exists(scratch_.hostPath("/zoned.prom")));
}

// zoned in the background serves over HTTP the text it writes to its metrics file; a reload
// that would listen on a public address is refused and the endpoint stays where it was.
TEST_F(ZonedCliTest, ItServesItsMetricsFileOverHttpAndKeepsItOnABadReload) {
  uint16_t port = LoopbackPort(false).port;
  // One sample only (a 10-minute interval), so the file and the answer cannot differ by a sample.
  writeSpec("interval = 10m\nlisten = 127.0.0.1:" + std::to_string(port) + "\n");
  std::string log = scratch_.hostPath("/zoned.log");
  pid_t pid = startZoned(log);
  ASSERT_GT(pid, 0);
  std::string body;
  EXPECT_TRUE(waitFor([&] { return !(body = fetchMetrics(port)).empty(); })) << slurp(log);
  EXPECT_EQ(body, slurp(scratch_.hostPath("/zoned.prom")));
  EXPECT_THAT(body, HasSubstr("softzone_nodes{zone=\"web\"} 1\n"));
  writeSpec("interval = 10m\nlisten = 0.0.0.0:" + std::to_string(port) + "\n");
  ::kill(pid, SIGHUP);
  EXPECT_TRUE(waitFor([&] { return slurp(log).find("reload refused") != std::string::npos; }));
  EXPECT_EQ(fetchMetrics(port), body);
  ::kill(pid, SIGTERM);
  int status = -1;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << slurp(log);
  EXPECT_THAT(slurp(log), HasSubstr("listen = \"0.0.0.0:" + std::to_string(port) + "\""));
}

// Under systemd (NOTIFY_SOCKET, WATCHDOG_USEC set): READY=1 with the status line after the first
// sample, a watchdog ping, STOPPING=1 at the end; in that order.
TEST_F(ZonedCliTest, ItTellsTheServiceManagerReadyStatusWatchdogAndStopping) {
  ::softzone::testing::NotifySocket socket;
  ::setenv("WATCHDOG_USEC", "60000000", 1);
  Outcome run = dryRun();
  ::unsetenv("WATCHDOG_USEC");
  ASSERT_EQ(run.exit_status, 0) << run.err;
  EXPECT_EQ(socket.next(),
            "READY=1\nSTATUS=db 1 nodes, web 1 nodes, 13 free; 0 moves, 0 failed; 1 samples, 0 "
            "failed");
  EXPECT_EQ(socket.next(), "WATCHDOG=1");
  EXPECT_EQ(socket.next(), "STOPPING=1\nSTATUS=stopping");
  EXPECT_EQ(socket.next(), "");
}

// Between two samples far apart zoned still pings the watchdog every half of its period.
TEST_F(ZonedCliTest, ItPingsTheWatchdogWhileItSleepsBetweenSamples) {
  writeSpec("interval = 10m\n");
  ::softzone::testing::NotifySocket socket;
  ::setenv("WATCHDOG_USEC", "200000", 1);  // a ping every 100 ms
  pid_t pid = startZoned(scratch_.hostPath("/zoned.log"));
  ::unsetenv("WATCHDOG_USEC");
  ASSERT_GT(pid, 0);
  std::vector<std::string> messages;
  EXPECT_TRUE(waitFor([&] {
    for (std::string m = socket.next(); !m.empty(); m = socket.next()) messages.push_back(m);
    return std::count(messages.begin(), messages.end(), "WATCHDOG=1") >= 10;
  }));
  ::kill(pid, SIGTERM);
  int status = -1;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_FALSE(messages.empty());
  EXPECT_THAT(messages[0], ::testing::StartsWith("READY=1\nSTATUS="));
}

TEST_F(ZonedCliTest, GarbageOptionsAreBadInput) {
  std::string spec = scratch_.hostPath("/spec.ini");
  Outcome cgroup = zoned({"--root", tree_.path(), "--config", spec, "--dry-run", "--cgroup", "v3"});
  EXPECT_EQ(cgroup.exit_status, 2);
  EXPECT_THAT(cgroup.err, HasSubstr("v3"));
  Outcome root = zoned({"--root", tree_.path() + "/none", "--config", spec, "--dry-run"});
  EXPECT_EQ(root.exit_status, 2);
  EXPECT_THAT(root.err, HasSubstr("/none"));
  Outcome config = zoned({"--config", scratch_.hostPath("/missing.ini"), "--dry-run"});
  EXPECT_EQ(config.exit_status, 2);
  EXPECT_THAT(config.err, HasSubstr("missing.ini"));
  Outcome unknown = zoned({"--config", spec, "--often"});
  EXPECT_EQ(unknown.exit_status, 2);
}

// zoned's own state file with garbage in it: zoned says which file and does not start; the file
// and the partitions stay as they were.
TEST_F(ZonedCliTest, AGarbageStateFileStopsItNamingTheFile) {
  tree_.put("/var/lib/softzone/zoned.json",
            "{\"format\": \"softzone-zoned-state\", \"version\": 7}");
  Outcome run = dryRun();
  EXPECT_EQ(run.exit_status, 2) << run.err;
  EXPECT_THAT(run.err, HasSubstr("zoned.json"));
  EXPECT_THAT(run.err, HasSubstr("remove it to start with no cooldowns or loans"));
  EXPECT_EQ(slurp(tree_.hostPath("/var/lib/softzone/zoned.json")),
            "{\"format\": \"softzone-zoned-state\", \"version\": 7}");
  EXPECT_EQ(slurp(tree_.hostPath("/sys/fs/cgroup/softzone/web/cpuset.mems")), "2\n");
}

TEST_F(ZonedCliTest, ItNeedsAConfig) {
  Outcome run = zoned({"--dry-run"});
  EXPECT_EQ(run.exit_status, 2);
  EXPECT_THAT(run.err, HasSubstr("--config FILE is required"));
}

// The zones of `zonectl --json VERB` with the state file below: db holds nothing on loan, web
// node 4, and zoned's moves are `moves` long.
void expectWebHoldsNode4OnLoan(const Outcome& run, size_t moves) {
  ASSERT_EQ(run.exit_status, 0) << run.err;
  nlohmann::json out = nlohmann::json::parse(run.out);
  ASSERT_EQ(out["partitions"].size(), 2u);
  EXPECT_EQ(out["partitions"][0]["name"], "db");
  EXPECT_EQ(out["partitions"][0]["nodes_on_loan"], "");
  EXPECT_EQ(out["partitions"][1]["nodes_on_loan"], "4");
  ASSERT_EQ(out["zoned"]["moves"].size(), moves);
  EXPECT_EQ(out["zoned"]["moves"][0]["to"], "web");
  EXPECT_TRUE(out["zoned"]["problem"].is_null());
}

// zonectl list and status show what zoned's state file says: the nodes each partition holds on
// loan and the recent moves; a state file that does not parse is said, not fatal.
TEST_F(ZonedCliTest, ListAndStatusShowZonedsLoansAndMoves) {
  tree_.put("/var/lib/softzone/zoned.json",
            R"({"format": "softzone-zoned-state", "version": 1, "boot_id": "b",
                "moves": [{"time_ms": 5000, "node": 4, "from": "free", "to": "web"}],
                "loans": [{"node": 4, "owner": "web", "lender": "free", "since_ms": 5000}]})");
  expectWebHoldsNode4OnLoan(zonectlOn(tree_.path(), {"--json", "list"}), 1);
  Outcome status = zonectlOn(tree_.path(), {"status", "web"});
  ASSERT_EQ(status.exit_status, 0) << status.err;
  EXPECT_THAT(status.out,
              HasSubstr("on loan: node 4 to web from the free pool since 5.0 s after boot"));
  EXPECT_THAT(status.out,
              HasSubstr("zoned moved node 4 from the free pool to web at 5.0 s after boot"));
  Outcome db = zonectlOn(tree_.path(), {"status", "db"});
  EXPECT_THAT(db.out, ::testing::Not(HasSubstr("node 4")));
}

// zonectl report shows the same: list's JSON keys, list's lines after the table, and a section
// of the HTML page.
TEST_F(ZonedCliTest, ReportShowsZonedsLoansAndMovesInEveryFormat) {
  tree_.put("/var/lib/softzone/zoned.json",
            R"({"format": "softzone-zoned-state", "version": 1, "boot_id": "b",
                "moves": [{"time_ms": 5000, "node": 4, "from": "free", "to": "web"},
                          {"time_ms": 9000, "node": 5, "from": "web", "to": "free"}],
                "loans": [{"node": 4, "owner": "web", "lender": "free", "since_ms": 5000}]})");
  Outcome json = zonectlOn(tree_.path(), {"report", "--json"});
  expectWebHoldsNode4OnLoan(json, 2);
  nlohmann::json report = nlohmann::json::parse(json.out);
  EXPECT_TRUE(report["partitions"][1].contains("mem_total_bytes"));  // still the report
  EXPECT_EQ(report["zoned"]["moves"][1],
            nlohmann::json({{"time_ms", 9000}, {"node", 5}, {"from", "web"}, {"to", "free"}}));
  Outcome table = zonectlOn(tree_.path(), {"report"});
  ASSERT_EQ(table.exit_status, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("Per-zone memory"));
  EXPECT_THAT(table.out,
              HasSubstr("on loan: node 4 to web from the free pool since 5.0 s after boot\n"));
  EXPECT_THAT(table.out,
              HasSubstr("zoned moved node 5 from web to the free pool at 9.0 s after boot\n"));
  Outcome html = zonectlOn(tree_.path(), {"report", "--format", "html"});
  ASSERT_EQ(html.exit_status, 0) << html.err;
  EXPECT_THAT(html.out, HasSubstr("<h2>zoned: nodes on loan and recent moves</h2>"));
  EXPECT_THAT(
      html.out,
      HasSubstr("<li>zoned moved node 4 from the free pool to web at 5.0 s after boot</li>"));
}

TEST_F(ZonedCliTest, AReportWithoutZonedSaysNothingOfIt) {
  Outcome json = zonectlOn(tree_.path(), {"report", "--json"});
  ASSERT_EQ(json.exit_status, 0) << json.err;
  nlohmann::json report = nlohmann::json::parse(json.out);
  EXPECT_EQ(report["partitions"][1]["nodes_on_loan"], "");
  EXPECT_TRUE(report["zoned"]["moves"].empty());
  Outcome table = zonectlOn(tree_.path(), {"report"});
  EXPECT_THAT(table.out, ::testing::Not(HasSubstr("zoned")));
  tree_.put("/var/lib/softzone/zoned.json", "{ not json");
  Outcome bad = zonectlOn(tree_.path(), {"report"});
  ASSERT_EQ(bad.exit_status, 0) << bad.err;
  EXPECT_THAT(bad.out, HasSubstr("zoned: state not used: "));
}

TEST_F(ZonedCliTest, AnUnreadableZonedStateIsSaidNotFatal) {
  tree_.put("/var/lib/softzone/zoned.json", "{ not json");
  Outcome listed = zonectlOn(tree_.path(), {"list"});
  ASSERT_EQ(listed.exit_status, 0) << listed.err;
  EXPECT_THAT(listed.out, HasSubstr("zoned: state not used: "));
  EXPECT_THAT(listed.out, HasSubstr("db "));
}

}  // namespace
}  // namespace softzone::tools

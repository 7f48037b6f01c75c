// The report's parsers: node counters, /proc/PID/stat, kmsg OOM records, the reclaim hist, PSI.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "softzone/report/kmsg_oom.h"
#include "softzone/report/node_stats.h"
#include "softzone/report/pressure.h"
#include "softzone/report/reclaim_trace.h"
#include "support/fake_tree.h"

namespace softzone::report {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

TEST(NodeMeminfo, ReadsKnownKeysInBytes) {
  MetricValues values{};
  ASSERT_TRUE(
      parseNodeMeminfo("Node 2 MemTotal:         128768 kB\n"
                       "Node 2 MemFree:          123564 kB\n"
                       "Node 2 FilePages:            12 kB\n"
                       "Node 2 AnonPages:             3 kB\n"
                       "Node 2 HugePages_Total:     0\n"
                       "Node 2 Unknown(new):         5 kB\n",
                       2, values));
  EXPECT_EQ(at(values, Metric::kMemTotal), 128768u * 1024);
  EXPECT_EQ(at(values, Metric::kMemFree), 123564u * 1024);
  EXPECT_EQ(at(values, Metric::kFile), 12u * 1024);
  EXPECT_EQ(at(values, Metric::kAnon), 3u * 1024);
}

TEST(NodeMeminfo, RefusesAnotherNodesLineAndBadNumbers) {
  MetricValues values{};
  auto other = parseNodeMeminfo("Node 3 MemTotal: 1 kB\n", 2, values);
  ASSERT_FALSE(other);
  EXPECT_TRUE(other.error().isBadInput());
  EXPECT_THAT(other.error().message(), ::testing::HasSubstr("line 1"));
  EXPECT_FALSE(parseNodeMeminfo("Node 2 MemTotal: 12x kB\n", 2, values));
  EXPECT_FALSE(parseNodeMeminfo("Node 2 MemTotal: 99999999999999999999 kB\n", 2, values));
  EXPECT_FALSE(parseNodeMeminfo("Node 2 MemTotal 1 kB\n", 2, values));
}

TEST(NodeVmstat, RefaultsOfNewAndOldKernels) {
  MetricValues values{};
  ASSERT_TRUE(
      parseNodeVmstat("nr_free_pages 30891\nworkingset_refault_anon 4\n"
                      "workingset_refault_file 7\nnr_vmscan_write 2\n",
                      values));
  EXPECT_EQ(at(values, Metric::kRefaultAnon), 4u);
  EXPECT_EQ(at(values, Metric::kRefaultFile), 7u);
  EXPECT_EQ(at(values, Metric::kVmscanWrite), 2u);
  MetricValues old{};
  ASSERT_TRUE(parseNodeVmstat("workingset_refault 9\n", old));
  EXPECT_EQ(at(old, Metric::kRefaultFile), 9u);
  EXPECT_FALSE(parseNodeVmstat("workingset_refault_file\n", old));
  EXPECT_FALSE(parseNodeVmstat("workingset_refault_file -1\n", old));
}

TEST(NodeNumastat, AllSixCounters) {
  MetricValues values{};
  ASSERT_TRUE(
      parseNodeNumastat("numa_hit 678\nnuma_miss 1\nnuma_foreign 2\ninterleave_hit 60\n"
                        "local_node 3\nother_node 678\n",
                        values));
  EXPECT_EQ(at(values, Metric::kNumaHit), 678u);
  EXPECT_EQ(at(values, Metric::kInterleaveHit), 60u);
  EXPECT_EQ(at(values, Metric::kOtherNode), 678u);
}

// Node vmstat carries the NUMA events on current kernels: numastat is then not read (or added
// twice); without them in vmstat, numastat is the source.
TEST(ReadNodeStats, NumaEventsCountedOnce) {
  testing::FakeTree tree;
  std::string dir = "/sys/devices/system/node/";
  tree.put(dir + "node0/meminfo", "Node 0 MemTotal: 100 kB\nNode 0 MemFree: 40 kB\n");
  tree.put(dir + "node0/vmstat", "nr_free_pages 10\nnuma_hit 5\nnuma_interleave 2\n");
  tree.put(dir + "node0/numastat", "numa_hit 5\ninterleave_hit 2\n");
  tree.put(dir + "node1/meminfo", "Node 1 MemTotal: 100 kB\n");
  tree.put(dir + "node1/vmstat", "workingset_refault_file 3\n");
  tree.put(dir + "node1/numastat", "numa_hit 7\ninterleave_hit 1\n");
  auto read = readNodeStatsAt(tree.open());
  ASSERT_TRUE(read) << read.error().describe();
  ASSERT_EQ(read->nodes.size(), 2u);
  EXPECT_EQ(at(read->nodes[0].values, Metric::kNumaHit), 5u);
  EXPECT_EQ(at(read->nodes[0].values, Metric::kInterleaveHit), 2u);
  EXPECT_EQ(at(read->nodes[0].values, Metric::kMemTotal), 100u * 1024);
  EXPECT_EQ(at(read->nodes[1].values, Metric::kNumaHit), 7u);
  EXPECT_EQ(at(read->nodes[1].values, Metric::kRefaultFile), 3u);
  EXPECT_TRUE(read->vmstat);
  EXPECT_TRUE(read->numastat);
  EXPECT_TRUE(read->problems.empty());
}

TEST(ReadNodeStats, MissingOptionalFileIsAProblemNotAnError) {
  testing::FakeTree tree;
  tree.put("/sys/devices/system/node/node0/meminfo", "Node 0 MemTotal: 100 kB\n");
  auto read = readNodeStatsAt(tree.open());
  ASSERT_TRUE(read);
  EXPECT_FALSE(read->vmstat);
  EXPECT_FALSE(read->numastat);
  ASSERT_EQ(read->problems.size(), 2u);
  EXPECT_EQ(read->problems[0].source, "node0/vmstat");
  tree.put("/sys/devices/system/node/node0/meminfo", "Node 0 MemTotal: x kB\n");
  auto bad = readNodeStatsAt(tree.open());
  ASSERT_FALSE(bad);
  EXPECT_TRUE(bad.error().isBadInput());
  EXPECT_THAT(bad.error().message(), ::testing::HasSubstr("node0/meminfo"));
}

TEST(VmstatPrefixed, PicksPgmigrate) {
  auto pairs =
      parseVmstatPrefixed("pgfault 1\npgmigrate_success 12\npgmigrate_fail 3\n", "pgmigrate_");
  ASSERT_TRUE(pairs);
  EXPECT_THAT(*pairs, ElementsAre(Pair("pgmigrate_success", 12u), Pair("pgmigrate_fail", 3u)));
}

TEST(ProcStat, CommWithSpacesAndParentheses) {
  auto stat = parseProcStat(
      "77 (kswapd0) S 2 0 0 0 -1 2129984 0 0 0 0 15 27 0 0 20 0 1 0 36 0 0 18446744073709551615\n");
  ASSERT_TRUE(stat);
  EXPECT_EQ(stat->comm, "kswapd0");
  EXPECT_EQ(stat->flags, 2129984u);
  EXPECT_NE(stat->flags & kTaskFlagKthread, 0u);
  EXPECT_EQ(stat->cpu_ticks, 42u);
  auto odd = parseProcStat("5 (a) b (c)) R 1 1 1 0 -1 0 0 0 0 0 1 2 0 0\n");
  ASSERT_TRUE(odd);
  EXPECT_EQ(odd->comm, "a) b (c)");
  EXPECT_EQ(odd->cpu_ticks, 3u);
  EXPECT_FALSE(parseProcStat("no parentheses"));
  EXPECT_FALSE(parseProcStat("1 (x) S 1 2"));
  EXPECT_FALSE(parseProcStat("1 (x) S 1 1 1 0 -1 0 0 0 0 0 x 2 0 0"));
  EXPECT_FALSE(parseProcStat("1 (x) S 1 1 1 0 -1 z 0 0 0 0 1 2 0 0"));
}

TEST(KswapdName, OnlyKswapdN) {
  EXPECT_EQ(parseKswapdName("kswapd12"), 12);
  EXPECT_EQ(parseKswapdName("kswapd"), std::nullopt);
  EXPECT_EQ(parseKswapdName("kswapd1x"), std::nullopt);
  EXPECT_EQ(parseKswapdName("kcompactd0"), std::nullopt);
}

// Records as /dev/kmsg gives them for an OOM inside a cpuset (the format of 6.1 and 6.12).
constexpr std::string_view kKmsgCpusetOom =
    "4,812,93412345,-;memhog invoked oom-killer: "
    "gfp_mask=0x140dca(GFP_HIGHUSER_MOVABLE|__GFP_COMP|__GFP_ZERO), order=0, oom_score_adj=0\n"
    " SUBSYSTEM=cpu\n"
    "6,813,93412400,-;oom-kill:constraint=CONSTRAINT_CPUSET,nodemask=(null),cpuset=A,mems_allowed="
    "2-3,global_oom,task_memcg=/,task=memhog,pid=125,uid=0\n"
    "3,814,93412410,-;Out of memory: Killed process 125 (memhog) total-vm:300000kB, "
    "anon-rss:180000kB, file-rss:1024kB, shmem-rss:0kB, UID:0 pgtables:400kB oom_score_adj:0\n"
    "6,815,93412500,-;something else\n";

// A run samples every interval: the first scan of /proc is remembered, later samples read only
// those pids, and a pid that no longer names its kswapd (it cannot, short of memory hotplug)
// sends the next sample back to scanning.
TEST(Kswapd, PidsFoundOnceAreReadDirectlyAfterwards) {
  auto stat = [](int pid, const char* comm, int utime) {
    return std::to_string(pid) + " (" + comm + ") S 2 0 0 0 -1 2129984 0 0 0 0 " +
           std::to_string(utime) + " 0 0 0 20 0 1 0 36 0 0 18446744073709551615\n";
  };
  testing::FakeTree tree;
  tree.put("/proc/1/stat", stat(1, "init", 5));
  tree.put("/proc/70/stat", stat(70, "kswapd0", 100));
  tree.put("/proc/71/stat", stat(71, "kswapd1", 200));
  tree.put("/proc/self", "");
  std::vector<NodeStats> nodes(2);
  nodes[0].id = 0;
  nodes[1].id = 1;
  KswapdPids known;
  ASSERT_TRUE(readKswapdCpuAt(tree.open(), nodes, &known));
  EXPECT_EQ(known.by_node, (std::map<int, int>{{0, 70}, {1, 71}}));
  long ticks = ::sysconf(_SC_CLK_TCK);
  EXPECT_EQ(at(nodes[1].values, Metric::kKswapdCpuMs), 200u * 1000 / static_cast<uint64_t>(ticks));
  // Later: more CPU time. A decoy with a lower pid, which a scan in pid order would take for
  // node 1's kswapd, shows that the known pid is read and /proc is not scanned.
  tree.put("/proc/71/stat", stat(71, "kswapd1", 400));
  tree.put("/proc/50/stat", stat(50, "kswapd1", 999));
  ASSERT_TRUE(readKswapdCpuAt(tree.open(), nodes, &known));
  EXPECT_EQ(at(nodes[1].values, Metric::kKswapdCpuMs), 400u * 1000 / static_cast<uint64_t>(ticks));
  // Pid 71 is now something else and node 1's kswapd is pid 90: found by a new scan.
  tree.put("/proc/50/stat", stat(50, "sh", 1));
  tree.put("/proc/71/stat", stat(71, "bash", 1));
  tree.put("/proc/90/stat", stat(90, "kswapd1", 600));
  ASSERT_TRUE(readKswapdCpuAt(tree.open(), nodes, &known));
  EXPECT_EQ(known.by_node, (std::map<int, int>{{0, 70}, {1, 90}}));
  EXPECT_EQ(at(nodes[1].values, Metric::kKswapdCpuMs), 600u * 1000 / static_cast<uint64_t>(ticks));
}

// Any process may call itself "kswapd1" (prctl PR_SET_NAME); without the kernel-thread flag it
// is not taken for node 1's kswapd, even at a lower pid than the real one.
TEST(Kswapd, UserProcessNamedKswapdIsNotTaken) {
  testing::FakeTree tree;
  tree.put("/proc/40/stat",
           "40 (kswapd1) S 1 40 40 0 -1 4194560 0 0 0 0 999 0 0 0 20 0 1 0 36 0 0 0\n");
  tree.put("/proc/71/stat",
           "71 (kswapd1) S 2 0 0 0 -1 2129984 0 0 0 0 300 0 0 0 20 0 1 0 36 0 0 0\n");
  std::vector<NodeStats> nodes(1);
  nodes[0].id = 1;
  KswapdPids known;
  ASSERT_TRUE(readKswapdCpuAt(tree.open(), nodes, &known));
  EXPECT_EQ(known.by_node, (std::map<int, int>{{1, 71}}));
  long ticks = ::sysconf(_SC_CLK_TCK);
  EXPECT_EQ(at(nodes[0].values, Metric::kKswapdCpuMs), 300u * 1000 / static_cast<uint64_t>(ticks));
}

TEST(Kmsg, RecordFraming) {
  auto record = parseKmsgRecord("6,813,93412400,-;hello; world\n");
  ASSERT_TRUE(record);
  EXPECT_EQ(record->seq, 813u);
  EXPECT_EQ(record->usec, 93412400u);
  EXPECT_EQ(record->message, "hello; world");
  EXPECT_FALSE(parseKmsgRecord(" SUBSYSTEM=cpu"));
  EXPECT_FALSE(parseKmsgRecord("[   93.41] plain dmesg text"));
  EXPECT_FALSE(parseKmsgRecord("6,x,1,-;bad seq"));
  // Newer kernels may append fields to the header.
  auto extended = parseKmsgRecord("6,9,10,-,caller=T1;msg");
  ASSERT_TRUE(extended);
  EXPECT_EQ(extended->message, "msg");
}

TEST(Kmsg, CpusetOomWithVictimAndRss) {
  KmsgRead read = parseKmsgText(kKmsgCpusetOom);
  EXPECT_EQ(read.next_seq, 816u);
  ASSERT_EQ(read.kills.size(), 1u);
  const OomKill& kill = read.kills[0];
  EXPECT_TRUE(kill.isCpusetConstrained());
  EXPECT_EQ(kill.cpuset, "A");
  ASSERT_TRUE(kill.mems_allowed);
  EXPECT_EQ(kill.mems_allowed->format(), "2-3");
  EXPECT_EQ(kill.task, "memhog");
  EXPECT_EQ(kill.pid, 125);
  EXPECT_EQ(kill.uid, 0);
  EXPECT_EQ(kill.seq, 813u);
  EXPECT_EQ(kill.anon_rss_kb, 180000u);
  EXPECT_EQ(kill.file_rss_kb, 1024u);
}

TEST(Kmsg, MemsAllowedWithCommasAndGlobalOom) {
  auto kill = parseOomKillMessage(
      "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0-1,3,5-7,"
      "global_oom,task_memcg=/softzone/B,task=big worker,pid=4242,uid=1000");
  ASSERT_TRUE(kill);
  EXPECT_TRUE(kill->isGlobal());
  EXPECT_EQ(kill->mems_allowed->format(), "0-1,3,5-7");
  EXPECT_EQ(kill->task_memcg, "/softzone/B");
  EXPECT_EQ(kill->task, "big worker");
  EXPECT_EQ(kill->uid, 1000);
}

TEST(Kmsg, NotAKill) {
  EXPECT_FALSE(parseOomKillMessage("oom-kill:constraint=CONSTRAINT_NONE,task=x"));
  EXPECT_FALSE(parseOomKillMessage("oom-kill:task=x,pid=0"));
  EXPECT_FALSE(parseOomKillMessage("oom-kill:task=x,pid=-5"));
  EXPECT_FALSE(parseOomKillMessage("Out of memory: Killed process 1 (x)"));
}

// A kill in cpuset db whose victim named itself; `comm` is what the kernel prints after task=.
std::string dbKillLine(std::string_view comm) {
  return "oom-kill:constraint=CONSTRAINT_CPUSET,nodemask=(null),cpuset=db,mems_allowed=4-5,"
         "global_oom,task_memcg=/softzone/db,task=" +
         std::string(comm) + ",pid=321,uid=1000";
}

TEST(Kmsg, AVictimsNameCannotSetAnotherField) {
  for (std::string_view comm :
       {"x,cpuset=web", ",pid=1,uid=0", "a,task=b", "x,task_memcg=/w", ",mems_allowed=0", "=,,==,",
        ") total-vm:1kB", "with spaces", ",uid=0", "\\x0a,pid=7", "", ",pid=", "pid=9"}) {
    SCOPED_TRACE(std::string(comm));
    auto kill = parseOomKillMessage(dbKillLine(comm));
    ASSERT_TRUE(kill);
    EXPECT_EQ(kill->constraint, "CONSTRAINT_CPUSET");
    EXPECT_EQ(kill->cpuset, "db");
    ASSERT_TRUE(kill->mems_allowed);
    EXPECT_EQ(kill->mems_allowed->format(), "4-5");
    EXPECT_EQ(kill->task_memcg, "/softzone/db");
    EXPECT_EQ(kill->oom_memcg, "");
    EXPECT_EQ(kill->task, comm);
    EXPECT_EQ(kill->pid, 321);
    EXPECT_EQ(kill->uid, 1000);
  }
}

TEST(Kmsg, ACgroupNameCutsOnlyItselfShort) {
  // A delegated user may name a cgroup "a,mems_allowed=0" or "b,task=x": the kernel's own
  // fields after it are still read from their places (a path holding ",task=" ends there).
  auto kill = parseOomKillMessage(
      "oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=0-1,cpuset=a,mems_allowed=0,mems_allowed=2-3,"
      "oom_memcg=/user/b,task=x,task_memcg=/user/b,task=x/c,task=hog,pid=55,uid=1000");
  ASSERT_TRUE(kill);
  EXPECT_EQ(kill->cpuset, "a,mems_allowed=0");
  ASSERT_TRUE(kill->mems_allowed);
  EXPECT_EQ(kill->mems_allowed->format(), "2-3");
  EXPECT_EQ(kill->oom_memcg, "/user/b");
  EXPECT_EQ(kill->task_memcg, "");
  EXPECT_EQ(kill->pid, 55);
  EXPECT_EQ(kill->uid, 1000);
}

TEST(Kmsg, OutOfLayoutIsNotAKill) {
  // Keys in another order, or the victim's part missing, are not the kernel's summary.
  EXPECT_FALSE(parseOomKillMessage("oom-kill:constraint=CONSTRAINT_NONE,task=x,pid=5,uid=0"));
  EXPECT_FALSE(parseOomKillMessage(
      "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=a,task=x,pid=5,uid=0"));
  EXPECT_FALSE(parseOomKillMessage(
      "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),global_oom,task=x,pid=5"));
  EXPECT_FALSE(parseOomKillMessage(
      "oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),global_oom,task=x,pid=5,uid=0x"));
  // Without cpusets or memcg the kernel prints neither part.
  auto bare =
      parseOomKillMessage("oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),task=x,pid=5,uid=0");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->task, "x");
}

TEST(Kmsg, KilledProcessLineIsReadByLayout) {
  // The name in parentheses may hold ") total-vm:" and " anon-rss:"; the sizes are the kernel's.
  std::string comm = "x) total-vm:1kB, anon-rss:9kB";  // longer than a comm; shows the rule
  std::string text = "6,10,1,-;" + dbKillLine(comm) +
                     "\n3,11,2,-;Out of memory: Killed process 321 (" + comm +
                     ") total-vm:5000kB, anon-rss:4000kB, file-rss:12kB, shmem-rss:0kB, UID:1000 "
                     "pgtables:40kB oom_score_adj:0\n";
  KmsgRead read = parseKmsgText(text);
  ASSERT_EQ(read.kills.size(), 1u);
  EXPECT_EQ(read.kills[0].task, comm);
  EXPECT_EQ(read.kills[0].anon_rss_kb, 4000u);
  EXPECT_EQ(read.kills[0].file_rss_kb, 12u);
}

TEST(Kmsg, KilledProcessOfAnotherTaskIsNotMerged) {
  std::string text = "6,10,1,-;" + dbKillLine("hog") +
                     "\n3,11,2,-;Out of memory: Killed process 321 (other) total-vm:5000kB, "
                     "anon-rss:4000kB, file-rss:12kB, shmem-rss:0kB, UID:0 pgtables:40kB "
                     "oom_score_adj:0\n";
  KmsgRead read = parseKmsgText(text);
  ASSERT_EQ(read.kills.size(), 1u);
  EXPECT_EQ(read.kills[0].anon_rss_kb, 0u);
}

TEST(Kmsg, TextAProgramWroteIsNotAKill) {
  // Facility 1 (LOG_USER): what /dev/kmsg gives a write that names no facility.
  KmsgRead read = parseKmsgText("14,10,1,-;" + dbKillLine("hog") + "\n");
  EXPECT_TRUE(read.kills.empty());
  EXPECT_EQ(read.next_seq, 11u);
}

TEST(Kmsg, ReadsAFixtureFile) {
  testing::FakeTree tree;
  tree.put("/dev/kmsg", kKmsgCpusetOom);
  auto read = readKmsgAt(tree.open());
  ASSERT_TRUE(read);
  ASSERT_EQ(read->kills.size(), 1u);
  EXPECT_EQ(read->kills[0].pid, 125);
}

// The hist file of 6.1 with our trigger and another one.
constexpr std::string_view kHist =
    "# event histogram\n"
    "#\n"
    "# trigger info: hist:keys=common_pid.execname:vals=hitcount:sort=hitcount:size=2048 [active]\n"
    "#\n"
    "\n"
    "{ common_pid: kswapd0         [        77] } hitcount:          9\n"
    "\n"
    "Totals:\n"
    "    Hits: 9\n"
    "    Entries: 1\n"
    "    Dropped: 0\n"
    "\n"
    "# event histogram\n"
    "#\n"
    "# trigger info: hist:keys=nid:vals=hitcount,nr_scanned,nr_reclaimed:sort=hitcount:size=2048 "
    "[active]\n"
    "#\n"
    "\n"
    "{ nid:          3 } hitcount:          2  nr_scanned:         64  nr_reclaimed:         60\n"
    "{ nid:          2 } hitcount:         15  nr_scanned:       1234  nr_reclaimed:       1200\n"
    "\n"
    "Totals:\n"
    "    Hits: 17\n"
    "    Entries: 2\n"
    "    Dropped: 0\n";

TEST(ReclaimHist, FindsOurSectionOnly) {
  auto hist = parseReclaimHist(kHist);
  ASSERT_TRUE(hist);
  EXPECT_TRUE(hist->found);
  ASSERT_EQ(hist->nodes.size(), 2u);
  EXPECT_EQ(hist->nodes.at(2).passes, 15u);
  EXPECT_EQ(hist->nodes.at(2).scanned, 1234u);
  EXPECT_EQ(hist->nodes.at(2).reclaimed, 1200u);
  EXPECT_EQ(hist->nodes.at(3).reclaimed, 60u);
  EXPECT_EQ(hist->dropped, 0u);
}

TEST(ReclaimHist, NoTriggerAndMalformedEntries) {
  auto empty = parseReclaimHist("# event histogram\n#\n");
  ASSERT_TRUE(empty);
  EXPECT_FALSE(empty->found);
  std::string bad(kHist);
  bad.replace(bad.find("nr_scanned:       1234"), 22, "nr_scanned:       12x4");
  EXPECT_FALSE(parseReclaimHist(bad));
  EXPECT_FALSE(parseReclaimHist(
      "# trigger info: hist:keys=nid:vals=nr_scanned,nr_reclaimed\n{ nid: 2 hitcount: 1\n"));
}

TEST(ReclaimHist, TriggerInstalledOnLiveOnlyAndFoundInTree) {
  testing::FakeTree tree;
  tree.put("/sys/kernel/tracing/events/vmscan/mm_vmscan_lru_shrink_inactive/trigger", "");
  tree.put("/sys/kernel/tracing/events/vmscan/mm_vmscan_lru_shrink_inactive/hist",
           std::string(kHist));
  FsRoot fs = tree.open();
  auto tracefs = findTracefsAt(fs);
  ASSERT_TRUE(tracefs);
  EXPECT_EQ(*tracefs, "/sys/kernel/tracing");
  auto hist = readReclaimHistAt(fs, *tracefs);
  ASSERT_TRUE(hist);
  EXPECT_EQ(hist->nodes.at(2).reclaimed, 1200u);
}

TEST(Psi, SomeAndFull) {
  auto psi = parsePsi(
      "some avg10=1.50 avg60=0.20 avg300=0.00 total=123456\n"
      "full avg10=0.75 avg60=0.00 avg300=0.00 total=4567\n");
  ASSERT_TRUE(psi);
  EXPECT_DOUBLE_EQ(psi->some_avg10, 1.5);
  EXPECT_DOUBLE_EQ(psi->full_avg10, 0.75);
  EXPECT_EQ(psi->some_total_us, 123456u);
  EXPECT_EQ(psi->full_total_us, 4567u);
  EXPECT_FALSE(parsePsi("full avg10=0.75 total=1\n"));
  EXPECT_FALSE(parsePsi("some avg10=x avg60=0 total=1\n"));
  EXPECT_FALSE(parsePsi("some avg60=0.00\n"));
}

TEST(Pressure, V1NeedsEnabledAtRoot) {
  testing::FakeTree tree;
  tree.put("/sys/fs/cgroup/cpuset/cpuset.memory_pressure_enabled", "0\n");
  tree.put("/sys/fs/cgroup/cpuset/softzone/A/cpuset.memory_pressure", "17\n");
  cpuset::CgroupChoice v1{cpuset::CgroupVersion::kV1, "/sys/fs/cgroup/cpuset"};
  Pressure pressure = readPressureAt(tree.open(), v1, "/sys/fs/cgroup/cpuset/softzone/A");
  EXPECT_EQ(pressure.source, Pressure::Source::kCpusetV1);
  EXPECT_EQ(pressure.memory_pressure, 17u);
  EXPECT_FALSE(pressure.v1_enabled);
  cpuset::CgroupChoice v2{cpuset::CgroupVersion::kV2, "/sys/fs/cgroup"};
  Pressure missing = readPressureAt(tree.open(), v2, "/sys/fs/cgroup/softzone/A");
  EXPECT_EQ(missing.source, Pressure::Source::kNone);
  EXPECT_THAT(missing.why_missing, ::testing::HasSubstr("memory.pressure"));
}

// --stop-trace writes the negated trigger, then looks again: a tree's hist file does not change
// (as a trigger the kernel did not match would not), so that is an error, never "removed".
TEST(ReclaimHist, RemovalWritesTheNegatedTriggerAndChecksItIsGone) {
  testing::FakeTree tree;
  std::string dir = "/sys/kernel/tracing/events/vmscan/mm_vmscan_lru_shrink_inactive/";
  tree.put(dir + "trigger", "");
  tree.put(dir + "hist", std::string(kHist));
  FsRoot fs = tree.open();
  auto removed = removeReclaimTriggerAt(fs, "/sys/kernel/tracing");
  ASSERT_FALSE(removed);
  EXPECT_NE(removed.error().message().find("still installed"), std::string::npos);
  EXPECT_EQ(fs.readFile(dir + "trigger").value(), "!hist:keys=nid:vals=nr_scanned,nr_reclaimed");

  tree.put(dir + "trigger", "");
  tree.put(dir + "hist", "# event histogram\n#\n");
  auto none = removeReclaimTriggerAt(fs, "/sys/kernel/tracing");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  EXPECT_EQ(fs.readFile(dir + "trigger").value(), "");
}

}  // namespace
}  // namespace softzone::report

// OOM kills as the kernel logs them to /dev/kmsg: a pure parser and a reader.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "softzone/zones/fs_root.h"
#include "softzone/zones/nodeset.h"
#include "softzone/zones/result.h"

namespace softzone::report {

// One /dev/kmsg record: "PRIO,SEQ,USEC,FLAGS[,...];MESSAGE". Continuation lines (" KEY=VALUE")
// are not records.
struct KmsgRecord {
  uint64_t seq = 0;
  uint64_t usec = 0;         // since boot
  bool from_kernel = false;  // facility 0; programs writing to /dev/kmsg get another one
  std::string message;
};

// nullopt for continuation lines and lines that are not kmsg records (a fixture may hold plain
// `dmesg` text, which has no sequence numbers and is not understood).
std::optional<KmsgRecord> parseKmsgRecord(std::string_view line);

// The kernel's one-line OOM summary (dump_oom_summary, 4.19 to 6.12 at least):
// "oom-kill:constraint=CONSTRAINT_CPUSET,nodemask=(null),cpuset=A,mems_allowed=2-3,
//  global_oom,task_memcg=/A,task=memhog,pid=125,uid=0"
// Its layout is fixed: constraint, nodemask, [cpuset, mems_allowed], [oom_memcg | global_oom],
// [task_memcg], task, pid, uid. The task name (any 15 bytes but NUL) and cgroup names (a
// delegated user's choice) are printed as they are, so each field is read in that order, once,
// from the left: text inside a name can end that name early but never sets another field, and
// the task name runs from ",task=" to the last ",pid=".
struct OomKill {
  uint64_t seq = 0;  // of the kmsg record
  uint64_t usec = 0;
  std::string constraint;  // CONSTRAINT_NONE (global), CONSTRAINT_CPUSET, _MEMORY_POLICY, _MEMCG
  std::string cpuset;      // the cpuset (last path component) of the task that hit the OOM
  std::optional<NodeSet> mems_allowed;
  std::string oom_memcg;   // set for memcg OOMs
  std::string task_memcg;  // the victim's memory cgroup path
  std::string task;        // the victim
  int pid = 0;
  long uid = -1;
  // The "Out of memory: Killed process" line that follows, when seen: pages freed by the kill.
  uint64_t anon_rss_kb = 0;
  uint64_t file_rss_kb = 0;

  bool isCpusetConstrained() const noexcept { return constraint == "CONSTRAINT_CPUSET"; }
  bool isGlobal() const noexcept { return constraint == "CONSTRAINT_NONE"; }
};

// The message of an "oom-kill:" record; nullopt for any other message and for one that does not
// follow the layout above (a message without task=, pid= and uid= is not a kill).
std::optional<OomKill> parseOomKillMessage(std::string_view message);

struct KmsgRead {
  std::vector<OomKill> kills;
  uint64_t next_seq = 0;  // one past the last record read: a snapshot keeps it for --since
};

// All OOM kills the kernel logged in kmsg text (one record per line), in order, each with the
// RSS of the matching "Killed process PID (TASK)" line when present. Records a program wrote
// (facility other than the kernel's) are counted in next_seq but never read as kills.
KmsgRead parseKmsgText(std::string_view kmsg_text);

// Reads every record /dev/kmsg still holds (non-blocking; a live ring buffer or a fixture file).
// EPERM (kernel.dmesg_restrict=1 for a user without CAP_SYSLOG) is returned as is, so the
// report can say why OOM kills are missing.
Result<KmsgRead> readKmsgAt(const FsRoot& fs);

}  // namespace softzone::report

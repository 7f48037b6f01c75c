// libFuzzer target for the kmsg OOM parser: never crashes; every kill has a task and a positive
// pid, sequence numbers stay below next_seq, and the record framing agrees with parseKmsgText.
// The input's first bytes also serve as a victim's task name in a kernel-made line: whatever the
// name, the cpuset, memcg, pid and uid the kernel wrote are the ones read back.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "softzone/report/kmsg_oom.h"

using softzone::fuzz::check;

namespace {

// A task name as /dev/kmsg shows it: 15 bytes at most (TASK_COMM_LEN), cut at a NUL, control
// bytes, bytes >= 127 and backslashes escaped as \xNN.
std::string kmsgComm(std::string_view bytes) {
  bytes = bytes.substr(0, 15);
  bytes = bytes.substr(0, bytes.find('\0'));
  std::string comm;
  for (unsigned char c : bytes) {
    if (c < ' ' || c >= 127 || c == '\\') {
      char escaped[5];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
      comm += escaped;
    } else {
      comm += static_cast<char>(c);
    }
  }
  return comm;
}

void checkLayout(std::string_view bytes) {
  std::string comm = kmsgComm(bytes);
  std::string line =
      "6,1,1,-;oom-kill:constraint=CONSTRAINT_CPUSET,nodemask=(null),cpuset=db,mems_allowed=4-5,"
      "global_oom,task_memcg=/softzone/db,task=" +
      comm +
      ",pid=321,uid=1000\n"
      "3,2,2,-;Out of memory: Killed process 321 (" +
      comm +
      ") total-vm:9kB, anon-rss:8kB, file-rss:7kB, shmem-rss:0kB, UID:1000 pgtables:1kB "
      "oom_score_adj:0\n";
  softzone::report::KmsgRead read = softzone::report::parseKmsgText(line);
  check(read.kills.size() == 1, "layout: one kill");
  const softzone::report::OomKill& kill = read.kills[0];
  check(kill.cpuset == "db", "layout: the cpuset is the kernel's");
  check(kill.task_memcg == "/softzone/db", "layout: the memcg is the kernel's");
  check(kill.task == comm, "layout: the task name is read whole");
  check(kill.pid == 321 && kill.uid == 1000, "layout: pid and uid are the kernel's");
  check(kill.anon_rss_kb == 8 && kill.file_rss_kb == 7, "layout: the RSS is the kernel's");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  softzone::report::KmsgRead read = softzone::report::parseKmsgText(text);
  for (const softzone::report::OomKill& kill : read.kills) {
    check(kill.pid > 0, "a kill has a positive pid");
    check(kill.seq < read.next_seq, "a kill's seq is below next_seq");
    if (kill.mems_allowed)
      check(!kill.mems_allowed->format().empty() || kill.mems_allowed->empty(), "mems format");
  }
  // The message alone, as the first record's message would be.
  if (auto kill = softzone::report::parseOomKillMessage(text)) {
    check(kill->pid > 0, "parseOomKillMessage: positive pid");
  }
  checkLayout(text);
  return 0;
}

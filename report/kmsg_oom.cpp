// OOM kills from /dev/kmsg: record framing, the "oom-kill:" summary and the "Killed process" line.
#include "softzone/report/kmsg_oom.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include "softzone/zones/kernel_files.h"
#include "softzone/zones/text_parse.h"

namespace softzone::report {
namespace {

constexpr std::string_view kOomKillPrefix = "oom-kill:constraint=";
constexpr std::string_view kKilledProcess = "Killed process ";
// Each read(2) of /dev/kmsg returns one record of at most this much (CONSOLE_LOG_MAX is 1 KiB,
// PRINTK_MESSAGE_MAX 2 KiB; dictionaries make records longer).
constexpr size_t kKmsgRecordBytes = 8192;

// "1234kB" -> 1234.
std::optional<uint64_t> parseKb(std::string_view text) {
  if (text.size() > 2 && text.substr(text.size() - 2) == "kB") text.remove_suffix(2);
  return parseNumber<uint64_t>(text);
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// Removes `prefix` from the front of `text` when it is there.
bool consume(std::string_view& text, std::string_view prefix) {
  if (text.substr(0, prefix.size()) != prefix) return false;
  text.remove_prefix(prefix.size());
  return true;
}

// Takes the text up to the first `end` (not consumed); false when `end` is not there.
bool takeUntil(std::string_view& text, std::string_view end, std::string_view& value) {
  size_t at = text.find(end);
  if (at == std::string_view::npos) return false;
  value = text.substr(0, at);
  text.remove_prefix(at);
  return true;
}

// Takes a "%*pbl" node list ("0-1,3"): digits and dashes, and commas that a digit follows, so
// the comma before the next key stays.
std::string_view takeNodeList(std::string_view& text) {
  size_t end = 0;
  while (end < text.size() &&
         (isDigit(text[end]) || text[end] == '-' ||
          (text[end] == ',' && end + 1 < text.size() && isDigit(text[end + 1])))) {
    ++end;
  }
  std::string_view list = text.substr(0, end);
  text.remove_prefix(end);
  return list;
}

// True when `text` starts with a key that may follow mems_allowed's list.
bool startsAfterMems(std::string_view text) {
  for (std::string_view key : {",oom_memcg=", ",global_oom,", ",task_memcg=", ",task="}) {
    if (text.substr(0, key.size()) == key) return true;
  }
  return false;
}

// ",cpuset=NAME,mems_allowed=LIST" (cpuset_print_current_mems_allowed; absent without
// CONFIG_CPUSETS). NAME is one cgroup name and may hold ",mems_allowed=LIST" itself: it ends at
// the first ",mems_allowed=" whose list the kernel's next key follows.
bool takeCpuset(std::string_view& rest, OomKill& kill) {
  if (!consume(rest, ",cpuset=")) return true;
  constexpr std::string_view kMems = ",mems_allowed=";
  for (size_t at = rest.find(kMems); at != std::string_view::npos; at = rest.find(kMems, at + 1)) {
    std::string_view after = rest.substr(at + kMems.size());
    std::string_view mems = takeNodeList(after);
    if (!startsAfterMems(after)) continue;
    kill.cpuset = std::string(rest.substr(0, at));
    if (auto parsed = NodeSet::parseKernelList(mems, "mems_allowed")) kill.mems_allowed = *parsed;
    rest = after;
    return true;
  }
  return false;
}

// "[,oom_memcg=PATH|,global_oom][,task_memcg=PATH]" (mem_cgroup_print_oom_context), then
// ",task=". Each path ends at the first key that may follow it, so a cgroup name holding one
// cuts only its own path short; the start of every path is the kernel's.
bool takeMemcgs(std::string_view& rest, OomKill& kill) {
  std::string_view path;
  if (consume(rest, ",oom_memcg=")) {
    size_t task_memcg = rest.find(",task_memcg=");
    size_t task = rest.find(",task=");
    if (!takeUntil(rest, task_memcg < task ? ",task_memcg=" : ",task=", path)) return false;
    kill.oom_memcg = std::string(path);
  } else {
    consume(rest, ",global_oom");
  }
  if (consume(rest, ",task_memcg=")) {
    if (!takeUntil(rest, ",task=", path)) return false;
    kill.task_memcg = std::string(path);
  }
  return true;
}

// ",task=COMM,pid=P,uid=U" to the end. COMM is whatever 15 bytes the task chose (kmsg escapes
// only control bytes and backslashes), so it may hold ",pid=" too: the pid is after the last.
bool takeVictim(std::string_view rest, OomKill& kill) {
  if (!consume(rest, ",task=")) return false;
  size_t uid_at = rest.rfind(",uid=");
  if (uid_at == std::string_view::npos) return false;
  auto uid = parseNumber<long>(rest.substr(uid_at + 5));
  size_t pid_at = rest.rfind(",pid=", uid_at);
  if (!uid || pid_at == std::string_view::npos) return false;
  auto pid = parseNumber<int>(rest.substr(pid_at + 5, uid_at - pid_at - 5));
  if (!pid || *pid <= 0) return false;
  kill.task = std::string(rest.substr(0, pid_at));
  kill.pid = *pid;
  kill.uid = *uid;
  return true;
}

struct KilledProcess {
  int pid = 0;
  std::string task;
  uint64_t anon_rss_kb = 0;
  uint64_t file_rss_kb = 0;
};

// "Out of memory: Killed process 125 (memhog) total-vm:1234kB, anon-rss:1000kB, file-rss:0kB,
// shmem-rss:0kB, UID:0 pgtables:400kB oom_score_adj:0" (__oom_kill_process). The name in
// parentheses is the task's choice and may hold ") total-vm:" and "anon-rss:": it ends at the
// last ") total-vm:", and the sizes are read from what follows, which the kernel wrote alone.
std::optional<KilledProcess> parseKilledProcess(std::string_view message) {
  size_t at = message.find(kKilledProcess);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = message.substr(at + kKilledProcess.size());
  size_t open = rest.find(" (");
  auto pid = parseNumber<int>(rest.substr(0, open));
  constexpr std::string_view kTotalVm = ") total-vm:";
  size_t close = rest.rfind(kTotalVm);
  if (!pid || open == std::string_view::npos || close == std::string_view::npos ||
      close < open + 2) {
    return std::nullopt;
  }
  KilledProcess killed;
  killed.pid = *pid;
  killed.task = std::string(rest.substr(open + 2, close - open - 2));
  std::string_view sizes = rest.substr(close + kTotalVm.size());
  for (auto [key, field] : {std::pair{std::string_view(" anon-rss:"), &killed.anon_rss_kb},
                            std::pair{std::string_view(" file-rss:"), &killed.file_rss_kb}}) {
    size_t pos = sizes.find(key);
    if (pos == std::string_view::npos) continue;
    std::string_view value = sizes.substr(pos + key.size());
    value = value.substr(0, value.find_first_of(", "));
    if (auto kb = parseKb(value)) *field = *kb;
  }
  return killed;
}

}  // namespace

std::optional<KmsgRecord> parseKmsgRecord(std::string_view line) {
  size_t semicolon = line.find(';');
  if (semicolon == std::string_view::npos || line.empty() || line[0] == ' ') return std::nullopt;
  std::string_view header = line.substr(0, semicolon);
  // PRIO,SEQ,USEC,FLAGS[,more fields newer kernels may add]
  std::string_view parts[3];
  for (std::string_view& part : parts) {
    size_t comma = header.find(',');
    if (comma == std::string_view::npos) return std::nullopt;
    part = header.substr(0, comma);
    header = header.substr(comma + 1);
  }
  auto prio = parseNumber<unsigned>(parts[0]);
  if (!prio) return std::nullopt;
  auto seq = parseNumber<uint64_t>(parts[1]);
  auto usec = parseNumber<uint64_t>(parts[2]);
  if (!seq || !usec) return std::nullopt;
  std::string_view message = line.substr(semicolon + 1);
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) {
    message.remove_suffix(1);
  }
  // Facility 0 is the kernel's own: a write to /dev/kmsg gets LOG_USER when it names none.
  return KmsgRecord{*seq, *usec, (*prio >> 3) == 0, std::string(message)};
}

std::optional<OomKill> parseOomKillMessage(std::string_view message) {
  std::string_view rest = message;
  if (!consume(rest, kOomKillPrefix)) return std::nullopt;
  OomKill kill;
  size_t comma = rest.find(',');
  if (comma == std::string_view::npos) return std::nullopt;
  kill.constraint = std::string(rest.substr(0, comma));  // from the kernel's fixed table
  rest.remove_prefix(comma);
  if (!consume(rest, ",nodemask=")) return std::nullopt;
  if (!consume(rest, "(null)")) takeNodeList(rest);
  if (!takeCpuset(rest, kill) || !takeMemcgs(rest, kill) || !takeVictim(rest, kill)) {
    return std::nullopt;
  }
  return kill;
}

KmsgRead parseKmsgText(std::string_view kmsg_text) {
  KmsgRead read;
  while (!kmsg_text.empty()) {
    size_t end = kmsg_text.find('\n');
    std::string_view line = kmsg_text.substr(0, end);
    kmsg_text = end == std::string_view::npos ? std::string_view{} : kmsg_text.substr(end + 1);
    auto record = parseKmsgRecord(line);
    if (!record) continue;
    if (record->seq >= read.next_seq) read.next_seq = record->seq + 1;
    if (!record->from_kernel) continue;  // a program's text that looks like the kernel's
    if (auto kill = parseOomKillMessage(record->message)) {
      kill->seq = record->seq;
      kill->usec = record->usec;
      read.kills.push_back(std::move(*kill));
      continue;
    }
    // The kernel logs the summary first, then "Killed process" for the same victim.
    if (auto killed = parseKilledProcess(record->message)) {
      if (!read.kills.empty() && read.kills.back().pid == killed->pid &&
          read.kills.back().task == killed->task) {
        read.kills.back().anon_rss_kb = killed->anon_rss_kb;
        read.kills.back().file_rss_kb = killed->file_rss_kb;
      }
    }
  }
  return read;
}

Result<KmsgRead> readKmsgAt(const FsRoot& fs) {
  SZ_TRY(fd, fs.openAt(kernel::kDevKmsg, O_RDONLY | O_NONBLOCK));
  std::string text;
  std::string buffer(kKmsgRecordBytes, '\0');
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n > 0) {
      text.append(buffer.data(), static_cast<size_t>(n));
      continue;
    }
    if (n == 0) break;  // a fixture file: its end
    if (errno == EINTR) continue;
    // EPIPE: records were overwritten while reading; the next read resumes at the oldest.
    if (errno == EPIPE) continue;
    if (errno == EAGAIN) break;  // the live ring buffer: nothing more for now
    return errnoError(errno, "reading " + std::string(kernel::kDevKmsg));
  }
  return parseKmsgText(text);
}

}  // namespace softzone::report

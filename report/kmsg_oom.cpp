// OOM kills from /dev/kmsg: record framing, the "oom-kill:" summary and the "Killed process" line.
#include "softzone/kmsg_oom.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include "softzone/kernel_files.h"
#include "text_parse.h"

namespace softzone::report {
namespace {

constexpr std::string_view kOomKillPrefix = "oom-kill:";
constexpr std::string_view kKilledProcess = "Killed process ";
// Each read(2) of /dev/kmsg returns one record of at most this much (CONSOLE_LOG_MAX is 1 KiB,
// PRINTK_MESSAGE_MAX 2 KiB; dictionaries make records longer).
constexpr size_t kKmsgRecordBytes = 8192;


// "1234kB" -> 1234.
std::optional<uint64_t> parseKb(std::string_view text) {
  if (text.size() > 2 && text.substr(text.size() - 2) == "kB") text.remove_suffix(2);
  return parseNumber<uint64_t>(text);
}

// Splits "a=1,b=2,flag" at commas; a value may not hold a comma except mems_allowed's node list
// ("mems_allowed=0-1,3"), whose extra parts are digits and dashes only.
std::vector<std::pair<std::string_view, std::string_view>> splitFields(std::string_view text) {
  std::vector<std::pair<std::string_view, std::string_view>> fields;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view part = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      bool list_tail = !part.empty() && part.find_first_not_of("0123456789-") == std::string_view::npos;
      if (list_tail && !fields.empty() && fields.back().first == "mems_allowed" &&
          !fields.back().second.empty()) {
        std::string_view& value = fields.back().second;
        // Grow the view over the comma and this part: both lie in the same message buffer.
        value = std::string_view(value.data(), static_cast<size_t>(part.data() + part.size() - value.data()));
        continue;
      }
      fields.emplace_back(part, part.substr(part.size()));
      continue;
    }
    fields.emplace_back(part.substr(0, eq), part.substr(eq + 1));
  }
  return fields;
}

struct KilledProcess {
  int pid = 0;
  uint64_t anon_rss_kb = 0;
  uint64_t file_rss_kb = 0;
};

// "Out of memory: Killed process 125 (memhog) total-vm:1234kB, anon-rss:1000kB, file-rss:0kB, ..."
std::optional<KilledProcess> parseKilledProcess(std::string_view message) {
  size_t at = message.find(kKilledProcess);
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = message.substr(at + kKilledProcess.size());
  size_t space = rest.find(' ');
  auto pid = parseNumber<int>(rest.substr(0, space));
  if (!pid) return std::nullopt;
  KilledProcess killed;
  killed.pid = *pid;
  for (auto [key, field] : {std::pair{std::string_view("anon-rss:"), &killed.anon_rss_kb},
                            std::pair{std::string_view("file-rss:"), &killed.file_rss_kb}}) {
    size_t pos = rest.find(key);
    if (pos == std::string_view::npos) continue;
    std::string_view value = rest.substr(pos + key.size());
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
  if (!parseNumber<unsigned>(parts[0])) return std::nullopt;
  auto seq = parseNumber<uint64_t>(parts[1]);
  auto usec = parseNumber<uint64_t>(parts[2]);
  if (!seq || !usec) return std::nullopt;
  std::string_view message = line.substr(semicolon + 1);
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) {
    message.remove_suffix(1);
  }
  return KmsgRecord{*seq, *usec, std::string(message)};
}

std::optional<OomKill> parseOomKillMessage(std::string_view message) {
  if (message.substr(0, kOomKillPrefix.size()) != kOomKillPrefix) return std::nullopt;
  OomKill kill;
  bool have_pid = false;
  bool have_task = false;
  for (auto [key, value] : splitFields(message.substr(kOomKillPrefix.size()))) {
    if (key == "constraint") {
      kill.constraint = std::string(value);
    } else if (key == "cpuset") {
      kill.cpuset = std::string(value);
    } else if (key == "mems_allowed") {
      if (auto mems = NodeSet::parseKernelList(value, "mems_allowed")) kill.mems_allowed = *mems;
    } else if (key == "oom_memcg") {
      kill.oom_memcg = std::string(value);
    } else if (key == "task_memcg") {
      kill.task_memcg = std::string(value);
    } else if (key == "task") {
      kill.task = std::string(value);
      have_task = true;
    } else if (key == "pid") {
      auto pid = parseNumber<int>(value);
      if (!pid || *pid <= 0) return std::nullopt;
      kill.pid = *pid;
      have_pid = true;
    } else if (key == "uid") {
      if (auto uid = parseNumber<long>(value)) kill.uid = *uid;
    }
  }
  if (!have_pid || !have_task) return std::nullopt;
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
    if (auto kill = parseOomKillMessage(record->message)) {
      kill->seq = record->seq;
      kill->usec = record->usec;
      read.kills.push_back(std::move(*kill));
      continue;
    }
    // The kernel logs the summary first, then "Killed process" for the same victim.
    if (auto killed = parseKilledProcess(record->message)) {
      if (!read.kills.empty() && read.kills.back().pid == killed->pid) {
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

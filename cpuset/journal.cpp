// The operation lock (flock), the journal file and the test stop hook.
#include "softzone/cpuset/journal.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "softzone/cpuset/cgroup_backend.h"
#include "softzone/cpuset/op_lock.h"

namespace softzone::cpuset {

Result<OpLock> OpLock::acquire(const FsRoot& fs) {
  SZ_CHECK(fs.makeDirs(kRunDir, 0755));
  SZ_TRY(fd, fs.openAt(kLockFile, O_RDWR | O_CREAT, true));
  int rc;
  do {
    rc = ::flock(fd.get(), LOCK_EX);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return errnoError(errno, "locking " + std::string(kLockFile));
  return OpLock(std::move(fd));
}

bool isDeclaredStopPoint(std::string_view step) {
  constexpr std::string_view kActions = "apply.action.";
  if (step.substr(0, kActions.size()) == kActions && step.size() > kActions.size() &&
      step.find_first_not_of("0123456789", kActions.size()) == std::string_view::npos) {
    step = "apply.action.N";
  }
  for (std::string_view declared : kStopPoints) {
    if (declared == step) return true;
  }
  return false;
}

void stopPointForTests(std::string_view step) {
#ifndef SOFTZONE_TEST_HOOKS
  // A production build has no stop points: an environment variable must not be able to kill or
  // stop a root tool half-way through an operation.
  (void)step;
#else
  if (!isDeclaredStopPoint(step)) {
    // A step the fault-injection tests do not know of would never be killed at: fail loudly.
    std::fprintf(stderr, "zonectl: stop point '%.*s' is not in kStopPoints (op_lock.h)\n",
                 static_cast<int>(step.size()), step.data());
    std::abort();
  }
  const char* stop = std::getenv(std::string(kTestStopEnv).c_str());
  if (stop != nullptr && step == stop) ::kill(::getpid(), SIGKILL);
  std::string pause_env(kTestPauseEnv);
  const char* pause = std::getenv(pause_env.c_str());
  if (pause != nullptr && step == pause) {
    // Once: a point passed again later in the run (pages.pids) goes on.
    ::unsetenv(pause_env.c_str());
    ::kill(::getpid(), SIGSTOP);
  }
#endif
}

Result<JournalEntry> parseJournal(std::string_view text) {
  auto damaged = [](const std::string& why) {
    return mismatch("the journal " + std::string(kJournalFile) + " is damaged (" + why +
                    "); check the partitions with `zonectl status` and remove it");
  };
  nlohmann::json root = nlohmann::json::parse(text, nullptr, false);
  if (root.is_discarded() || !root.is_object()) return damaged("not a JSON object");
  auto op = root.find("op");
  auto args = root.find("args");
  auto step = root.find("step");
  if (op == root.end() || !op->is_string()) return damaged("no \"op\"");
  if (args == root.end() || !args->is_object()) return damaged("no \"args\" object");
  if (step == root.end() || !step->is_string()) return damaged("no \"step\"");
  std::string parent;
  if (auto recorded = root.find("parent"); recorded != root.end()) {
    if (!recorded->is_string()) return damaged("\"parent\" is not a string");
    parent = recorded->get<std::string>();
    if (auto problem = checkCgroupPath(parent)) return damaged("\"parent\": " + *problem);
  }
  return JournalEntry{op->get<std::string>(), *args, step->get<std::string>(), parent};
}

std::string formatJournal(const JournalEntry& entry) {
  nlohmann::ordered_json root = {{"op", entry.op}, {"args", entry.args}, {"step", entry.step}};
  if (!entry.parent.empty()) root["parent"] = entry.parent;
  return root.dump(2) + "\n";
}

Result<std::optional<JournalEntry>> readJournalAt(const FsRoot& fs) {
  auto text = fs.readFile(kJournalFile);
  if (!text) {
    if (text.error().code() == std::errc::no_such_file_or_directory) {
      return std::optional<JournalEntry>();
    }
    return std::move(text).error();
  }
  SZ_TRY(entry, parseJournal(*text));
  return std::optional<JournalEntry>(std::move(entry));
}

Status writeJournalAt(const FsRoot& fs, const JournalEntry& entry) {
  SZ_CHECK(fs.makeDirs(kRunDir, 0755));
  return fs.replaceFile(kJournalFile, formatJournal(entry));
}

Status clearJournalAt(const FsRoot& fs) {
  Status removed = fs.unlinkAt(kJournalFile);
  if (!removed && removed.error().code() == std::errc::no_such_file_or_directory) return {};
  return removed;
}

}  // namespace softzone::cpuset

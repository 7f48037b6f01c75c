// The keeper's record: start times parsed by the kernel's layout whatever the comm holds, a pid
// file written without following links, and a recorded keeper signalled only while it is the
// process recorded.
#include "keeper_record.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/fake_tree.h"
#include "support/pid_namespace.h"

namespace softzone::cache::detail {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

// A /proc/PID/stat line with `comm` and start time 4242 (field 22).
std::string statLine(const std::string& comm) {
  return "77 (" + comm +
         ") S 1 77 77 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 4242 1000000 200 "
         "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n";
}

TEST(ParseStartTicks, CountsFieldsFromTheLastParenthesis) {
  EXPECT_EQ(parseStartTicks(statLine("sz-keep-shared")), 4242u);
  // A comm can hold ") " and digits: a parser splitting at the first ')' reads its numbers.
  EXPECT_EQ(parseStartTicks(statLine("x) S 1 2 3 4 5")), 4242u);
  EXPECT_EQ(parseStartTicks(statLine("a b) (c")), 4242u);
  EXPECT_EQ(parseStartTicks("77 (short) S 1 2"), std::nullopt);
  EXPECT_EQ(parseStartTicks("no parenthesis at all"), std::nullopt);
}

TEST(PidFile, RoundTripsAndRefusesAPidAlone) {
  ProcessId id{1234, 987654};
  EXPECT_EQ(parsePidFile(formatPidFile(id)), id);
  // An older keeper's file held the pid alone: which process it meant is not known.
  EXPECT_EQ(parsePidFile("1234\n"), std::nullopt);
  EXPECT_EQ(parsePidFile("-1 5\n"), std::nullopt);
  EXPECT_EQ(parsePidFile("12 5x\n"), std::nullopt);
}

class KeeperRecordTest : public ::testing::Test {
 protected:
  std::string dir() const { return tree_.path() + "/run"; }
  softzone::testing::FakeTree tree_;
  FsRoot proc_ = FsRoot::live().value();
};

TEST_F(KeeperRecordTest, APidDirThatIsASymlinkIsRefused) {
  fs::create_directories(tree_.path() + "/elsewhere");
  fs::create_symlink(tree_.path() + "/elsewhere", dir());
  auto opened = openPidDir(dir());
  ASSERT_FALSE(opened);
  EXPECT_THAT(opened.error().describe(), HasSubstr("is a symlink or not a directory"));
}

TEST_F(KeeperRecordTest, APidDirOthersCanWriteIsRefused) {
  fs::create_directories(dir());
  ::chmod(dir().c_str(), 0777);
  auto opened = openPidDir(dir());
  ASSERT_FALSE(opened);
  EXPECT_THAT(opened.error().describe(), HasSubstr("writable by others"));
}

TEST_F(KeeperRecordTest, ThePidFileReplacesASymlinkAndLeavesItsTargetAlone) {
  auto opened = openPidDir(dir());
  ASSERT_TRUE(opened) << opened.error().describe();
  struct stat st {};
  ASSERT_EQ(::stat(dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  std::string target = tree_.path() + "/victim";
  std::ofstream(target) << "precious\n";
  fs::create_symlink(target, dir() + "/shared.pid");
  ASSERT_TRUE(writePidFile(*opened, "shared.pid", {42, 7}));
  std::stringstream victim;
  victim << std::ifstream(target).rdbuf();
  EXPECT_EQ(victim.str(), "precious\n");
  EXPECT_FALSE(fs::is_symlink(dir() + "/shared.pid"));
  std::stringstream written;
  written << std::ifstream(dir() + "/shared.pid").rdbuf();
  EXPECT_EQ(written.str(), "42 7\n");
}

// This test process stands for a keeper: its comm and start time are what a pid file records.
TEST_F(KeeperRecordTest, ARecordedKeeperIsOpenedOnlyWhileItIsTheProcessRecorded) {
  auto opened = openPidDir(dir());
  ASSERT_TRUE(opened) << opened.error().describe();
  auto self = readProcessId(proc_, 0);
  ASSERT_TRUE(self) << self.error().describe();
  auto comm = proc_.readAttribute("/proc/self/comm");
  ASSERT_TRUE(comm);

  ASSERT_TRUE(writePidFile(*opened, "k.pid", *self));
  auto found = openRecordedKeeper(*opened, "k.pid", *comm, proc_);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->pid, ::getpid());
  EXPECT_TRUE(found->pidfd.valid());
  // Another comm: not a keeper.
  EXPECT_FALSE(openRecordedKeeper(*opened, "k.pid", "sz-keep-other", proc_));
  // Same pid and comm, another start time: a process that got the pid later.
  ASSERT_TRUE(writePidFile(*opened, "k.pid", {self->pid, self->start_ticks + 1}));
  EXPECT_FALSE(openRecordedKeeper(*opened, "k.pid", *comm, proc_));
  // The pid alone (an older pid file): trusted by comm before, not any more.
  std::ofstream(dir() + "/k.pid") << ::getpid() << "\n";
  EXPECT_FALSE(openRecordedKeeper(*opened, "k.pid", *comm, proc_));
}

// The race the old keeper lost (it knew its process by comm alone): the recorded keeper exits, is
// reaped, and a newcomer named like a keeper gets its pid (clone3 set_tid, in a pid namespace of
// the test's own). Nothing may be opened, so nothing is signalled.
TEST_F(KeeperRecordTest, AKeepersPidTakenByANewcomerOfTheSameNameIsNotOpened) {
  auto opened = openPidDir(dir());
  ASSERT_TRUE(opened) << opened.error().describe();
  const Fd& pid_dir = *opened;
  auto run = softzone::testing::runInPidNamespace([&pid_dir]() -> std::string {
    auto proc = FsRoot::live();
    if (!proc) return "FsRoot: " + proc.error().describe();
    auto keeper_like = [] {
      ::prctl(PR_SET_NAME, "sz-keep-test");
      ::pause();
    };
    // Until a child has named itself, /proc shows the test's name: wait for it (up to 1 s).
    auto named = [&proc](pid_t pid) {
      std::string comm_file = "/proc/" + std::to_string(pid) + "/comm";
      for (int i = 0; i < 500 && proc->readAttribute(comm_file).value_or("") != "sz-keep-test";
           ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    };
    pid_t keeper = ::fork();
    if (keeper < 0) return "fork failed";
    if (keeper == 0) {
      keeper_like();
      ::_exit(0);
    }
    named(keeper);
    auto id = readProcessId(*proc, keeper);
    if (!id) return "readProcessId: " + id.error().describe();
    if (!writePidFile(pid_dir, "k.pid", *id)) return "writePidFile failed";
    if (!openRecordedKeeper(pid_dir, "k.pid", "sz-keep-test", *proc)) {
      return "the recorded keeper itself is not opened";
    }
    softzone::testing::endAndReap(keeper);
    // Start times count clock ticks (10 ms): the newcomer starts in a later one, as any process
    // that gets a freed pid in real life does.
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    pid_t newcomer = softzone::testing::forkWithPid(keeper, keeper_like);
    if (newcomer != keeper) return "clone3 set_tid gave " + std::to_string(newcomer);
    named(newcomer);
    if (openRecordedKeeper(pid_dir, "k.pid", "sz-keep-test", *proc)) {
      return "a newcomer with the keeper's pid and name is taken for the keeper";
    }
    return "";
  });
  if (!run.ran) GTEST_SKIP() << "no pid namespace of our own here: " << run.skipped_why;
  EXPECT_EQ(run.failure, "");
}

}  // namespace
}  // namespace softzone::cache::detail

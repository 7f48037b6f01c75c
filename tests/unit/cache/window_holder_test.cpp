// WindowHolder: a forked child maps what it is told to, step by step, and is gone once released.
#include "window_holder.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <string>

#include "support/fake_tree.h"

namespace softzone::cache::detail {
namespace {

size_t pageSize() { return static_cast<size_t>(::sysconf(_SC_PAGESIZE)); }

// The Rss of the mapping starting at `address` in process `pid`, from /proc/PID/smaps; -1 when
// there is no such mapping.
long rssKbAt(pid_t pid, const void* address) {
  std::ifstream smaps("/proc/" + std::to_string(pid) + "/smaps");
  std::ostringstream start;
  start << std::hex << reinterpret_cast<uintptr_t>(address) << "-";
  std::string line;
  bool in_mapping = false;
  while (std::getline(smaps, line)) {
    if (line.rfind(start.str(), 0) == 0) in_mapping = true;
    if (in_mapping && line.rfind("Rss:", 0) == 0) return std::stol(line.substr(4));
  }
  return -1;
}

class WindowHolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string path = tree_.path() + "/file";
    std::ofstream(path) << std::string(16 * pageSize(), 'h');
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd_, 0);
    map_ = ::mmap(nullptr, 16 * pageSize(), PROT_READ, MAP_SHARED, fd_, 0);
    ASSERT_NE(map_, MAP_FAILED);
  }
  void TearDown() override {
    if (map_ != MAP_FAILED) ::munmap(map_, 16 * pageSize());
    if (fd_ >= 0) ::close(fd_);
  }

  softzone::testing::FakeTree tree_;
  int fd_ = -1;
  void* map_ = MAP_FAILED;
};

TEST_F(WindowHolderTest, MapsStepByStepAndSaysWhatEachCallGot) {
  // A page that cannot be read: MADV_POPULATE_READ fails there.
  void* hole = ::mmap(nullptr, pageSize(), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(hole, MAP_FAILED);
  auto holder = WindowHolder::start(
      {{{map_, 16 * pageSize(), MADV_SEQUENTIAL}, {map_, 8 * pageSize(), MADV_POPULATE_READ}},
       {{hole, pageSize(), MADV_POPULATE_READ}}});
  ASSERT_TRUE(holder) << holder.error().describe();
  pid_t pid = holder->pid();
  ASSERT_GT(pid, 0);
  ASSERT_NE(pid, ::getpid());
  auto first = holder->waitStep();
  ASSERT_TRUE(first) << first.error().describe();
  EXPECT_EQ(*first, (std::vector<int>{0, 0}));
  // The holder maps the pages (fault-around may map their cached neighbours too); this process,
  // which only mapped the file, does not.
  EXPECT_GE(rssKbAt(pid, map_), static_cast<long>(8 * pageSize() / 1024));
  EXPECT_EQ(rssKbAt(::getpid(), map_), 0);
  auto second = holder->waitStep();
  ASSERT_TRUE(second) << second.error().describe();
  ASSERT_EQ(second->size(), 1u);
  EXPECT_NE((*second)[0], 0);
  EXPECT_FALSE(holder->waitStep());  // no step left
  holder->reap();
  EXPECT_EQ(::kill(pid, 0), -1);
  EXPECT_EQ(errno, ESRCH);
  ::munmap(hole, pageSize());
}

TEST_F(WindowHolderTest, TouchingMapsTheCachedPagesAndAPagePastTheEndFailsOnlyItsCall) {
  // The file shrinks to 4 pages after it was mapped: reading page 4 onwards is a SIGBUS.
  ASSERT_EQ(::truncate((tree_.path() + "/file").c_str(), static_cast<off_t>(4 * pageSize())), 0);
  char* base = static_cast<char*>(map_);
  auto holder = WindowHolder::start({{{base, 4 * pageSize(), kTouchEachPage},
                                      {base + 4 * pageSize(), 4 * pageSize(), kTouchEachPage},
                                      {base + pageSize(), pageSize(), kTouchEachPage}},
                                     {{base, pageSize(), kTouchEachPage}}});
  ASSERT_TRUE(holder) << holder.error().describe();
  auto first = holder->waitStep();
  ASSERT_TRUE(first) << first.error().describe();
  EXPECT_EQ(*first, (std::vector<int>{0, EFAULT, 0}));
  EXPECT_GE(rssKbAt(holder->pid(), map_), static_cast<long>(4 * pageSize() / 1024));
  EXPECT_EQ(rssKbAt(::getpid(), map_), 0);
  // The holder carried on after the fault.
  auto second = holder->waitStep();
  ASSERT_TRUE(second) << second.error().describe();
  EXPECT_EQ(*second, (std::vector<int>{0}));
}

TEST_F(WindowHolderTest, InThisProcessAFaultPastTheEndFailsTheTouchAndTheHandlerIsRestored) {
  ASSERT_EQ(::truncate((tree_.path() + "/file").c_str(), static_cast<off_t>(pageSize())), 0);
  struct sigaction before {};
  ASSERT_EQ(::sigaction(SIGBUS, nullptr, &before), 0);  // SIG_DFL, or a sanitizer's
  {
    TouchGuard guard;
    EXPECT_EQ(touchPages(map_, 4 * pageSize()), EFAULT);
    EXPECT_EQ(touchPages(map_, pageSize()), 0);
    EXPECT_EQ(touchPages(map_, 4 * pageSize()), EFAULT);  // a second fault is caught too
  }
  struct sigaction now {};
  ASSERT_EQ(::sigaction(SIGBUS, nullptr, &now), 0);
  EXPECT_EQ(now.sa_handler, before.sa_handler);
}

}  // namespace
}  // namespace softzone::cache::detail

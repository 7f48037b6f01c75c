// bindFiles against a fake kernel's nodes: real files and a real page cache, but the status query
// and the moves are answered by a fake that places every page on node 3 until it is moved.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/mempolicy.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <unordered_map>

#include "softzone/cache/page_cache.h"
#include "support/fake_tree.h"
#include "walked_file.h"

namespace softzone::cache {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

constexpr int kStartNode = 3;

class FakeNodes final : public zones::PageSyscalls {
 public:
  struct Call {
    std::vector<std::pair<int, size_t>> runs;  // (target node, pages) of each run, in order
    size_t pages;
    int flags;
  };

  long movePages(pid_t pid, std::span<void* const> pages, const int* nodes, int* status,
                 int flags) const override {
    std::lock_guard lock(mutex_);
    pids_.insert(pid);
    if (nodes == nullptr) {
      for (size_t i = 0; i < pages.size(); ++i) {
        auto it = where_.find(pages[i]);
        status[i] = it == where_.end() ? kStartNode : it->second;
      }
      return 0;
    }
    Call call{{}, pages.size(), flags};
    for (size_t i = 0; i < pages.size(); ++i) {
      if (call.runs.empty() || call.runs.back().first != nodes[i])
        call.runs.push_back({nodes[i], 0});
      ++call.runs.back().second;
    }
    calls_.push_back(std::move(call));
    if (on_move_) on_move_();
    if (refuse_ != 0) return -refuse_;
    if (move_every_other_) {
      // Like migrate_pages() giving up on some pages: a positive count, no statuses written.
      long not_moved = 0;
      for (size_t i = 0; i < pages.size(); ++i) {
        if (i % 2 == 0) {
          where_[pages[i]] = nodes[i];
        } else {
          ++not_moved;
        }
      }
      return not_moved;
    }
    for (size_t i = 0; i < pages.size(); ++i) {
      if (fail_with_ != 0) {
        status[i] = -fail_with_;
        continue;
      }
      where_[pages[i]] = nodes[i];
      status[i] = nodes[i];
    }
    return 0;
  }
  long migratePages(pid_t, const NodeSet&, const NodeSet&) const override { return -ENOSYS; }

  std::vector<Call> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  std::set<pid_t> pids() const {
    std::lock_guard lock(mutex_);
    return pids_;
  }
  void failPagesWith(int err) { fail_with_ = err; }
  void refuseCallsWith(int err) { refuse_ = err; }
  void moveEveryOtherPage() { move_every_other_ = true; }
  void onMove(std::function<void()> hook) { on_move_ = std::move(hook); }

 private:
  mutable std::mutex mutex_;
  mutable std::unordered_map<void*, int> where_;
  mutable std::vector<Call> calls_;
  mutable std::set<pid_t> pids_;  // the processes asked about
  int fail_with_ = 0;
  int refuse_ = 0;
  bool move_every_other_ = false;
  std::function<void()> on_move_;  // called (under the lock) at every move call
};

// Whether this process maps `path` now (/proc/self/maps).
bool mapsFile(const std::string& path) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.size() >= path.size() &&
        line.compare(line.size() - path.size(), path.size(), path) == 0)
      return true;
  }
  return false;
}

class BindTest : public ::testing::Test {
 public:
  TreeFile makeFile(const std::string& name, size_t pages) {
    std::string path = tree_.path() + "/" + name;
    std::ofstream(path) << std::string(pages * static_cast<size_t>(::sysconf(_SC_PAGESIZE)), 'p');
    return walkedFile(path);
  }

  BindOptions options(const NodeSet& targets) {
    BindOptions opts;
    opts.targets = targets;
    opts.syscalls = &kernel_;
    opts.bind_thread = [this](const NodeSet& nodes) -> Status {
      bound_to_ = nodes;
      return {};
    };
    return opts;
  }

  softzone::testing::FakeTree tree_;
  FakeNodes kernel_;
  NodeSet bound_to_;
};

TEST_F(BindTest, CachedPagesElsewhereMoveWithMoveAllGroupedByTarget) {
  // Just written: every page is cached, and the fake puts it on node 3. (One file: the fake
  // knows pages by address, and a second file's window may reuse the first one's addresses.)
  std::vector<TreeFile> files = {makeFile("a", 40)};
  BindOptions opts = options(NodeSet::of({1, 2}));
  opts.free_bytes = {{1, 3 << 20}, {2, 1 << 20}};
  int moves_while_mapped_here = 0;
  kernel_.onMove([&] { moves_while_mapped_here += mapsFile(files[0].path) ? 1 : 0; });
  BindReport report = bindFiles(files, opts);
  // Only the holder maps the file while its pages move: one mapping for the kernel to look in.
  EXPECT_EQ(moves_while_mapped_here, 0);
  EXPECT_EQ(bound_to_, NodeSet::of({1, 2}));
  EXPECT_FALSE(report.stopped_by);
  EXPECT_EQ(report.files, 1u);
  EXPECT_EQ(report.pages, 40u);
  EXPECT_EQ(report.pages_migrated, 40u);
  EXPECT_EQ(report.pages_in_place + report.pages_populated + report.pages_failed, 0u);
  EXPECT_TRUE(report.complete());
  // Three quarters of the free memory is on node 1.
  EXPECT_THAT(report.migrated_to, ElementsAre(Pair(1, 30), Pair(2, 10)));
  auto calls = kernel_.calls();
  // 40 pages are not two calls' worth: one call, each target's pages together.
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_THAT(calls[0].runs, ElementsAre(Pair(1, 30), Pair(2, 10)));
  EXPECT_EQ(calls[0].flags, MPOL_MF_MOVE_ALL);
  EXPECT_EQ(report.move_calls, 1u);
  // Asked and moved through the holder, a child that is gone once bind returns.
  auto pids = kernel_.pids();
  ASSERT_EQ(pids.size(), 1u);
  pid_t holder = *pids.begin();
  EXPECT_GT(holder, 0);
  EXPECT_NE(holder, ::getpid());
  EXPECT_EQ(::kill(holder, 0), -1);
  EXPECT_EQ(errno, ESRCH);
}

// The move calls' sizes when 2048 cached pages go to one target with `workers` threads.
std::vector<size_t> callSizesWith(BindTest& test, int workers) {
  std::vector<TreeFile> files = {test.makeFile("big", 2048)};
  BindOptions opts = test.options(NodeSet::of({1}));
  opts.workers = workers;
  BindReport report = bindFiles(files, opts);
  EXPECT_EQ(report.pages_migrated, 2048u);
  EXPECT_TRUE(report.complete());
  EXPECT_EQ(report.move_calls, test.kernel_.calls().size());
  std::vector<size_t> sizes;
  for (const auto& call : test.kernel_.calls()) sizes.push_back(call.pages);
  return sizes;
}

TEST_F(BindTest, EachTargetsPagesAreSplitBetweenTheWorkers) {
  EXPECT_THAT(callSizesWith(*this, 2), ElementsAre(1024, 1024));
}

TEST_F(BindTest, OneWorkerMovesEachTargetInOneCall) {
  EXPECT_THAT(callSizesWith(*this, 1), ElementsAre(2048));
}

TEST_F(BindTest, EachWorkersCallTakesAShareOfEveryTarget) {
  // Every move_pages call drains every CPU's LRU caches and waits for RCU first: one call per
  // worker, each with half of each target's pages, one target after the other.
  std::vector<TreeFile> files = {makeFile("two", 2048)};
  BindOptions opts = options(NodeSet::of({1, 2}));
  opts.workers = 2;
  BindReport report = bindFiles(files, opts);
  EXPECT_EQ(report.pages_migrated, 2048u);
  EXPECT_THAT(report.migrated_to, ElementsAre(Pair(1, 1024), Pair(2, 1024)));
  auto calls = kernel_.calls();
  ASSERT_EQ(calls.size(), 2u);
  for (const auto& call : calls) EXPECT_THAT(call.runs, ElementsAre(Pair(1, 512), Pair(2, 512)));
}

TEST_F(BindTest, ColdFilesAreReadInAndCachedOnesMovedInOneGroup) {
  // The reads of a group are all started before the first is waited for: a cold file between
  // two cached ones must still count as populated, page by page, and the cached ones as moved.
  std::vector<TreeFile> files = {makeFile("a", 8), makeFile("b", 24), makeFile("c", 16)};
  {
    int fd = ::open(files[1].path.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    unsigned char probe = 0;
    void* map = ::mmap(nullptr, 24 * static_cast<size_t>(::sysconf(_SC_PAGESIZE)), PROT_READ,
                       MAP_SHARED, fd, 0);
    ASSERT_NE(map, MAP_FAILED);
    bool evicted = ::mincore(map, static_cast<size_t>(::sysconf(_SC_PAGESIZE)), &probe) == 0 &&
                   (probe & 1) == 0;
    ::munmap(map, 24 * static_cast<size_t>(::sysconf(_SC_PAGESIZE)));
    ::close(fd);
    if (!evicted) GTEST_SKIP() << "this filesystem ignores POSIX_FADV_DONTNEED";
  }
  BindOptions opts = options(NodeSet::of({1}));
  opts.readahead_bytes[files[1].device] = 4 * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  BindReport report = bindFiles(files, opts);
  EXPECT_FALSE(report.stopped_by);
  EXPECT_EQ(report.files, 3u);
  EXPECT_EQ(report.pages, 48u);
  EXPECT_EQ(report.pages_migrated, 24u);   // a and c
  EXPECT_EQ(report.pages_populated, 24u);  // b: read in, then placed by the fake's move
  EXPECT_EQ(report.pages_failed, 0u);
  EXPECT_TRUE(report.complete());
  EXPECT_GT(report.read_ms, 0.0);
}

TEST_F(BindTest, WithoutPopulatingOnlyCachedPagesMoveAndTheRestStayOut) {
  // zoned's keeper: a file evicted stays evicted; the cached ones around it are moved.
  std::vector<TreeFile> files = {makeFile("a", 8), makeFile("b", 24), makeFile("c", 16)};
  {
    int fd = ::open(files[1].path.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::close(fd);
  }
  BindOptions opts = options(NodeSet::of({1}));
  opts.populate = false;
  BindReport report = bindFiles(files, opts);
  EXPECT_FALSE(report.stopped_by);
  EXPECT_EQ(report.pages_migrated, 24u);  // a and c
  EXPECT_EQ(report.pages_populated, 0u);
  EXPECT_EQ(report.pages_failed, 0u);
  EXPECT_EQ(report.pages_migrated + report.pages_not_cached, 48u);
  EXPECT_TRUE(report.complete());
  {
    int fd = ::open(files[1].path.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    auto cached = cacheStatOf(fd);
    ::close(fd);
    // Where the filesystem honoured DONTNEED, b is still out of the cache (nothing read it in).
    if (report.pages_not_cached == 24u && cached) {
      EXPECT_EQ(cached->cached_pages, 0u);
    }
  }
}

TEST_F(BindTest, PagesTheKernelWillNotMoveAreCountedWithTheirReason) {
  std::vector<TreeFile> files = {makeFile("busy", 8)};
  kernel_.failPagesWith(EBUSY);
  BindReport report = bindFiles(files, options(NodeSet::of({1})));
  EXPECT_EQ(report.pages_failed, 8u);
  EXPECT_EQ(report.pages_migrated, 0u);
  EXPECT_THAT(report.failed_by_reason, ElementsAre(Pair(FailReason::kBusy, 8)));
  ASSERT_EQ(report.file_failures.size(), 1u);
  EXPECT_EQ(report.file_failures[0].path, files[0].path);
  EXPECT_THAT(report.file_failures[0].detail, HasSubstr("8 pages not placed"));
  EXPECT_FALSE(report.complete());
}

TEST_F(BindTest, APartialMoveIsCountedPageByPage) {
  std::vector<TreeFile> files = {makeFile("half", 10)};
  kernel_.moveEveryOtherPage();
  BindReport report = bindFiles(files, options(NodeSet::of({1})));
  EXPECT_EQ(report.pages_migrated, 5u);
  EXPECT_EQ(report.pages_failed, 5u);
  EXPECT_THAT(report.failed_by_reason, ElementsAre(Pair(FailReason::kBusy, 5)));
  EXPECT_THAT(report.migrated_to, ElementsAre(Pair(1, 5)));
}

TEST_F(BindTest, NoPermissionStopsTheRunAndKeepsWhatWasDone) {
  std::vector<TreeFile> files = {makeFile("first", 4), makeFile("second", 4)};
  kernel_.refuseCallsWith(EPERM);
  BindReport report = bindFiles(files, options(NodeSet::of({1})));
  ASSERT_TRUE(report.stopped_by);
  EXPECT_THAT(report.stopped_by->message(), HasSubstr("CAP_SYS_NICE"));
  // Both files were looked at (moves are planned over a group of files); the first refused call
  // stopped the rest, and every page that had to move is counted failed with the reason.
  EXPECT_EQ(report.files, 2u);
  EXPECT_EQ(kernel_.calls().size(), 1u);
  EXPECT_EQ(report.pages_failed, 8u);
  EXPECT_THAT(report.failed_by_reason, ElementsAre(Pair(FailReason::kNoPermission, 8)));
}

TEST_F(BindTest, AMissingFileIsReportedAndTheRestIsBound) {
  std::vector<TreeFile> files = {makeFile("gone", 1), makeFile("here", 2)};
  ::unlink(files[0].path.c_str());
  BindReport report = bindFiles(files, options(NodeSet::of({1})));
  EXPECT_FALSE(report.stopped_by);
  ASSERT_EQ(report.file_failures.size(), 1u);
  EXPECT_EQ(report.file_failures[0].reason, FailReason::kGone);
  EXPECT_EQ(report.pages_migrated, 2u);
}

TEST_F(BindTest, TheWorkerBindFailingStopsBeforeAnything) {
  std::vector<TreeFile> files = {makeFile("x", 2)};
  BindOptions opts = options(NodeSet::of({1}));
  opts.bind_thread = [](const NodeSet&) -> Status { return errnoError(EINVAL, "set_mempolicy"); };
  BindReport report = bindFiles(files, opts);
  ASSERT_TRUE(report.stopped_by);
  EXPECT_EQ(report.files, 0u);
  EXPECT_TRUE(kernel_.calls().empty());
}

TEST_F(BindTest, AwaitedTargetsArriveWhileTheFilesAreOpenAndBeforeAnyPageIsAskedAbout) {
  std::vector<TreeFile> files = {makeFile("late", 12)};
  BindOptions opts = options({});
  int awaited = 0;
  bool mapped_while_waiting = false;
  size_t queries_before = 1;
  opts.await_targets = [&](BindOptions& late) -> Status {
    ++awaited;
    mapped_while_waiting = mapsFile(files[0].path);
    queries_before = kernel_.pids().size() + kernel_.calls().size();
    late.targets = NodeSet::of({2});
    late.free_bytes = {{2, 1 << 20}};
    return {};
  };
  BindReport report = bindFiles(files, opts);
  EXPECT_EQ(awaited, 1);
  EXPECT_TRUE(mapped_while_waiting);
  EXPECT_EQ(queries_before, 0u);  // no status query, no move before the targets are known
  EXPECT_EQ(bound_to_, NodeSet::of({2}));
  EXPECT_FALSE(report.stopped_by);
  EXPECT_EQ(report.pages_migrated, 12u);
  EXPECT_THAT(report.migrated_to, ElementsAre(Pair(2, 12)));
}

TEST_F(BindTest, TargetsThatCannotBeHadStopTheBindBeforeAnythingIsReadOrMoved) {
  std::vector<TreeFile> files = {makeFile("one", 3), makeFile("two", 5)};
  BindOptions opts = options({});
  opts.await_targets = [](BindOptions&) -> Status { return badInput("unknown zone 'nope'"); };
  BindReport report = bindFiles(files, opts);
  ASSERT_TRUE(report.stopped_by);
  EXPECT_THAT(report.stopped_by->describe(), HasSubstr("unknown zone 'nope'"));
  EXPECT_TRUE(bound_to_.empty());  // the worker never took a policy
  EXPECT_TRUE(kernel_.pids().empty());
  EXPECT_TRUE(kernel_.calls().empty());
  EXPECT_EQ(report.pages_migrated + report.pages_populated + report.pages_in_place, 0u);
}

TEST_F(BindTest, AwaitedTargetsThatAreEmptyAreRefused) {
  std::vector<TreeFile> files = {makeFile("none", 2)};
  BindOptions opts = options({});
  opts.await_targets = [](BindOptions&) -> Status { return {}; };
  BindReport report = bindFiles(files, opts);
  ASSERT_TRUE(report.stopped_by);
  EXPECT_THAT(report.stopped_by->describe(), HasSubstr("no target nodes"));
  EXPECT_TRUE(kernel_.calls().empty());
}

// Whether `pid` is a child of this process not yet waited for (running, or exited and a zombie):
// waitid with WNOWAIT looks without reaping.
bool isUnreapedChild(pid_t pid) {
  siginfo_t info{};
  return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0;
}

TEST_F(BindTest, TheHolderIsLeftToExitForTheCallerToWaitFor) {
  std::vector<TreeFile> files = {makeFile("held", 6)};
  BindOptions opts = options(NodeSet::of({1}));
  ExitingHolders exiting;
  opts.exiting = &exiting;
  BindReport report = bindFiles(files, opts);
  EXPECT_EQ(report.pages_migrated, 6u);
  ASSERT_EQ(kernel_.pids().size(), 1u);
  pid_t holder = *kernel_.pids().begin();
  EXPECT_NE(holder, ::getpid());
  ASSERT_EQ(exiting.size(), 1u);
  EXPECT_TRUE(isUnreapedChild(holder));
  exiting.wait();  // returns: the holder was released and exits on its own
  EXPECT_EQ(exiting.size(), 0u);
  EXPECT_FALSE(isUnreapedChild(holder));
  EXPECT_EQ(errno, ECHILD);
}

TEST_F(BindTest, WithoutSomewhereToLeaveItTheHolderIsReapedBeforeBindReturns) {
  std::vector<TreeFile> files = {makeFile("reaped", 4)};
  BindReport report = bindFiles(files, options(NodeSet::of({1})));
  EXPECT_EQ(report.pages_migrated, 4u);
  ASSERT_EQ(kernel_.pids().size(), 1u);
  EXPECT_FALSE(isUnreapedChild(*kernel_.pids().begin()));
}

}  // namespace
}  // namespace softzone::cache

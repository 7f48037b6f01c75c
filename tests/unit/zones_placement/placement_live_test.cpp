// Live checks of page placement on this host: our own pages, a no-op move, a process that is gone.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "softzone/zones/page_placement.h"

namespace softzone::zones {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

constexpr size_t kTouchedBytes = 8 << 20;

// 0 when move_pages works here, else its errno: containers and seccomp profiles often forbid
// it (EPERM), kernels without NUMA lack it (ENOSYS).
int movePagesError() {
  int here = 0;
  void* page = &here;
  int status = 0;
  long rc =
      kernelPageSyscalls().movePages(0, std::span<void* const>(&page, 1), nullptr, &status, 0);
  return rc < 0 ? static_cast<int>(-rc) : 0;
}

#define SKIP_UNLESS_MOVE_PAGES_ALLOWED()    \
  if (int err = movePagesError(); err != 0) \
  GTEST_SKIP() << "move_pages is not permitted on this host: " << std::strerror(err)

// A pid no process can have: pids are below pid_max.
pid_t impossiblePid() {
  auto root = FsRoot::live();
  auto text = root ? root->readAttribute("/proc/sys/kernel/pid_max") : Result<std::string>("");
  int pid_max = 4194304;
  if (text) std::from_chars(text->data(), text->data() + text->size(), pid_max);
  return static_cast<pid_t>(pid_max);
}

// Our ranges worth a page-by-page query: under ASan the 16 TiB shadow is not.
std::vector<MapRange> ownRanges() {
  auto root = FsRoot::live().value();
  auto maps = readMapsAt(root, getpid());
  if (!maps) ADD_FAILURE() << maps.error().describe();
  if (!maps) return {};
  auto numa_maps = readNumaMapsAt(root, getpid());
  if (!numa_maps) return movableRanges(*maps);
  return denseRanges(movableRanges(*maps), *numa_maps);
}

// The first node our pages are on (node 0 on this host; whichever on others).
int nodeOfPage(const void* page) {
  void* address = const_cast<void*>(page);
  int status = -1;
  kernelPageSyscalls().movePages(0, std::span<void* const>(&address, 1), nullptr, &status, 0);
  return status;
}

TEST(PlacementLive, MapsOfOurselvesHaveTheStackAndOurBinary) {
  auto maps = readMapsAt(FsRoot::live().value(), getpid());
  ASSERT_TRUE(maps) << maps.error().describe();
  std::vector<std::string> paths;
  for (const MapRange& range : *maps) paths.push_back(range.path);
  EXPECT_THAT(paths, Contains("[stack]"));
  char self[4096] = {};
  ssize_t length = readlink("/proc/self/exe", self, sizeof(self) - 1);
  ASSERT_GT(length, 0);
  EXPECT_THAT(paths, Contains(std::string(self, static_cast<size_t>(length))));
}

TEST(PlacementLive, ThreadsIncludeOneWeStarted) {
  std::atomic<pid_t> tid{0};
  std::atomic<bool> done{false};
  std::thread thread([&] {
    tid = gettid();
    while (!done) std::this_thread::yield();
  });
  while (tid == 0) std::this_thread::yield();
  auto threads = listThreadsAt(FsRoot::live().value(), getpid());
  done = true;
  thread.join();
  ASSERT_TRUE(threads) << threads.error().describe();
  EXPECT_THAT(*threads, Contains(getpid()));
  EXPECT_THAT(*threads, Contains(tid.load()));
}

TEST(PlacementLive, TouchedPagesAreFoundOnTheirNode) {
  SKIP_UNLESS_MOVE_PAGES_ALLOWED();
  std::vector<char> buffer(kTouchedBytes);
  long page = sysconf(_SC_PAGESIZE);
  for (size_t i = 0; i < buffer.size(); i += static_cast<size_t>(page)) buffer[i] = 1;
  int node = nodeOfPage(buffer.data());
  ASSERT_GE(node, 0);

  auto census = queryPageNodes(getpid(), ownRanges());
  ASSERT_TRUE(census) << census.error().describe();
  EXPECT_GE(census->pagesOn(NodeSet::of({node})), kTouchedBytes / static_cast<size_t>(page));
  EXPECT_GT(census->pages_scanned, census->pagesPresent());

  auto pages = listPagesOn(getpid(), ownRanges(), NodeSet::of({node}));
  ASSERT_TRUE(pages) << pages.error().describe();
  uint64_t first = reinterpret_cast<uint64_t>(buffer.data()) & ~static_cast<uint64_t>(page - 1);
  auto at = std::find_if(pages->begin(), pages->end(),
                         [&](const PageLocation& p) { return p.address == first; });
  EXPECT_NE(at, pages->end());
}

TEST(PlacementLive, MovingFromANodeToItselfMovesNothing) {
  SKIP_UNLESS_MOVE_PAGES_ALLOWED();
  std::vector<char> buffer(kTouchedBytes, 1);
  int node = nodeOfPage(buffer.data());
  ASSERT_GE(node, 0);
  MoveOptions options;
  options.workers = 2;
  auto report =
      movePages(*FsRoot::live(), getpid(), NodeSet::of({node}), NodeSet::of({node}), options);
  ASSERT_TRUE(report) << report.error().describe();
  EXPECT_EQ(report->pages_found, 0u);
  EXPECT_EQ(report->pages_moved, 0u);
  EXPECT_EQ(report->pages_failed, 0u);
  EXPECT_EQ(report->move_calls, 0u);
  EXPECT_EQ(report->pages_left_on_from, 0u);

  auto left = migrateProcessPages(getpid(), NodeSet::of({node}), NodeSet::of({node}));
  ASSERT_TRUE(left) << left.error().describe();
  EXPECT_EQ(*left, 0u);
}

TEST(PlacementLive, AProcessThatIsGoneIsESRCH) {
  SKIP_UNLESS_MOVE_PAGES_ALLOWED();
  pid_t gone = impossiblePid();
  auto census = queryPageNodes(gone, ownRanges());
  ASSERT_FALSE(census);
  EXPECT_EQ(census.error().code(), std::errc::no_such_process);
  EXPECT_THAT(census.error().describe(), HasSubstr("the process is gone"));

  auto maps = readMapsAt(FsRoot::live().value(), gone);
  ASSERT_FALSE(maps);
  EXPECT_EQ(maps.error().code(), std::errc::no_such_process);

  auto moved = movePages(*FsRoot::live(), gone, NodeSet::of({0}), NodeSet::of({0}));
  ASSERT_FALSE(moved);
  EXPECT_EQ(moved.error().code(), std::errc::no_such_process);

  auto migrated = migrateProcessPages(gone, NodeSet::of({0}), NodeSet::of({0}));
  ASSERT_FALSE(migrated);
  EXPECT_EQ(migrated.error().code(), std::errc::no_such_process);

  MoveOptions by_migrate;
  by_migrate.method = MoveMethod::kMigratePages;
  auto by_migrate_moved =
      movePages(*FsRoot::live(), gone, NodeSet::of({0}), NodeSet::of({0}), by_migrate);
  ASSERT_FALSE(by_migrate_moved);
  EXPECT_EQ(by_migrate_moved.error().code(), std::errc::no_such_process);

  auto mems = readMemsAllowedAt(FsRoot::live().value(), gone);
  ASSERT_FALSE(mems);
  EXPECT_EQ(mems.error().code(), std::errc::no_such_process);
}

TEST(PlacementLive, OurMemsAllowedIncludeAnOnlineNode) {
  auto mems = readMemsAllowedAt(FsRoot::live().value(), getpid());
  ASSERT_TRUE(mems) << mems.error().describe();
  EXPECT_FALSE(mems->empty());
}

}  // namespace
}  // namespace softzone::zones

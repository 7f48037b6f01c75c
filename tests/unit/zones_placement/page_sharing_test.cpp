// Tests for the attach rule (which pages stay), pagemap and kpagecount reads from fixture trees,
// findPagesToLeave over a fake process, and putBackPages on a live child with a fake kernel's
// nodes.
#include "softzone/zones/page_sharing.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <string>

#include "support/fake_tree.h"

namespace softzone::zones {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

constexpr uint64_t kPage = 4096;
constexpr uint64_t kBase = 0x7f0000000000;
constexpr uint64_t kPresent = uint64_t{1} << 63;
constexpr uint64_t kFile = uint64_t{1} << 61;
constexpr uint64_t kExclusive = uint64_t{1} << 56;

uint64_t pageAt(uint64_t index) { return kBase + index * kPage; }
constexpr uint64_t kLowBase = 0x10000;

CandidatePage fileAt(int node, bool exclusive, uint64_t pfn = 0) {
  CandidatePage page;
  page.pid = 10;
  page.node = node;
  page.entry = {true, true, exclusive, pfn};
  return page;
}

const NodeSet kShared = NodeSet::of({1, 2});

TEST(ParsePagemapEntry, ReadsTheBitsAttachUses) {
  EXPECT_EQ(parsePagemapEntry(kPresent | kFile | kExclusive | 0x1234),
            (PagemapEntry{true, true, true, 0x1234}));
  EXPECT_EQ(parsePagemapEntry(kPresent | 77), (PagemapEntry{true, false, false, 77}));
  // Not present: the low bits are a swap entry, not a frame.
  EXPECT_EQ(parsePagemapEntry(0x55), (PagemapEntry{false, false, false, 0}));
}

TEST(StaysOnAttach, AnonymousPagesAreTheProcesssOwnWhereverTheyAre) {
  CandidatePage anon;
  anon.node = 1;
  anon.entry = {true, false, false, 9};
  EXPECT_FALSE(staysOnAttach(anon, kShared, {}, {}));
}

TEST(StaysOnAttach, PageCacheOnTheSharedZoneStaysEvenMappedOnce) {
  EXPECT_TRUE(staysOnAttach(fileAt(2, true), kShared, {}, {}));
}

TEST(StaysOnAttach, PageCacheMappedOnceElsewhereMoves) {
  EXPECT_FALSE(staysOnAttach(fileAt(0, true), kShared, {}, {}));
}

TEST(StaysOnAttach, PageCacheMappedByOthersStays) {
  // libc: mapped by every process, only once by the attached ones.
  EXPECT_TRUE(staysOnAttach(fileAt(0, false, 500), kShared, {{500, 1}}, {{500, 40}}));
  // No frame number (not CAP_SYS_ADMIN): who else maps it is unknown, so it is shared.
  EXPECT_TRUE(staysOnAttach(fileAt(0, false, 0), kShared, {}, {}));
  // No kpagecount for it: the same.
  EXPECT_TRUE(staysOnAttach(fileAt(0, false, 500), kShared, {{500, 2}}, {}));
}

TEST(StaysOnAttach, PageCacheMappedOnlyByTheProcessesAttachedTogetherMoves) {
  // A parent and its child attached together, sharing a MAP_SHARED region.
  EXPECT_FALSE(staysOnAttach(fileAt(0, false, 500), kShared, {{500, 2}}, {{500, 2}}));
  EXPECT_TRUE(staysOnAttach(fileAt(0, false, 500), kShared, {{500, 2}}, {{500, 3}}));
}

TEST(FramesMappedTwice, OnlySharedFileFramesSeenMoreThanOnce) {
  CandidatePage anon;
  anon.entry = {true, false, false, 7};
  std::vector<CandidatePage> pages = {fileAt(0, false, 5),
                                      fileAt(0, false, 5),
                                      fileAt(0, false, 6),
                                      fileAt(0, true, 8),
                                      fileAt(0, true, 8),
                                      anon,
                                      anon};
  EXPECT_THAT(framesMappedTwice(pages), ElementsAre(5u));
}

TEST(GroupByNode, OneAscendingListPerNode) {
  auto groups = groupByNode({{pageAt(3), 1}, {pageAt(1), 0}, {pageAt(0), 1}});
  EXPECT_THAT(groups, ElementsAre(Pair(0, ElementsAre(pageAt(1))),
                                  Pair(1, ElementsAre(pageAt(0), pageAt(3)))));
}

TEST(PagesToLeave, ContainsOnlyItsPages) {
  PagesToLeave leave{10, {}};
  leave.ranges.push_back({MapRange{kBase, kBase + 8 * kPage, "r--s", 0, "fe:01", 1, "/lib/x"},
                          {{pageAt(1), 0}, {pageAt(5), 2}}});
  EXPECT_EQ(leave.pages(), 2u);
  EXPECT_TRUE(leave.contains(pageAt(5)));
  EXPECT_FALSE(leave.contains(pageAt(4)));
  EXPECT_FALSE(leave.contains(pageAt(9)));
}

std::string rawEntries(const std::map<uint64_t, uint64_t>& at, uint64_t count) {
  std::string bytes(count * 8, '\0');
  for (const auto& [index, value] : at) std::memcpy(bytes.data() + index * 8, &value, 8);
  return bytes;
}

TEST(ReadPagemapAt, ReadsTheEntriesOfARange) {
  softzone::testing::FakeTree tree;
  // Entries for pages 0-3 of a fake address space at page 0.
  tree.put("/proc/10/pagemap", rawEntries({{1, kPresent | kFile | 42}, {2, kPresent | 43}}, 4));
  auto root = FsRoot::open(tree.path());
  ASSERT_TRUE(root);
  auto entries = readPagemapAt(*root, 10, kPage, 3 * kPage);
  ASSERT_TRUE(entries) << entries.error().describe();
  EXPECT_THAT(*entries, ElementsAre(PagemapEntry{true, true, false, 42},
                                    PagemapEntry{true, false, false, 43}));
  // Beyond the end: zeros, not present.
  auto past = readPagemapAt(*root, 10, 3 * kPage, 6 * kPage);
  ASSERT_TRUE(past);
  EXPECT_EQ(past->size(), 3u);
  EXPECT_FALSE((*past)[2].present);
  auto gone = readPagemapAt(*root, 11, 0, kPage);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code().value(), ESRCH);
}

TEST(ReadMapCountsAt, OneCountPerFrame) {
  softzone::testing::FakeTree tree;
  tree.put("/proc/kpagecount", rawEntries({{3, 2}, {5, 40}}, 8));
  auto root = FsRoot::open(tree.path());
  ASSERT_TRUE(root);
  auto counts = readMapCountsAt(*root, {3, 5});
  ASSERT_TRUE(counts) << counts.error().describe();
  EXPECT_THAT(*counts, ElementsAre(Pair(3u, 2u), Pair(5u, 40u)));
}

// The status query over a fixed placement; nothing moves.
class PlacedPages final : public PageSyscalls {
 public:
  explicit PlacedPages(std::map<uint64_t, int> node_of) : node_of_(std::move(node_of)) {}
  long movePages(pid_t, std::span<void* const> pages, const int* nodes, int* status,
                 int) const override {
    if (nodes != nullptr) return -EINVAL;
    for (size_t i = 0; i < pages.size(); ++i) {
      auto it = node_of_.find(reinterpret_cast<uint64_t>(pages[i]));
      status[i] = it == node_of_.end() ? -ENOENT : it->second;
    }
    return 0;
  }
  long migratePages(pid_t, const NodeSet&, const NodeSet&) const override { return -EINVAL; }

 private:
  std::map<uint64_t, int> node_of_;
};

// Process 10: a library (pages 0-3), its anonymous heap (pages 4-5), a bound file (pages 6-7).
class FakeProcessTest : public ::testing::Test {
 protected:
  static uint64_t pageAt(uint64_t index) { return kLowBase + index * kPage; }

  void SetUp() override {
    // Low addresses: the fixture's pagemap is a plain file, one entry per page from address 0.
    tree_.put("/proc/10/maps",
              "00010000-00014000 r-xp 00000000 fe:01 11 /lib/libc.so.6\n"
              "00014000-00016000 rw-p 00000000 00:00 0 \n"
              "00016000-00018000 r--s 00000000 fe:01 12 /srv/tree/lib.so\n");
    uint64_t first = kLowBase / kPage;
    std::map<uint64_t, uint64_t> raw = {
        {first + 0, kPresent | kFile | 100},               // libc, mapped by others, node 0
        {first + 1, kPresent | kFile | kExclusive | 101},  // libc, only here: moves
        {first + 2, kPresent | 102},                       // a private copy: moves
        {first + 3, kPresent | kFile | 103},               // libc, already in the partition
        {first + 4, kPresent | 104},                       // heap
        {first + 6, kPresent | kFile | kExclusive | 106},  // the bound tree, shared zone
        {first + 7, kPresent | kFile | kExclusive | 107},
    };
    std::string pagemap(static_cast<size_t>((first + 8) * 8), '\0');
    for (const auto& [index, value] : raw) std::memcpy(pagemap.data() + index * 8, &value, 8);
    tree_.put("/proc/10/pagemap", pagemap);
    tree_.put("/proc/kpagecount", rawEntries({{100, 30}}, 200));
  }

  softzone::testing::FakeTree tree_;
  FsRoot root_ = tree_.open();
  PlacedPages kernel_{{{pageAt(0), 0},
                       {pageAt(1), 0},
                       {pageAt(2), 0},
                       {pageAt(3), 4},
                       {pageAt(4), 0},
                       {pageAt(6), 1},
                       {pageAt(7), 2}}};
  NodeSet outside_ = NodeSet::of({0, 1, 2, 3});
};

TEST_F(FakeProcessTest, FindPagesToLeaveTakesSharedPageCacheOfFileRangesOnly) {
  auto leave = findPagesToLeave(root_, {10, 99}, outside_, kShared, kernel_);
  ASSERT_TRUE(leave) << leave.error().describe();
  ASSERT_EQ(leave->size(), 1u);  // 99 is gone: nothing of it
  const PagesToLeave& pages = leave->front();
  EXPECT_EQ(pages.pid, 10);
  ASSERT_EQ(pages.ranges.size(), 2u);
  EXPECT_EQ(pages.ranges[0].range.path, "/lib/libc.so.6");
  EXPECT_THAT(pages.ranges[0].pages, ElementsAre(PageLocation{pageAt(0), 0}));
  EXPECT_EQ(pages.ranges[1].range.path, "/srv/tree/lib.so");
  EXPECT_THAT(pages.ranges[1].pages,
              ElementsAre(PageLocation{pageAt(6), 1}, PageLocation{pageAt(7), 2}));
  EXPECT_EQ(pages.pages(), 3u);
}

TEST_F(FakeProcessTest, FindFilePagesOnTakesEveryFilePageOutsideSharedOrNot) {
  // What exec puts back: libc's page cache outside, mapped by others or not, and the bound
  // file's; not the private copy (anonymous), the page already inside (node 4) nor the heap.
  auto pages = findFilePagesOn(root_, 10, outside_, kernel_);
  ASSERT_TRUE(pages) << pages.error().describe();
  EXPECT_EQ(pages->pid, 10);
  ASSERT_EQ(pages->ranges.size(), 2u);
  EXPECT_THAT(pages->ranges[0].pages,
              ElementsAre(PageLocation{pageAt(0), 0}, PageLocation{pageAt(1), 0}));
  EXPECT_THAT(pages->ranges[1].pages,
              ElementsAre(PageLocation{pageAt(6), 1}, PageLocation{pageAt(7), 2}));
  EXPECT_FALSE(findFilePagesOn(root_, 99, outside_, kernel_));  // gone
}

// A kernel where every other page asked about is still on `home` (the migration left it there)
// and the others are on another node; a move puts each page where it is asked to.
class HalfMovedAway final : public PageSyscalls {
 public:
  explicit HalfMovedAway(int home) : home_(home) {}
  long movePages(pid_t, std::span<void* const> pages, const int* nodes, int* status,
                 int) const override {
    std::lock_guard lock(mutex_);
    if (nodes == nullptr) {
      for (size_t i = 0; i < pages.size(); ++i) status[i] = i % 2 == 0 ? home_ : home_ + 1;
      return 0;
    }
    moves_.push_back(pages.size());
    for (size_t i = 0; i < pages.size(); ++i) status[i] = nodes[i];
    return 0;
  }
  long migratePages(pid_t, const NodeSet&, const NodeSet&) const override { return -EINVAL; }
  std::vector<size_t> moves() const {
    std::lock_guard lock(mutex_);
    return moves_;
  }

 private:
  int home_;
  mutable std::mutex mutex_;
  mutable std::vector<size_t> moves_;  // the pages of each move call
};

TEST(PutBackPages, PagesStillOnTheirNodeAreCountedApartAndNotMoved) {
  softzone::testing::FakeTree dir;
  std::string path = dir.path() + "/shared.so";
  std::ofstream(path) << std::string(4 * kPage, 's');
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  void* data = ::mmap(nullptr, 4 * kPage, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  ASSERT_NE(data, MAP_FAILED);
  pid_t child = ::fork();  // inherits the mapping at the same address
  if (child == 0) {
    for (;;) ::pause();
  }
  ASSERT_GT(child, 0);
  uint64_t start = reinterpret_cast<uint64_t>(data);
  char name[64];
  std::snprintf(name, sizeof name, "/proc/%d/map_files/%lx-%lx", child,
                static_cast<unsigned long>(start), static_cast<unsigned long>(start + 4 * kPage));
  int probe = ::open(name, O_RDONLY | O_CLOEXEC);
  if (probe < 0) {
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    ::munmap(data, 4 * kPage);
    GTEST_SKIP() << "map_files needs root here: " << std::strerror(errno);
  }
  ::close(probe);

  PagesToLeave leave;
  leave.pid = child;
  RangeToLeave range;
  range.range.start = start;
  range.range.end = start + 4 * kPage;
  range.range.perms = "r--s";
  range.range.path = path;
  for (uint64_t i = 0; i < 4; ++i) range.pages.push_back({start + i * kPage, 1});
  leave.ranges.push_back(range);
  HalfMovedAway kernel(1);
  auto fs = FsRoot::live();
  ASSERT_TRUE(fs);
  auto put = putBackPages(*fs, leave, kernel);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ::munmap(data, 4 * kPage);
  ASSERT_TRUE(put) << put.error().describe();
  EXPECT_EQ(put->pages, 4u);
  EXPECT_EQ(put->pages_never_moved, 2u);
  EXPECT_EQ(put->pages_put_back, 2u);
  EXPECT_EQ(put->pages_failed, 0u);
  EXPECT_THAT(kernel.moves(), ElementsAre(2u));  // only the pages that had left were moved
}

}  // namespace
}  // namespace softzone::zones

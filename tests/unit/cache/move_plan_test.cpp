// Pure planning: runs of cached pages, which pages move where, why a page could not move.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>

#include "softzone/cache/page_cache.h"

namespace softzone::cache {
namespace {

using ::testing::ElementsAre;
constexpr uint64_t kPage = 4096;

TEST(RunsOf, FindsRunsOfEitherValue) {
  std::vector<unsigned char> cached = {1, 1, 0, 0, 0, 1, 0, 1, 1};
  EXPECT_THAT(runsOf(cached, true), ElementsAre(PageRun{0, 2}, PageRun{5, 6}, PageRun{7, 9}));
  EXPECT_THAT(runsOf(cached, false), ElementsAre(PageRun{2, 5}, PageRun{6, 7}));
  EXPECT_TRUE(runsOf({}, true).empty());
  EXPECT_THAT(runsOf({0, 0}, false), ElementsAre(PageRun{0, 2}));
}

TEST(PlanCacheMoves, PagesOnTargetsStayAndUnplacedPagesAreLeftAlone) {
  // Targets 1-2. Page 1 and 4 are in place; 2 is not placed (-ENOENT); the rest move.
  std::vector<int> nodes = {3, 1, -ENOENT, 0, 2, 3};
  std::map<int, uint64_t> free;
  auto batches = planCacheMoves(nodes, NodeSet::of({1, 2}), free, kPage);
  ASSERT_EQ(batches.size(), 2u);
  // An equal spread of 3 pages, in address order: node 1 gets two (largest remainder, node order).
  EXPECT_EQ(batches[0], (MoveBatch{1, {0, 3}}));
  EXPECT_EQ(batches[1], (MoveBatch{2, {5}}));
}

TEST(PlanCacheMoves, SpreadsByFreeMemoryAndUsesItUp) {
  std::vector<int> nodes(8, 5);
  std::map<int, uint64_t> free = {{1, 6 * kPage}, {2, 2 * kPage}};
  auto batches = planCacheMoves(nodes, NodeSet::of({1, 2}), free, kPage);
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].pages.size(), 6u);
  EXPECT_EQ(batches[1].pages.size(), 2u);
  EXPECT_EQ(free[1], 0u);
  EXPECT_EQ(free[2], 0u);
  // Nothing left anywhere: the next file is spread equally rather than not at all.
  auto next = planCacheMoves(std::vector<int>(4, 5), NodeSet::of({1, 2}), free, kPage);
  ASSERT_EQ(next.size(), 2u);
  EXPECT_EQ(next[0].pages.size(), 2u);
  EXPECT_EQ(next[1].pages.size(), 2u);
}

TEST(PlanCacheMoves, SmallFilesGoWhereRoomIsLeft) {
  std::map<int, uint64_t> free = {{1, 10 * kPage}, {2, 9 * kPage}};
  std::vector<int> where;
  for (int file = 0; file < 4; ++file) {
    auto batches = planCacheMoves({7}, NodeSet::of({1, 2}), free, kPage);
    ASSERT_EQ(batches.size(), 1u);
    where.push_back(batches[0].node);
  }
  EXPECT_THAT(where, ElementsAre(1, 1, 2, 1));
}

TEST(PlanCacheMoves, NothingToMove) {
  std::map<int, uint64_t> free;
  EXPECT_TRUE(planCacheMoves({1, 2, -EFAULT}, NodeSet::of({1, 2}), free, kPage).empty());
  EXPECT_TRUE(planCacheMoves({}, NodeSet::of({1}), free, kPage).empty());
}

TEST(FailReason, ErrnoThenPageFlags) {
  EXPECT_EQ(failReasonOfErrno(EACCES), FailReason::kNoPermission);
  EXPECT_EQ(failReasonOfErrno(EPERM), FailReason::kNoPermission);
  EXPECT_EQ(failReasonOfErrno(ENOMEM), FailReason::kNoMemory);
  EXPECT_EQ(failReasonOfErrno(ENOENT), FailReason::kGone);
  EXPECT_EQ(failReasonOfErrno(EBUSY), FailReason::kBusy);
  EXPECT_EQ(failReasonOfErrno(EAGAIN), FailReason::kBusy);
  EXPECT_EQ(failReasonOf(EBUSY, PageFlags{true, false}), FailReason::kDirty);
  EXPECT_EQ(failReasonOf(EBUSY, PageFlags{true, true}), FailReason::kWriteback);
  EXPECT_EQ(failReasonOf(EBUSY, std::nullopt), FailReason::kBusy);
  // A clear errno is not overridden by flags.
  EXPECT_EQ(failReasonOf(ENOMEM, PageFlags{true, true}), FailReason::kNoMemory);
  EXPECT_EQ(failReasonName(FailReason::kNoPermission), "no permission");
  EXPECT_EQ(failReasonName(FailReason::kBeingWritten), "being written");
}

}  // namespace
}  // namespace softzone::cache

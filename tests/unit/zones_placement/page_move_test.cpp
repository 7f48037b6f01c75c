// Tests for movePagesIn and friends against a fake kernel that batches like move_pages(2) does.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <thread>
#include <vector>

#include "fake_page_kernel.h"
#include "softzone/zones/page_placement.h"

namespace softzone::zones {
namespace {

using namespace fake;  // NOLINT: the fixture's vocabulary
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

TEST(ShareByFreeMemory, EqualSpreadGivesRemaindersToLowerNodes) {
  EXPECT_THAT(shareByFreeMemory(10, NodeSet::of({4, 5, 6}), {}),
              ElementsAre(TargetShare{4, 4}, TargetShare{5, 3}, TargetShare{6, 3}));
}

TEST(ShareByFreeMemory, FollowsFreeBytesAndLeavesOutNodesWithout) {
  EXPECT_THAT(shareByFreeMemory(200, NodeSet::of({4, 5, 6}), {{4, 300 << 20}, {5, 100 << 20}}),
              ElementsAre(TargetShare{4, 150}, TargetShare{5, 50}));
}

TEST(ShareByFreeMemory, HugeWeightsDoNotOverflow) {
  uint64_t big = uint64_t{1} << 62;
  EXPECT_THAT(shareByFreeMemory(uint64_t{1} << 40, NodeSet::of({1, 2}), {{1, big}, {2, big}}),
              ElementsAre(TargetShare{1, uint64_t{1} << 39}, TargetShare{2, uint64_t{1} << 39}));
}

TEST(ShareByFreeMemory, NothingFreeMeansEqualAndNoPagesMeansNoShares) {
  EXPECT_THAT(shareByFreeMemory(4, NodeSet::of({1, 2}), {{1, 0}, {2, 0}}),
              ElementsAre(TargetShare{1, 2}, TargetShare{2, 2}));
  EXPECT_TRUE(shareByFreeMemory(0, NodeSet::of({1, 2}), {}).empty());
}

TEST(QueryPageNodes, CountsNodesAndAbsentPages) {
  FakeKernel kernel;
  kernel.place(0, 3, 2);
  kernel.place(3, 2, 5);
  auto census = queryPageNodes(kPid, rangeOfPages(8), kernel);
  ASSERT_TRUE(census) << census.error().describe();
  EXPECT_EQ(census->pages_scanned, 8u);
  EXPECT_THAT(census->pages_per_node, ElementsAre(Pair(2, 3u), Pair(5, 2u)));
  EXPECT_EQ(census->pages_not_present, 3u);
  EXPECT_THAT(census->errors, ElementsAre(Pair(ENOENT, 3u)));
  EXPECT_EQ(census->pagesOn(NodeSet::of({5, 7})), 2u);
  EXPECT_EQ(census->pagesPresent(), 5u);

  PageCensus again;
  auto on5 = listPagesOn(kPid, rangeOfPages(8), NodeSet::of({5}), &again, kernel);
  ASSERT_TRUE(on5);
  EXPECT_THAT(*on5, ElementsAre(PageLocation{pageAt(3), 5}, PageLocation{pageAt(4), 5}));
  EXPECT_EQ(again.pages_scanned, 8u);
}

TEST(QueryPageNodes, RefusalsSayWhatToDo) {
  FakeKernel kernel;
  kernel.queryFailsWith(ESRCH);
  auto gone = queryPageNodes(kPid, rangeOfPages(1), kernel);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code(), std::errc::no_such_process);
  EXPECT_THAT(gone.error().describe(), HasSubstr("move_pages pid 4242: the process is gone"));

  kernel.queryFailsWith(EPERM);
  auto denied = queryPageNodes(kPid, rangeOfPages(1), kernel);
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().code(), std::errc::operation_not_permitted);
  EXPECT_THAT(denied.error().describe(), HasSubstr("CAP_SYS_NICE"));
}

TEST(MovePages, OneCallPerTargetWithAllItsPages) {
  FakeKernel kernel;
  kernel.place(0, 100, 2);
  kernel.place(100, 100, 3);
  kernel.setRoom(4, 1000);
  kernel.setRoom(5, 1000);
  auto report = movePagesIn(kPid, rangeOfPages(200), NodeSet::of({2, 3}), NodeSet::of({4, 5}),
                            optionsFor(kernel));
  ASSERT_TRUE(report) << report.error().describe();
  EXPECT_EQ(report->pages_scanned, 200u);
  EXPECT_EQ(report->pages_found, 200u);
  EXPECT_EQ(report->pages_moved, 200u);
  EXPECT_EQ(report->pages_failed, 0u);
  EXPECT_EQ(report->pages_left_on_from, 0u);
  EXPECT_THAT(report->moved_to, ElementsAre(Pair(4, 100u), Pair(5, 100u)));
  EXPECT_EQ(report->move_calls, 2u);
  auto calls = kernel.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_THAT(calls[0].targets, ElementsAre(4));
  EXPECT_EQ(calls[0].pages.size(), 100u);
  EXPECT_THAT(calls[1].targets, ElementsAre(5));
  EXPECT_EQ(calls[1].pages.front(), pageAt(100));
}

TEST(MovePages, PagesAlreadyOnATargetAreNotRequested) {
  FakeKernel kernel;
  kernel.place(0, 10, 2);
  kernel.place(10, 10, 4);
  kernel.setRoom(4, 1000);
  kernel.setRoom(5, 1000);
  auto report = movePagesIn(kPid, rangeOfPages(20), NodeSet::of({2, 4}), NodeSet::of({4, 5}),
                            optionsFor(kernel));
  ASSERT_TRUE(report);
  EXPECT_EQ(report->pages_found, 10u);
  EXPECT_EQ(report->pages_moved, 10u);
  for (const MoveCall& call : kernel.calls()) {
    for (uint64_t page : call.pages) EXPECT_LT(page, pageAt(10));
  }
  EXPECT_EQ(kernel.nodeOf(15), 4);
}

TEST(MovePages, SameNodesIsANoOp) {
  FakeKernel kernel;
  kernel.place(0, 10, 0);
  auto report =
      movePagesIn(kPid, rangeOfPages(10), NodeSet::of({0}), NodeSet::of({0}), optionsFor(kernel));
  ASSERT_TRUE(report);
  EXPECT_EQ(report->pages_scanned, 10u);
  EXPECT_EQ(report->pages_found, 0u);
  EXPECT_EQ(report->pages_moved, 0u);
  EXPECT_TRUE(kernel.calls().empty());
}

TEST(MovePages, SpreadsByFreeMemory) {
  FakeKernel kernel;
  kernel.place(0, 200, 2);
  kernel.setRoom(4, 1000);
  kernel.setRoom(5, 1000);
  MoveOptions options = optionsFor(kernel);
  options.free_bytes = {{4, 300 * kPage}, {5, 100 * kPage}};
  auto report =
      movePagesIn(kPid, rangeOfPages(200), NodeSet::of({2}), NodeSet::of({4, 5}), options);
  ASSERT_TRUE(report);
  EXPECT_THAT(report->moved_to, ElementsAre(Pair(4, 150u), Pair(5, 50u)));
}

TEST(MovePages, AFullTargetHandsItsPagesToTheOthers) {
  FakeKernel kernel;
  kernel.place(0, 200, 2);
  kernel.setRoom(4, 20);
  kernel.setRoom(5, 1000);
  auto report = movePagesIn(kPid, rangeOfPages(200), NodeSet::of({2}), NodeSet::of({4, 5}),
                            optionsFor(kernel));
  ASSERT_TRUE(report) << report.error().describe();
  EXPECT_EQ(report->pages_moved, 200u);
  EXPECT_EQ(report->pages_failed, 0u);
  EXPECT_THAT(report->moved_to, ElementsAre(Pair(4, 20u), Pair(5, 180u)));
}

TEST(MovePages, WhatNoTargetCanHoldIsReportedAsENOMEM) {
  FakeKernel kernel;
  kernel.place(0, 200, 2);
  kernel.setRoom(4, 20);
  kernel.setRoom(5, 30);
  auto report = movePagesIn(kPid, rangeOfPages(200), NodeSet::of({2}), NodeSet::of({4, 5}),
                            optionsFor(kernel));
  ASSERT_TRUE(report) << report.error().describe();
  EXPECT_EQ(report->pages_moved, 50u);
  EXPECT_EQ(report->pages_failed, 150u);
  EXPECT_THAT(report->failures, ElementsAre(Pair(ENOMEM, 150u)));
  EXPECT_EQ(report->pages_left_on_from, 150u);
}

TEST(MovePages, BusyAndPinnedPagesFailWithTheirReasonAndTheRestMoves) {
  FakeKernel kernel;
  kernel.place(0, 100, 2);
  kernel.setRoom(4, 1000);
  kernel.setBusy(10);
  kernel.setBusy(50);
  kernel.setSticky(70);
  auto report =
      movePagesIn(kPid, rangeOfPages(100), NodeSet::of({2}), NodeSet::of({4}), optionsFor(kernel));
  ASSERT_TRUE(report) << report.error().describe();
  EXPECT_EQ(report->pages_moved, 97u);
  EXPECT_EQ(report->pages_failed, 3u);
  EXPECT_THAT(report->failures, ElementsAre(Pair(EBUSY, 3u)));
  EXPECT_EQ(kernel.nodeOf(71), 4);
  EXPECT_EQ(kernel.nodeOf(70), 2);
}

TEST(MovePages, WorkersTakeDisjointPagesOneTargetPerCall) {
  FakeKernel kernel;
  kernel.place(0, 1000, 2);
  kernel.place(1000, 1000, 3);
  kernel.setRoom(4, 5000);
  kernel.setRoom(5, 5000);
  auto report = movePagesIn(kPid, rangeOfPages(2000), NodeSet::of({2, 3}), NodeSet::of({4, 5}),
                            optionsFor(kernel, 3));
  ASSERT_TRUE(report) << report.error().describe();
  EXPECT_EQ(report->pages_moved, 2000u);
  auto calls = kernel.calls();
  EXPECT_EQ(calls.size(), 6u);
  std::set<uint64_t> requested;
  for (const MoveCall& call : calls) {
    EXPECT_EQ(call.targets.size(), 1u);
    for (uint64_t page : call.pages) EXPECT_TRUE(requested.insert(page).second) << page;
  }
  EXPECT_EQ(requested.size(), 2000u);
}

TEST(MovePages, RefusedCallIsAnErrorNamingTheFix) {
  FakeKernel kernel;
  kernel.place(0, 10, 2);
  kernel.refuseWith(EACCES);
  auto report = movePagesIn(kPid, rangeOfPages(10), NodeSet::of({2}), NodeSet::of({4}),
                            optionsFor(kernel, 2));
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code(), std::errc::permission_denied);
  EXPECT_THAT(report.error().describe(), HasSubstr("move_pages pid 4242"));
  EXPECT_THAT(report.error().describe(), HasSubstr("cpuset mems"));
}

TEST(MovePages, BadRequestsAreBadInput) {
  FakeKernel kernel;
  auto no_target =
      movePagesIn(kPid, rangeOfPages(1), NodeSet::of({2}), NodeSet(), optionsFor(kernel));
  ASSERT_FALSE(no_target);
  EXPECT_TRUE(no_target.error().isBadInput());
  auto no_workers =
      movePagesIn(kPid, rangeOfPages(1), NodeSet::of({2}), NodeSet::of({3}), optionsFor(kernel, 0));
  ASSERT_FALSE(no_workers);
  EXPECT_TRUE(no_workers.error().isBadInput());
  auto too_high =
      movePagesIn(kPid, rangeOfPages(1), NodeSet::of({2}), NodeSet::of({4000}), optionsFor(kernel));
  ASSERT_FALSE(too_high);
  EXPECT_TRUE(too_high.error().isBadInput());
  MoveOptions bad_flags = optionsFor(kernel);
  bad_flags.flags = 0;
  auto flags = movePagesIn(kPid, rangeOfPages(1), NodeSet::of({2}), NodeSet::of({3}), bad_flags);
  ASSERT_FALSE(flags);
  EXPECT_TRUE(flags.error().isBadInput());
}

TEST(MovePages, WhenNumaMapsShowsNothingLeftTheCallsStatusesAreTheReport) {
  FakeKernel kernel;
  kernel.place(0, 100, 2);
  kernel.place(100, 100, 3);
  kernel.setRoom(4, 1000);
  kernel.setRoom(5, 1000);
  auto report = movePagesIn(kPid, rangeOfPages(200), NodeSet::of({2, 3}), NodeSet::of({4, 5}),
                            optionsFor(kernel, 2), kernel.numaMaps());
  ASSERT_TRUE(report) << report.error().describe();
  EXPECT_EQ(report->pages_moved, 200u);
  EXPECT_EQ(report->pages_gone, 0u);
  EXPECT_THAT(report->moved_to, ElementsAre(Pair(4, 100u), Pair(5, 100u)));
  // numa_maps shows the range wholly on the source nodes and nothing left after: no status query.
  EXPECT_EQ(kernel.queries(), 0);
}

TEST(MovePages, PagesThatAppearOnTheSourceDuringTheMoveAreAskedForAgain) {
  FakeKernel kernel;
  kernel.place(0, 100, 2);
  kernel.setRoom(4, 1000);
  kernel.setBusy(7);
  kernel.placeAtFirstMove(150, 2);
  auto report = movePagesIn(kPid, rangeOfPages(200), NodeSet::of({2}), NodeSet::of({4}),
                            optionsFor(kernel), kernel.numaMaps());
  ASSERT_TRUE(report) << report.error().describe();
  EXPECT_EQ(report->pages_found, 100u);
  EXPECT_EQ(report->pages_moved, 99u);
  EXPECT_EQ(report->pages_retried, 2u);  // the new page, and the busy one once more
  EXPECT_EQ(kernel.nodeOf(150), 4);
  EXPECT_EQ(report->pages_failed, 1u);
  EXPECT_THAT(report->failures, ElementsAre(Pair(EBUSY, 1u)));
  EXPECT_EQ(report->pages_left_on_from, 1u);
}

TEST(MovePages, PagesNoCallConfirmedAreLookedUpNotCalledGone) {
  FakeKernel kernel;
  kernel.place(0, 100, 2);
  kernel.setRoom(4, 30);  // its batch of 50 stops after 30 with ENOMEM, statuses unwritten
  kernel.setRoom(5, 1000);
  kernel.setAbsentAtFirstQuery(10);  // moved to 4, but the follow-up query catches it mid-way
  auto report = movePagesIn(kPid, rangeOfPages(100), NodeSet::of({2}), NodeSet::of({4, 5}),
                            optionsFor(kernel), kernel.numaMaps());
  ASSERT_TRUE(report) << report.error().describe();
  EXPECT_EQ(kernel.nodeOf(10), 4);
  EXPECT_EQ(report->pages_found, 100u);
  EXPECT_EQ(report->pages_moved, 100u);
  EXPECT_EQ(report->pages_gone, 0u);
  EXPECT_EQ(report->pages_left_on_from, 0u);
  EXPECT_THAT(report->moved_to, ElementsAre(Pair(4, 30u), Pair(5, 70u)));
}

TEST(MovePages, PagesThatFoundNoRoomAreNotAskedForAgain) {
  FakeKernel kernel;
  kernel.place(0, 100, 2);
  kernel.setRoom(4, 10);
  auto report = movePagesIn(kPid, rangeOfPages(100), NodeSet::of({2}), NodeSet::of({4}),
                            optionsFor(kernel), kernel.numaMaps());
  ASSERT_TRUE(report);
  EXPECT_EQ(report->pages_retried, 0u);
  EXPECT_EQ(report->pages_failed, 90u);
}

TEST(MovePages, NumaMapsSparesScanningRangesWithNothingOnTheSource) {
  FakeKernel kernel;
  kernel.place(0, 100, 7);
  auto report = movePagesIn(kPid, rangeOfPages(100), NodeSet::of({2}), NodeSet::of({4}),
                            optionsFor(kernel), kernel.numaMaps());
  ASSERT_TRUE(report);
  EXPECT_EQ(report->pages_scanned, 0u);
  EXPECT_EQ(report->pages_found, 0u);
  EXPECT_EQ(kernel.queries(), 0);
}

TEST(MovePages, SparseRangesAreLeftToMigratePagesNotWalkedAddressByAddress) {
  FakeKernel kernel;
  kernel.place(0, 10, 2);
  kernel.setRoom(4, 1000);
  // 1 TiB of address space with 10 resident pages: a sanitizer's shadow, say.
  std::vector<MapRange> huge = rangeOfPages(uint64_t{1} << 28);
  EXPECT_TRUE(isSparseRange(huge[0], 10));
  EXPECT_FALSE(isSparseRange(huge[0], uint64_t{1} << 26));
  auto report = movePagesIn(kPid, huge, NodeSet::of({2}), NodeSet::of({4}), optionsFor(kernel),
                            kernel.numaMaps());
  ASSERT_TRUE(report) << report.error().describe();
  EXPECT_EQ(report->pages_scanned, 0u);
  EXPECT_EQ(report->pages_swept, 10u);
  EXPECT_EQ(report->pages_left_on_from, 0u);
  EXPECT_EQ(kernel.queries(), 0);
  EXPECT_EQ(kernel.nodeOf(3), 4);
}

TEST(DenseRanges, DropsOnlySparseRangesNumaMapsKnows) {
  std::vector<MapRange> ranges = {
      {kBase, kBase + (uint64_t{1} << 40), "rw-p", 0, "00:00", 0, ""},
      {kBase + (uint64_t{1} << 41), kBase + (uint64_t{1} << 41) + kPage, "rw-p", 0, "00:00", 0, ""},
      {kBase + (uint64_t{1} << 42), kBase + (uint64_t{1} << 43), "rw-p", 0, "00:00", 0, ""},
  };
  std::vector<NumaMapsEntry> numa_maps = {{ranges[0].start, "default", {{0, 5}}},
                                          {ranges[1].start, "default", {}}};
  auto dense = denseRanges(ranges, numa_maps);
  ASSERT_EQ(dense.size(), 2u);
  EXPECT_EQ(dense[0].start, ranges[1].start);
  EXPECT_EQ(dense[1].start, ranges[2].start);  // not in numa_maps: kept
}

TEST(MovePages, MixedRangesAreScannedPageByPage) {
  FakeKernel kernel;
  kernel.place(0, 50, 2);
  kernel.place(50, 50, 3);
  kernel.setRoom(4, 1000);
  auto report = movePagesIn(kPid, rangeOfPages(100), NodeSet::of({2}), NodeSet::of({4}),
                            optionsFor(kernel), kernel.numaMaps());
  ASSERT_TRUE(report);
  EXPECT_EQ(report->pages_scanned, 100u);
  EXPECT_EQ(report->pages_found, 50u);
  EXPECT_EQ(report->pages_moved, 50u);
  EXPECT_EQ(kernel.nodeOf(60), 3);
}

TEST(MovePages, RedirectedPagesAreCountedWhereTheyWent) {
  FakeKernel kernel;
  kernel.place(0, 200, 2);
  kernel.setRoom(4, 20);
  kernel.setRoom(5, 1000);
  auto report = movePagesIn(kPid, rangeOfPages(200), NodeSet::of({2}), NodeSet::of({4, 5}),
                            optionsFor(kernel), kernel.numaMaps());
  ASSERT_TRUE(report) << report.error().describe();
  EXPECT_EQ(report->pages_moved, 200u);
  EXPECT_THAT(report->moved_to, ElementsAre(Pair(4, 20u), Pair(5, 180u)));
}

TEST(MovePages, WithNumaMapsFailuresAreStillClassifiedPageByPage) {
  FakeKernel kernel;
  kernel.place(0, 200, 2);
  kernel.setRoom(4, 20);
  kernel.setRoom(5, 30);
  kernel.setBusy(199);
  auto report = movePagesIn(kPid, rangeOfPages(200), NodeSet::of({2}), NodeSet::of({4, 5}),
                            optionsFor(kernel), kernel.numaMaps());
  ASSERT_TRUE(report) << report.error().describe();
  EXPECT_EQ(report->pages_moved, 50u);
  EXPECT_EQ(report->pages_failed, 150u);
  EXPECT_EQ(report->pages_left_on_from, 150u);
  EXPECT_EQ(report->pages_hidden, 0u);
  uint64_t failures = 0;
  for (const auto& [err, pages] : report->failures) failures += pages;
  EXPECT_EQ(failures, 150u);
  EXPECT_GT(report->failures.at(ENOMEM), 0u);
}

TEST(MovePages, PagesTheStatusQueryCannotSeeAreSweptWithMigratePages) {
  FakeKernel kernel;
  kernel.place(0, 100, 2);
  kernel.setRoom(4, 1000);
  for (uint64_t i = 40; i < 60; ++i) kernel.setHidden(i);
  auto report = movePagesIn(kPid, rangeOfPages(100), NodeSet::of({2}), NodeSet::of({4}),
                            optionsFor(kernel), kernel.numaMaps());
  ASSERT_TRUE(report) << report.error().describe();
  // numa_maps shows the range wholly on node 2, so hidden pages are asked for too (and refused).
  EXPECT_EQ(report->pages_found, 100u);
  EXPECT_EQ(report->pages_hidden, 20u);
  EXPECT_EQ(report->pages_gone, 0u);
  EXPECT_EQ(report->pages_moved, 100u);  // the swept ones included: visible again
  EXPECT_EQ(report->pages_swept, 20u);
  EXPECT_EQ(report->pages_left_on_from, 0u);
  EXPECT_EQ(kernel.nodeOf(50), 4);
  EXPECT_EQ(kernel.migrateArgs(), std::make_pair(kPid, std::string("2>4")));
}

// Seen once on 6.1: a hidden page the kernel was migrating itself when the sweep came by. The
// sweep runs again while it leaves pages and makes progress.
TEST(MovePages, ASweepThatLeavesPagesIsTriedAgain) {
  FakeKernel kernel;
  kernel.place(0, 100, 2);
  kernel.setRoom(4, 1000);
  for (uint64_t i = 40; i < 60; ++i) kernel.setHidden(i);
  kernel.setBusyForSweeps(45, 1);
  auto report = movePagesIn(kPid, rangeOfPages(100), NodeSet::of({2}), NodeSet::of({4}),
                            optionsFor(kernel), kernel.numaMaps());
  ASSERT_TRUE(report) << report.error().describe();
  EXPECT_EQ(report->pages_swept, 20u);
  EXPECT_EQ(report->pages_failed, 0u);
  EXPECT_EQ(report->pages_left_on_from, 0u);
  EXPECT_EQ(kernel.nodeOf(45), 4);
  // A page that stays busy is reported, not waited for: three sweeps at most.
  FakeKernel stuck;
  stuck.place(0, 100, 2);
  stuck.setRoom(4, 1000);
  for (uint64_t i = 40; i < 60; ++i) stuck.setHidden(i);
  stuck.setBusyForSweeps(45, 1000);
  auto left = movePagesIn(kPid, rangeOfPages(100), NodeSet::of({2}), NodeSet::of({4}),
                          optionsFor(stuck), stuck.numaMaps());
  ASSERT_TRUE(left) << left.error().describe();
  EXPECT_EQ(left->pages_left_on_from, 1u);
  EXPECT_EQ(stuck.nodeOf(45), 2);
}

TEST(MovePages, WithoutNumaMapsHiddenPagesAreNotClaimedMoved) {
  FakeKernel kernel;
  kernel.place(0, 10, 2);
  kernel.setRoom(4, 1000);
  kernel.setHidden(5);
  auto blind =
      movePagesIn(kPid, rangeOfPages(10), NodeSet::of({2}), NodeSet::of({4}), optionsFor(kernel));
  ASSERT_TRUE(blind);
  EXPECT_EQ(blind->pages_moved, 9u);
  EXPECT_EQ(blind->pages_swept, 0u);
  EXPECT_EQ(kernel.nodeOf(5), 2);
  // With numa_maps the leftover shows, even when the sweep can't move it.
  kernel.setRoom(4, 0);
  auto seen = movePagesIn(kPid, rangeOfPages(10), NodeSet::of({2}), NodeSet::of({4}),
                          optionsFor(kernel), kernel.numaMaps());
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->pages_hidden, 1u);
  EXPECT_EQ(seen->pages_left_on_from, 1u);
}

}  // namespace
}  // namespace softzone::zones

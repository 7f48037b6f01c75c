// The keeper's choice of files per check: new and changed files first, a bounded round over the
// rest, forgotten files, retries.
#include "softzone/zoned/bind_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

namespace softzone::zoned {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr uint64_t kPage = 4096;
// What a file of 10 pages counts against the budget.
constexpr uint64_t kTen = 10 + kFileCostPages;

WalkedFile file(uint64_t inode, uint64_t pages, int64_t changed_ns = 1) {
  return {8, inode, pages * kPage, changed_ns};
}

// Four files of 10 pages each.
std::vector<WalkedFile> fourFiles() { return {file(1, 10), file(2, 10), file(3, 10), file(4, 10)}; }

TEST(BindCheckTest, TheFirstCheckTakesEveryFileAsNewWithinTheBudget) {
  BindCheckMemory memory;
  BindCheckPlan plan = planBindCheck(fourFiles(), memory, 2 * kTen + 5, kPage);
  EXPECT_THAT(plan.changed, ElementsAre(0, 1));
  EXPECT_THAT(plan.rechecked, IsEmpty());  // new files left over: no round yet
  EXPECT_EQ(plan.changed_left, 2u);
  EXPECT_EQ(plan.cost_pages, 2 * kTen);

  plan = planBindCheck(fourFiles(), memory, 2 * kTen + 5, kPage);
  EXPECT_THAT(plan.changed, ElementsAre(2, 3));
  EXPECT_EQ(plan.changed_left, 0u);
}

TEST(BindCheckTest, UnchangedFilesAreLookedAtInARoundThatGoesOnWhereItStopped) {
  BindCheckMemory memory;
  planBindCheck(fourFiles(), memory, 10 * kTen, kPage);  // all four new, all taken
  BindCheckPlan plan = planBindCheck(fourFiles(), memory, 2 * kTen + 5, kPage);
  EXPECT_THAT(plan.changed, IsEmpty());
  EXPECT_THAT(plan.rechecked, ElementsAre(0, 1));
  EXPECT_FALSE(plan.round_done);
  plan = planBindCheck(fourFiles(), memory, 2 * kTen + 5, kPage);
  EXPECT_THAT(plan.rechecked, ElementsAre(2, 3));
  EXPECT_TRUE(plan.round_done);
  plan = planBindCheck(fourFiles(), memory, 2 * kTen + 5, kPage);
  EXPECT_THAT(plan.rechecked, ElementsAre(0, 1));
}

TEST(BindCheckTest, ARoundNeverTakesAFileTwiceInOneCheck) {
  BindCheckMemory memory;
  planBindCheck(fourFiles(), memory, 10 * kTen, kPage);
  BindCheckPlan plan = planBindCheck(fourFiles(), memory, 100 * kTen, kPage);
  EXPECT_THAT(plan.rechecked, ElementsAre(0, 1, 2, 3));
  EXPECT_TRUE(plan.round_done);
}

TEST(BindCheckTest, AFileWhoseSizeOrChangeTimeMovedComesFirst) {
  BindCheckMemory memory;
  planBindCheck(fourFiles(), memory, 10 * kTen, kPage);
  std::vector<WalkedFile> files = fourFiles();
  files[2].changed_ns = 2;       // written in place
  files[3].size_bytes += kPage;  // grew
  BindCheckPlan plan = planBindCheck(files, memory, 2 * kTen + 5, kPage);
  EXPECT_THAT(plan.changed, ElementsAre(2, 3));
  EXPECT_THAT(plan.rechecked, IsEmpty());  // 2 * kTen + 1 taken: the next kTen do not fit
}

TEST(BindCheckTest, ANewFileIsTakenBeforeTheRound) {
  BindCheckMemory memory;
  planBindCheck(fourFiles(), memory, 10 * kTen, kPage);
  std::vector<WalkedFile> files = fourFiles();
  files.push_back(file(9, 3));
  BindCheckPlan plan = planBindCheck(files, memory, 3 + kFileCostPages + kTen, kPage);
  EXPECT_THAT(plan.changed, ElementsAre(4));
  EXPECT_THAT(plan.rechecked, ElementsAre(0));
}

TEST(BindCheckTest, AFileReplacedUnderTheSameNameIsNew) {
  BindCheckMemory memory;
  planBindCheck(fourFiles(), memory, 10 * kTen, kPage);
  std::vector<WalkedFile> files = fourFiles();
  files[1].inode = 20;  // renamed over: another inode
  BindCheckPlan plan = planBindCheck(files, memory, kTen, kPage);
  EXPECT_THAT(plan.changed, ElementsAre(1));
  EXPECT_EQ(memory.files.size(), 4u);  // inode 2 is forgotten
}

TEST(BindCheckTest, AtLeastOneFileIsTakenHoweverLarge) {
  BindCheckMemory memory;
  BindCheckPlan plan = planBindCheck({file(1, 1000), file(2, 1)}, memory, kTen, kPage);
  EXPECT_THAT(plan.changed, ElementsAre(0));
  EXPECT_EQ(plan.changed_left, 1u);
  EXPECT_EQ(plan.cost_pages, 1000 + kFileCostPages);
}

TEST(BindCheckTest, ManySmallFilesAreTakenInSlicesByTheirOpeningCost) {
  BindCheckMemory memory;
  BindCheckPlan plan =
      planBindCheck({file(1, 0), file(2, 0), file(3, 0)}, memory, 2 * kFileCostPages, kPage);
  EXPECT_THAT(plan.changed, ElementsAre(0, 1));
  EXPECT_EQ(plan.changed_left, 1u);
}

TEST(BindCheckTest, AFileToRetryIsTakenAgainAsIfChanged) {
  BindCheckMemory memory;
  planBindCheck(fourFiles(), memory, 10 * kTen, kPage);
  retryLater(memory, fourFiles()[3]);
  BindCheckPlan plan = planBindCheck(fourFiles(), memory, kTen + 5, kPage);
  EXPECT_THAT(plan.changed, ElementsAre(3));
  EXPECT_THAT(plan.rechecked, IsEmpty());
}

TEST(BindCheckTest, TheRoundStartsOverWhenItsFileIsGone) {
  BindCheckMemory memory;
  planBindCheck(fourFiles(), memory, 10 * kTen, kPage);
  planBindCheck(fourFiles(), memory, kTen + 5, kPage);  // rechecked file 0, stopped there
  std::vector<WalkedFile> files = {file(2, 10), file(3, 10), file(4, 10)};  // inode 1 removed
  BindCheckPlan plan = planBindCheck(files, memory, kTen + 5, kPage);
  EXPECT_THAT(plan.rechecked, ElementsAre(0));
}

TEST(BindCheckTest, NoFilesNoPlan) {
  BindCheckMemory memory;
  BindCheckPlan plan = planBindCheck({}, memory, 10, kPage);
  EXPECT_THAT(plan.changed, IsEmpty());
  EXPECT_THAT(plan.rechecked, IsEmpty());
  EXPECT_EQ(plan.cost_pages, 0u);
}

}  // namespace
}  // namespace softzone::zoned

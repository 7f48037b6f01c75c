// migrateProcesses against a kernel that refuses: a refused move or status query is a process
// that could not be moved or counted (only ESRCH is a process that is gone), and a shrink whose
// verification could not run fails unless forced.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "softzone/cpuset/partitions.h"

namespace softzone::cpuset {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Every move_pages(2) and migrate_pages(2) call fails as a whole with one errno.
class RefusingKernel final : public zones::PageSyscalls {
 public:
  explicit RefusingKernel(int err) : err_(err) {}
  long movePages(pid_t, std::span<void* const>, const int*, int*, int) const override {
    return -err_;
  }
  long migratePages(pid_t, const NodeSet&, const NodeSet&) const override { return -err_; }

 private:
  int err_;
};

class MigrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto live = FsRoot::live();
    ASSERT_TRUE(live) << live.error().describe();
    root_.emplace(std::move(*live));
    session_.fs = &*root_;
  }

  // This process's pages (all on node 0 or wherever they are) from every node to node 1: the
  // fake kernel is asked, nothing really moves.
  MigrationTotals migrate(int err, int workers) {
    RefusingKernel kernel(err);
    session_.page_syscalls = &kernel;
    return migrateProcesses(session_, {::getpid()}, NodeSet::of({0}), NodeSet::of({1}), workers);
  }

  std::optional<FsRoot> root_;
  Session session_;
};

TEST_F(MigrationTest, ARefusedMoveIsAFailedProcessNotAGoneOne) {
  for (int err : {EPERM, EACCES, EINVAL}) {
    MigrationTotals totals = migrate(err, 2);
    ASSERT_EQ(totals.processes_failed.size(), 1u) << err;
    EXPECT_EQ(totals.processes_failed[0].pid, ::getpid());
    EXPECT_FALSE(totals.processes_failed[0].error.empty());
    // The status query was refused too: nothing was counted, and it says so.
    ASSERT_EQ(totals.processes_unverified.size(), 1u) << err;
    EXPECT_EQ(totals.processes_unverified[0].pid, ::getpid());
    EXPECT_EQ(totals.processes_verified, 0);
    EXPECT_FALSE(totals.complete());
  }
}

TEST_F(MigrationTest, ARefusedMoveWithOneWorkerFailsTooThroughMigratePages) {
  MigrationTotals totals = migrate(EPERM, 1);
  ASSERT_EQ(totals.processes_failed.size(), 1u);
  EXPECT_EQ(totals.processes_failed[0].pid, ::getpid());
  EXPECT_FALSE(totals.complete());
}

TEST_F(MigrationTest, OnlyEsrchMeansGone) {
  MigrationTotals totals = migrate(ESRCH, 2);
  EXPECT_THAT(totals.processes_failed, IsEmpty());
  EXPECT_THAT(totals.processes_unverified, IsEmpty());
  EXPECT_EQ(totals.processes, 0);
  EXPECT_TRUE(totals.complete());
}

TEST_F(MigrationTest, AShrinkThatCouldNotCheckFailsUnlessForced) {
  MigrationTotals totals = migrate(EPERM, 2);
  std::vector<std::string> notes;
  Status checked = checkMigrationComplete(totals, "partition web", NodeSet::of({0}), false, notes);
  ASSERT_FALSE(checked);
  EXPECT_EQ(checked.error().exitStatus(), 1);
  EXPECT_THAT(checked.error().message(), HasSubstr("1 process(es) could not be checked"));
  EXPECT_THAT(checked.error().message(), HasSubstr("1 process(es) could not be moved"));
  EXPECT_THAT(checked.error().message(), HasSubstr("pid " + std::to_string(::getpid())));
  EXPECT_THAT(notes, IsEmpty());

  Status forced = checkMigrationComplete(totals, "partition web", NodeSet::of({0}), true, notes);
  EXPECT_TRUE(forced);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_THAT(notes[0], HasSubstr("could not be checked"));
}

TEST_F(MigrationTest, ATreeIsNeverActedOn) {
  auto tree = FsRoot::open(::testing::TempDir());
  ASSERT_TRUE(tree);
  session_.fs = &*tree;
  MigrationTotals totals = migrate(0, 2);
  ASSERT_EQ(totals.processes_failed.size(), 1u);
  EXPECT_THAT(totals.processes_failed[0].error, HasSubstr("pids in a tree"));
  EXPECT_EQ(totals.processes_verified, 0);
}

}  // namespace
}  // namespace softzone::cpuset

// The zoned binary on copies of captured guest trees (--root, --dry-run): the decisions it prints
// for partitions zonectl made there, its refusals (a tree without --dry-run, a bad spec) and the
// metrics file it writes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "support/fake_tree.h"
#include "support/run_zonectl.h"

namespace softzone::tools {
namespace {

namespace fs = std::filesystem;
using ::softzone::testing::FakeTree;
using ::testing::HasSubstr;

const std::string kFixture = std::string(SOFTZONE_FIXTURES) + "/debian-6.12-fake16-v2/root";

Outcome zoned(std::vector<std::string> args) { return runBinary(SOFTZONE_ZONED, std::move(args)); }

std::string psi(double some, double full) {
  return "some avg10=" + std::to_string(some) +
         " avg60=0.00 avg300=0.00 total=1\nfull avg10=" + std::to_string(full) +
         " avg60=0.00 avg300=0.00 total=1\n";
}

// A copy of a 16-node guest (nodes of about 45M) with partitions web (node 2) and db (node 3),
// and a spec giving web room to grow; db has no bounds and its node holds its memory already.
class ZonedCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::copy(kFixture, tree_.path(), fs::copy_options::recursive);
    ASSERT_EQ(zonectlOn(tree_.path(), {"create", "web", "--nodes", "2"}).exit_status, 0);
    ASSERT_EQ(zonectlOn(tree_.path(), {"create", "db", "--nodes", "3"}).exit_status, 0);
    tree_.put("/sys/fs/cgroup/softzone/web/memory.pressure", psi(40, 0));
    tree_.put("/sys/fs/cgroup/softzone/db/memory.pressure", psi(0, 0));
    writeSpec("");
  }

  void writeSpec(const std::string& extra) {
    scratch_.put("/spec.ini",
                 "[partition.web]\nmemory = 100M\nmin = 50M\nmax = 1G\n"
                 "[partition.db]\nmemory = 40M\n"
                 "[zoned]\nsustain = 1\nmetrics_textfile = " +
                     scratch_.hostPath("/zoned.prom") + "\n" + extra);
  }

  Outcome dryRun() {
    return zoned({"--root", tree_.path(), "--config", scratch_.hostPath("/spec.ini"), "--dry-run",
                  "--once"});
  }

  FakeTree tree_;
  FakeTree scratch_;
};

TEST_F(ZonedCliTest, APressuredPartitionWouldGrowFromTheFreePool) {
  Outcome run = dryRun();
  ASSERT_EQ(run.exit_status, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("zoned: would grow web by node"));
  EXPECT_THAT(run.out, HasSubstr("PSI some 40.00% >= 10.00% for 1 samples"));
  // A dry run changes nothing.
  EXPECT_EQ(slurp(tree_.hostPath("/sys/fs/cgroup/softzone/web/cpuset.mems")), "2\n");
  EXPECT_FALSE(fs::exists(tree_.hostPath("/var/lib/softzone/zoned.json")));
}

TEST_F(ZonedCliTest, APartitionWithoutBoundsIsNeverGrown) {
  tree_.put("/sys/fs/cgroup/softzone/web/memory.pressure", psi(0, 0));
  tree_.put("/sys/fs/cgroup/softzone/db/memory.pressure", psi(50, 20));
  Outcome run = dryRun();
  ASSERT_EQ(run.exit_status, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("no move for db: db at max"));
  EXPECT_THAT(run.out, ::testing::Not(HasSubstr("would grow")));
}

TEST_F(ZonedCliTest, ItWritesMetricsForEveryZone) {
  Outcome run = dryRun();
  ASSERT_EQ(run.exit_status, 0) << run.err;
  std::string metrics = slurp(scratch_.hostPath("/zoned.prom"));
  EXPECT_THAT(metrics, HasSubstr("softzone_nodes{zone=\"web\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr("softzone_nodes{zone=\"db\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr("softzone_pressure_some_avg10_ratio{zone=\"web\"} 0.4\n"));
  EXPECT_THAT(metrics, HasSubstr("softzone_max_bytes{zone=\"web\"} 1073741824\n"));
  EXPECT_THAT(metrics, HasSubstr("softzone_zoned_samples_total 1\n"));
}

TEST_F(ZonedCliTest, ATreeIsOnlyReadWithDryRun) {
  Outcome run =
      zoned({"--root", tree_.path(), "--config", scratch_.hostPath("/spec.ini"), "--once"});
  EXPECT_EQ(run.exit_status, 2);
  EXPECT_THAT(run.err, HasSubstr("zoned moves nodes only on the running system"));
  EXPECT_EQ(slurp(tree_.hostPath("/sys/fs/cgroup/softzone/web/cpuset.mems")), "2\n");
}

TEST_F(ZonedCliTest, ABadSpecIsBadInputNamingTheLine) {
  writeSpec("listen = 0.0.0.0:9747\n");
  Outcome run = dryRun();
  EXPECT_EQ(run.exit_status, 2);
  EXPECT_THAT(run.err, HasSubstr("spec.ini:10: [zoned] listen = \"0.0.0.0:9747\""));
}

TEST_F(ZonedCliTest, ItNeedsAConfig) {
  Outcome run = zoned({"--dry-run"});
  EXPECT_EQ(run.exit_status, 2);
  EXPECT_THAT(run.err, HasSubstr("--config FILE is required"));
}

}  // namespace
}  // namespace softzone::tools

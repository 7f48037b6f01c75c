// zonectl bind and residency from the outside: bad input is refused with exit 2 before anything
// is done; residency's JSON carries the contract's keys.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "support/run_zonectl.h"

namespace softzone::tools {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
namespace fs = std::filesystem;

class CacheCliTest : public ::testing::Test {
 protected:
  std::string path(const std::string& relative) const { return tree_.path() + "/" + relative; }
  softzone::testing::FakeTree tree_;
};

TEST_F(CacheCliTest, MissingPathIsBadInput) {
  for (const char* verb : {"bind", "residency"}) {
    Outcome run = std::string(verb) == "bind"
                      ? zonectl({verb, "--nodes", "0", path("no-such-tree")})
                      : zonectl({verb, path("no-such-tree")});
    EXPECT_EQ(run.exit_status, 2) << verb;
    EXPECT_THAT(run.err, HasSubstr("no such file or directory"));
    EXPECT_THAT(run.err, HasSubstr("no-such-tree"));
    EXPECT_EQ(run.out, "") << verb << " did something";
  }
}

TEST_F(CacheCliTest, SymlinkLoopIsBadInput) {
  fs::create_symlink("loop", path("loop"));
  Outcome run = zonectl({"bind", "--nodes", "0", path("loop")});
  EXPECT_EQ(run.exit_status, 2);
  EXPECT_THAT(run.err, HasSubstr("symlink loop"));
  EXPECT_EQ(run.out, "");
}

TEST_F(CacheCliTest, LockOverItsLimitIsRefusedBeforeAnythingIsDone) {
  fs::create_directories(path("t"));
  std::ofstream(path("t/a"), std::ios::binary) << std::string(20000, 'a');
  Outcome run = zonectl({"bind", "--nodes", "0", "--lock", "--lock-limit", "8K", path("t")});
  EXPECT_EQ(run.exit_status, 2) << run.err;
  EXPECT_THAT(run.err,
              HasSubstr("--lock would hold 20K (1 files) but may hold at most 8K (--lock-limit)"));
  EXPECT_EQ(run.out, "") << "something was bound";
  Outcome alone = zonectl({"bind", "--nodes", "0", "--lock-limit", "8K", path("t")});
  EXPECT_EQ(alone.exit_status, 2);
  EXPECT_THAT(alone.err, HasSubstr("--lock-limit limits --lock"));
}

TEST_F(CacheCliTest, AGarbageLockLimitIsBadInput) {
  fs::create_directories(path("t"));
  std::ofstream(path("t/a"), std::ios::binary) << std::string(20000, 'a');
  for (const char* limit : {"abc", "-1M", "12Q", ""}) {
    Outcome run = zonectl({"bind", "--nodes", "0", "--lock", "--lock-limit", limit, path("t")});
    EXPECT_EQ(run.exit_status, 2) << limit << ": " << run.err;
    EXPECT_THAT(run.err, HasSubstr("--lock-limit")) << limit;
    EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
    EXPECT_EQ(run.out, "") << "something was bound with --lock-limit " << limit;
  }
}

TEST_F(CacheCliTest, ResidencyDoesNotFollowASymlinkOutOfTheTree) {
  fs::create_directories(path("t"));
  fs::create_directories(path("outside"));
  std::ofstream(path("t/a"), std::ios::binary) << std::string(100, 'a');
  std::ofstream(path("outside/big"), std::ios::binary) << std::string(50000, 'b');
  fs::create_symlink(path("outside"), path("t/escape"));
  Outcome run = zonectl({"--json", "residency", "--fast", path("t")});
  ASSERT_EQ(run.exit_status, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("\"size_bytes\": 100,"));
  EXPECT_THAT(run.out, Not(HasSubstr("50000")));
}

TEST_F(CacheCliTest, UnknownNodesAreBadInput) {
  std::ofstream(path("f")) << "x";
  Outcome run = zonectl({"bind", "--nodes", "999", path("f")});
  EXPECT_EQ(run.exit_status, 2);
  EXPECT_THAT(run.err, HasSubstr("node(s) 999 do not exist"));
  Outcome both = zonectl({"bind", "--nodes", "0", "--zone", "shared", path("f")});
  EXPECT_EQ(both.exit_status, 2);
}

// An unknown --zone is not checked here: bind reads the zones from the live cgroup tree (it
// refuses --root), which a unit test must not depend on (a package build's chroot has none). The
// guest case bind-errors checks it on each kernel and cgroup version.

TEST_F(CacheCliTest, RootTreesAreRefused) {
  for (const char* verb : {"bind", "residency"}) {
    Outcome run = zonectl({"--root", tree_.path(), verb, tree_.path()});
    EXPECT_EQ(run.exit_status, 2) << verb;
    EXPECT_THAT(run.err, HasSubstr("--root"));
  }
}

TEST_F(CacheCliTest, ResidencyJsonHasTotalsPerTree) {
  fs::create_directories(path("t"));
  std::ofstream(path("t/a"), std::ios::binary) << std::string(10000, 'a');
  Outcome run = zonectl({"--json", "residency", "--fast", path("t")});
  ASSERT_EQ(run.exit_status, 0) << run.err;
  for (const char* key : {"\"trees\"", "\"total\"", "\"cached_pages\"", "\"size_bytes\": 10000",
                          "\"pages_per_node\"", "\"pages_per_zone\"", "\"per_node\": false"}) {
    EXPECT_THAT(run.out, HasSubstr(key));
  }
}

TEST_F(CacheCliTest, HelpNamesTheOptions) {
  Outcome run = zonectl({"bind", "--help"});
  EXPECT_EQ(run.exit_status, 0);
  EXPECT_THAT(run.out, StartsWith("usage: zonectl [global options] bind PATH..."));
  EXPECT_THAT(run.out, HasSubstr("--lock"));
  EXPECT_THAT(run.out, HasSubstr("RLIMIT_MEMLOCK"));
  EXPECT_THAT(run.out, HasSubstr("--lock-limit"));
  EXPECT_THAT(run.out, HasSubstr("--cross-mounts"));
}

}  // namespace
}  // namespace softzone::tools

// zoned's state file read through an FsRoot: missing, this boot's, another boot's, garbage.
#include "softzone/zoned/state_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/fake_tree.h"

namespace softzone::zoned {
namespace {

using ::softzone::testing::FakeTree;
using ::testing::HasSubstr;

const std::string kState =
    R"({"format": "softzone-zoned-state", "version": 1, "boot_id": "b1",
        "moves": [{"time_ms": 5000, "node": 4, "from": "free", "to": "web"}],
        "loans": [{"node": 4, "owner": "web", "lender": "free", "since_ms": 5000}]})";

TEST(ZonedStateFileTest, AMissingFileIsNoneNotAnError) {
  FakeTree tree;
  auto fs = FsRoot::open(tree.path());
  ASSERT_TRUE(fs);
  auto file = readStateFile(*fs, "b1");
  ASSERT_TRUE(file) << file.error().describe();
  EXPECT_EQ(file->found, StateFile::Found::kNone);
}

TEST(ZonedStateFileTest, ThisBootsFileIsUsedAnotherBootsIsNot) {
  FakeTree tree;
  tree.put(std::string(kZonedStateFile), kState);
  auto fs = FsRoot::open(tree.path());
  ASSERT_TRUE(fs);
  auto same = readStateFile(*fs, "b1");
  ASSERT_TRUE(same) << same.error().describe();
  EXPECT_EQ(same->found, StateFile::Found::kUsable);
  ASSERT_EQ(same->state.loans.size(), 1u);
  EXPECT_EQ(same->state.loans[0].owner, "web");
  auto other = readStateFile(*fs, "b2");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->found, StateFile::Found::kOtherBoot);
  EXPECT_TRUE(other->state.loans.empty());
  auto unchecked = readStateFile(*fs, std::nullopt);
  ASSERT_TRUE(unchecked);
  EXPECT_EQ(unchecked->found, StateFile::Found::kUsable);
}

TEST(ZonedStateFileTest, GarbageIsAnErrorNamingTheFile) {
  FakeTree tree;
  tree.put(std::string(kZonedStateFile), "{ not json");
  auto fs = FsRoot::open(tree.path());
  ASSERT_TRUE(fs);
  auto file = readStateFile(*fs, "b1");
  ASSERT_FALSE(file);
  EXPECT_THAT(file.error().describe(), HasSubstr("zoned.json"));
}

}  // namespace
}  // namespace softzone::zoned

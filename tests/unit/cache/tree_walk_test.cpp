// The tree walk: regular files once each, symlinks followed, loops and missing paths refused.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "softzone/page_cache.h"
#include "support/fake_tree.h"

namespace softzone::cache {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

class TreeWalkTest : public ::testing::Test {
 protected:
  std::string path(const std::string& relative) const { return tree_.path() + "/" + relative; }

  void writeFile(const std::string& relative, size_t bytes) {
    fs::create_directories(fs::path(path(relative)).parent_path());
    std::ofstream(path(relative)) << std::string(bytes, 'x');
  }

  std::vector<std::string> relativePaths(const TreeWalk& walk) const {
    std::vector<std::string> names;
    for (const TreeFile& file : walk.files)
      names.push_back(file.path.substr(tree_.path().size() + 1));
    return names;
  }

  softzone::testing::FakeTree tree_;
};

TEST_F(TreeWalkTest, ListsRegularFilesOnceInPathOrder) {
  writeFile("lib/libc.so.6", 3000);
  writeFile("lib/x86/libm.so.6", 100);
  writeFile("lib/zz", 0);
  fs::create_symlink("libc.so.6", path("lib/libc.so"));          // a symlink to a listed file
  fs::create_hard_link(path("lib/zz"), path("lib/a-hardlink"));  // a second name, same inode
  fs::create_symlink("missing", path("lib/dangling"));
  ::mkfifo(path("lib/fifo").c_str(), 0600);

  auto walks = walkTrees({path("lib")});
  ASSERT_TRUE(walks) << walks.error().describe();
  ASSERT_EQ(walks->size(), 1u);
  const TreeWalk& walk = walks->front();
  // "a-hardlink" sorts first, so the inode is listed under it; "libc.so" sorts before its target.
  EXPECT_THAT(relativePaths(walk),
              ElementsAre("lib/a-hardlink", "lib/libc.so", "lib/x86/libm.so.6"));
  EXPECT_EQ(walk.size_bytes, 3100u);
  EXPECT_EQ(walk.duplicates_skipped, 2u);  // zz, libc.so.6
  EXPECT_EQ(walk.dangling_skipped, 1u);
  EXPECT_EQ(walk.others_skipped, 1u);
}

TEST_F(TreeWalkTest, FilesSharedBetweenTreesAreListedOnce) {
  writeFile("a/f", 10);
  fs::create_directories(path("b"));
  fs::create_symlink(path("a"), path("b/link-to-a"));
  writeFile("b/g", 20);
  auto walks = walkTrees({path("a"), path("b")});
  ASSERT_TRUE(walks) << walks.error().describe();
  EXPECT_THAT(relativePaths((*walks)[0]), ElementsAre("a/f"));
  EXPECT_THAT(relativePaths((*walks)[1]), ElementsAre("b/g"));
  EXPECT_EQ((*walks)[1].duplicates_skipped, 1u);  // a/f again, through the link
}

TEST_F(TreeWalkTest, ASingleFileIsATree) {
  writeFile("one", 5);
  auto walks = walkTrees({path("one")});
  ASSERT_TRUE(walks);
  EXPECT_THAT(relativePaths(walks->front()), ElementsAre("one"));
}

TEST_F(TreeWalkTest, MissingPathIsBadInput) {
  auto walks = walkTrees({path("nothing-here")});
  ASSERT_FALSE(walks);
  EXPECT_TRUE(walks.error().isBadInput());
  EXPECT_THAT(walks.error().message(), HasSubstr("no such file or directory"));
  EXPECT_THAT(walks.error().message(), HasSubstr("nothing-here"));
}

TEST_F(TreeWalkTest, DirectorySymlinkBackUpIsALoop) {
  writeFile("t/sub/f", 1);
  fs::create_symlink("..", path("t/sub/up"));
  auto walks = walkTrees({path("t")});
  ASSERT_FALSE(walks);
  EXPECT_TRUE(walks.error().isBadInput());
  EXPECT_THAT(walks.error().message(), HasSubstr("symlink loop"));
  EXPECT_THAT(walks.error().message(), HasSubstr("t/sub/up"));
}

TEST_F(TreeWalkTest, SymlinkToItselfIsALoop) {
  writeFile("t/f", 1);
  fs::create_symlink("b", path("t/a"));
  fs::create_symlink("a", path("t/b"));
  auto walks = walkTrees({path("t")});
  ASSERT_FALSE(walks);
  EXPECT_TRUE(walks.error().isBadInput());
  EXPECT_THAT(walks.error().message(), HasSubstr("symlink loop at"));
}

TEST_F(TreeWalkTest, NoPathIsBadInput) {
  auto walks = walkTrees({});
  ASSERT_FALSE(walks);
  EXPECT_TRUE(walks.error().isBadInput());
}

}  // namespace
}  // namespace softzone::cache

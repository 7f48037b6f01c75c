// The tree walk and the opener: regular files once each, symlinks below a PATH never followed,
// each file opened relative to its walked directory and refused if it changed since the walk.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "softzone/cache/page_cache.h"
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
  // "a-hardlink" sorts first, so the inode is listed under it.
  EXPECT_THAT(relativePaths(walk),
              ElementsAre("lib/a-hardlink", "lib/libc.so.6", "lib/x86/libm.so.6"));
  EXPECT_EQ(walk.size_bytes, 3100u);
  EXPECT_EQ(walk.duplicates_skipped, 1u);  // zz
  EXPECT_EQ(walk.symlinks_skipped, 2u);    // libc.so, dangling
  EXPECT_EQ(walk.others_skipped, 1u);
}

TEST_F(TreeWalkTest, FilesSharedBetweenTreesAreListedOnce) {
  writeFile("a/f", 10);
  writeFile("b/g", 20);
  fs::create_hard_link(path("a/f"), path("b/f-again"));
  auto walks = walkTrees({path("a"), path("b")});
  ASSERT_TRUE(walks) << walks.error().describe();
  EXPECT_THAT(relativePaths((*walks)[0]), ElementsAre("a/f"));
  EXPECT_THAT(relativePaths((*walks)[1]), ElementsAre("b/g"));
  EXPECT_EQ((*walks)[1].duplicates_skipped, 1u);  // a/f again, through the hard link
}

TEST_F(TreeWalkTest, SymlinksOutOfTheTreeAreNotFollowed) {
  writeFile("t/own", 10);
  writeFile("outside/big", 5000);
  fs::create_symlink(path("outside"), path("t/to-dir"));
  fs::create_symlink(path("outside/big"), path("t/to-file"));
  fs::create_symlink("/", path("t/to-root"));
  auto walks = walkTrees({path("t")});
  ASSERT_TRUE(walks) << walks.error().describe();
  EXPECT_THAT(relativePaths(walks->front()), ElementsAre("t/own"));
  EXPECT_EQ(walks->front().size_bytes, 10u);
  EXPECT_EQ(walks->front().symlinks_skipped, 3u);
}

TEST_F(TreeWalkTest, APathThatIsASymlinkIsFollowed) {
  writeFile("real/f", 7);
  fs::create_symlink("real", path("named"));
  auto walks = walkTrees({path("named")});
  ASSERT_TRUE(walks) << walks.error().describe();
  ASSERT_EQ(walks->front().files.size(), 1u);
  EXPECT_EQ(walks->front().files.front().path, path("named") + "/f");
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

TEST_F(TreeWalkTest, SymlinksBackUpAreSkippedNotLoopedThrough) {
  writeFile("t/sub/f", 1);
  fs::create_symlink("..", path("t/sub/up"));
  fs::create_symlink("b", path("t/a"));
  fs::create_symlink("a", path("t/b"));
  auto walks = walkTrees({path("t")});
  ASSERT_TRUE(walks) << walks.error().describe();
  EXPECT_THAT(relativePaths(walks->front()), ElementsAre("t/sub/f"));
  EXPECT_EQ(walks->front().symlinks_skipped, 3u);
}

TEST_F(TreeWalkTest, APathThatIsASymlinkLoopIsBadInput) {
  fs::create_symlink("loop", path("loop"));
  auto walks = walkTrees({path("loop")});
  ASSERT_FALSE(walks);
  EXPECT_TRUE(walks.error().isBadInput());
  EXPECT_THAT(walks.error().message(), HasSubstr("symlink loop at"));
}

TEST_F(TreeWalkTest, NoPathIsBadInput) {
  auto walks = walkTrees({});
  ASSERT_FALSE(walks);
  EXPECT_TRUE(walks.error().isBadInput());
}

// What the walk saw is what is opened: a name changed between the walk and the open is refused,
// never followed, and never blocks.
class TreeOpenTest : public TreeWalkTest {
 protected:
  TreeFile walkOne(const std::string& relative) {
    auto walks = walkTrees({path("t")});
    EXPECT_TRUE(walks) << walks.error().describe();
    for (const TreeFile& file : walks->front().files) {
      if (file.path == path(relative)) return file;
    }
    ADD_FAILURE() << relative << " not walked";
    return {};
  }

  // Walks t/f, lets `swap` change what its name is, and expects the open (and residency's look)
  // refused, naming what it is `now`.
  void expectSwapRefused(const std::function<void()>& swap, const std::string& now) {
    TreeFile file = walkOne("t/f");
    swap();
    auto opened = openTreeFile(file);
    ASSERT_FALSE(opened) << file.path << " was opened";
    EXPECT_EQ(failReasonOf(opened.error()), FailReason::kChanged);
    EXPECT_THAT(opened.error().describe(), HasSubstr(now));
    FileResidency residency = readFileResidency(file);
    EXPECT_THAT(residency.error, HasSubstr(now));
    EXPECT_EQ(residency.cached_pages, 0u);
  }
};

TEST_F(TreeOpenTest, AnUnchangedFileOpensAsWalked) {
  writeFile("t/f", 4096);
  auto opened = openTreeFile(walkOne("t/f"));
  ASSERT_TRUE(opened) << opened.error().describe();
  EXPECT_EQ(opened->size_bytes, 4096u);
}

TEST_F(TreeOpenTest, AFileSwappedForAFifoIsRefusedWithoutBlocking) {
  writeFile("t/f", 10);
  // An open by path without O_NONBLOCK waits here for a writer that never comes.
  ::alarm(20);
  expectSwapRefused(
      [&] {
        fs::remove(path("t/f"));
        ASSERT_EQ(::mkfifo(path("t/f").c_str(), 0600), 0);
      },
      "is a fifo now");
  ::alarm(0);
}

TEST_F(TreeOpenTest, AFileSwappedForASymlinkIsNotFollowed) {
  writeFile("t/f", 10);
  writeFile("outside/secret", 8192);
  expectSwapRefused(
      [&] {
        fs::remove(path("t/f"));
        fs::create_symlink(path("outside/secret"), path("t/f"));
      },
      "is a symlink now");
}

TEST_F(TreeOpenTest, AFileReplacedByAnotherInodeIsRefused) {
  writeFile("t/f", 10);
  writeFile("t/other", 20);
  expectSwapRefused([&] { fs::rename(path("t/other"), path("t/f")); }, "of another inode");
}

TEST_F(TreeOpenTest, ADirectorySwappedAfterTheWalkDoesNotRedirectTheOpen) {
  writeFile("t/sub/f", 10);
  writeFile("outside/f", 8192);
  TreeFile file = walkOne("t/sub/f");
  fs::rename(path("t/sub"), path("t/sub-old"));
  fs::create_symlink(path("outside"), path("t/sub"));
  // Opened in the directory walked (now t/sub-old), not through the symlink put in its place.
  auto opened = openTreeFile(file);
  ASSERT_TRUE(opened) << opened.error().describe();
  EXPECT_EQ(opened->size_bytes, 10u);
}

}  // namespace
}  // namespace softzone::cache

// Whole-file writes as root: no symlink followed, no prepared file trusted, nothing half-written.
#include "softzone/zones/safe_write.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/fake_tree.h"

namespace softzone {
namespace {

namespace fs = std::filesystem;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void spit(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

size_t entriesIn(const std::string& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

// Created when missing; when there, replaced by a new file: the old file's other name (a hard
// link) keeps the old content, and no temporary file is left either time.
TEST(SafeWrite, CreatesThenReplacesByRenameNotInPlace) {
  testing::FakeTree tree;
  std::string path = tree.hostPath("/out.txt");
  ASSERT_TRUE(writeOutputFile(path, "old"));
  EXPECT_EQ(entriesIn(tree.path()), 1u);
  std::string other = tree.hostPath("/other-name.txt");
  ASSERT_EQ(::link(path.c_str(), other.c_str()), 0);
  ASSERT_TRUE(writeOutputFile(path, "new"));
  EXPECT_EQ(slurp(path), "new");
  EXPECT_EQ(slurp(other), "old");
  EXPECT_EQ(entriesIn(tree.path()), 2u);
}

// Without fsync (a metrics file rewritten every second) the replacement is the same rename: the
// old file's other name keeps the old content, a symlink is replaced, no temporary file is left.
TEST(SafeWrite, AtomicOnlyStillReplacesByRename) {
  testing::FakeTree tree;
  std::string path = tree.hostPath("/out.prom");
  ASSERT_TRUE(writeOutputFile(path, "old", Durability::kAtomicOnly));
  std::string other = tree.hostPath("/other-name.prom");
  ASSERT_EQ(::link(path.c_str(), other.c_str()), 0);
  ASSERT_TRUE(writeOutputFile(path, "new", Durability::kAtomicOnly));
  EXPECT_EQ(slurp(path), "new");
  EXPECT_EQ(slurp(other), "old");
  EXPECT_EQ(entriesIn(tree.path()), 2u);
}

TEST(SafeWrite, RefusesASymlinkAndLeavesItsTargetAlone) {
  testing::FakeTree tree;
  std::string target = tree.hostPath("/precious");
  std::string link = tree.hostPath("/out.txt");
  spit(target, "precious");
  fs::create_symlink(target, link);
  Status written = writeOutputFile(link, "attack");
  ASSERT_FALSE(written);
  EXPECT_TRUE(written.error().isBadInput());
  EXPECT_NE(written.error().message().find("symlink"), std::string::npos)
      << written.error().message();
  EXPECT_EQ(slurp(target), "precious");
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_FALSE(checkOutputFile(link));
}

TEST(SafeWrite, RefusesAFifoADirectoryAndAMissingDirectoryWithoutBlocking) {
  testing::FakeTree tree;
  std::string fifo = tree.hostPath("/fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  tree.mkdir("/dir");
  for (const std::string& path :
       {fifo, tree.hostPath("/dir"), tree.hostPath("/none/out.txt"), tree.hostPath("/dir/")}) {
    SCOPED_TRACE(path);
    Status written = writeOutputFile(path, "x");
    ASSERT_FALSE(written);
    EXPECT_TRUE(written.error().isBadInput()) << written.error().message();
  }
  EXPECT_EQ(entriesIn(tree.hostPath("/dir")), 0u);
}

TEST(SafeWrite, ReplaceAtReplacesASymlinkItselfAndIgnoresPreparedNames) {
  testing::FakeTree tree;
  std::string target = tree.hostPath("/precious");
  spit(target, "precious");
  fs::create_symlink(target, tree.hostPath("/state"));
  // A file an attacker prepared under the old predictable temporary name is never written.
  std::string prepared = tree.hostPath("/.state.tmp." + std::to_string(::getpid()));
  spit(prepared, "");
  Fd dir(::open(tree.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(dir.valid());
  ASSERT_TRUE(replaceFileAt(dir.get(), "state", "fresh", "state"));
  EXPECT_FALSE(fs::is_symlink(tree.hostPath("/state")));
  EXPECT_EQ(slurp(tree.hostPath("/state")), "fresh");
  EXPECT_EQ(slurp(target), "precious");
  EXPECT_EQ(slurp(prepared), "");
  EXPECT_EQ(entriesIn(tree.path()), 3u);
}

// FsRoot::replaceFile (state and journal files) goes through replaceFileAt: an attacker holding
// a file at the temporary name it once used gets neither the content nor the final name.
TEST(SafeWrite, FsRootReplaceFileDoesNotWriteAPreparedFile) {
  testing::FakeTree tree;
  tree.mkdir("/var/lib/softzone");
  std::string prepared =
      tree.hostPath("/var/lib/softzone/.state.json.tmp." + std::to_string(::getpid()));
  spit(prepared, "");
  Fd held(::open(prepared.c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(held.valid());
  ASSERT_TRUE(tree.open().replaceFile("/var/lib/softzone/state.json", "{}"));
  EXPECT_EQ(slurp(tree.hostPath("/var/lib/softzone/state.json")), "{}");
  char byte = 0;
  EXPECT_EQ(::pread(held.get(), &byte, 1, 0), 0);  // nothing was written into the held file
  struct stat held_st {};
  struct stat state_st {};
  ASSERT_EQ(::fstat(held.get(), &held_st), 0);
  ASSERT_EQ(::stat(tree.hostPath("/var/lib/softzone/state.json").c_str(), &state_st), 0);
  EXPECT_NE(held_st.st_ino, state_st.st_ino);
}

}  // namespace
}  // namespace softzone

// Live checks on this host's page cache: residency adds no pages, bind populates and is idempotent.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/mempolicy.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "softzone/cache/page_cache.h"
#include "support/fake_tree.h"
#include "walked_file.h"

namespace softzone::cache {
namespace {

constexpr size_t kPages = 64;

size_t pageBytes() { return static_cast<size_t>(::sysconf(_SC_PAGESIZE)); }

// 0 when move_pages' status query works here, else its errno (seccomp, no NUMA).
int movePagesError() {
  int here = 0;
  void* page = &here;
  int status = 0;
  long rc = zones::kernelPageSyscalls().movePages(0, std::span<void* const>(&page, 1), nullptr,
                                                  &status, 0);
  return rc < 0 ? static_cast<int>(-rc) : 0;
}

class CacheLiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (int err = movePagesError(); err != 0) {
      GTEST_SKIP() << "move_pages is not permitted here: " << std::strerror(err);
    }
    path_ = tree_.path() + "/lib.so";
    int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT_GE(fd, 0);
    std::vector<char> page(pageBytes());
    for (size_t i = 0; i < kPages; ++i) {
      std::memset(page.data(), static_cast<int>('a' + i % 26), page.size());
      ASSERT_EQ(::write(fd, page.data(), page.size()), static_cast<ssize_t>(page.size()));
    }
    ASSERT_EQ(::fsync(fd), 0);
    ::close(fd);
  }

  // Drops the file's clean pages, then reads exactly one page (no readahead).
  bool makeOnePageCached() {
    int fd = ::open(path_.c_str(), O_RDONLY);
    if (fd < 0) return false;
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
    char byte = 0;
    bool read_one = ::pread(fd, &byte, 1, 0) == 1;
    ::close(fd);
    return read_one;
  }

  int firstNode() {
    FileResidency file = readFileResidency(walkedFile(path_));
    return file.pages_per_node.empty() ? -1 : file.pages_per_node.begin()->first;
  }

  softzone::testing::FakeTree tree_;
  std::string path_;
};

TEST_F(CacheLiveTest, ResidencyCountsCachedPagesAndAddsNone) {
  FileResidency warm = readFileResidency(walkedFile(path_));
  EXPECT_EQ(warm.error, "");
  EXPECT_EQ(warm.pages, kPages);
  EXPECT_EQ(warm.cached_pages, kPages);
  uint64_t placed = 0;
  for (const auto& [node, pages] : warm.pages_per_node) placed += pages;
  EXPECT_EQ(placed + warm.unplaced_pages, warm.cached_pages);

  ASSERT_TRUE(makeOnePageCached());
  FileResidency cold = readFileResidency(walkedFile(path_));
  if (cold.cached_pages == kPages) GTEST_SKIP() << "this filesystem ignores POSIX_FADV_DONTNEED";
  EXPECT_EQ(cold.cached_pages, 1u);
  // Looking did not read anything in: the same count again.
  EXPECT_EQ(readFileResidency(walkedFile(path_)).cached_pages, 1u);
  EXPECT_EQ(readFileResidency(walkedFile(path_), /*per_node=*/false).cached_pages, 1u);
}

TEST_F(CacheLiveTest, CachestatAgreesWithMincore) {
  if (!kernelHasCachestat()) GTEST_SKIP() << "no cachestat(2) before Linux 6.5";
  int fd = ::open(path_.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  auto stat = cacheStatOf(fd);
  ::close(fd);
  ASSERT_TRUE(stat);
  EXPECT_EQ(stat->cached_pages, readFileResidency(walkedFile(path_)).cached_pages);
  EXPECT_EQ(stat->dirty_pages, 0u);  // fsynced
}

TEST_F(CacheLiveTest, BindPopulatesOnTheTargetAndIsIdempotent) {
  int node = firstNode();
  ASSERT_GE(node, 0);
  ASSERT_TRUE(makeOnePageCached());
  if (readFileResidency(walkedFile(path_)).cached_pages == kPages) {
    GTEST_SKIP() << "this filesystem ignores POSIX_FADV_DONTNEED";
  }
  std::vector<TreeFile> files = {walkedFile(path_)};
  BindOptions options;
  options.targets = NodeSet::of({node});
  BindReport report = bindFiles(files, options);
  if (report.stopped_by &&
      report.stopped_by->code() == std::error_code(EPERM, std::generic_category())) {
    GTEST_SKIP() << report.stopped_by->describe();
  }
  ASSERT_FALSE(report.stopped_by) << report.stopped_by->describe();
  EXPECT_EQ(report.pages_in_place, 1u);
  EXPECT_EQ(report.pages_populated, kPages - 1);
  EXPECT_EQ(report.pages_failed, 0u);
  EXPECT_TRUE(report.complete());
  FileResidency after = readFileResidency(walkedFile(path_));
  EXPECT_EQ(after.cached_pages, kPages);
  EXPECT_EQ(after.pagesOn(NodeSet::of({node})), kPages);

  BindReport again = bindFiles(files, options);
  EXPECT_EQ(again.pages_in_place, kPages);
  EXPECT_EQ(again.pages_populated + again.pages_migrated + again.pages_failed, 0u);
  EXPECT_EQ(again.move_calls, 0u);
}

}  // namespace
}  // namespace softzone::cache

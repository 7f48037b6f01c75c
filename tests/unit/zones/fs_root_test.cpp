// Tests for FsRoot against a tree built in a temporary directory: confinement, reads, writes.
#include "softzone/zones/fs_root.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace softzone {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kNodeDir = "/sys/devices/system/node/node0";

// A scratch directory holding `root/` (the fake kernel tree) and, beside it, files the tree
// must never reach.
class FsRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr ? tmp : "/tmp") + "/fs_root_test.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr) << std::strerror(errno);
    scratch_ = pattern;
    root_ = scratch_ / "root";
    fs::create_directories(root_);
    writeFile(scratch_ / "secret", "outside\n");
  }

  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(scratch_, ignored);
  }

  // Creates a file inside the root at kernel path `path`.
  void put(const std::string& path, const std::string& content) {
    fs::path host = root_ / fs::path(path).relative_path();
    fs::create_directories(host.parent_path());
    writeFile(host, content);
  }

  void link(const std::string& path, const std::string& target) {
    fs::path host = root_ / fs::path(path).relative_path();
    fs::create_directories(host.parent_path());
    fs::create_symlink(target, host);
  }

  static void writeFile(const fs::path& path, const std::string& content) {
    std::ofstream out(path, std::ios::binary);
    out << content;
  }

  FsRoot open() { return FsRoot::open(root_.string()).value(); }

  fs::path scratch_;
  fs::path root_;
};

TEST_F(FsRootTest, MissingRootIsBadInput) {
  std::string missing = (scratch_ / "nope").string();
  Result<FsRoot> root = FsRoot::open(missing);
  ASSERT_FALSE(root);
  EXPECT_TRUE(root.error().isBadInput());
  EXPECT_EQ(root.error().message(), "--root DIR: " + missing + " does not exist");
}

TEST_F(FsRootTest, FileAsRootIsBadInput) {
  std::string file = (scratch_ / "secret").string();
  Result<FsRoot> root = FsRoot::open(file);
  ASSERT_FALSE(root);
  EXPECT_TRUE(root.error().isBadInput());
  EXPECT_EQ(root.error().message(), "--root DIR: " + file + " is not a directory");
}

TEST_F(FsRootTest, EmptyRootIsBadInput) {
  Result<FsRoot> root = FsRoot::open("");
  ASSERT_FALSE(root);
  EXPECT_TRUE(root.error().isBadInput());
}

TEST_F(FsRootTest, FixtureRootIsNotLive) {
  FsRoot root = open();
  EXPECT_FALSE(root.isLive());
  EXPECT_EQ(root.rootPath(), fs::canonical(root_).string());
  EXPECT_EQ(root.hostPath("/sys/x"), root.rootPath() + "/sys/x");
  EXPECT_EQ(root.hostPath("/"), root.rootPath());
}

TEST_F(FsRootTest, ReadsFilesLinesAndAttributes) {
  put(std::string(kNodeDir) + "/cpulist", "0-3\n");
  put("/proc/meminfo", "MemTotal: 1 kB\nMemFree: 2 kB\n");
  put("/proc/no_newline", "a\n\nb");
  put("/proc/empty", "");
  FsRoot root = open();

  EXPECT_EQ(root.readFile(std::string(kNodeDir) + "/cpulist").value(), "0-3\n");
  EXPECT_EQ(root.readAttribute(std::string(kNodeDir) + "/cpulist").value(), "0-3");
  EXPECT_THAT(root.readLines("/proc/meminfo").value(),
              ElementsAre("MemTotal: 1 kB", "MemFree: 2 kB"));
  EXPECT_THAT(root.readLines("/proc/no_newline").value(), ElementsAre("a", "", "b"));
  EXPECT_TRUE(root.readLines("/proc/empty").value().empty());
  EXPECT_EQ(root.readAttribute("/proc/empty").value(), "");
  // Paths without the leading slash mean the same thing.
  EXPECT_EQ(root.readAttribute("sys/devices/system/node/node0/cpulist").value(), "0-3");
}

TEST_F(FsRootTest, ReadsLargeFilesWhole) {
  std::string big;
  for (int i = 0; big.size() < 300 * 1024; ++i) big += "counter_" + std::to_string(i) + " 1\n";
  put("/sys/devices/system/node/node0/vmstat", big);
  EXPECT_EQ(open().readFile("/sys/devices/system/node/node0/vmstat").value(), big);
}

TEST_F(FsRootTest, AbsoluteSymlinkResolvesInsideRoot) {
  put(std::string(kNodeDir) + "/cpulist", "0-1\n");
  link("/sys/bus/node/devices/node0", kNodeDir);
  // A target that exists on every host: the tree must still answer with its own copy.
  put("/etc/hostname", "fixture\n");
  link("/sys/link_to_hostname", "/etc/hostname");
  FsRoot root = open();
  EXPECT_EQ(root.readAttribute("/sys/bus/node/devices/node0/cpulist").value(), "0-1");
  EXPECT_EQ(root.readAttribute("/sys/link_to_hostname").value(), "fixture");
  EXPECT_THAT(root.listDir("/sys/bus/node/devices/node0").value(), ElementsAre("cpulist"));
}

TEST_F(FsRootTest, DotDotCannotEscape) {
  link("/sys/escape", "../../../secret");
  link("/sys/escape_abs", "/../secret");
  FsRoot root = open();
  for (const char* path : {"/../secret", "/sys/../../secret", "/sys/escape", "/sys/escape_abs"}) {
    SCOPED_TRACE(path);
    Result<std::string> content = root.readFile(path);
    ASSERT_FALSE(content) << "escaped and read: " << *content;
    EXPECT_EQ(content.error().code(), std::errc::no_such_file_or_directory);
    EXPECT_FALSE(root.exists(path));
  }
  // Inside the root, ".." at the top stays at the top.
  put("/secret", "inside\n");
  EXPECT_EQ(root.readAttribute("/../secret").value(), "inside");
  EXPECT_EQ(root.readAttribute("/sys/escape").value(), "inside");
}

TEST_F(FsRootTest, MissingFileIsEnoentWithKernelPath) {
  FsRoot root = open();
  Result<std::string> content = root.readFile("/sys/devices/system/node/node9/meminfo");
  ASSERT_FALSE(content);
  EXPECT_FALSE(content.error().isBadInput());
  EXPECT_EQ(content.error().code(), std::errc::no_such_file_or_directory);
  EXPECT_EQ(content.error().message(), "reading /sys/devices/system/node/node9/meminfo");
  EXPECT_THAT(content.error().message(), Not(HasSubstr(root_.string())));
  EXPECT_EQ(content.error().describe(),
            "reading /sys/devices/system/node/node9/meminfo: No such file or directory");
  EXPECT_FALSE(root.readLines("/nope"));
  EXPECT_FALSE(root.readAttribute("/nope"));
}

TEST_F(FsRootTest, ReadingADirectoryFails) {
  put("/sys/dir/file", "x");
  Result<std::string> content = open().readFile("/sys/dir");
  ASSERT_FALSE(content);
  EXPECT_EQ(content.error().code(), std::errc::is_a_directory);
}

TEST_F(FsRootTest, ExistsFollowsLinksInsideRoot) {
  put("/sys/a", "1");
  link("/sys/good", "/sys/a");
  link("/sys/dangling", "/sys/missing");
  FsRoot root = open();
  EXPECT_TRUE(root.exists("/sys/a"));
  EXPECT_TRUE(root.exists("/sys"));
  EXPECT_TRUE(root.exists("/"));
  EXPECT_TRUE(root.exists("/sys/good"));
  EXPECT_FALSE(root.exists("/sys/dangling"));
  EXPECT_FALSE(root.exists("/sys/missing"));
}

TEST_F(FsRootTest, NoFollowRefusesSymlink) {
  put("/sys/a", "1");
  link("/sys/link", "/sys/a");
  FsRoot root = open();
  EXPECT_TRUE(root.openAt("/sys/link", O_RDONLY));
  Result<Fd> fd = root.openAt("/sys/link", O_RDONLY, /*no_follow=*/true);
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().code(), std::errc::too_many_symbolic_link_levels);
  EXPECT_EQ(fd.error().message(), "opening /sys/link");
}

TEST_F(FsRootTest, OpenedFdIsCloseOnExec) {
  put("/sys/a", "1");
  Result<Fd> fd = open().openAt("/sys/a", O_RDONLY);
  ASSERT_TRUE(fd);
  EXPECT_NE(::fcntl(fd->get(), F_GETFD) & FD_CLOEXEC, 0);
}

TEST_F(FsRootTest, WriteAttributeWritesWithoutCreating) {
  std::string mems = "/sys/fs/cgroup/web/cpuset.mems";
  put(mems, "");
  FsRoot root = open();
  ASSERT_TRUE(root.writeAttribute(mems, "0-3"));
  EXPECT_EQ(root.readFile(mems).value(), "0-3");

  Status missing = root.writeAttribute("/sys/fs/cgroup/x/cpuset.mems", "0-3\n");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), std::errc::no_such_file_or_directory);
  EXPECT_EQ(missing.error().message(), "writing 0-3 to /sys/fs/cgroup/x/cpuset.mems");
  EXPECT_FALSE(fs::exists(root_ / "sys/fs/cgroup/x"));

  put("/sys/fs/cgroup/y/other", "");
  EXPECT_FALSE(root.writeAttribute("/sys/fs/cgroup/y/cpuset.mems", "1"));
  EXPECT_FALSE(fs::exists(root_ / "sys/fs/cgroup/y/cpuset.mems"));
}

TEST_F(FsRootTest, WriteAttributeCannotEscape) {
  link("/sys/escape", "/../secret");
  Status status = open().writeAttribute("/sys/escape", "pwned");
  EXPECT_FALSE(status);
  std::ifstream in(scratch_ / "secret");
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "outside");
}

TEST_F(FsRootTest, ListDirSortedWithoutDots) {
  for (const char* name : {"node10", "node2", "cpu", "a", "node1"}) {
    put(std::string("/sys/devices/system/node/") + name, "");
  }
  FsRoot root = open();
  EXPECT_THAT(root.listDir("/sys/devices/system/node").value(),
              ElementsAre("a", "cpu", "node1", "node10", "node2"));
  put("/sys/emptydir/.keep", "");
  fs::remove(root_ / "sys/emptydir/.keep");
  EXPECT_TRUE(root.listDir("/sys/emptydir").value().empty());

  Result<std::vector<std::string>> missing = root.listDir("/sys/nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), std::errc::no_such_file_or_directory);
  EXPECT_EQ(missing.error().message(), "listing /sys/nope");
  EXPECT_EQ(root.listDir("/sys/devices/system/node/a").error().code(), std::errc::not_a_directory);
}

TEST_F(FsRootTest, RootIsMovable) {
  put("/sys/a", "1\n");
  FsRoot first = open();
  FsRoot second = std::move(first);
  EXPECT_EQ(second.readAttribute("/sys/a").value(), "1");
}

// Makes openat2 fail with ENOSYS in this process, as on a pre-5.6 kernel or under a seccomp
// profile that doesn't know the syscall. Only for a forked death-test child: it can't be undone.
bool blockOpenat2() {
  sock_filter filter[] = {
      {BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(seccomp_data, nr)},
      {BPF_JMP | BPF_JEQ | BPF_K, 0, 1, SYS_openat2},
      {BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ERRNO | ENOSYS},
      {BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW},
  };
  sock_fprog program = {sizeof(filter) / sizeof(filter[0]), filter};
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return false;
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program) != 0) return false;
  return ::syscall(SYS_openat2, AT_FDCWD, "/", nullptr, 0) < 0 && errno == ENOSYS;
}

TEST_F(FsRootTest, FallsBackToOpenatWithoutOpenat2) {
  put("/sys/a", "fallback\n");
  std::string root_path = root_.string();
  EXPECT_EXIT(
      {
        if (!blockOpenat2()) std::_Exit(2);
        Result<FsRoot> root = FsRoot::open(root_path);
        bool ok = root && root->readAttribute("/sys/a").value_or("") == "fallback" &&
                  root->readAttribute("/sys/a").value_or("") == "fallback" &&
                  !root->exists("/sys/missing");
        std::_Exit(ok ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(FsRootLive, SlashIsLive) {
  Result<FsRoot> root = FsRoot::live();
  ASSERT_TRUE(root) << root.error().describe();
  EXPECT_TRUE(root->isLive());
  EXPECT_EQ(root->rootPath(), "/");
  EXPECT_EQ(root->hostPath("/proc/self/status"), "/proc/self/status");
  EXPECT_TRUE(FsRoot::open("/.").value().isLive());
}

TEST(FsRootLive, ReadsProcSelfStatus) {
  // procfs reports size 0; the whole file must still come back.
  FsRoot root = FsRoot::live().value();
  Result<std::vector<std::string>> lines = root.readLines("/proc/self/status");
  ASSERT_TRUE(lines) << lines.error().describe();
  ASSERT_FALSE(lines->empty());
  EXPECT_THAT(lines->front(), HasSubstr("Name:"));
  bool has_pid = false;
  for (const std::string& line : *lines) has_pid |= line.rfind("Pid:", 0) == 0;
  EXPECT_TRUE(has_pid);
  EXPECT_TRUE(root.exists("/proc/self"));
}

}  // namespace
}  // namespace softzone

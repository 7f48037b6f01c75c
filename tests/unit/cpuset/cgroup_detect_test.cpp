// Tests for cgroup detection: mount tables, visibility, controllers, --cgroup resolution.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <system_error>

#include "softzone/cpuset/cgroup.h"
#include "support/fake_tree.h"

namespace softzone::cpuset {
namespace {

using ::softzone::testing::FakeTree;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The hybrid layout of a systemd host with v1 controllers (and of the 6.1 guests booted that way).
const std::vector<std::string> kHybridMountinfo = {
    "23 27 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw",
    "27 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw",
    "31 23 0:28 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755",
    "32 31 0:29 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw,nsdelegate",
    "34 31 0:31 / /sys/fs/cgroup/cpuset rw,nosuid shared:14 - cgroup cgroup rw,cpuset",
    "35 31 0:32 / /sys/fs/cgroup/memory rw,nosuid shared:15 - cgroup cgroup rw,memory",
};

// --- unescapeMountField ---

TEST(UnescapeMountField, OctalEscapes) {
  EXPECT_EQ(unescapeMountField("/mnt/my\\040cgroups").value(), "/mnt/my cgroups");
  EXPECT_EQ(unescapeMountField("a\\011b\\012c\\134d").value(), "a\tb\nc\\d");
  EXPECT_EQ(unescapeMountField("/plain").value(), "/plain");
}

TEST(UnescapeMountField, MalformedEscapesAreBadInput) {
  for (const char* field : {"a\\04", "a\\", "a\\0x0", "a\\999", "\\400"}) {
    auto text = unescapeMountField(field);
    EXPECT_FALSE(text) << field;
    if (!text) {
      EXPECT_TRUE(text.error().isBadInput());
    }
  }
}

// --- parseMountinfoFromLines / parseProcMountsFromLines ---

TEST(ParseMountinfo, FieldsAroundOptionalFields) {
  auto mounts = parseMountinfoFromLines(
      {"36 35 98:0 /mnt1 /mnt\\0402 rw,noatime master:1 shared:2 - ext3 /dev/root rw,errors=x", "",
       "40 1 0:40 / /c rw - cgroup cgroup rw,cpu,cpuset"});
  ASSERT_TRUE(mounts) << mounts.error().describe();
  ASSERT_EQ(mounts->size(), 2u);
  const MountEntry& first = (*mounts)[0];
  EXPECT_EQ(first.id, 36);
  EXPECT_EQ(first.parent_id, 35);
  EXPECT_EQ(first.root, "/mnt1");
  EXPECT_EQ(first.mount_point, "/mnt 2");
  EXPECT_EQ(first.fs_type, "ext3");
  EXPECT_EQ(first.source, "/dev/root");
  EXPECT_THAT(first.super_options, ElementsAre("rw", "errors=x"));
  EXPECT_TRUE((*mounts)[1].hasSuperOption("cpuset"));
  EXPECT_FALSE((*mounts)[1].hasSuperOption("memory"));
}

TEST(ParseMountinfo, MalformedLinesAreBadInput) {
  for (const char* line : {"36 35 98:0 /mnt1 /mnt2 rw ext3 /dev/root rw",  // no "-"
                           "36 35 98:0 /mnt1 /mnt2 rw - ext3",             // no source
                           "x 35 98:0 / /m rw - ext3 /dev/root rw", "36 35 98:0 /"}) {
    auto mounts = parseMountinfoFromLines({line});
    EXPECT_FALSE(mounts) << line;
    if (!mounts) {
      EXPECT_TRUE(mounts.error().isBadInput());
      EXPECT_THAT(mounts.error().message(), HasSubstr("line 1"));
    }
  }
}

TEST(ParseProcMounts, Fields) {
  auto mounts = parseProcMountsFromLines({"cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev 0 0",
                                          "cpuset /dev/my\\040cpuset cgroup rw,cpuset 0 0"});
  ASSERT_TRUE(mounts);
  ASSERT_EQ(mounts->size(), 2u);
  EXPECT_EQ((*mounts)[1].mount_point, "/dev/my cpuset");
  EXPECT_EQ((*mounts)[1].root, "/");
  EXPECT_EQ((*mounts)[1].id, -1);
  EXPECT_FALSE(parseProcMountsFromLines({"cgroup2 /sys/fs/cgroup"}));
}

// --- findCgroupMounts ---

TEST(FindCgroupMounts, HybridLayout) {
  CgroupInterfaces found = findCgroupMounts(parseMountinfoFromLines(kHybridMountinfo).value());
  EXPECT_EQ(found.v1_cpuset, "/sys/fs/cgroup/cpuset");
  EXPECT_EQ(found.v2, "/sys/fs/cgroup/unified");
}

TEST(FindCgroupMounts, CoMountedCpusetCounts) {
  auto mounts = parseMountinfoFromLines({"40 1 0:40 / /c rw - cgroup cgroup rw,cpu,cpuset"});
  EXPECT_EQ(findCgroupMounts(mounts.value()).v1_cpuset, "/c");
}

TEST(FindCgroupMounts, MountStackedOnTopHidesTheOneBelowAndItsChildren) {
  std::vector<std::string> lines = kHybridMountinfo;
  // A tmpfs over /sys/fs/cgroup hides the old tmpfs (31) and everything mounted inside it.
  lines.push_back("50 31 0:50 / /sys/fs/cgroup rw - tmpfs tmpfs rw");
  lines.push_back("51 50 0:51 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw");
  CgroupInterfaces found = findCgroupMounts(parseMountinfoFromLines(lines).value());
  EXPECT_EQ(found.v1_cpuset, std::nullopt);
  EXPECT_EQ(found.v2, "/sys/fs/cgroup/unified");
}

TEST(FindCgroupMounts, RootListedAfterItsChildrenHidesNothing) {
  // Container runtimes list "/" after /proc and /sys: order alone must not hide them.
  auto mounts = parseMountinfoFromLines({"31 27 0:28 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw",
                                         "27 1 254:0 / / rw - ext4 /dev/vda rw"});
  EXPECT_EQ(findCgroupMounts(mounts.value()).v2, "/sys/fs/cgroup");
}

TEST(FindCgroupMounts, WholeHierarchyPreferredOverBindMountOfPart) {
  auto mounts = parseMountinfoFromLines({"60 1 0:29 /system.slice /srv/cg rw - cgroup2 cgroup2 rw",
                                         "61 1 0:29 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw"});
  EXPECT_EQ(findCgroupMounts(mounts.value()).v2, "/sys/fs/cgroup");
}

TEST(FindCgroupMounts, ProcMountsLaterMountAtSamePointWins) {
  auto mounts = parseProcMountsFromLines(
      {"cgroup2 /sys/fs/cgroup cgroup2 rw 0 0", "tmpfs /sys/fs/cgroup tmpfs rw 0 0"});
  EXPECT_EQ(findCgroupMounts(mounts.value()).v2, std::nullopt);
}

TEST(FindCgroupMounts, NothingMounted) {
  CgroupInterfaces found = findCgroupMounts({});
  EXPECT_EQ(found.v1_cpuset, std::nullopt);
  EXPECT_EQ(found.v2, std::nullopt);
}

// --- detectCgroupInterfacesAt ---

TEST(DetectCgroupInterfaces, UnifiedWithCpuset) {
  FakeTree tree;
  tree.put("/proc/self/mountinfo", "31 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
  tree.put("/sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n");
  auto found = detectCgroupInterfacesAt(tree.open());
  ASSERT_TRUE(found) << found.error().describe();
  EXPECT_EQ(found->v2, "/sys/fs/cgroup");
  EXPECT_TRUE(found->v2_cpuset_controller);
  EXPECT_EQ(found->v2_controllers, "cpuset cpu io memory pids");
  EXPECT_EQ(found->v1_cpuset, std::nullopt);
}

TEST(DetectCgroupInterfaces, HybridWithCpusetOnV1) {
  FakeTree tree;
  std::string text;
  for (const std::string& line : kHybridMountinfo) text += line + "\n";
  tree.put("/proc/self/mountinfo", text);
  tree.put("/sys/fs/cgroup/unified/cgroup.controllers", "\n");
  auto found = detectCgroupInterfacesAt(tree.open());
  ASSERT_TRUE(found);
  EXPECT_EQ(found->v1_cpuset, "/sys/fs/cgroup/cpuset");
  EXPECT_FALSE(found->v2_cpuset_controller);
}

TEST(DetectCgroupInterfaces, MountPointWithSpace) {
  FakeTree tree;
  tree.put("/proc/self/mountinfo", "31 23 0:26 / /cg\\040v2 rw - cgroup2 cgroup2 rw\n");
  tree.put("/cg v2/cgroup.controllers", "memory cpuset\n");
  auto found = detectCgroupInterfacesAt(tree.open());
  ASSERT_TRUE(found);
  EXPECT_EQ(found->v2, "/cg v2");
  EXPECT_TRUE(found->v2_cpuset_controller);
}

TEST(DetectCgroupInterfaces, FallsBackToProcMounts) {
  FakeTree tree;
  tree.put("/proc/mounts", "cpuset /sys/fs/cgroup/cpuset cgroup rw,cpuset 0 0\n");
  auto found = detectCgroupInterfacesAt(tree.open());
  ASSERT_TRUE(found);
  EXPECT_EQ(found->v1_cpuset, "/sys/fs/cgroup/cpuset");
}

TEST(DetectCgroupInterfaces, NoMountTableIsAnErrorNamingMountinfo) {
  FakeTree tree;
  auto found = detectCgroupInterfacesAt(tree.open());
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error().code(), std::errc::no_such_file_or_directory);
  EXPECT_THAT(found.error().describe(), HasSubstr("/proc/self/mountinfo"));
}

TEST(DetectCgroupInterfaces, MalformedMountinfoNamesTheFile) {
  FakeTree tree;
  tree.put("/proc/self/mountinfo", "garbage\n");
  auto found = detectCgroupInterfacesAt(tree.open());
  ASSERT_FALSE(found);
  EXPECT_TRUE(found.error().isBadInput());
  EXPECT_THAT(found.error().message(), HasSubstr("/proc/self/mountinfo: line 1"));
}

TEST(DetectCgroupInterfaces, MissingControllersFileMeansNoCpuset) {
  FakeTree tree;
  tree.put("/proc/self/mountinfo", "31 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
  auto found = detectCgroupInterfacesAt(tree.open());
  ASSERT_TRUE(found);
  EXPECT_EQ(found->v2, "/sys/fs/cgroup");
  EXPECT_FALSE(found->v2_cpuset_controller);
}

// --- CgroupMode ---

TEST(CgroupMode, ParseAndFormat) {
  EXPECT_EQ(parseCgroupMode("auto").value(), CgroupMode::kAuto);
  EXPECT_EQ(parseCgroupMode("v1").value(), CgroupMode::kV1);
  EXPECT_EQ(parseCgroupMode("v2").value(), CgroupMode::kV2);
  for (CgroupMode mode : {CgroupMode::kAuto, CgroupMode::kV1, CgroupMode::kV2}) {
    EXPECT_EQ(parseCgroupMode(formatCgroupMode(mode)).value(), mode);
  }
  for (const char* bad : {"", "V2", "2", "v3", "auto "}) {
    auto mode = parseCgroupMode(bad);
    ASSERT_FALSE(mode) << bad;
    EXPECT_TRUE(mode.error().isBadInput());
    EXPECT_THAT(mode.error().message(), HasSubstr("expected auto, v1 or v2"));
  }
}

CgroupInterfaces interfaces(std::optional<std::string> v1, std::optional<std::string> v2,
                            bool v2_cpuset) {
  CgroupInterfaces found;
  found.v1_cpuset = std::move(v1);
  found.v2 = std::move(v2);
  found.v2_cpuset_controller = v2_cpuset;
  return found;
}

TEST(ResolveCgroupMode, AutoPrefersV2WithCpuset) {
  auto choice = resolveCgroupMode(CgroupMode::kAuto, interfaces("/v1", "/v2", true));
  ASSERT_TRUE(choice);
  EXPECT_EQ(choice->version, CgroupVersion::kV2);
  EXPECT_EQ(choice->mount_point, "/v2");
}

TEST(ResolveCgroupMode, AutoFallsBackToV1) {
  auto choice = resolveCgroupMode(CgroupMode::kAuto, interfaces("/v1", "/v2", false));
  ASSERT_TRUE(choice);
  EXPECT_EQ(choice->version, CgroupVersion::kV1);
  EXPECT_EQ(choice->mount_point, "/v1");
}

TEST(ResolveCgroupMode, ExplicitV1EvenWhenV2Works) {
  auto choice = resolveCgroupMode(CgroupMode::kV1, interfaces("/v1", "/v2", true));
  ASSERT_TRUE(choice);
  EXPECT_EQ(choice->version, CgroupVersion::kV1);
}

TEST(ResolveCgroupMode, UnavailableIsUnsupportedWithReason) {
  auto unsupported_code = make_error_code(Errc::kUnsupported);

  auto v1 = resolveCgroupMode(CgroupMode::kV1, interfaces(std::nullopt, "/v2", true));
  ASSERT_FALSE(v1);
  EXPECT_EQ(v1.error().code(), unsupported_code);
  EXPECT_THAT(v1.error().message(), HasSubstr("no cgroup v1 cpuset hierarchy is mounted"));

  auto v2 = resolveCgroupMode(CgroupMode::kV2, interfaces("/v1", "/v2", false));
  ASSERT_FALSE(v2);
  EXPECT_EQ(v2.error().code(), unsupported_code);
  EXPECT_THAT(v2.error().message(), HasSubstr("bound to the v1 hierarchy at /v1"));
  EXPECT_THAT(v2.error().message(), HasSubstr("use --cgroup v1"));

  auto no_v2 = resolveCgroupMode(CgroupMode::kV2, interfaces(std::nullopt, std::nullopt, false));
  ASSERT_FALSE(no_v2);
  EXPECT_THAT(no_v2.error().message(), HasSubstr("no cgroup2 filesystem is mounted"));

  auto none = resolveCgroupMode(CgroupMode::kAuto, interfaces(std::nullopt, "/v2", false));
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().exitStatus(), 1);
  EXPECT_THAT(none.error().message(), HasSubstr("no cgroup cpuset interface"));
  EXPECT_THAT(none.error().message(), HasSubstr("lacks the cpuset controller"));
}

}  // namespace
}  // namespace softzone::cpuset

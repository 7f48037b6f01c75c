// Which cgroup cpuset interfaces exist (v1 hierarchy, v2 controller), and picking one.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "softzone/zones/fs_root.h"
#include "softzone/zones/result.h"

namespace softzone::cpuset {

// One mounted filesystem, from /proc/self/mountinfo (or /proc/mounts, which lacks `root`).
struct MountEntry {
  int id = -1;  // mountinfo only: the mount's id and its parent's, -1 from /proc/mounts
  int parent_id = -1;
  std::string root;         // the directory of the filesystem mounted here ("/" for all of it)
  std::string mount_point;  // unescaped ("\040" is a space)
  std::string fs_type;
  std::string source;
  std::vector<std::string> super_options;  // for cgroup v1, the controllers ("rw,cpuset")

  bool hasSuperOption(std::string_view option) const;
};

// Undoes the octal escapes the kernel puts in mount fields (\040 space, \011 tab, \012 newline,
// \134 backslash). A malformed escape is bad input.
Result<std::string> unescapeMountField(std::string_view field);

// /proc/self/mountinfo lines:
// "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue".
Result<std::vector<MountEntry>> parseMountinfoFromLines(const std::vector<std::string>& lines);
// /proc/mounts lines: "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid 0 0".
Result<std::vector<MountEntry>> parseProcMountsFromLines(const std::vector<std::string>& lines);

struct CgroupInterfaces {
  std::optional<std::string> v1_cpuset;  // mount point of the v1 hierarchy holding cpuset
  std::optional<std::string> v2;         // mount point of the unified (v2) hierarchy
  bool v2_cpuset_controller = false;     // "cpuset" is in v2's root cgroup.controllers
  // v2's root cgroup.controllers as read ("" when v2 is absent or the file is unreadable).
  std::string v2_controllers;
};

// The cpuset-capable cgroup mounts among the visible ones (a mount stacked over another at the
// same point hides it and everything below it), preferring whole hierarchies ("/" root), then the
// first listed. v2's controllers are left for the caller to read.
CgroupInterfaces findCgroupMounts(const std::vector<MountEntry>& mounts);

// Reads the mount table (mountinfo, else /proc/mounts) and v2's cgroup.controllers. A missing
// cgroup.controllers leaves v2_cpuset_controller false; a missing mount table is an error.
Result<CgroupInterfaces> detectCgroupInterfacesAt(const FsRoot& fs);

// --cgroup: which interface the user asks for.
enum class CgroupMode { kAuto, kV1, kV2 };
// What is used in the end.
enum class CgroupVersion { kV1, kV2 };

// "auto", "v1", "v2"; anything else is bad input.
Result<CgroupMode> parseCgroupMode(std::string_view text);
std::string_view formatCgroupMode(CgroupMode mode);
std::string_view formatCgroupVersion(CgroupVersion version);

struct CgroupChoice {
  CgroupVersion version = CgroupVersion::kV2;
  std::string mount_point;
};

// auto prefers v2 with the cpuset controller, then a v1 cpuset hierarchy. An explicit mode the
// machine lacks, or no cpuset interface at all, is an unsupported error saying what is there.
Result<CgroupChoice> resolveCgroupMode(CgroupMode mode, const CgroupInterfaces& interfaces);

}  // namespace softzone::cpuset

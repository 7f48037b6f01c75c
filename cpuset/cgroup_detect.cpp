// Detecting the cgroup cpuset interfaces from the mount table, and resolving --cgroup against them.
#include <algorithm>
#include <map>
#include <system_error>

#include "softzone/cpuset/cgroup.h"
#include "softzone/zones/kernel_files.h"
#include "softzone/zones/text_parse.h"

namespace softzone::cpuset {
namespace {

constexpr std::string_view kSpaces = " \t\r";
constexpr size_t kMaxQuotedChars = 64;

std::string quoted(std::string_view text) {
  std::string out = "'";
  out += text.substr(0, kMaxQuotedChars);
  if (text.size() > kMaxQuotedChars) out += "...";
  out += "'";
  return out;
}

std::vector<std::string_view> splitOn(std::string_view text, std::string_view separators) {
  std::vector<std::string_view> fields;
  size_t pos = 0;
  while (true) {
    pos = text.find_first_not_of(separators, pos);
    if (pos == std::string_view::npos) break;
    size_t end = text.find_first_of(separators, pos);
    if (end == std::string_view::npos) end = text.size();
    fields.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  return fields;
}

std::vector<std::string> splitOptions(std::string_view text) {
  std::vector<std::string> options;
  for (std::string_view option : splitOn(text, ",")) options.emplace_back(option);
  return options;
}

Error badLine(size_t index, std::string_view why, std::string_view line) {
  return badInput("line " + std::to_string(index + 1) + ": " + std::string(why) + ", got " +
                  quoted(line));
}

// Visible mounts, mountinfo flavour. A mount stacked on another has the same mount point and the
// other as parent: it covers it. A mount is hidden when, walking up its parents, some ancestor is
// covered by a mount that is not on that walk (the stack on top is what stays visible).
std::vector<bool> visibleByTree(const std::vector<MountEntry>& mounts) {
  std::map<int, size_t> index_of;
  for (size_t i = 0; i < mounts.size(); ++i) index_of.emplace(mounts[i].id, i);
  constexpr size_t kNone = static_cast<size_t>(-1);
  std::vector<size_t> covered_by(mounts.size(), kNone);
  for (size_t top = 0; top < mounts.size(); ++top) {
    auto below = index_of.find(mounts[top].parent_id);
    if (below != index_of.end() && below->second != top &&
        mounts[below->second].mount_point == mounts[top].mount_point) {
      covered_by[below->second] = top;
    }
  }
  std::vector<bool> visible(mounts.size(), true);
  for (size_t i = 0; i < mounts.size(); ++i) {
    size_t at = i;
    size_t from = kNone;
    // The step limit guards against a malformed tree with a parent cycle.
    for (size_t steps = 0; steps <= mounts.size(); ++steps) {
      if (covered_by[at] != kNone && covered_by[at] != from) {
        visible[i] = false;
        break;
      }
      auto parent = index_of.find(mounts[at].parent_id);
      if (parent == index_of.end() || parent->second == at) break;
      from = at;
      at = parent->second;
    }
  }
  return visible;
}

// Visible mounts, /proc/mounts flavour (no ids): the last mount at a point wins.
std::vector<bool> visibleByOrder(const std::vector<MountEntry>& mounts) {
  std::vector<bool> visible(mounts.size(), true);
  for (size_t i = 0; i < mounts.size(); ++i) {
    for (size_t later = i + 1; later < mounts.size(); ++later) {
      if (mounts[later].mount_point == mounts[i].mount_point) visible[i] = false;
    }
  }
  return visible;
}

// The preferred mount among the visible ones matching `wanted`: a whole hierarchy first.
std::optional<std::string> pickMount(const std::vector<MountEntry>& mounts,
                                     const std::vector<bool>& visible,
                                     bool (*wanted)(const MountEntry&)) {
  std::optional<std::string> first;
  for (size_t i = 0; i < mounts.size(); ++i) {
    if (!visible[i] || !wanted(mounts[i])) continue;
    if (mounts[i].root == "/") return mounts[i].mount_point;
    if (!first) first = mounts[i].mount_point;
  }
  return first;
}

bool isV1Cpuset(const MountEntry& mount) {
  return mount.fs_type == kernel::kCgroupV1FsType &&
         mount.hasSuperOption(kernel::kCpusetController);
}

bool isV2(const MountEntry& mount) { return mount.fs_type == kernel::kCgroupV2FsType; }

Result<std::vector<MountEntry>> readMountsAt(const FsRoot& fs) {
  auto lines = fs.readLines(kernel::kProcSelfMountinfo);
  if (lines) {
    auto mounts = parseMountinfoFromLines(*lines);
    if (!mounts) return std::move(mounts).error().withContext(kernel::kProcSelfMountinfo);
    return mounts;
  }
  // Trees captured by hand often have only /proc/mounts; mountinfo's absence is no reason to fail.
  if (lines.error().code() != std::errc::no_such_file_or_directory) return std::move(lines).error();
  auto fallback = fs.readLines(kernel::kProcMounts);
  if (!fallback) {
    if (fallback.error().code() == std::errc::no_such_file_or_directory) {
      return std::move(lines).error();  // name the file we prefer
    }
    return std::move(fallback).error();
  }
  auto mounts = parseProcMountsFromLines(*fallback);
  if (!mounts) return std::move(mounts).error().withContext(kernel::kProcMounts);
  return mounts;
}

std::string describeV2(const CgroupInterfaces& interfaces) {
  return "cgroup v2 at " + *interfaces.v2;
}

}  // namespace

bool MountEntry::hasSuperOption(std::string_view option) const {
  return std::find(super_options.begin(), super_options.end(), option) != super_options.end();
}

Result<std::string> unescapeMountField(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] != '\\') {
      out += field[i];
      continue;
    }
    // The kernel's mangle() writes exactly three octal digits.
    if (i + 3 >= field.size()) return badInput("truncated escape in " + quoted(field));
    int value = 0;
    for (size_t k = 1; k <= 3; ++k) {
      char digit = field[i + k];
      if (digit < '0' || digit > '7') return badInput("bad escape in " + quoted(field));
      value = value * 8 + (digit - '0');
    }
    if (value > 255) return badInput("bad escape in " + quoted(field));
    out += static_cast<char>(value);
    i += 3;
  }
  return out;
}

Result<std::vector<MountEntry>> parseMountinfoFromLines(const std::vector<std::string>& lines) {
  std::vector<MountEntry> mounts;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::vector<std::string_view> fields = splitOn(lines[i], kSpaces);
    if (fields.empty()) continue;
    // The optional fields (shared:N, master:N, ...) end at a lone "-".
    auto dash = std::find(fields.begin() + std::min<size_t>(6, fields.size()), fields.end(), "-");
    if (fields.size() < 6 || dash == fields.end() || fields.end() - dash < 3) {
      return badLine(i,
                     "expected 'ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS ... - TYPE SOURCE "
                     "SUPEROPTIONS'",
                     lines[i]);
    }
    MountEntry mount;
    auto id = parseNumber<int>(fields[0]);
    auto parent = parseNumber<int>(fields[1]);
    if (!id || !parent) return badLine(i, "expected numeric mount ids", lines[i]);
    mount.id = *id;
    mount.parent_id = *parent;
    auto root = unescapeMountField(fields[3]);
    if (!root) return badLine(i, root.error().message(), lines[i]);
    auto point = unescapeMountField(fields[4]);
    if (!point) return badLine(i, point.error().message(), lines[i]);
    mount.root = std::move(*root);
    mount.mount_point = std::move(*point);
    mount.fs_type = std::string(dash[1]);
    auto source = unescapeMountField(dash[2]);
    if (!source) return badLine(i, source.error().message(), lines[i]);
    mount.source = std::move(*source);
    if (fields.end() - dash >= 4) mount.super_options = splitOptions(dash[3]);
    mounts.push_back(std::move(mount));
  }
  return mounts;
}

Result<std::vector<MountEntry>> parseProcMountsFromLines(const std::vector<std::string>& lines) {
  std::vector<MountEntry> mounts;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::vector<std::string_view> fields = splitOn(lines[i], kSpaces);
    if (fields.empty()) continue;
    if (fields.size() < 4) return badLine(i, "expected 'SOURCE MOUNTPOINT TYPE OPTIONS'", lines[i]);
    MountEntry mount;
    auto source = unescapeMountField(fields[0]);
    if (!source) return badLine(i, source.error().message(), lines[i]);
    auto point = unescapeMountField(fields[1]);
    if (!point) return badLine(i, point.error().message(), lines[i]);
    mount.source = std::move(*source);
    mount.mount_point = std::move(*point);
    // /proc/mounts does not say; assume the whole hierarchy. A string built in place, not
    // `root = "/"`: GCC 12 at -O3 inlines that assignment into a memcpy it then warns about
    // (-Wrestrict, a false positive: GCC bug 105329), which fails a -Werror build.
    mount.root = std::string(1, '/');
    mount.fs_type = std::string(fields[2]);
    mount.super_options = splitOptions(fields[3]);
    mounts.push_back(std::move(mount));
  }
  return mounts;
}

CgroupInterfaces findCgroupMounts(const std::vector<MountEntry>& mounts) {
  bool have_ids = std::all_of(mounts.begin(), mounts.end(),
                              [](const MountEntry& mount) { return mount.id >= 0; });
  std::vector<bool> visible = have_ids ? visibleByTree(mounts) : visibleByOrder(mounts);
  CgroupInterfaces interfaces;
  interfaces.v1_cpuset = pickMount(mounts, visible, isV1Cpuset);
  interfaces.v2 = pickMount(mounts, visible, isV2);
  return interfaces;
}

Result<CgroupInterfaces> detectCgroupInterfacesAt(const FsRoot& fs) {
  SZ_TRY(mounts, readMountsAt(fs));
  CgroupInterfaces interfaces = findCgroupMounts(mounts);
  if (interfaces.v2) {
    auto controllers =
        fs.readAttribute(kernel::joinPath(*interfaces.v2, kernel::kCgroupControllersFile));
    if (controllers) {
      std::vector<std::string_view> names = splitOn(*controllers, " \t\r\n");
      interfaces.v2_cpuset_controller =
          std::find(names.begin(), names.end(), kernel::kCpusetController) != names.end();
      std::string joined;
      for (std::string_view name : names) {
        if (!joined.empty()) joined += ' ';
        joined += name;
      }
      interfaces.v2_controllers = std::move(joined);
    }
  }
  return interfaces;
}

Result<CgroupMode> parseCgroupMode(std::string_view text) {
  if (text == "auto") return CgroupMode::kAuto;
  if (text == "v1") return CgroupMode::kV1;
  if (text == "v2") return CgroupMode::kV2;
  return badInput("--cgroup: expected auto, v1 or v2, got " + quoted(text));
}

std::string_view formatCgroupMode(CgroupMode mode) {
  switch (mode) {
    case CgroupMode::kAuto:
      return "auto";
    case CgroupMode::kV1:
      return "v1";
    case CgroupMode::kV2:
      return "v2";
  }
  return "auto";
}

std::string_view formatCgroupVersion(CgroupVersion version) {
  return version == CgroupVersion::kV1 ? "v1" : "v2";
}

Result<CgroupChoice> resolveCgroupMode(CgroupMode mode, const CgroupInterfaces& interfaces) {
  const bool v2_usable = interfaces.v2 && interfaces.v2_cpuset_controller;
  const bool v1_usable = interfaces.v1_cpuset.has_value();
  if (mode != CgroupMode::kV1 && v2_usable) {
    return CgroupChoice{CgroupVersion::kV2, *interfaces.v2};
  }
  if (mode != CgroupMode::kV2 && v1_usable) {
    return CgroupChoice{CgroupVersion::kV1, *interfaces.v1_cpuset};
  }
  if (mode == CgroupMode::kV1) {
    return unsupported(
        "--cgroup v1: no cgroup v1 cpuset hierarchy is mounted (kernels without "
        "CONFIG_CPUSETS_V1, like Debian's 6.12, have none); mount one with 'mount -t cgroup -o "
        "cpuset cpuset /sys/fs/cgroup/cpuset' or use --cgroup v2");
  }
  std::string v2_problem;
  if (!interfaces.v2) {
    v2_problem = "no cgroup2 filesystem is mounted (mount -t cgroup2 none /sys/fs/cgroup)";
  } else if (v1_usable) {
    v2_problem = describeV2(interfaces) +
                 " lacks the cpuset controller: it is bound to the v1 hierarchy at " +
                 *interfaces.v1_cpuset;
  } else {
    v2_problem = describeV2(interfaces) + " lacks the cpuset controller (cgroup.controllers: " +
                 (interfaces.v2_controllers.empty() ? "empty or unreadable"
                                                    : "'" + interfaces.v2_controllers + "'") +
                 ")";
  }
  if (mode == CgroupMode::kV2) {
    return unsupported("--cgroup v2: " + v2_problem +
                       (v1_usable ? "; use --cgroup v1 or --cgroup auto" : ""));
  }
  return unsupported("no cgroup cpuset interface: " + v2_problem +
                     ", and no cgroup v1 cpuset hierarchy is mounted");
}

}  // namespace softzone::cpuset

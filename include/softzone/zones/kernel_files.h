// The kernel's paths and file names softzone uses, in one place (FsRoot resolves the paths).
#pragma once

#include <string>
#include <string_view>

namespace softzone::kernel {

// --- NUMA nodes (sysfs) ---
inline constexpr std::string_view kNodeDir = "/sys/devices/system/node";
// In kNodeDir: node lists in the kernel's list syntax ("0-7").
inline constexpr std::string_view kNodeOnlineFile = "online";
inline constexpr std::string_view kNodePossibleFile = "possible";
inline constexpr std::string_view kNodeHasCpuFile = "has_cpu";
inline constexpr std::string_view kNodeHasMemoryFile = "has_memory";
// Per-node directories are "node<N>". Ids can have gaps (sparse firmware tables, hot-removed
// nodes), so the directory listing is the authority, not a count from 0.
inline constexpr std::string_view kNodeDirPrefix = "node";
// In kNodeDir/node<N>.
inline constexpr std::string_view kNodeMeminfoFile = "meminfo";
inline constexpr std::string_view kNodeCpulistFile = "cpulist";
inline constexpr std::string_view kNodeDistanceFile = "distance";
inline constexpr std::string_view kNodeVmstatFile = "vmstat";
inline constexpr std::string_view kNodeNumastatFile = "numastat";

// The ACPI SLIT values the kernel uses when firmware gives none: a node to itself, and across.
// NUMA emulation gives fake nodes of one physical node kLocalDistance between each other.
inline constexpr int kLocalDistance = 10;
inline constexpr int kRemoteDistance = 20;

// --- CPUs ---
inline constexpr std::string_view kCpuOnline = "/sys/devices/system/cpu/online";

// --- procfs ---
inline constexpr std::string_view kProcBuddyinfo = "/proc/buddyinfo";
inline constexpr std::string_view kProcCmdline = "/proc/cmdline";
inline constexpr std::string_view kProcMeminfo = "/proc/meminfo";
inline constexpr std::string_view kProcMounts = "/proc/mounts";
inline constexpr std::string_view kProcSelfMountinfo = "/proc/self/mountinfo";
inline constexpr std::string_view kOsRelease = "/proc/sys/kernel/osrelease";
inline constexpr std::string_view kHostname = "/proc/sys/kernel/hostname";
inline constexpr std::string_view kProcVersion = "/proc/version";
// A random id the kernel picks at each boot: zoned's state is on that boot's clock.
inline constexpr std::string_view kBootIdFile = "/proc/sys/kernel/random/boot_id";

// --- kernel command line ---
inline constexpr std::string_view kNumaParam = "numa=";
inline constexpr std::string_view kFakeNumaParam = "numa=fake=";
inline constexpr std::string_view kNumaOffParam = "numa=off";
// Everything after a bare "--" on the command line is for init, not the kernel.
inline constexpr std::string_view kCmdlineInitSeparator = "--";

// --- kernel build configuration ---
inline constexpr std::string_view kBootConfigPrefix = "/boot/config-";
inline constexpr std::string_view kConfigNodesShift = "CONFIG_NODES_SHIFT";
inline constexpr std::string_view kConfigNumaEmu = "CONFIG_NUMA_EMU";
inline constexpr std::string_view kConfigCpusetsV1 = "CONFIG_CPUSETS_V1";

// --- cgroup filesystems ---
inline constexpr std::string_view kCgroupDefaultMount = "/sys/fs/cgroup";
inline constexpr std::string_view kCgroupV1FsType = "cgroup";
inline constexpr std::string_view kCgroupV2FsType = "cgroup2";
inline constexpr std::string_view kCpusetController = "cpuset";
// Both versions.
inline constexpr std::string_view kCgroupProcsFile = "cgroup.procs";
// v2 core files.
inline constexpr std::string_view kCgroupControllersFile = "cgroup.controllers";
inline constexpr std::string_view kCgroupSubtreeControlFile = "cgroup.subtree_control";
inline constexpr std::string_view kCgroupEventsFile = "cgroup.events";
// v2 cpuset and pressure files.
inline constexpr std::string_view kCpusetCpusFile = "cpuset.cpus";
inline constexpr std::string_view kCpusetMemsFile = "cpuset.mems";
inline constexpr std::string_view kCpusetCpusEffectiveFile = "cpuset.cpus.effective";
inline constexpr std::string_view kCpusetMemsEffectiveFile = "cpuset.mems.effective";
inline constexpr std::string_view kCpusetCpusPartitionFile = "cpuset.cpus.partition";
inline constexpr std::string_view kMemoryPressureFile = "memory.pressure";
// v1 cpuset files. They lose their "cpuset." prefix when the hierarchy is mounted with
// "noprefix" (old setups): the v1 backend must check the mount options.
inline constexpr std::string_view kCgroupV1TasksFile = "tasks";
inline constexpr std::string_view kCpusetV1MemoryMigrateFile = "cpuset.memory_migrate";
inline constexpr std::string_view kCpusetV1MemExclusiveFile = "cpuset.mem_exclusive";
inline constexpr std::string_view kCpusetV1MemHardwallFile = "cpuset.mem_hardwall";
inline constexpr std::string_view kCpusetV1CpuExclusiveFile = "cpuset.cpu_exclusive";
inline constexpr std::string_view kCpusetV1MemoryPressureFile = "cpuset.memory_pressure";
// Only in the root cpuset; memory_pressure reads 0 everywhere until it is 1.
inline constexpr std::string_view kCpusetV1MemoryPressureEnabledFile =
    "cpuset.memory_pressure_enabled";
inline constexpr std::string_view kCgroupV1NoprefixOption = "noprefix";

// --- event sources ---
inline constexpr std::string_view kDevKmsg = "/dev/kmsg";
inline constexpr std::string_view kTracefs = "/sys/kernel/tracing";

// "<dir>/<name>" without doubling the slash.
inline std::string joinPath(std::string_view dir, std::string_view name) {
  std::string path(dir);
  if (path.empty() || path.back() != '/') path += '/';
  path += name;
  return path;
}

// "/sys/devices/system/node/node<N>".
inline std::string nodeDir(int node) {
  return joinPath(kNodeDir, std::string(kNodeDirPrefix) + std::to_string(node));
}

// "/sys/devices/system/node/node<N>/<file>".
inline std::string nodeFile(int node, std::string_view file) {
  return joinPath(nodeDir(node), file);
}

// "/boot/config-<release>".
inline std::string kernelConfigPath(std::string_view release) {
  return std::string(kBootConfigPrefix) + std::string(release);
}

}  // namespace softzone::kernel

// Test helpers: a kernel file tree in a temporary directory, and fake machines to fill it.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "softzone/zones/fs_root.h"

namespace softzone::testing {

// A scratch directory holding a fake root; removed with everything in it on destruction.
class FakeTree {
 public:
  FakeTree() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp != nullptr ? tmp : "/tmp") + "/softzone_tree.XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  FakeTree(const FakeTree&) = delete;
  FakeTree& operator=(const FakeTree&) = delete;
  ~FakeTree() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

  const std::string& path() const { return path_; }

  // The host path of a kernel path inside the tree.
  std::string hostPath(std::string_view kernel_path) const {
    return (std::filesystem::path(path_) / std::filesystem::path(kernel_path).relative_path())
        .string();
  }

  // Writes a file at a kernel path, creating its directories.
  void put(std::string_view kernel_path, std::string_view content) const {
    std::filesystem::path host = hostPath(kernel_path);
    std::filesystem::create_directories(host.parent_path());
    std::ofstream out(host, std::ios::binary | std::ios::trunc);
    out << content;
  }

  void mkdir(std::string_view kernel_path) const {
    std::filesystem::create_directories(hostPath(kernel_path));
  }

  void remove(std::string_view kernel_path) const {
    std::filesystem::remove_all(hostPath(kernel_path));
  }

  FsRoot open() const { return FsRoot::open(path_).value(); }

 private:
  std::string path_;
};

// One node's sysfs files.
struct FakeNode {
  int id = 0;
  uint64_t total_kb = 0;
  uint64_t free_kb = 0;
  std::string cpulist;
  std::vector<int> distances;
};

inline std::string nodeMeminfo(const FakeNode& node) {
  std::string prefix = "Node " + std::to_string(node.id) + " ";
  auto kb = [](uint64_t value) {
    std::string text = std::to_string(value);
    return std::string(text.size() < 8 ? 8 - text.size() : 0, ' ') + text + " kB\n";
  };
  return prefix + "MemTotal:       " + kb(node.total_kb) +  //
         prefix + "MemFree:        " + kb(node.free_kb) +   //
         prefix + "MemUsed:        " + kb(node.total_kb - node.free_kb) + prefix +
         "Active(file):   " + kb(1024) +           //
         prefix + "FilePages:      " + kb(2048) +  //
         prefix + "HugePages_Total:     0\n" +     //
         prefix + "HugePages_Free:      0\n";
}

inline std::string joinDistances(const std::vector<int>& distances) {
  std::string text;
  for (int d : distances) text += (text.empty() ? "" : " ") + std::to_string(d);
  return text + "\n";
}

inline void putNode(const FakeTree& tree, const FakeNode& node) {
  std::string dir = "/sys/devices/system/node/node" + std::to_string(node.id) + "/";
  tree.put(dir + "meminfo", nodeMeminfo(node));
  tree.put(dir + "cpulist", node.cpulist + "\n");
  tree.put(dir + "distance", joinDistances(node.distances));
}

// `physical` physical nodes, each split into `per_physical` fake nodes of `node_kb`; physical node
// p owns CPU p. Distances: 10 inside a physical node, 20 across (the two-socket guest of the
// brief).
inline std::vector<FakeNode> fakeNodes(int physical, int per_physical, uint64_t node_kb) {
  std::vector<FakeNode> nodes;
  int count = physical * per_physical;
  for (int id = 0; id < count; ++id) {
    FakeNode node;
    node.id = id;
    node.total_kb = node_kb;
    node.free_kb = node_kb / 2;
    node.cpulist = physical == 1 ? "0-3" : std::to_string(id / per_physical);
    for (int other = 0; other < count; ++other) {
      node.distances.push_back(id / per_physical == other / per_physical ? 10 : 20);
    }
    nodes.push_back(node);
  }
  return nodes;
}

inline constexpr std::string_view kMountinfoV2 =
    "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
    "23 27 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
    "27 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
    "31 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";

// A Debian-like guest; every field can be changed before putMachine().
struct FakeMachine {
  std::string release = "6.1.0-28-amd64";
  std::string cmdline =
      "BOOT_IMAGE=/boot/vmlinuz-6.1.0-28-amd64 root=/dev/vda1 ro console=ttyS0 numa=fake=8";
  // Written to /boot/config-<release> unless empty.
  std::string config = "CONFIG_NUMA=y\nCONFIG_NUMA_EMU=y\nCONFIG_NODES_SHIFT=10\n";
  std::string mountinfo = std::string(kMountinfoV2);
  std::string v2_controllers = "cpuset cpu io memory hugetlb pids rdma misc";
  std::vector<FakeNode> nodes = fakeNodes(1, 8, 131072);
};

inline void putMachine(const FakeTree& tree, const FakeMachine& machine) {
  tree.put("/proc/sys/kernel/osrelease", machine.release + "\n");
  tree.put("/proc/cmdline", machine.cmdline + "\n");
  if (!machine.config.empty()) tree.put("/boot/config-" + machine.release, machine.config);
  tree.put("/proc/self/mountinfo", machine.mountinfo);
  tree.put("/sys/fs/cgroup/cgroup.controllers", machine.v2_controllers + "\n");
  uint64_t total_kb = 0;
  for (const FakeNode& node : machine.nodes) {
    putNode(tree, node);
    total_kb += node.total_kb;
  }
  if (!machine.nodes.empty()) {
    std::string online = "0-" + std::to_string(machine.nodes.back().id);
    tree.put("/sys/devices/system/node/online", online + "\n");
    tree.put("/sys/devices/system/node/possible", online + "\n");
    tree.put("/sys/devices/system/node/has_cpu", "0\n");
  }
  tree.put("/proc/meminfo", "MemTotal:       " + std::to_string(total_kb) +
                                " kB\nMemFree:        " + std::to_string(total_kb / 2) +
                                " kB\nMemAvailable:   " + std::to_string(total_kb / 2) + " kB\n");
  tree.put("/sys/devices/system/cpu/online", "0-3\n");
}

}  // namespace softzone::testing

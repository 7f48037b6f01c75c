// readaheadCallBytesAt against sysfs trees: a whole disk, a partition (its disk's queue, through
// the /sys/dev/block symlink), and devices sysfs says nothing about.
#include <gtest/gtest.h>
#include <sys/sysmacros.h>

#include <filesystem>
#include <optional>

#include "softzone/cache/page_cache.h"
#include "support/fake_tree.h"

namespace softzone::cache {
namespace {

class ReadLimitsTest : public ::testing::Test {
 protected:
  void putQueue(const std::string& disk_dir, const char* max_sectors_kb,
                const char* read_ahead_kb) {
    if (max_sectors_kb != nullptr) tree_.put(disk_dir + "/queue/max_sectors_kb", max_sectors_kb);
    if (read_ahead_kb != nullptr) tree_.put(disk_dir + "/queue/read_ahead_kb", read_ahead_kb);
  }
  // /sys/dev/block/MAJ:MIN -> the device's directory, relative, as the kernel links it.
  void link(int maj, int min, const std::string& target) {
    tree_.mkdir("/sys/dev/block");
    std::filesystem::create_directory_symlink(
        "../../" + target,
        tree_.hostPath("/sys/dev/block/" + std::to_string(maj) + ":" + std::to_string(min)));
  }

  // A block device's queue and its /sys/dev/block link, then what one readahead call reads.
  std::optional<uint64_t> limitOf(const std::string& device_dir, const char* max_sectors_kb,
                                  const char* read_ahead_kb, int maj, int min) {
    putQueue("/sys/" + device_dir, max_sectors_kb, read_ahead_kb);
    link(maj, min, device_dir);
    return readaheadCallBytesAt(tree_.open(), makedev(maj, min));
  }

  softzone::testing::FakeTree tree_;
};

TEST_F(ReadLimitsTest, AWholeDiskGivesTheLargerOfItsRequestAndReadaheadSizes) {
  EXPECT_EQ(limitOf("devices/pci0000:00/0000:00:04.0/virtio1/block/vda", "1280\n", "128\n", 254, 0),
            uint64_t{1280} << 10);
}

TEST_F(ReadLimitsTest, AReadaheadSizeAboveTheRequestSizeWins) {
  EXPECT_EQ(limitOf("devices/virtual/block/md0", "512\n", "4096\n", 9, 0), uint64_t{4096} << 10);
}

TEST_F(ReadLimitsTest, APartitionUsesItsDisksQueue) {
  putQueue("/sys/devices/pci0000:00/ata1/block/sda", "1024\n", "128\n");
  tree_.put("/sys/devices/pci0000:00/ata1/block/sda/sda2/partition", "2\n");
  link(8, 2, "devices/pci0000:00/ata1/block/sda/sda2");
  FsRoot fs = tree_.open();
  EXPECT_EQ(readaheadCallBytesAt(fs, makedev(8, 2)), uint64_t{1024} << 10);
}

TEST_F(ReadLimitsTest, NoBlockDeviceOrGarbageSaysNothing) {
  EXPECT_EQ(limitOf("devices/virtual/block/loop0", "garbage\n", "", 7, 0), std::nullopt);
  EXPECT_EQ(readaheadCallBytesAt(tree_.open(), makedev(0, 45)), std::nullopt);  // tmpfs, NFS
}

TEST_F(ReadLimitsTest, OneUnreadableValueLeavesTheOther) {
  EXPECT_EQ(limitOf("devices/virtual/block/nbd0", nullptr, "256\n", 43, 0), uint64_t{256} << 10);
}

}  // namespace
}  // namespace softzone::cache

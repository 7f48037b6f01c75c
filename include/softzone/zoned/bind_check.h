// Which files of the shared zone's bound trees zoned's keeper looks at in one check, as a pure
// function: the files walked in, what was seen of them before carried across checks, the files
// to look at out. No I/O (zoned/shared_keeper.cpp walks, looks and moves).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace softzone::zoned {

// A regular file of a bound tree as one walk saw it.
struct WalkedFile {
  uint64_t device = 0;
  uint64_t inode = 0;
  uint64_t size_bytes = 0;
  int64_t changed_ns = 0;  // the inode's change time (st_ctim)
};

// What the checks remember of each file: its size and change time when last seen, and whether
// its pages are still to be looked at because it is new or changed since.
struct SeenFile {
  uint64_t size_bytes = 0;
  int64_t changed_ns = 0;
  bool pending = true;
};

struct BindCheckMemory {
  std::map<std::pair<uint64_t, uint64_t>, SeenFile> files;  // by (device, inode)
  // Where the round over unchanged files goes on: the (device, inode) looked at last; the next
  // round starts after it in walk order (or from the start when it is gone).
  std::pair<uint64_t, uint64_t> last_rechecked{0, 0};
};

// Opening a file, mapping it and asking where its cached pages are costs about as much as
// looking at this many more cached pages (bench-zoned-keeper, 6.12 under emulation: 0.2 ms a
// file, 7 us a page), so a tree of many small files is looked at in bounded slices too.
inline constexpr uint64_t kFileCostPages = 32;

struct BindCheckPlan {
  std::vector<size_t> changed;    // new or changed files (indexes into the walk), oldest first
  std::vector<size_t> rechecked;  // unchanged files, the next in the round
  uint64_t cost_pages = 0;        // what they count against the budget
  size_t changed_left = 0;        // new or changed files left for the next check (over budget)
  bool round_done = false;        // the round reached the walk's last file
};

// The files to look at now. New files and files whose size or change time moved since the last
// check come first, in walk order; then unchanged files in a round that goes on where the last
// check stopped, so every cached page of the trees is looked at once per round and a page read
// back on a partition's node (which changes nothing in the inode) is found within a round.
// Each file counts its pages plus kFileCostPages against `budget_pages`; at least one file is
// taken, however large. Files no longer walked are forgotten; the files
// taken are no longer pending (retryLater() puts one back).
BindCheckPlan planBindCheck(const std::vector<WalkedFile>& files, BindCheckMemory& memory,
                            uint64_t budget_pages, uint64_t page_bytes);

// A file that could not be looked at this time (being written, unreadable): looked at again at
// the next check, before the unchanged files.
void retryLater(BindCheckMemory& memory, const WalkedFile& file);

// What the keeper counted since zoned started (for the metrics).
struct KeeperCounters {
  uint64_t checks = 0;
  uint64_t files_checked = 0;           // files looked at, over all checks
  std::map<int, uint64_t> pages_moved;  // by the shared node they went to
  uint64_t pages_failed = 0;            // cached off the shared nodes and not moved
  std::map<std::string, uint64_t, std::less<>> failures;  // by reason: files, walks, checks
  uint64_t files = 0;               // files in the bound trees at the last walk
  uint64_t changed_files_left = 0;  // new or changed files the last check left over
  double last_check_seconds = 0;
};

}  // namespace softzone::zoned

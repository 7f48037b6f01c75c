// A fake kernel for the page-move tests: move_pages(2), migrate_pages(2) and numa_maps as user
// space sees them, with pages placed on nodes by the test. Shared by page_move_test.cpp and
// page_move_migrate_test.cpp.
#pragma once

#include <algorithm>
#include <cerrno>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "softzone/zones/page_placement.h"

namespace softzone::zones::fake {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kBase = 0x7f0000000000;
constexpr pid_t kPid = 4242;

uint64_t pageAt(uint64_t index) { return kBase + index * kPage; }

// One move_pages call that asked for moves (queries are not recorded).
struct MoveCall {
  std::set<int> targets;
  std::vector<uint64_t> pages;
};

// The kernel's do_pages_move as seen from user space: pages are queued until the target changes
// or a page can't be queued (absent, already there, busy), then the queue migrates as one batch.
// A batch that meets a full node fails the whole call with ENOMEM; a batch with pages that won't
// migrate ("sticky": pinned) makes the call return how many pages were not migrated. Either way
// the statuses of that batch and of the pages after it are not written.
class FakeKernel final : public PageSyscalls {
 public:
  void place(uint64_t first, uint64_t count, int node) {
    for (uint64_t i = first; i < first + count; ++i) node_of_[pageAt(i)] = node;
  }
  void setRoom(int node, uint64_t pages) { room_[node] = pages; }
  void setBusy(uint64_t index) { busy_.insert(pageAt(index)); }
  void setSticky(uint64_t index) { sticky_.insert(pageAt(index)); }
  // A page whose PTE NUMA balancing made PROT_NONE, as 6.1 shows it: the status query and
  // move_pages say -ENOENT, migrate_pages and numa_maps see it.
  void setHidden(uint64_t index) { hidden_.insert(pageAt(index)); }
  // The page is skipped by the next `sweeps` migrate_pages calls.
  void setBusyForSweeps(uint64_t index, int sweeps) { busy_sweeps_[pageAt(index)] = sweeps; }
  // A page that appears on `node` once moving has begun, as when khugepaged collapses a huge
  // page on the old node in the middle of a move.
  void placeAtFirstMove(uint64_t index, int node) { late_[pageAt(index)] = node; }
  // A page the first status query asking about it sees as absent, as when compaction has it
  // under migration at that moment.
  void setAbsentAtFirstQuery(uint64_t index) { absent_once_.insert(pageAt(index)); }
  void refuseWith(int err) { refusal_ = err; }
  void clearRefusal() { refusal_ = 0; }
  void queryFailsWith(int err) { query_refusal_ = err; }

  long movePages(pid_t, std::span<void* const> pages, const int* nodes, int* status,
                 int) const override {
    std::lock_guard lock(mutex_);
    if (nodes == nullptr) {
      ++queries_;
      return query(pages, status);
    }
    MoveCall call;
    for (size_t i = 0; i < pages.size(); ++i) {
      call.targets.insert(nodes[i]);
      call.pages.push_back(reinterpret_cast<uint64_t>(pages[i]));
    }
    calls_.push_back(call);
    if (refusal_ != 0) return -refusal_;
    for (const auto& [page, node] : late_) node_of_[page] = node;
    late_.clear();
    return move(pages, nodes, status);
  }

  // Moves every page on `from` to the first node of `to` with room; returns pages left.
  long migratePages(pid_t pid, const NodeSet& from, const NodeSet& to) const override {
    std::lock_guard lock(mutex_);
    if (refusal_ != 0) return -refusal_;
    migrate_args_ = {pid, from.format() + ">" + to.format()};
    migrate_calls_.push_back(migrate_args_.second);
    long left = 0;
    for (auto& [page, node] : node_of_) {
      if (!from.contains(node)) continue;
      if (auto busy = busy_sweeps_.find(page); busy != busy_sweeps_.end() && busy->second > 0) {
        --busy->second;  // isolated by someone else (NUMA balancing) this time
        ++left;
        continue;
      }
      int target = -1;
      for (int candidate : to.ids()) {
        if (target < 0 && room_[candidate] > 0) target = candidate;
      }
      if (target < 0) {
        ++left;
        continue;
      }
      --room_[target];
      node = target;
      hidden_.erase(page);  // the moved page gets a fresh PTE
    }
    return left;
  }

  // numa_maps as the kernel would print it for one range starting at kBase.
  NumaMapsReader numaMaps() const {
    return [this]() -> Result<std::vector<NumaMapsEntry>> {
      std::lock_guard lock(mutex_);
      ++numa_maps_reads_;
      NumaMapsEntry entry{kBase, "default", {}};
      for (const auto& [page, node] : node_of_) ++entry.pages_per_node[node];
      return std::vector<NumaMapsEntry>{entry};
    };
  }

  int nodeOf(uint64_t index) const { return node_of_.at(pageAt(index)); }
  std::vector<MoveCall> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  std::pair<pid_t, std::string> migrateArgs() const { return migrate_args_; }
  // Every migrate_pages call as "FROM>TO", sorted (concurrent calls come in any order).
  std::vector<std::string> migrateCalls() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> calls = migrate_calls_;
    std::sort(calls.begin(), calls.end());
    return calls;
  }
  int queries() const {
    std::lock_guard lock(mutex_);
    return queries_;
  }
  int numaMapsReads() const {
    std::lock_guard lock(mutex_);
    return numa_maps_reads_;
  }

 private:
  long query(std::span<void* const> pages, int* status) const {
    if (query_refusal_ != 0) return -query_refusal_;
    for (size_t i = 0; i < pages.size(); ++i) {
      uint64_t page = reinterpret_cast<uint64_t>(pages[i]);
      auto it = node_of_.find(page);
      status[i] = it == node_of_.end() || hidden_.count(page) != 0 ? -ENOENT : it->second;
      if (absent_once_.erase(page) != 0) status[i] = -ENOENT;
    }
    return 0;
  }

  // Returns 0 when the batch moved, -ENOMEM, or the count of pages left unmigrated.
  long flush(std::vector<size_t>& queue, int node, std::span<void* const> pages,
             int* status) const {
    long failed = 0;
    for (size_t i : queue) {
      uint64_t page = reinterpret_cast<uint64_t>(pages[i]);
      if (sticky_.count(page) != 0) {
        ++failed;
        continue;
      }
      if (room_[node] == 0) return -ENOMEM;
      --room_[node];
      node_of_[page] = node;
    }
    if (failed == 0) {
      for (size_t i : queue) status[i] = node;
    }
    queue.clear();
    return failed;
  }

  long move(std::span<void* const> pages, const int* nodes, int* status) const {
    std::vector<size_t> queue;
    int queue_node = -1;
    for (size_t i = 0; i < pages.size(); ++i) {
      if (!queue.empty() && nodes[i] != queue_node) {
        if (long rc = flush(queue, queue_node, pages, status); rc != 0) {
          return rc < 0 ? rc : rc + static_cast<long>(pages.size() - i);
        }
      }
      uint64_t page = reinterpret_cast<uint64_t>(pages[i]);
      auto it = node_of_.find(page);
      int immediate = 0;
      if (it == node_of_.end() || hidden_.count(page) != 0) {
        immediate = -ENOENT;
      } else if (it->second == nodes[i]) {
        immediate = nodes[i];
      } else if (busy_.count(page) != 0) {
        immediate = -EBUSY;
      }
      if (immediate == 0 && it != node_of_.end()) {
        queue.push_back(i);
        queue_node = nodes[i];
        continue;
      }
      status[i] = immediate;
      if (long rc = flush(queue, queue_node, pages, status); rc != 0) {
        return rc < 0 ? rc : rc + static_cast<long>(pages.size() - i - 1);
      }
    }
    return queue.empty() ? 0 : flush(queue, queue_node, pages, status);
  }

  mutable std::mutex mutex_;
  mutable std::map<uint64_t, int> node_of_;
  mutable std::map<int, uint64_t> room_;
  std::set<uint64_t> busy_;
  std::set<uint64_t> sticky_;
  mutable std::set<uint64_t> hidden_;
  mutable std::map<uint64_t, int> busy_sweeps_;
  mutable std::set<uint64_t> absent_once_;
  mutable std::map<uint64_t, int> late_;
  int refusal_ = 0;
  int query_refusal_ = 0;
  mutable std::vector<MoveCall> calls_;
  mutable int queries_ = 0;
  mutable int numa_maps_reads_ = 0;
  mutable std::pair<pid_t, std::string> migrate_args_;
  mutable std::vector<std::string> migrate_calls_;
};

inline std::vector<MapRange> rangeOfPages(uint64_t count) {
  return {MapRange{kBase, kBase + count * kPage, "rw-p", 0, "00:00", 0, ""}};
}

inline MoveOptions optionsFor(const FakeKernel& kernel, int workers = 1) {
  MoveOptions options;
  options.syscalls = &kernel;
  options.workers = workers;
  return options;
}

inline MoveOptions migrateOptionsFor(const FakeKernel& kernel, int workers) {
  MoveOptions options = optionsFor(kernel, workers);
  options.method = MoveMethod::kMigratePages;
  return options;
}

}  // namespace softzone::zones::fake

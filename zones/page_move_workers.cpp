// Page placement's moving part: move_pages(2) calls per target node, split over worker threads.
#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "page_placement_internal.h"

namespace softzone::zones::internal {
namespace {

// Retries of a target's remaining pages after a call that moved some but not all of them.
constexpr int kMaxPassesPerTarget = 8;

// One target node's share of the pages, or a worker's part of it.
struct WorkItem {
  int node = 0;
  std::vector<void*> pages;
};

// Contiguous slices of `pages` (ascending) per target, each cut into one piece per worker.
// Worker w gets piece w of every slice, starting at slice w so that workers begin on different
// target nodes and don't all allocate from one node at once.
std::vector<std::vector<WorkItem>> planWork(const std::vector<void*>& pages,
                                            const std::vector<TargetShare>& shares, int workers) {
  std::vector<std::vector<WorkItem>> plan(static_cast<size_t>(workers));
  size_t begin = 0;
  for (size_t s = 0; s < shares.size(); ++s) {
    size_t length = shares[s].pages;
    for (size_t w = 0; w < plan.size(); ++w) {
      size_t from = begin + length * w / plan.size();
      size_t to = begin + length * (w + 1) / plan.size();
      if (from == to) continue;
      plan[w].push_back({shares[s].node,
                         {pages.begin() + static_cast<ptrdiff_t>(from),
                          pages.begin() + static_cast<ptrdiff_t>(to)}});
    }
    begin += length;
  }
  for (size_t w = 0; w < plan.size(); ++w) {
    if (!plan[w].empty()) {
      std::rotate(plan[w].begin(), plan[w].begin() + static_cast<ptrdiff_t>(w % plan[w].size()),
                  plan[w].end());
    }
  }
  return plan;
}

// The moving part of movePages: workers run their items through it concurrently; it owns what
// they share (exhausted targets, the first fatal error, the call count).
class MoveRun {
 public:
  MoveRun(const PageSyscalls& syscalls, pid_t pid, int flags, const NodeSet& targets)
      : syscalls_(syscalls), pid_(pid), flags_(flags), targets_(targets.ids()) {}

  void runItems(const std::vector<WorkItem>& items, WorkerLog& log) {
    for (const WorkItem& item : items) {
      if (stop_.load()) return;
      moveToNode(item.pages, item.node, log);
    }
  }

  std::optional<Error> takeFatal() {
    std::lock_guard lock(mutex_);
    return std::move(fatal_);
  }
  uint64_t moveCalls() const { return move_calls_.load(); }

 private:
  // One target's pages: one call, then, when the kernel stopped short, another with what is left
  // (on another target when this one ran out of memory).
  void moveToNode(std::vector<void*> pending, int node, WorkerLog& log) {
    int passes = 0;
    while (!pending.empty() && !stop_.load()) {
      if (isExhausted(node)) {
        std::optional<int> next = nextTarget(node);
        if (!next) return record(pending, ENOMEM, log);
        node = *next;
      }
      std::vector<int> nodes(pending.size(), node);
      std::vector<int> status(pending.size(), kStatusUnset);
      long rc = syscalls_.movePages(pid_, pending, nodes.data(), status.data(), flags_);
      if (rc < 0 && !isRecoverable(static_cast<int>(-rc))) {
        return setFatal(syscallError(static_cast<int>(-rc), "move_pages", pid_));
      }
      ++move_calls_;
      // Pages the kernel did not get to, or could not take right now, are looked at again.
      const int call_error = rc < 0 ? static_cast<int>(-rc) : kNotMigratedErrno;
      bool out_of_memory = rc == -ENOMEM;
      std::vector<void*> unsettled;
      for (size_t i = 0; i < pending.size(); ++i) {
        if (status[i] >= 0) {
          ++log.moved_to[status[i]];
          if (!log.failures.empty()) log.failures.erase(asAddress(pending[i]));
          continue;
        }
        int err = status[i] == kStatusUnset ? call_error : -status[i];
        log.failures[asAddress(pending[i])] = err;
        out_of_memory = out_of_memory || err == ENOMEM;
        if (status[i] == kStatusUnset || isRecoverable(err)) unsettled.push_back(pending[i]);
      }
      if (unsettled.empty()) return;
      auto still = notYetOn(node, unsettled, log);
      if (!still) return setFatal(std::move(still).error());
      bool progressed = still->size() < pending.size();
      if (out_of_memory) {
        // This node is full: the rest goes to the other targets, each tried once more.
        markExhausted(node);
      } else if (!progressed || ++passes >= kMaxPassesPerTarget) {
        return;  // the log says why each page is still where it was
      }
      pending = std::move(*still);
    }
  }

  // Of `pages`, those that are present and not on `node` (the kernel stopped before them, or
  // they are the tails of a huge page it moved whole); counts those that did get there.
  Result<std::vector<void*>> notYetOn(int node, const std::vector<void*>& pages,
                                      WorkerLog& log) const {
    std::vector<int> status(pages.size(), kStatusUnset);
    SZ_CHECK(queryStatuses(syscalls_, pid_, pages, status));
    std::vector<void*> still;
    for (size_t i = 0; i < pages.size(); ++i) {
      if (status[i] == node) {
        ++log.moved_to[node];
        log.failures.erase(asAddress(pages[i]));
      }
      if (status[i] >= 0 && status[i] != node) still.push_back(pages[i]);
    }
    return still;
  }

  void record(const std::vector<void*>& pages, int err, WorkerLog& log) const {
    for (void* page : pages) log.failures[asAddress(page)] = err;
  }

  bool isExhausted(int node) {
    std::lock_guard lock(mutex_);
    return exhausted_.contains(node);
  }

  void markExhausted(int node) {
    std::lock_guard lock(mutex_);
    exhausted_.insert(node);
  }

  // The next target after `node` (cyclically) that still has room.
  std::optional<int> nextTarget(int node) {
    std::lock_guard lock(mutex_);
    auto at = std::find(targets_.begin(), targets_.end(), node);
    size_t start = at == targets_.end() ? 0 : static_cast<size_t>(at - targets_.begin());
    for (size_t i = 1; i <= targets_.size(); ++i) {
      int candidate = targets_[(start + i) % targets_.size()];
      if (!exhausted_.contains(candidate)) return candidate;
    }
    return std::nullopt;
  }

  void setFatal(Error error) {
    std::lock_guard lock(mutex_);
    if (!fatal_) fatal_ = std::move(error);
    stop_.store(true);
  }

  const PageSyscalls& syscalls_;
  const pid_t pid_;
  const int flags_;
  const std::vector<int> targets_;
  std::mutex mutex_;
  NodeSet exhausted_;
  std::optional<Error> fatal_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> move_calls_{0};
};

// Runs the plan, worker 0 on the calling thread.
WorkerLog runPlan(MoveRun& run, const std::vector<std::vector<WorkItem>>& plan) {
  std::vector<WorkerLog> logs(plan.size());
  std::vector<std::thread> threads;
  for (size_t w = 1; w < plan.size(); ++w) {
    if (!plan[w].empty()) threads.emplace_back([&, w] { run.runItems(plan[w], logs[w]); });
  }
  if (!plan.empty()) run.runItems(plan[0], logs[0]);
  for (std::thread& thread : threads) thread.join();
  WorkerLog merged = std::move(logs[0]);
  for (size_t w = 1; w < logs.size(); ++w) merged.merge(logs[w]);
  return merged;
}
}  // namespace

Result<WorkersOutcome> moveOnWorkers(const PageSyscalls& syscalls, pid_t pid, int flags,
                                     const NodeSet& to, const std::vector<void*>& pages,
                                     const std::vector<TargetShare>& shares, int workers) {
  MoveRun run(syscalls, pid, flags, to);
  WorkersOutcome outcome;
  outcome.log = runPlan(run, planWork(pages, shares, workers));
  if (auto fatal = run.takeFatal()) return std::move(*fatal);
  outcome.move_calls = run.moveCalls();
  return outcome;
}

}  // namespace softzone::zones::internal

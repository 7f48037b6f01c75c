// The keeper's choice of files for one check: new and changed files first, then a bounded slice
// of the round over unchanged ones.
#include "softzone/zoned/bind_check.h"

#include <algorithm>
#include <set>

namespace softzone::zoned {
namespace {

using FileKey = std::pair<uint64_t, uint64_t>;

FileKey keyOf(const WalkedFile& file) { return {file.device, file.inode}; }

uint64_t costOf(const WalkedFile& file, uint64_t page_bytes) {
  return (file.size_bytes + page_bytes - 1) / page_bytes + kFileCostPages;
}

// Records this walk in `memory`: new files and files whose size or change time moved are
// pending; files not walked any more are forgotten.
void remember(const std::vector<WalkedFile>& files, BindCheckMemory& memory) {
  std::set<FileKey> walked;
  for (const WalkedFile& file : files) {
    FileKey key = keyOf(file);
    walked.insert(key);
    auto [seen, added] = memory.files.try_emplace(key, SeenFile{file.size_bytes, file.changed_ns});
    if (added) continue;
    if (seen->second.size_bytes != file.size_bytes || seen->second.changed_ns != file.changed_ns) {
      seen->second = SeenFile{file.size_bytes, file.changed_ns, true};
    }
  }
  std::erase_if(memory.files, [&](const auto& entry) { return walked.count(entry.first) == 0; });
}

// Where the round over unchanged files starts: just after the file it stopped at.
size_t roundStart(const std::vector<WalkedFile>& files, const BindCheckMemory& memory) {
  for (size_t i = 0; i < files.size(); ++i) {
    if (keyOf(files[i]) == memory.last_rechecked) return (i + 1) % files.size();
  }
  return 0;
}

}  // namespace

BindCheckPlan planBindCheck(const std::vector<WalkedFile>& files, BindCheckMemory& memory,
                            uint64_t budget_pages, uint64_t page_bytes) {
  remember(files, memory);
  BindCheckPlan plan;
  auto fits = [&](const WalkedFile& file) {
    uint64_t cost = costOf(file, page_bytes);
    if (plan.cost_pages > 0 && plan.cost_pages + cost > budget_pages) return false;
    plan.cost_pages += cost;
    return true;
  };
  for (size_t i = 0; i < files.size(); ++i) {
    SeenFile& seen = memory.files[keyOf(files[i])];
    if (!seen.pending) continue;
    if (fits(files[i])) {
      seen.pending = false;
      plan.changed.push_back(i);
    } else {
      ++plan.changed_left;
    }
  }
  if (files.empty() || plan.changed_left > 0) return plan;
  size_t start = roundStart(files, memory);
  for (size_t step = 0; step < files.size(); ++step) {
    size_t i = (start + step) % files.size();
    // `changed` is in walk order.
    if (std::binary_search(plan.changed.begin(), plan.changed.end(), i)) continue;
    if (!fits(files[i])) break;
    plan.rechecked.push_back(i);
    memory.last_rechecked = keyOf(files[i]);
    if (i + 1 == files.size()) plan.round_done = true;  // the end of the walk: a round is over
  }
  return plan;
}

void retryLater(BindCheckMemory& memory, const WalkedFile& file) {
  auto seen = memory.files.find(keyOf(file));
  if (seen != memory.files.end()) seen->second.pending = true;
}

}  // namespace softzone::zoned

// Pure pieces of binding: where pages go, runs of cached pages, why a page could not move.
#include <cerrno>

#include "softzone/cache/page_cache.h"

namespace softzone::cache {

std::vector<PageRun> runsOf(const std::vector<unsigned char>& cached, bool value) {
  std::vector<PageRun> runs;
  size_t i = 0;
  while (i < cached.size()) {
    if ((cached[i] != 0) != value) {
      ++i;
      continue;
    }
    size_t first = i;
    while (i < cached.size() && (cached[i] != 0) == value) ++i;
    runs.push_back({first, i});
  }
  return runs;
}

std::vector<MoveBatch> planCacheMoves(const std::vector<int>& page_nodes, const NodeSet& targets,
                                      std::map<int, uint64_t>& free_bytes, uint64_t page_bytes) {
  std::vector<size_t> to_move;
  for (size_t i = 0; i < page_nodes.size(); ++i) {
    if (page_nodes[i] >= 0 && !targets.contains(page_nodes[i])) to_move.push_back(i);
  }
  if (to_move.empty() || targets.empty()) return {};
  // Nodes the caller knows nothing about get an equal spread rather than nothing.
  std::map<int, uint64_t> weights;
  if (!free_bytes.empty()) {
    for (int node : targets.ids()) weights[node] = free_bytes.count(node) ? free_bytes[node] : 0;
    bool any = false;
    for (const auto& [node, bytes] : weights) any = any || bytes >= page_bytes;
    if (!any) weights.clear();
  }
  std::vector<MoveBatch> batches;
  size_t next = 0;
  for (const zones::TargetShare& share :
       zones::shareByFreeMemory(to_move.size(), targets, weights)) {
    MoveBatch batch{share.node, {}};
    for (uint64_t k = 0; k < share.pages && next < to_move.size(); ++k) {
      batch.pages.push_back(to_move[next++]);
    }
    if (batch.pages.empty()) continue;
    uint64_t bytes = batch.pages.size() * page_bytes;
    auto it = free_bytes.find(share.node);
    if (it != free_bytes.end()) it->second = it->second > bytes ? it->second - bytes : 0;
    batches.push_back(std::move(batch));
  }
  return batches;
}

std::string_view failReasonName(FailReason reason) {
  switch (reason) {
    case FailReason::kDirty:
      return "dirty";
    case FailReason::kWriteback:
      return "writeback";
    case FailReason::kBusy:
      return "busy";
    case FailReason::kNoPermission:
      return "no permission";
    case FailReason::kNoMemory:
      return "no memory";
    case FailReason::kGone:
      return "gone";
    case FailReason::kBeingWritten:
      return "being written";
    case FailReason::kChanged:
      return "changed since walked";
  }
  return "unknown";
}

FailReason failReasonOfErrno(int err) {
  switch (err) {
    case EACCES:
    case EPERM:
      return FailReason::kNoPermission;
    case ENOMEM:
    case ENOSPC:
      return FailReason::kNoMemory;
    case ENOENT:
    case EFAULT:
      return FailReason::kGone;
    case ESTALE:
      return FailReason::kChanged;
    default:
      // EBUSY, EAGAIN: a reference the kernel could not drop (locked, pinned, being read).
      return FailReason::kBusy;
  }
}

FailReason failReasonOf(const Error& error) {
  if (error.code() == make_error_code(Errc::kMismatch)) return FailReason::kChanged;
  return failReasonOfErrno(error.code().value());
}

FailReason failReasonOf(int err, std::optional<PageFlags> flags) {
  FailReason reason = failReasonOfErrno(err);
  if (reason != FailReason::kBusy || !flags) return reason;
  if (flags->writeback) return FailReason::kWriteback;
  if (flags->dirty) return FailReason::kDirty;
  return reason;
}

}  // namespace softzone::cache

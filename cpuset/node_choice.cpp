// Choosing nodes for a size (pure): the free nodes a new partition gets, the nodes a resize keeps.
#include <algorithm>
#include <cstdlib>

#include "softzone/cpuset/partitions.h"
#include "softzone/zones/size.h"

namespace softzone::cpuset {

Result<NodeSet> pickNodesForSize(const std::vector<NodeCapacity>& free_nodes, uint64_t bytes) {
  auto usable = [](const NodeCapacity& node) {
    return static_cast<uint64_t>(static_cast<double>(node.total_bytes) * (1.0 - kNodeSizeMargin));
  };
  uint64_t all = 0;
  for (const NodeCapacity& node : free_nodes) all += usable(node);
  if (bytes == 0) return badInput("--size: the size is 0");
  if (all < bytes) {
    return infeasible("the free nodes hold " + formatSize(all) + " usable, less than the " +
                      formatSize(bytes) + " asked for (free nodes lose " +
                      std::to_string(static_cast<int>(kNodeSizeMargin * 100)) +
                      "% to holes and kernel use); destroy or shrink a partition first");
  }
  // The shortest run of consecutive ids (one stretch of one physical node, usually).
  std::optional<std::pair<size_t, size_t>> best;
  for (size_t first = 0; first < free_nodes.size(); ++first) {
    uint64_t sum = 0;
    for (size_t last = first; last < free_nodes.size(); ++last) {
      if (last > first && free_nodes[last].id != free_nodes[last - 1].id + 1) break;
      sum += usable(free_nodes[last]);
      if (sum >= bytes) {
        if (!best || last - first < best->second - best->first) best = {first, last};
        break;
      }
    }
  }
  NodeSet picked;
  if (best) {
    for (size_t i = best->first; i <= best->second; ++i) picked.insert(free_nodes[i].id);
    return picked;
  }
  std::vector<NodeCapacity> by_size = free_nodes;
  std::stable_sort(by_size.begin(), by_size.end(),
                   [](const auto& a, const auto& b) { return a.total_bytes > b.total_bytes; });
  uint64_t sum = 0;
  for (const NodeCapacity& node : by_size) {
    if (sum >= bytes) break;
    picked.insert(node.id);
    sum += usable(node);
  }
  return picked;
}

Result<NodeSet> resizeNodesForSize(const NodeSet& current,
                                   const std::vector<NodeCapacity>& all_nodes,
                                   const NodeSet& free_nodes, uint64_t bytes) {
  if (bytes == 0) return badInput("--size: the size is 0");
  std::map<int, uint64_t> usable;
  for (const NodeCapacity& node : all_nodes) {
    usable[node.id] =
        static_cast<uint64_t>(static_cast<double>(node.total_bytes) * (1.0 - kNodeSizeMargin));
  }
  NodeSet result;
  uint64_t sum = 0;
  for (int node : current.ids()) {
    if (sum >= bytes) break;
    result.insert(node);
    sum += usable[node];
  }
  std::vector<int> candidates = free_nodes.ids();
  while (sum < bytes) {
    if (candidates.empty()) {
      return infeasible("the partition and the free nodes hold " + formatSize(sum) +
                        " usable, less than the " + formatSize(bytes) + " asked for");
    }
    // The free node nearest to the partition's nodes, lowest id on a tie.
    auto distance = [&](int id) {
      int best = 1 << 20;
      for (int have : result.ids()) best = std::min(best, std::abs(have - id));
      return best;
    };
    auto nearest = std::min_element(candidates.begin(), candidates.end(),
                                    [&](int a, int b) { return distance(a) < distance(b); });
    result.insert(*nearest);
    sum += usable[*nearest];
    candidates.erase(nearest);
  }
  return result;
}

}  // namespace softzone::cpuset

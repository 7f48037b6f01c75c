// NodeSet: a set of node or CPU ids, parsed and printed in numactl's list syntax ("0-3,7").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "softzone/zones/result.h"

namespace softzone {

class NodeSet {
 public:
  // Ids above this are refused: the kernel's NR_CPUS on Debian is 8192, MAX_NUMNODES 1024.
  static constexpr int kMaxId = 8191;

  NodeSet() = default;
  static NodeSet of(std::initializer_list<int> ids);
  static NodeSet range(int first, int last);  // inclusive; empty when last < first

  // User input ("0-3,7"): an empty list is an error, as is anything numactl would refuse.
  // `what` names the thing for the message ("--nodes", "cpus in [partition.web]").
  static Result<NodeSet> parse(std::string_view text, std::string_view what = "node list");
  // A kernel list file (cpulist, cpuset.mems): may be empty, may end with a newline.
  static Result<NodeSet> parseKernelList(std::string_view text,
                                         std::string_view what = "kernel list");

  // "0-3,7"; "" for the empty set.
  std::string format() const;

  void insert(int id);
  void erase(int id);
  bool contains(int id) const noexcept;
  bool empty() const noexcept { return count_ == 0; }
  int size() const noexcept { return count_; }
  int first() const noexcept;  // -1 when empty
  int last() const noexcept;   // -1 when empty
  std::vector<int> ids() const;

  NodeSet unionWith(const NodeSet& other) const;
  NodeSet intersectionWith(const NodeSet& other) const;
  NodeSet minus(const NodeSet& other) const;
  bool intersects(const NodeSet& other) const noexcept;
  bool isSubsetOf(const NodeSet& other) const noexcept;

  friend bool operator==(const NodeSet& a, const NodeSet& b) noexcept;

 private:
  void recount() noexcept;

  std::vector<uint64_t> words_;  // bit i of word w is id 64*w+i; no trailing zero words
  int count_ = 0;
};

}  // namespace softzone

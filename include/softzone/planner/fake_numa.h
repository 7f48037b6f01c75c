// The numa=fake= kernel parameter's value: parsed the way the kernel reads it, and printed back.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "softzone/zones/result.h"
#include "softzone/zones/size.h"

namespace softzone::planner {

// FAKE_NODE_MIN_SIZE: the kernel raises smaller node sizes to this and aligns sizes down to it.
inline constexpr uint64_t kFakeNodeMinBytes = 32 * kMiB;
// MAX_NUMNODES with CONFIG_NODES_SHIFT=10, the largest shift x86_64 allows.
inline constexpr int kMaxFakeNodes = 1024;

struct FakeNuma {
  enum class Kind {
    kCount,        // "N": N nodes interleaved over all RAM
    kSize,         // "<size>M" / "<size>G": nodes of that size over all RAM
    kPerPhysical,  // "NU": each physical node split into N
  };
  Kind kind = Kind::kCount;
  int count = 0;            // kCount, kPerPhysical
  uint64_t size_bytes = 0;  // kSize
  // The optional ":d,d,..." tail: an emulated distance matrix, row-major.
  std::vector<int> distances;

  friend bool operator==(const FakeNuma&, const FakeNuma&) = default;
};

// Parses what follows "numa=fake=". Only forms the kernel reads the way they look are accepted:
// "512m" or "1024K" would be read by the kernel as a node *count* (it looks for 'M' or 'G' only),
// and "010" as octal, so those are refused with a message saying so.
Result<FakeNuma> parseFakeNumaArg(std::string_view text);

// The parameter value ("8", "512M", "1G", "4U", "2:10,20,20,10"). A size is printed in G when a
// whole number of GiB, else in M, rounded down to a whole MiB (the kernel aligns down further).
std::string formatFakeNumaArg(const FakeNuma& fake);

// For people: "8 nodes over all RAM", "nodes of 512 MiB over all RAM", "4 nodes per physical node".
std::string describeFakeNuma(const FakeNuma& fake);

// "count", "size", "per_physical": stable names for JSON.
std::string_view fakeNumaKindName(FakeNuma::Kind kind);

}  // namespace softzone::planner

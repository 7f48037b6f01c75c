// libFuzzer target for NodeSet::parseKernelList: never crashes, format round-trips, set ops agree.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "softzone/zones/nodeset.h"

using softzone::fuzz::check;

namespace {

// Checks the set operations against a per-id model, splitting the input at its first '|' into
// two lists so both operands come from the fuzzer.
void checkOperations(const softzone::NodeSet& a, const softzone::NodeSet& b) {
  softzone::NodeSet both = a.intersectionWith(b);
  softzone::NodeSet either = a.unionWith(b);
  softzone::NodeSet only_a = a.minus(b);
  int last = std::max(a.last(), b.last());
  bool any_common = false;
  bool a_in_b = true;
  for (int id = 0; id <= last; ++id) {
    bool in_a = a.contains(id);
    bool in_b = b.contains(id);
    check(both.contains(id) == (in_a && in_b), "intersection matches the model");
    check(either.contains(id) == (in_a || in_b), "union matches the model");
    check(only_a.contains(id) == (in_a && !in_b), "minus matches the model");
    any_common |= in_a && in_b;
    a_in_b &= !in_a || in_b;
  }
  check(a.intersects(b) == any_common, "intersects matches the model");
  check(a.isSubsetOf(b) == a_in_b, "isSubsetOf matches the model");
  check(both.size() + either.size() == a.size() + b.size(), "|a&b| + |a|b| == |a| + |b|");
  check(only_a.unionWith(both) == a, "(a - b) | (a & b) == a");
  softzone::NodeSet copy = a;
  for (int id : b.ids()) copy.erase(id);
  check(copy == only_a, "erasing b's ids one by one equals a - b");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t bar = input.find('|');
  std::string_view first = input.substr(0, bar);
  softzone::Result<softzone::NodeSet> parsed = softzone::NodeSet::parseKernelList(first, "cpulist");
  if (!parsed) {
    check(parsed.error().isBadInput(), "parse errors are bad input");
    check(parsed.error().message().rfind("cpulist", 0) == 0, "parse errors start with `what`");
    return 0;
  }
  const softzone::NodeSet& set = *parsed;
  std::string formatted = set.format();
  check(set.empty() == formatted.empty(), "only the empty set formats as \"\"");
  softzone::Result<softzone::NodeSet> again = softzone::NodeSet::parseKernelList(formatted);
  check(again.has_value() && *again == set, "parseKernelList(format(x)) == x");
  softzone::Result<softzone::NodeSet> with_newline =
      softzone::NodeSet::parseKernelList(formatted + "\n");
  check(with_newline.has_value() && *with_newline == set, "a trailing newline is tolerated");
  check(softzone::NodeSet::parse(formatted).has_value() == !set.empty(),
        "parse accepts every non-empty formatted set");
  check(static_cast<int>(set.ids().size()) == set.size(), "size() == ids().size()");

  if (bar != std::string_view::npos) {
    softzone::Result<softzone::NodeSet> other =
        softzone::NodeSet::parseKernelList(input.substr(bar + 1));
    if (other) {
      checkOperations(set, *other);
      checkOperations(*other, set);
    }
  }
  return 0;
}

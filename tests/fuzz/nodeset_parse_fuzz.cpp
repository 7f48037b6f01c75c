// libFuzzer target for NodeSet::parse: never crashes, errors are bad input, format round-trips.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "softzone/zones/nodeset.h"

using softzone::fuzz::check;

namespace {

void checkSetInvariants(const softzone::NodeSet& set) {
  std::vector<int> ids = set.ids();
  check(static_cast<int>(ids.size()) == set.size(), "size() == ids().size()");
  check(set.empty() == ids.empty(), "empty() agrees with ids()");
  check(set.first() == (ids.empty() ? -1 : ids.front()), "first() is the smallest id");
  check(set.last() == (ids.empty() ? -1 : ids.back()), "last() is the largest id");
  check(set.unionWith(set) == set, "x | x == x");
  check(set.intersectionWith(set) == set, "x & x == x");
  check(set.minus(set) == softzone::NodeSet(), "x - x is empty (and has no trailing words)");
  check(set.isSubsetOf(set), "x is a subset of itself");
  check(set.empty() || set.intersects(set), "a non-empty x intersects itself");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  softzone::Result<softzone::NodeSet> parsed = softzone::NodeSet::parse(text, "--nodes");
  if (!parsed) {
    const softzone::Error& error = parsed.error();
    check(error.isBadInput(), "parse errors are bad input");
    check(error.message().rfind("--nodes", 0) == 0, "parse errors start with `what`");
    return 0;
  }
  const softzone::NodeSet& set = *parsed;
  check(!set.empty(), "parse never returns an empty set");
  checkSetInvariants(set);
  std::string formatted = set.format();
  softzone::Result<softzone::NodeSet> again = softzone::NodeSet::parse(formatted);
  check(again.has_value(), "format() output parses");
  check(*again == set, "parse(format(x)) == x");
  check(again->format() == formatted, "format is canonical");
  softzone::Result<softzone::NodeSet> kernel = softzone::NodeSet::parseKernelList(text);
  check(kernel.has_value() && *kernel == set, "parseKernelList accepts what parse accepts");
  return 0;
}

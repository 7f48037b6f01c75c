// libFuzzer target for parseBuddyinfo: never crashes, errors are bad input naming what is wrong,
// and what parses re-parses to the same free bytes when written back as order-0 counts.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "softzone/zones/buddyinfo.h"

using softzone::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  constexpr uint64_t kPage = 4096;
  auto free = softzone::zones::parseBuddyinfo(text, kPage);
  if (!free) {
    check(free.error().isBadInput(), "parse errors are bad input");
    check(!free.error().message().empty(), "parse errors say why");
    return 0;
  }
  check(!free->empty(), "a parsed file has a node");
  std::string again;
  for (const auto& [node, bytes] : *free) {
    check(node >= 0, "nodes are not negative");
    check(bytes % kPage == 0, "free bytes are whole pages");
    again +=
        "Node " + std::to_string(node) + ", zone Normal " + std::to_string(bytes / kPage) + "\n";
  }
  auto reparsed = softzone::zones::parseBuddyinfo(again, kPage);
  check(reparsed.has_value() && *reparsed == *free, "order-0 counts parse to the same bytes");
  return 0;
}

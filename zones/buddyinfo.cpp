// /proc/buddyinfo as free bytes per node (include/softzone/zones/buddyinfo.h).
#include "softzone/zones/buddyinfo.h"

#include <unistd.h>

#include <string>
#include <vector>

#include "softzone/zones/kernel_files.h"
#include "softzone/zones/text_parse.h"

namespace softzone::zones {
namespace {

// The free lists go up to order 10 on x86 (NR_PAGE_ORDERS 11); more than 64 could not be
// shifted into a page count.
constexpr size_t kMaxOrders = 64;

std::vector<std::string_view> blankSeparated(std::string_view line) {
  std::vector<std::string_view> tokens;
  size_t at = 0;
  while (at < line.size()) {
    while (at < line.size() && isBlank(line[at])) ++at;
    size_t start = at;
    while (at < line.size() && !isBlank(line[at])) ++at;
    if (at > start) tokens.push_back(line.substr(start, at - start));
  }
  return tokens;
}

Error badLine(size_t line_no, const std::string& why) {
  return badInput("line " + std::to_string(line_no) + ": " + why);
}

// One zone's free pages: the counts of blocks of 1, 2, 4, ... pages.
Result<uint64_t> freePages(const std::vector<std::string_view>& counts, size_t line_no) {
  if (counts.empty()) return badLine(line_no, "no free counts after the zone's name");
  if (counts.size() > kMaxOrders) return badLine(line_no, "more than 64 orders");
  uint64_t pages = 0;
  for (size_t order = 0; order < counts.size(); ++order) {
    auto blocks = parseNumber<uint64_t>(counts[order]);
    if (!blocks) {
      return badLine(line_no, "order " + std::to_string(order) + " count \"" +
                                  std::string(counts[order]) + "\" is not a number");
    }
    uint64_t block_pages = uint64_t{1} << order;
    if (*blocks > (UINT64_MAX - pages) / block_pages) {
      return badLine(line_no, "the free counts overflow");
    }
    pages += *blocks * block_pages;
  }
  return pages;
}

}  // namespace

Result<std::map<int, uint64_t>> parseBuddyinfo(std::string_view text, uint64_t page_size) {
  std::map<int, uint64_t> pages_by_node;
  Status parsed = forEachLine(text, [&](std::string_view line, size_t line_no) -> Status {
    std::vector<std::string_view> tokens = blankSeparated(line);
    if (tokens.size() < 4 || tokens[0] != "Node" || tokens[2] != "zone" || tokens[1].size() < 2 ||
        tokens[1].back() != ',') {
      return badLine(line_no, "not \"Node N, zone NAME COUNTS...\"");
    }
    auto node = parseNumber<int>(tokens[1].substr(0, tokens[1].size() - 1));
    if (!node || *node < 0) return badLine(line_no, "the node is not a number");
    std::vector<std::string_view> counts(tokens.begin() + 4, tokens.end());
    SZ_TRY(pages, freePages(counts, line_no));
    uint64_t& sum = pages_by_node[*node];
    if (pages > UINT64_MAX - sum)
      return badLine(line_no, "node " + std::to_string(*node) + "'s free counts overflow");
    sum += pages;
    return {};
  });
  if (!parsed) return std::move(parsed).error();
  if (pages_by_node.empty()) return badInput("no \"Node N, zone\" line");
  std::map<int, uint64_t> bytes;
  for (const auto& [node, pages] : pages_by_node) {
    if (page_size != 0 && pages > UINT64_MAX / page_size) {
      return badInput("node " + std::to_string(node) + "'s free pages overflow in bytes");
    }
    bytes[node] = pages * page_size;
  }
  return bytes;
}

Result<std::map<int, uint64_t>> readNodeFreeBytesAt(const FsRoot& fs) {
  SZ_TRY(text, fs.readFile(kernel::kProcBuddyinfo));
  auto free = parseBuddyinfo(text, static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)));
  if (!free) return std::move(free).error().withContext(fs.hostPath(kernel::kProcBuddyinfo));
  return free;
}

}  // namespace softzone::zones

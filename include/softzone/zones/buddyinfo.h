// Free memory of every node from one file: /proc/buddyinfo, the buddy allocator's free lists.
// A 64-node machine's free memory is one read here against 64 reads of nodeN/meminfo, which is
// what a daemon sampling every second pays for (docs/zoned.md, "What a sample reads").
#pragma once

#include <cstdint>
#include <map>
#include <string_view>

#include "softzone/zones/fs_root.h"
#include "softzone/zones/result.h"

namespace softzone::zones {

// /proc/buddyinfo's lines, "Node N, zone NAME C0 C1 ... Ck" (Ck free blocks of 2^k pages), as
// free bytes per node: the sum over each node's zones of Ck << k pages of `page_size` bytes.
// That is the count nodeN/meminfo's MemFree reports (NR_FREE_PAGES), but for pages in pageblocks
// isolated while memory is being migrated or offlined. Any line off that layout, an order past
// 63, a count that overflows, or no line at all is bad input naming the line.
Result<std::map<int, uint64_t>> parseBuddyinfo(std::string_view text, uint64_t page_size);

// parseBuddyinfo of the tree's /proc/buddyinfo with the machine's page size. A node holding no
// populated zone has no line, and so no entry: callers that expect memory on it must say so.
Result<std::map<int, uint64_t>> readNodeFreeBytesAt(const FsRoot& fs);

}  // namespace softzone::zones

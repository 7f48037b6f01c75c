// How much one readahead(2) call reads from a file's block device, from its queue in sysfs.
#include <sys/sysmacros.h>

#include <algorithm>

#include "softzone/cache/page_cache.h"
#include "softzone/zones/text_parse.h"

namespace softzone::cache {
namespace {

// A queue attribute in KiB; nullopt when missing or not a number.
std::optional<uint64_t> queueKib(const FsRoot& fs, const std::string& queue, const char* name) {
  auto text = fs.readAttribute(queue + "/" + name);
  if (!text) return std::nullopt;
  return parseNumber<uint64_t>(*text);
}

}  // namespace

// The kernel's force_page_cache_ra() cuts a readahead(2) call at max(bdi->io_pages,
// ra_pages): io_pages is the queue's max_sectors_kb, ra_pages its read_ahead_kb (a file's own
// readahead state starts from it). Bigger calls are cut short and the rest of the chunk is left
// to page-by-page faults; smaller ones cost a request (and under emulation an interrupt) each.
std::optional<uint64_t> readaheadCallBytesAt(const FsRoot& fs, dev_t device) {
  std::string dir =
      "/sys/dev/block/" + std::to_string(major(device)) + ":" + std::to_string(minor(device));
  // A whole disk has its queue; a partition's is its disk's, one directory up.
  for (const std::string& queue : {dir + "/queue", dir + "/../queue"}) {
    auto max_sectors = queueKib(fs, queue, "max_sectors_kb");
    auto read_ahead = queueKib(fs, queue, "read_ahead_kb");
    if (!max_sectors && !read_ahead) continue;
    uint64_t kib = std::max(max_sectors.value_or(0), read_ahead.value_or(0));
    if (kib == 0) return std::nullopt;
    return kib << 10;
  }
  return std::nullopt;
}

}  // namespace softzone::cache

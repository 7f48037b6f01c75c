// Exact per-node reclaim: a hist trigger on vmscan:mm_vmscan_lru_shrink_inactive keyed by nid.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "softzone/zones/fs_root.h"
#include "softzone/zones/result.h"

namespace softzone::report {

// The trigger softzone installs; the kernel sums in place, so reading it costs one file read
// however much reclaim happened (a streaming reader would see every event).
inline constexpr std::string_view kReclaimHistTrigger =
    "hist:keys=nid:vals=nr_scanned,nr_reclaimed";
// The event's directory, relative to the tracefs mount.
inline constexpr std::string_view kReclaimEventDir = "events/vmscan/mm_vmscan_lru_shrink_inactive";
// Where tracefs is found: its own mount, then the old place under debugfs.
inline constexpr std::string_view kTracefsDebugfs = "/sys/kernel/debug/tracing";

struct NodeReclaim {
  uint64_t passes = 0;  // hitcount: how often the inactive LRU of the node was shrunk
  uint64_t scanned = 0;
  uint64_t reclaimed = 0;
};

struct ReclaimHistogram {
  bool found = false;  // our trigger is in the hist file
  std::map<int, NodeReclaim> nodes;
  uint64_t dropped = 0;  // events the histogram could not store (table full): then not exact
};

// The hist file of the event. Finds the section whose "# trigger info:" has keys=nid and both
// vals; other triggers' sections are skipped. Malformed entry lines of our section are bad input.
Result<ReclaimHistogram> parseReclaimHist(std::string_view text);

// Where tracefs is under the root, nullopt when neither place has the event.
std::optional<std::string> findTracefsAt(const FsRoot& fs);

// Reads our histogram (found=false when no trigger of ours is installed).
Result<ReclaimHistogram> readReclaimHistAt(const FsRoot& fs, const std::string& tracefs);

// Installs the trigger unless it is there. Returns true when it was installed now (counting
// starts now). Needs root (tracefs is root-only by default); errors keep the errno.
Result<bool> ensureReclaimTriggerAt(const FsRoot& fs, const std::string& tracefs);

// Removes the trigger ensureReclaimTriggerAt installs. Returns false when no trigger keyed by nid
// was there, true when it is gone now; an error when one is still there after the removal (a
// trigger with the same keys but other options, which the kernel does not match).
Result<bool> removeReclaimTriggerAt(const FsRoot& fs, const std::string& tracefs);

}  // namespace softzone::report

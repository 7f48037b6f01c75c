// zoned's keeper of the shared zone: every bind_check it walks the spec's [shared] bind trees and
// moves their cached pages found off the shared zone's nodes back there (new and changed files
// first, then a bounded round over the rest: zoned/bind_check.cpp chooses), through the cache
// library's walk and bind, which read nothing in. --dry-run prints what it would move.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "softzone/cache/page_cache.h"
#include "softzone/cpuset/zone_state.h"
#include "softzone/planner/spec.h"
#include "softzone/zoned/bind_check.h"
#include "softzone/zoned/config.h"
#include "softzone/zones/fs_root.h"

namespace softzone::zoned {

class SharedKeeper {
 public:
  // Decisions and failures go to `log`; with `dry_run` what it would move goes to `out`.
  SharedKeeper(const FsRoot& fs, bool dry_run, std::ostream& out, std::ostream& log)
      : fs_(fs), dry_run_(dry_run), out_(out), log_(log) {}

  // Checks the trees when a check is due at `now_ms` (the first call, then bind_check after the
  // previous one); nothing when the spec binds nothing or bind_check is 0. Counts into
  // `counters`. False when the check failed as a whole or a file could not be looked at or
  // wholly moved (said in the log and counted by reason).
  bool checkIfDue(int64_t now_ms, const cpuset::MachineZones& zones, const planner::Spec& spec,
                  const ZonedConfig& config, KeeperCounters& counters);

 private:
  bool check(const cpuset::MachineZones& zones, const planner::Spec& spec,
             const ZonedConfig& config, KeeperCounters& counters);
  // The bound trees' files. A path that cannot be walked (removed, no permission) is counted and
  // logged and `whole` cleared, and the other trees are still kept; nullopt when none walked.
  std::optional<std::vector<cache::TreeFile>> walkBoundTrees(const std::vector<std::string>& paths,
                                                             KeeperCounters& counters, bool& whole);
  // Counts the files a check could not look at or wholly move, and has them looked at again.
  bool countFailures(const cache::BindReport& report, const std::vector<cache::TreeFile>& looked_at,
                     const std::vector<WalkedFile>& walked_at, KeeperCounters& counters);
  bool tellWhatWouldMove(const std::vector<cache::TreeFile>& looked_at, const NodeSet& targets,
                         KeeperCounters& counters);
  // Counts one failure under `reason` and logs `what` (once a minute while it stays the same).
  void fail(KeeperCounters& counters, const std::string& reason, const std::string& what);
  void say(const std::string& what);

  const FsRoot& fs_;
  bool dry_run_;
  std::ostream& out_;
  std::ostream& log_;
  BindCheckMemory memory_;
  int64_t last_check_ms_ = -1;
  // A failure said in the log is said again only when it changes or after a minute.
  std::string last_failure_;
  int64_t last_failure_ms_ = 0;
  int64_t now_ms_ = 0;
};

}  // namespace softzone::zoned

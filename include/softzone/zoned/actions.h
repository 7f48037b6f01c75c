// zoned's hands: a decision carried out through zonectl's own resize path, under the same lock and
// journal, after checking that the machine still looks as it did when the decision was taken.
#pragma once

#include <ostream>
#include <vector>

#include "softzone/cpuset/cgroup.h"
#include "softzone/zoned/policy.h"
#include "softzone/zones/fs_root.h"

namespace softzone::zoned {

// Carries out a grow, a take-over or a give-back (the borrower's shrink alone, checked the same).
// Takes the operation lock (waiting for a running zonectl), completes any interrupted operation
// first, then re-reads the zones: a decision the machine no longer matches (the node is not where
// it was, a partition is gone) fails with nothing changed. A take-over shrinks the donor first -
// its pages on the node moved to its other nodes and checked, the shrink rolled back when any is
// left - and only then grows the partition. Returns the moves done, in order (a take-over that
// fails after the shrink returns the one move done and the node stays free). `now_ms` stamps the
// moves.
struct ActionResult {
  std::vector<Move> moves;
  Status status;  // the failure, when one step failed
};
ActionResult carryOut(const FsRoot& fs, cpuset::CgroupMode mode, const Decision& decision,
                      int64_t now_ms, std::ostream& log);

}  // namespace softzone::zoned

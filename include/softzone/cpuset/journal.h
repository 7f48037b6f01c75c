// The journal: one file in /run/softzone saying which multi-step operation is under way, with
// what it needs to be completed or rolled back by the next run (zonectl recover).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "softzone/zones/fs_root.h"
#include "softzone/zones/result.h"

namespace softzone::cpuset {

inline constexpr std::string_view kJournalFile = "/run/softzone/journal.json";

struct JournalEntry {
  std::string op;       // "create", "resize", "destroy", "apply"
  nlohmann::json args;  // what the operation was asked (names, node lists as strings)
  std::string step;     // the last step done ("" when none yet)
  // The cgroup parent the operation ran under (relative to the mount): recovery works there,
  // not wherever the state file or $SOFTZONE_CGROUP_PARENT point now. "" in journals written
  // before it was recorded.
  std::string parent;
};

// Pure: JSON text <-> entry. A malformed journal is kMismatch.
Result<JournalEntry> parseJournal(std::string_view text);
std::string formatJournal(const JournalEntry& entry);

// nullopt when no operation is under way.
Result<std::optional<JournalEntry>> readJournalAt(const FsRoot& fs);
// Written atomically before the first step and after each one.
Status writeJournalAt(const FsRoot& fs, const JournalEntry& entry);
// The operation is complete (or rolled back).
Status clearJournalAt(const FsRoot& fs);

}  // namespace softzone::cpuset

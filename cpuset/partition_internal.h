// What the partition operations' sources share: journal steps, their run and rollback, helpers.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "softzone/cpuset/partitions.h"

namespace softzone::cpuset {

using json = nlohmann::json;

// The partition's cgroup, under the session's parent.
std::string cgroupOf(const Session& session, const std::string& name);

// Nodes in `wanted` that are neither free nor in `own`: bad input naming their owners.
Status checkNodesAvailable(const MachineZones& zones, const NodeSet& wanted, const NodeSet& own,
                           std::string_view what);

// --- the journal as operations write it (journal_steps.cpp) ---

// Writes the journal for `entry`; inside apply (session.apply_journal), as apply's current action.
Status journalStep(Session& session, JournalEntry& entry, const std::string& step);
// An operation that neither completed nor rolled back: exit 1, naming the journal left.
Error journalKept(const Session& session, const Error& error, std::string_view what);
Status finishJournal(Session& session);

Result<NodeSet> nodesArg(const json& args, const char* key);
std::string stringArg(const json& args, const char* key);
std::optional<uint64_t> bytesArg(const json& args, const char* key);
NodeSet jsonNodes(const json& value);

// --- each operation's forward path (safe to run again from any step) and its rollback ---

Status runCreate(Session& session, JournalEntry& entry);
Status rollBackCreate(Session& session, const std::string& name);
Status runResize(Session& session, JournalEntry& entry, ResizeReport& report);
Status rollBackResize(Session& session, const json& args);
Status runDestroy(Session& session, JournalEntry& entry, DestroyReport& report);
Status runAttach(Session& session, JournalEntry& entry, AttachReport& report);
// An attach is not rolled back: what moved in stays, and is finished (attach.cpp).
Result<std::string> recoverAttach(Session& session, const JournalEntry& entry);

// What running a journaled operation came to when it did not end half-way: completed, or
// rolled back (`ran` then holds why it had to be).
struct EntryOutcome {
  Status ran;
  std::string line;  // "completed: ..." or "rolled back: ..."
};

// Runs one journaled operation from its journal entry (recovery.cpp).
Result<EntryOutcome> runEntry(Session& session, JournalEntry& entry);

// Finishes an interrupted apply (apply_run.cpp).
Result<std::vector<std::string>> recoverApply(Session& session, const JournalEntry& entry);

// The pages of `pid` that `leave` keeps where they are; nullptr when none (migration.cpp).
const zones::PagesToLeave* pagesLeftBy(const std::vector<zones::PagesToLeave>& leave, pid_t pid);

}  // namespace softzone::cpuset

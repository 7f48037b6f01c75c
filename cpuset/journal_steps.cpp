// The journal as the operations write it: one step at a time, inside apply as its current action.
#include "partition_internal.h"
#include "softzone/zones/kernel_files.h"

namespace softzone::cpuset {

namespace {

std::string journalPrefix(const std::string& op) { return op + "."; }

}  // namespace

// Writes the journal for `entry`; inside apply, as apply's current action.
Status journalStep(Session& session, JournalEntry& entry, const std::string& step) {
  entry.step = step;
  entry.parent = session.zones.parent;
  if (session.apply_journal) {
    JournalEntry wrapped = *session.apply_journal;
    wrapped.parent = session.zones.parent;
    wrapped.args["current"] = {{"op", entry.op}, {"args", entry.args}, {"step", entry.step}};
    SZ_CHECK(writeJournalAt(*session.fs, wrapped));
  } else {
    SZ_CHECK(writeJournalAt(*session.fs, entry));
  }
  if (!step.empty()) stopPointForTests(journalPrefix(entry.op) + step);
  return {};
}

// An operation that neither completed nor rolled back: exit 1 (never 2: the request was fine),
// naming what failed and the journal left for the next run.
// Inside apply, the apply (or its recovery) says so once for all.
Error journalKept(const Session& session, const Error& error, std::string_view what) {
  if (session.apply_journal) return Error(error).withContext(what);
  std::error_code code = error.isBadInput() ? make_error_code(Errc::kMismatch) : error.code();
  return Error(code, std::string(what) + ": " + error.message() + "; the journal " +
                         std::string(kJournalFile) +
                         " stays: fix the cause and run `zonectl recover`");
}

Status finishJournal(Session& session) {
  if (session.apply_journal) {
    // Inside apply: the action is done; apply's own "done" index moves on right after.
    session.apply_journal->args.erase("current");
    return writeJournalAt(*session.fs, *session.apply_journal);
  }
  return clearJournalAt(*session.fs);
}

Result<NodeSet> nodesArg(const json& args, const char* key) {
  auto it = args.find(key);
  if (it == args.end() || !it->is_string()) {
    return mismatch(std::string("the journal has no \"") + key + "\"");
  }
  return NodeSet::parseKernelList(it->get<std::string>(), key);
}

std::string stringArg(const json& args, const char* key) {
  auto it = args.find(key);
  return it != args.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<uint64_t> bytesArg(const json& args, const char* key) {
  auto it = args.find(key);
  if (it == args.end() || !it->is_number_unsigned()) return std::nullopt;
  return it->get<uint64_t>();
}

NodeSet jsonNodes(const json& value) {
  if (!value.is_string()) return NodeSet();
  return NodeSet::parseKernelList(value.get<std::string>(), "journal").value_or(NodeSet());
}

}  // namespace softzone::cpuset

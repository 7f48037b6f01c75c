// Running a journaled operation from its entry, and recovering the one a killed run left.
#include "partition_internal.h"
#include "softzone/zones/kernel_files.h"

namespace softzone::cpuset {

namespace {

// What a completed resize did on the released nodes, for recovery's report.
std::string resizeLine(const std::string& name, const json& args, const ResizeReport& report) {
  std::string line = "completed: resize " + name + " to nodes " + stringArg(args, "to");
  if (report.released.empty()) return line;
  line += "; nodes " + report.released.format() +
          " released: " + std::to_string(report.migration.pages_moved) + " pages moved, " +
          (report.verified ? std::to_string(report.migration.pages_left) + " left"
                           : std::string("not verified"));
  for (const std::string& note : report.notes) line += "; " + note;
  return line;
}

}  // namespace

// Runs one journaled operation from its journal entry (fresh or found by recovery). An error
// means it neither completed nor rolled back (the rollback or a destroy failed): the journal
// must stay for the next run.
Result<EntryOutcome> runEntry(Session& session, JournalEntry& entry) {
  std::string name = stringArg(entry.args, "name");
  if (entry.op == "create") {
    Status created = runCreate(session, entry);
    if (created) return EntryOutcome{{}, "completed: create " + name};
    Status undone = rollBackCreate(session, name);
    if (!undone) {
      return std::move(undone).error().withContext("rolling back create " + name +
                                                   " after: " + created.error().message());
    }
    std::string why = created.error().message();
    return EntryOutcome{std::move(created), "rolled back: create " + name + " (" + why + ")"};
  }
  if (entry.op == "resize") {
    ResizeReport report;
    Status resized = runResize(session, entry, report);
    if (resized) return EntryOutcome{{}, resizeLine(name, entry.args, report)};
    Status undone = rollBackResize(session, entry.args);
    if (!undone) {
      return std::move(undone).error().withContext("rolling back resize " + name +
                                                   " after: " + resized.error().message());
    }
    std::string line = "rolled back: resize " + name + " (nodes " + stringArg(entry.args, "from") +
                       " again: " + resized.error().message() + ")";
    return EntryOutcome{std::move(resized), line};
  }
  if (entry.op == "destroy") {
    DestroyReport report;
    Status destroyed = runDestroy(session, entry, report);
    if (!destroyed) return std::move(destroyed).error().withContext("destroying " + name);
    return EntryOutcome{{}, "completed: destroy " + name};
  }
  if (entry.op == "attach") {
    SZ_TRY(line, recoverAttach(session, entry));
    return EntryOutcome{{}, line};
  }
  return mismatch("the journal names an unknown operation " + quoteInput(entry.op));
}

// Completes or rolls back the journal's operation under the cgroup parent it recorded. When it
// does neither (a failed rollback, a destroy that fails again), the journal stays and the error
// says what failed: the next run tries again, and nothing reads the failure as nothing to do.
Result<std::vector<std::string>> recoverEntry(Session& session, JournalEntry entry) {
  if (!entry.parent.empty()) session.zones.parent = entry.parent;
  Result<std::vector<std::string>> done = std::vector<std::string>();
  if (entry.op == "apply") {
    done = recoverApply(session, entry);
  } else {
    auto outcome = runEntry(session, entry);
    if (outcome) {
      SZ_CHECK(clearJournalAt(*session.fs));
      done = std::vector<std::string>{outcome->line};
    } else {
      done = std::move(outcome).error();
    }
  }
  if (!done) return journalKept(session, done.error(), "recovering the interrupted " + entry.op);
  SZ_CHECK(reloadSession(session));
  return done;
}

Result<std::vector<std::string>> recoverJournal(Session& session) {
  SZ_TRY(found, readJournalAt(*session.fs));
  if (!found) return std::vector<std::string>{};
  // The journal is zonectl's own file, but a value of the wrong type in it (a hand edit, a
  // damaged disk) must end in a message, not in the JSON library's exception.
  try {
    return recoverEntry(session, *found);
  } catch (const nlohmann::json::exception& error) {
    return mismatch("the journal " + std::string(kJournalFile) + " is damaged (" + error.what() +
                    "); check the partitions with `zonectl status` and remove it");
  }
}

}  // namespace softzone::cpuset

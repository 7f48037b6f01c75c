// Running an apply under one journal, and finishing one a killed run left half-way.
#include "partition_internal.h"

namespace softzone::cpuset {

namespace {

json partitionJson(const DesiredPartition& p) {
  json out = {{"name", p.name},
              {"nodes", p.nodes.format()},
              {"cpus", p.cpus.format()},
              {"mem_hardwall", p.mem_hardwall}};
  if (p.min_bytes) out["min_bytes"] = *p.min_bytes;
  if (p.max_bytes) out["max_bytes"] = *p.max_bytes;
  return out;
}

DesiredPartition partitionFromJson(const json& value) {
  DesiredPartition p;
  p.name = stringArg(value, "name");
  p.nodes = jsonNodes(value.value("nodes", json()));
  p.cpus = jsonNodes(value.value("cpus", json()));
  p.mem_hardwall = value.value("mem_hardwall", false);
  p.min_bytes = bytesArg(value, "min_bytes");
  p.max_bytes = bytesArg(value, "max_bytes");
  return p;
}

json zoneJson(const StateZone& zone) {
  return {{"nodes", zone.nodes.format()}, {"cpus", zone.cpus.format()}, {"bind", zone.bind}};
}

StateZone zoneFromJson(const json& value) {
  StateZone zone{
      jsonNodes(value.value("nodes", json())), jsonNodes(value.value("cpus", json())), {}};
  for (const json& path : value.value("bind", json::array())) {
    if (path.is_string()) zone.bind.push_back(path.get<std::string>());
  }
  return zone;
}

// Writes the desired system and shared zones (and the spec's name) into the state file.
Status writeZonesState(Session& session, const json& desired) {
  StateFile state = baseState(session);
  state.system = zoneFromJson(desired.value("system", json::object()));
  auto shared = desired.find("shared");
  if (shared != desired.end() && shared->is_object()) {
    state.shared = zoneFromJson(*shared);
  } else {
    state.shared.reset();
  }
  state.spec = stringArg(desired, "spec");
  SZ_CHECK(writeStateFileAt(*session.fs, state));
  return reloadSession(session);
}

// Settings that are not nodes: CPUs, mem_hardwall, min/max (one cgroup write, one state write).
Status updatePartition(Session& session, const DesiredPartition& target) {
  std::string cgroup = cgroupOf(session, target.name);
  SZ_TRY(mems, session.backend->readMems(cgroup));
  SZ_CHECK(session.backend->configureCgroup(
      cgroup, CgroupSettings{mems, target.cpus, target.mem_hardwall}));
  StateFile state = baseState(session);
  state.putPartition(
      {target.name, mems, target.cpus, target.min_bytes, target.max_bytes, target.mem_hardwall});
  SZ_CHECK(writeStateFileAt(*session.fs, state));
  return reloadSession(session);
}

Status runAction(Session& session, const ApplyAction& action, std::vector<std::string>& done) {
  const DesiredPartition& target = action.target;
  const ZoneView* zone = session.zones.find(target.name);
  bool exists = zone != nullptr && zone->kind == ZoneKind::kPartition;
  if (action.verb == "destroy") {
    if (exists) {
      auto destroyed = destroyPartition(session, target.name, "", /*force=*/false);
      if (!destroyed) return std::move(destroyed).error();
    }
    done.push_back("destroyed " + target.name);
    return {};
  }
  if (action.verb == "create" && !exists) {
    SZ_CHECK(createPartition(
        session, CreateRequest{target.name, target.nodes, target.cpus, target.mem_hardwall,
                               target.min_bytes, target.max_bytes}));
    done.push_back("created " + target.name + " on nodes " + target.nodes.format());
    return {};
  }
  if (!exists) return mismatch("partition " + target.name + " vanished during apply");
  if (action.verb == "shrink" || action.verb == "resize" || action.verb == "create") {
    SZ_TRY(report, resizePartition(session, target.name, target.nodes, ResizeOptions{}));
    done.push_back(action.verb + " " + target.name + ": nodes " + report.from.format() + " -> " +
                   report.to.format() + ", " + std::to_string(report.migration.pages_moved) +
                   " pages moved");
    if (action.verb == "shrink") return {};
  }
  SZ_CHECK(updatePartition(session, target));
  if (action.verb == "update") done.push_back("updated " + target.name);
  return {};
}

json actionJson(const ApplyAction& action) {
  return {{"verb", action.verb},
          {"target", partitionJson(action.target)},
          {"from", action.from.format()}};
}

ApplyAction actionFromJson(const json& value) {
  return ApplyAction{stringArg(value, "verb"), partitionFromJson(value.value("target", json())),
                     jsonNodes(value.value("from", json()))};
}

// Runs the actions of the session's apply journal from its "done" index.
Status continueApply(Session& session, std::vector<std::string>& done) {
  std::optional<JournalEntry>& outer = session.apply_journal;
  json& args = outer->args;
  if (!args.value("zones_done", false)) {
    SZ_CHECK(writeZonesState(session, args.value("desired", json::object())));
    args["zones_done"] = true;
    SZ_CHECK(writeJournalAt(*session.fs, *outer));
    stopPointForTests("apply.zones");
  }
  const json actions = args.value("actions", json::array());
  for (size_t i = args.value("done", 0); i < actions.size(); ++i) {
    SZ_CHECK(runAction(session, actionFromJson(actions[i]), done));
    args["done"] = i + 1;
    args.erase("current");
    SZ_CHECK(writeJournalAt(*session.fs, *outer));
    stopPointForTests("apply.action." + std::to_string(i + 1));
  }
  // The spec's settings once more: a recovered create or resize writes its own record.
  SZ_CHECK(writeZonesState(session, args.value("desired", json::object())));
  return {};
}

// Whether the session's apply journal still names an action that neither completed nor rolled
// back (its own journal step then stays in the apply entry).
bool applyActionUnresolved(const Session& session) {
  return session.apply_journal && session.apply_journal->args.contains("current");
}

// Puts an apply's journal entry in the session while its actions run, and takes it out again on
// every way out: the session's next operation writes a journal of its own.
class ApplyJournalScope {
 public:
  ApplyJournalScope(Session& session, JournalEntry entry) : session_(session) {
    session_.apply_journal = std::move(entry);
  }
  ~ApplyJournalScope() { session_.apply_journal.reset(); }
  ApplyJournalScope(const ApplyJournalScope&) = delete;
  ApplyJournalScope& operator=(const ApplyJournalScope&) = delete;

 private:
  Session& session_;
};

}  // namespace

// Finishes an interrupted apply: its current action, then the actions not yet done, then its
// zones. A current action that neither completes nor rolls back leaves the journal in place.
Result<std::vector<std::string>> recoverApply(Session& session, const JournalEntry& entry) {
  std::vector<std::string> done;
  Status rest;
  bool unresolved = false;
  {
    ApplyJournalScope scope(session, entry);
    if (auto current = entry.args.find("current"); current != entry.args.end()) {
      JournalEntry action{current->value("op", ""), current->value("args", json::object()),
                          current->value("step", ""), entry.parent};
      SZ_TRY(outcome, runEntry(session, action));
      done.push_back(outcome.line);
      session.apply_journal->args.erase("current");
    }
    SZ_CHECK(reloadSession(session));
    if (!entry.parent.empty()) session.zones.parent = entry.parent;
    rest = continueApply(session, done);
    unresolved = !rest && applyActionUnresolved(session);
  }
  if (unresolved) return std::move(rest).error();
  SZ_CHECK(clearJournalAt(*session.fs));
  SZ_CHECK(reloadSession(session));
  // Every action before the failed one is done and the failed one rolled back: the zones are
  // sound, the spec is not reached; `apply` again says why.
  if (!rest) done.push_back("apply could not finish (rolled back): " + rest.error().message());
  return done;
}

Status runApply(Session& session, const DesiredZones& desired, const ApplyPlan& plan,
                std::vector<std::string>& done) {
  json desired_json = {{"system", zoneJson(desired.system)},
                       {"shared", desired.shared ? zoneJson(*desired.shared) : json(nullptr)},
                       {"spec", desired.spec}};
  json actions = json::array();
  for (const ApplyAction& action : plan.actions) actions.push_back(actionJson(action));
  Status ran;
  bool unresolved = false;
  {
    ApplyJournalScope scope(
        session,
        JournalEntry{
            "apply",
            {{"desired", desired_json}, {"actions", actions}, {"done", 0}, {"zones_done", false}},
            "",
            session.zones.parent});
    SZ_CHECK(writeJournalAt(*session.fs, *session.apply_journal));
    stopPointForTests("apply.journal");
    ran = continueApply(session, done);
    unresolved = !ran && applyActionUnresolved(session);
  }
  if (unresolved) return journalKept(session, ran.error(), "apply");
  SZ_CHECK(clearJournalAt(*session.fs));
  SZ_CHECK(reloadSession(session));
  return ran;
}

}  // namespace softzone::cpuset

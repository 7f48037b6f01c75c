// What the partition verbs share: opening a session, checking names and node lists, and showing
// zones and migration results as text and JSON.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "command.h"
#include "softzone/cpuset/partitions.h"

namespace softzone::tools {

// A session for a verb; `mutate` verbs need root, take the lock and recover first.
Result<cpuset::Session> openPartitionSession(Context& ctx, bool mutate);

// planner::checkPartitionName as bad input.
Status checkName(std::string_view name);

// --nodes / --to / --cpus values (numactl syntax); `what` names the option.
Result<NodeSet> parseList(const std::string& text, std::string_view what);

// --workers N of the verbs that move pages (resize, migrate): the option, and its value (0 when
// not given: one worker per CPU zonectl may run on, zones::defaultMoveWorkers).
void addWorkersOption(boost::program_options::options_description& options);
Result<int> workersOption(const boost::program_options::variables_map& values);

// One zone as JSON: name, kind, nodes, cpus, cgroup, tasks, mem_{total,used,free}_bytes, ...
nlohmann::ordered_json zoneJson(const cpuset::Session& session, const cpuset::ZoneView& zone);
nlohmann::ordered_json migrationJson(const cpuset::MigrationTotals& totals);
// "moved 51200 pages (200M) in 812 ms, 0 failed, 0 left on nodes 4-5".
std::string describeMigration(const cpuset::MigrationTotals& totals, const NodeSet& from);

// The zones table (list) with drift lines after it; `only` limits it to one zone (status NAME).
void renderZonesText(const cpuset::Session& session, const cpuset::ZoneView* only,
                     std::ostream& out);
nlohmann::ordered_json zonesJson(const cpuset::Session& session, const cpuset::ZoneView* only);

}  // namespace softzone::tools

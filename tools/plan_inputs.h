// What the planning verbs (plan, verify, apply) share: reading the spec, the machine to plan for,
// and the planner's tunables from the command line.
#pragma once

#include <boost/program_options.hpp>
#include <string>

#include "command.h"
#include "softzone/planner/plan.h"
#include "softzone/planner/spec.h"

namespace softzone::tools {

// --max-nodes-per-partition and --size-margin, with the planner's defaults.
void addPlannerOptions(boost::program_options::options_description& options);
Result<planner::PlannerOptions> plannerOptionsFrom(
    const boost::program_options::variables_map& values);

// A machine and where it came from, for the plan's header line.
struct MachineSource {
  planner::Machine machine;
  std::string description;  // "the running machine (6.12.9-amd64)", "machine.xml (hwloc XML)"
  std::string warning;      // "" or a caution about the source
  // The running machine only: "" or why its kernel may ignore numa=fake= (no CONFIG_NUMA_EMU, or
  // no readable config to tell). Plans for the running machine warn with it.
  std::string fake_numa_caution;
};

// The running machine (through ctx.fs, so --root trees work).
Result<MachineSource> runningMachine(const Context& ctx);

// --machine FILE: an hwloc XML (`lstopo FILE.xml`) or zonectl's topology JSON
// (`zonectl --json topology > FILE.json`), told apart by their first character.
Result<MachineSource> machineFromFile(const std::string& path);

// "2 physical nodes, 64G, CPUs 0-31": the machine in one phrase.
std::string describeMachine(const planner::Machine& machine);

}  // namespace softzone::tools

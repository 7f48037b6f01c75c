// Turns the chosen node count's placements into a Plan: nodes, zones, the free pool and CPUs
// (plan_builder.cpp); the planner's search (planner.cpp) calls it once; not public.
#pragma once

#include <vector>

#include "placement.h"
#include "softzone/planner/plan.h"

namespace softzone::planner::detail {

// The Plan for n nodes per physical node, from the evaluator's placements of `demands` at n.
Plan buildPlan(const Machine& machine, const Spec& spec, const PlannerOptions& options, int n,
               const std::vector<Demand>& demands, const std::vector<Placement>& placements,
               const Evaluator& geometry);

}  // namespace softzone::planner::detail

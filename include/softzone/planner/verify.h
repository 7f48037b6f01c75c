// Verify: does the running kernel match the plan? After the reboot with the planned numa=fake=,
// the admin (and `zonectl apply`) checks the kernel's value, the node count and layout, and that
// the nodes as booted - their real sizes, which the plan only modelled - still give every zone
// its memory.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "softzone/planner/plan.h"

namespace softzone::zones {
struct Topology;
}

namespace softzone::planner {

struct VerifyCheck {
  // kWarning: the plan's model was off (a node came out smaller than it counted on) but every
  // zone still gets its memory; reported, not a failure.
  enum class Outcome { kOk, kWarning, kFailed };

  std::string subject;  // "numa=fake", "nodes", "node 3", "zone web", "zone web cpus"
  std::string planned;
  std::string running;
  Outcome outcome = Outcome::kOk;
  std::string note;  // why it differs, and what to do
};

struct Verification {
  std::string kernel_release;
  std::vector<VerifyCheck> checks;  // in the order they were made

  int count(VerifyCheck::Outcome outcome) const noexcept;
  bool ok() const noexcept { return count(VerifyCheck::Outcome::kFailed) == 0; }
};

// Checks `topology` (the running kernel) against `plan`. Pure. When numa=fake= is missing or
// the node count differs, node and zone checks are skipped: node numbers no longer mean what the
// plan meant by them.
Verification verifyPlan(const Plan& plan, const zones::Topology& topology);

// "ok", "warning", "failed": stable names for JSON.
std::string_view verifyOutcomeName(VerifyCheck::Outcome outcome);

// A table of the checks, then a unified-diff-like block ("- planned" / "+ running" lines) for
// every failed check, then one verdict line.
std::string formatVerificationText(const Verification& verification, std::string_view spec_name);

// {ok, spec, kernel_release, failures, warnings, checks: [{check, planned, running, result,
// note}]}.
nlohmann::json verificationToJson(const Verification& verification, std::string_view spec_name);

}  // namespace softzone::planner

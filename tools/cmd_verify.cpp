// zonectl verify SPEC: after the reboot, does the running kernel match the plan for SPEC? Exit 0
// when it does, 1 with a diff of what differs.
#include <nlohmann/json.hpp>

#include "command.h"
#include "plan_inputs.h"
#include "softzone/planner/verify.h"
#include "softzone/zones/topology.h"

namespace softzone::tools {
namespace po = boost::program_options;

Status cmdVerify(Context& ctx, const std::vector<std::string>& args) {
  po::options_description options("verify options");
  options.add_options()  //
      ("spec", po::value<std::string>()->required()->value_name("SPEC"), "the spec file");
  addPlannerOptions(options);
  po::positional_options_description positional;
  positional.add("spec", 1);
  po::variables_map values;
  if (!parseVerbOptions(ctx, "verify", "SPEC [options]", options, positional, args, values))
    return {};

  SZ_TRY(planner_options, plannerOptionsFrom(values));
  const std::string& spec_path = values["spec"].as<std::string>();
  SZ_TRY(spec, planner::readSpecFile(spec_path));
  auto topology = zones::readTopologyAt(ctx.fs);
  if (!topology) return readError(ctx, std::move(topology).error());
  // The plan `zonectl plan SPEC` gives for this machine: the running kernel's physical nodes are
  // the machine the admin planned on before the reboot.
  SZ_TRY(plan, planner::planZones(planner::machineFromTopology(*topology), spec, planner_options));
  planner::Verification verification = planner::verifyPlan(plan, *topology);
  if (ctx.json) {
    ctx.out << planner::verificationToJson(verification, spec_path).dump(2) << '\n';
  } else {
    ctx.out << planner::formatVerificationText(verification, spec_path);
  }
  if (verification.ok()) return {};
  int failed = verification.count(planner::VerifyCheck::Outcome::kFailed);
  return mismatch(std::to_string(failed) + " check(s) differ from the plan (see above)");
}

}  // namespace softzone::tools

// zonectl plan SPEC: the numa=fake= parameter and the node map for a spec, on the running machine
// or one described by --machine. Reads only; the admin applies the parameter and reboots.
#include <nlohmann/json.hpp>

#include "command.h"
#include "plan_inputs.h"

namespace softzone::tools {
namespace po = boost::program_options;

namespace {

enum class PlanFormat { kText, kJson, kCmdline, kGrub };

Result<PlanFormat> parsePlanFormat(const std::string& text) {
  if (text == "text") return PlanFormat::kText;
  if (text == "json") return PlanFormat::kJson;
  if (text == "cmdline") return PlanFormat::kCmdline;
  if (text == "grub") return PlanFormat::kGrub;
  return badInput("--format " + quoteInput(text) + ": expected text, json, cmdline or grub");
}

void printPlan(Context& ctx, PlanFormat format, const MachineSource& source,
               const planner::Plan& plan) {
  switch (format) {
    case PlanFormat::kCmdline:
      // Exactly one line, the parameter: scripts paste it into a boot loader as is.
      ctx.out << planner::formatKernelCmdline(plan) << '\n';
      return;
    case PlanFormat::kGrub:
      ctx.out << planner::formatGrubDropIn(plan);
      return;
    case PlanFormat::kJson: {
      nlohmann::json document = planner::planToJson(plan);
      document["machine"] = {{"source", source.description},
                             {"description", describeMachine(source.machine)},
                             {"warning", source.warning}};
      ctx.out << document.dump(2) << '\n';
      return;
    }
    case PlanFormat::kText:
      ctx.out << "machine: " << source.description << ": " << describeMachine(source.machine)
              << "\n"
              << planner::formatPlanText(plan);
      return;
  }
}

}  // namespace

Status cmdPlan(Context& ctx, const std::vector<std::string>& args) {
  po::options_description options("plan options");
  options.add_options()                                                                    //
      ("spec", po::value<std::string>()->required()->value_name("SPEC"), "the spec file")  //
      ("format", po::value<std::string>()->value_name("FORMAT"),
       "text (default), json, cmdline (one line: the numa=fake= parameter) or grub (a drop-in for "
       "/etc/default/grub.d/)")  //
      ("machine", po::value<std::string>()->value_name("FILE"),
       "plan for the machine an hwloc XML (lstopo FILE.xml) or `zonectl --json topology` "
       "describes, "
       "not the running one");
  addPlannerOptions(options);
  po::positional_options_description positional;
  positional.add("spec", 1);
  po::variables_map values;
  if (!parseVerbOptions(ctx, "plan", "SPEC [options]", options, positional, args, values))
    return {};

  std::string format_name = values.count("format") > 0 ? values["format"].as<std::string>()
                                                       : (ctx.json ? "json" : "text");
  SZ_TRY(format, parsePlanFormat(format_name));
  SZ_TRY(planner_options, plannerOptionsFrom(values));
  SZ_TRY(spec, planner::readSpecFile(values["spec"].as<std::string>()));
  auto source = values.count("machine") > 0 ? machineFromFile(values["machine"].as<std::string>())
                                            : runningMachine(ctx);
  if (!source) return std::move(source).error();
  if (!source->warning.empty()) ctx.err << "zonectl plan: warning: " << source->warning << '\n';
  if (!source->fake_numa_caution.empty()) {
    ctx.err << "zonectl plan: warning: " << source->fake_numa_caution << '\n';
  }
  auto plan = planner::planZones(source->machine, spec, planner_options);
  if (!plan && values.count("machine") == 0 && !plan.error().isBadInput()) {
    // Example specs are sized for other machines than the one at hand.
    return Error(plan.error().code(),
                 plan.error().message() +
                     " (planning for another machine? --machine FILE; examples/machines/ has "
                     "some)");
  }
  if (!plan) return std::move(plan).error();
  printPlan(ctx, format, *source, *plan);
  return {};
}

}  // namespace softzone::tools

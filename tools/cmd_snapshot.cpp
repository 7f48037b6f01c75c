// zonectl snapshot: every per-node and per-cgroup counter now, for `report --since` later.
#include "command.h"
#include "softzone/report/report.h"
#include "softzone/zones/safe_write.h"

namespace softzone::tools {
namespace po = boost::program_options;

Status cmdSnapshot(Context& ctx, const std::vector<std::string>& args) {
  po::options_description options("snapshot options");
  options.add_options()  //
      ("output,o", po::value<std::string>()->value_name("FILE")->required(),
       "where to write the snapshot (JSON; - for stdout)")  //
      ("no-trace", po::bool_switch(), "do not install the reclaim hist trigger when it is missing");
  po::variables_map values;
  if (!parseVerbOptions(ctx, "snapshot", "-o FILE", options, {}, args, values)) return {};
  const std::string& output = values["output"].as<std::string>();
  if (output != "-") SZ_CHECK(checkOutputFile(output));

  report::ReportZones zones = report::readReportZonesAt(ctx.fs, ctx.cgroup_mode);
  report::SampleOptions sample_options;
  sample_options.install_reclaim_trigger = !values["no-trace"].as<bool>();
  auto sample = report::readMachineSampleAt(ctx.fs, zones.zones, zones.cgroup, sample_options);
  if (!sample) return readError(ctx, std::move(sample).error());
  if (zones.problem) sample->problems.push_back(*zones.problem);
  return writeReportOutput(ctx, output, report::sampleToJson(*sample).dump(1) + "\n");
}

}  // namespace softzone::tools

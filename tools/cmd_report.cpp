// zonectl report: memory, reclaim, pressure and OOM kills per zone, as a table, JSON or HTML.
#include <fstream>
#include <sstream>

#include "command.h"
#include "softzone/report/reclaim_trace.h"
#include "softzone/report/report.h"
#include "softzone/zones/safe_write.h"
#include "zoned_view.h"

namespace softzone::tools {
namespace po = boost::program_options;

namespace {

Result<report::MachineSample> readSnapshotFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return badInput("--since " + path + ": cannot open the snapshot file");
  std::ostringstream text;
  text << in.rdbuf();
  auto sample = report::parseSnapshot(text.str());
  if (!sample) return badInput("--since " + path + ": " + sample.error().message());
  return sample;
}

// --stop-trace: the counts just read stay in the report; the trigger goes.
Status stopReclaimTrace(const Context& ctx, report::MachineSample& sample) {
  std::optional<std::string> tracefs = report::findTracefsAt(ctx.fs);
  if (!tracefs) {
    sample.notes.push_back("--stop-trace: no tracefs with vmscan events, no trigger to remove");
    return {};
  }
  auto removed = report::removeReclaimTriggerAt(ctx.fs, *tracefs);
  if (!removed) return std::move(removed).error().withContext("--stop-trace");
  sample.notes.push_back(*removed ? "reclaim hist trigger removed (--stop-trace)"
                                  : "--stop-trace: no reclaim hist trigger was installed");
  return {};
}

// The report with zoned's loans and recent moves, as `zonectl list` shows them: each partition's
// "nodes_on_loan" and a "zoned" object in JSON, the same lines after the table, a list in HTML.
std::string renderWithZoned(report::Report& result, const ZonedView& zoned, report::Format format,
                            const report::TableOptions& table) {
  std::ostringstream lines;
  renderZonedText(zoned, nullptr, lines);
  switch (format) {
    case report::Format::kJson: {
      nlohmann::ordered_json out = report::reportToJson(result);
      addZonedJson(zoned, nullptr, out);
      return out.dump(2) + "\n";
    }
    case report::Format::kHtml: {
      std::istringstream split(lines.str());
      for (std::string line; std::getline(split, line);) result.zoned_lines.push_back(line);
      return report::renderReport(result, {result}, format, table);
    }
    case report::Format::kTable:
      break;
  }
  std::string text = report::renderReport(result, {result}, format, table);
  return lines.str().empty() ? text : text + "\n" + lines.str();
}

}  // namespace

Status writeReportOutput(Context& ctx, const std::string& path, const std::string& text) {
  if (path.empty() || path == "-") {
    ctx.out << text;
    return {};
  }
  return writeOutputFile(path, text);
}

Status cmdReport(Context& ctx, const std::vector<std::string>& args) {
  po::options_description options("report options");
  options.add_options()                                                                     //
      ("zone", po::value<std::vector<std::string>>()->value_name("NAME"), "zones to show")  //
      ("format", po::value<std::string>()->value_name("table|json|html"),
       "output format (default table; --json means json)")  //
      ("output,o", po::value<std::string>()->value_name("FILE"),
       "write to FILE instead of stdout")  //
      ("since", po::value<std::string>()->value_name("SNAPSHOT"),
       "counters and OOM kills since a `zonectl snapshot` file")        //
      ("all", po::bool_switch(), "show rows that are zero everywhere")  //
      ("no-trace", po::bool_switch(),
       "accepted for scripts: report never installs the reclaim hist trigger")  //
      ("stop-trace", po::bool_switch(),
       "after reading, remove the reclaim hist trigger snapshot, run or top installed");
  po::positional_options_description positional;
  positional.add("zone", -1);
  po::variables_map values;
  if (!parseVerbOptions(
          ctx, "report",
          "[NAME...] [--format table|json|html] [-o FILE] [--since SNAPSHOT] [--stop-trace]",
          options, positional, args, values)) {
    return {};
  }
  report::Format format = ctx.json ? report::Format::kJson : report::Format::kTable;
  if (values.count("format") > 0) {
    SZ_TRY(parsed, report::parseFormat(values["format"].as<std::string>()));
    format = parsed;
  }
  std::optional<report::MachineSample> baseline;
  if (values.count("since") > 0) {
    SZ_TRY(sample, readSnapshotFile(values["since"].as<std::string>()));
    baseline = std::move(sample);
  }
  std::string output = values.count("output") > 0 ? values["output"].as<std::string>() : "";
  if (!output.empty() && output != "-") SZ_CHECK(checkOutputFile(output));
  bool stop_trace = values["stop-trace"].as<bool>();
  if (stop_trace && !ctx.fs.isLive()) {
    return badInput("--stop-trace changes the running system's tracefs: not with --root");
  }
  std::vector<std::string> names;
  if (values.count("zone") > 0) names = values["zone"].as<std::vector<std::string>>();

  report::ReportZones zones = report::readReportZonesAt(ctx.fs, ctx.cgroup_mode);
  SZ_TRY(selected, report::selectZones(zones.zones, names));
  // A report is a reading: counting from now would show nothing, and a trigger left behind
  // would be a change nobody asked for. snapshot, run and top install it.
  report::SampleOptions sample_options;
  sample_options.install_reclaim_trigger = false;
  auto sample = report::readMachineSampleAt(ctx.fs, zones.zones, zones.cgroup, sample_options);
  if (!sample) return readError(ctx, std::move(sample).error());
  if (zones.problem) sample->problems.push_back(*zones.problem);
  if (stop_trace) SZ_CHECK(stopReclaimTrace(ctx, *sample));
  for (const std::string& drift : zones.drift) sample->notes.push_back("drift: " + drift);

  report::Report result =
      report::buildReport(selected, *sample, baseline ? &*baseline : nullptr, names.empty());
  result.host = report::readHostInfoAt(ctx.fs, zones.cgroup);
  if (baseline) result.since_snapshot = values["since"].as<std::string>();
  report::TableOptions table{values["all"].as<bool>()};
  ZonedView zoned = readZonedView(ctx.fs);
  return writeReportOutput(ctx, output, renderWithZoned(result, zoned, format, table));
}

}  // namespace softzone::tools

// zonectl attach NAME PID... [--no-migrate]: moves whole processes (all threads) into a partition
// and, unless told not to, their pages onto its nodes.
#include "partition_view.h"
#include "softzone/zones/text_parse.h"

namespace softzone::tools {
namespace po = boost::program_options;

namespace {

std::string describeSharedLeft(const cpuset::AttachReport& report) {
  std::string text = std::to_string(report.pages_shared_left) +
                     " shared pages left in place (page cache on the shared zone's nodes or "
                     "mapped by other processes)";
  if (report.pages_put_back + report.pages_put_back_failed == 0) {
    if (report.pages_never_moved == 0) return text;
    return text + "; the kernel's migration moved none of them";
  }
  text += "; moved along with the rest, then " + std::to_string(report.pages_put_back) +
          " put back, " + std::to_string(report.pages_put_back_failed) + " not";
  if (report.pages_never_moved > 0) {
    text += " (" + std::to_string(report.pages_never_moved) + " never moved)";
  }
  return text;
}

}  // namespace

Status cmdAttach(Context& ctx, const std::vector<std::string>& args) {
  po::options_description options("attach options");
  options.add_options()                                                                           //
      ("name", po::value<std::string>()->required()->value_name("NAME"), "partition name")        //
      ("pid", po::value<std::vector<std::string>>()->required()->value_name("PID"), "processes")  //
      ("no-migrate", po::bool_switch(), "leave their pages where they are (cgroup v1 only)");
  po::positional_options_description positional;
  positional.add("name", 1).add("pid", -1);
  po::variables_map values;
  if (!parseVerbOptions(ctx, "attach", "NAME PID... [--no-migrate]", options, positional, args,
                        values)) {
    return {};
  }
  std::string name = values["name"].as<std::string>();
  SZ_CHECK(checkName(name));
  std::vector<pid_t> pids;
  for (const std::string& text : values["pid"].as<std::vector<std::string>>()) {
    auto pid = parseNumber<pid_t>(text);
    if (!pid || *pid <= 0) {
      return badInput("expected a process id, got " + quoteInput(text));
    }
    pids.push_back(*pid);
  }
  bool migrate = !values["no-migrate"].as<bool>();
  SZ_TRY(session, openPartitionSession(ctx, true));
  SZ_CHECK(cpuset::findPartition(session, name));
  if (migrate) SZ_CHECK(ctx.fs.checkCanActOnProcesses("attach", pids.size()));
  SZ_TRY(report, cpuset::attachProcesses(session, name, pids, migrate));
  const cpuset::ZoneView* zone = session.zones.find(name);
  NodeSet elsewhere = session.zones.machine_nodes.minus(zone->nodes);
  if (ctx.json) {
    nlohmann::ordered_json out = {{"name", name}, {"pids", report.pids}, {"migrated", migrate}};
    if (migrate) {
      out["migration"] = migrationJson(report.migration);
      out["pages_shared_left"] = report.pages_shared_left;
      out["pages_put_back"] = report.pages_put_back;
      out["pages_put_back_failed"] = report.pages_put_back_failed;
      out["pages_never_moved"] = report.pages_never_moved;
    }
    ctx.out << out.dump(2) << '\n';
  } else {
    ctx.out << "attached " << report.pids.size() << " process(es) to partition " << name << "\n";
    if (migrate) {
      ctx.out << describeMigration(report.migration, elsewhere) << "\n"
              << describeSharedLeft(report) << "\n";
    }
  }
  // The processes are in the partition either way (that part is not undone); pages of some may
  // still be elsewhere, or were never counted: said on stderr, not read as done.
  std::string incomplete =
      cpuset::incompleteMigration(report.migration, "the attached processes", elsewhere);
  if (migrate && !incomplete.empty()) ctx.err << "zonectl attach: warning: " << incomplete << "\n";
  return {};
}

}  // namespace softzone::tools

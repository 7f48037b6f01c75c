// zonectl recover: completes (or rolls back) an operation a killed zonectl left in the journal.
// Every changing verb does this first on its own; this verb does only that.
#include <sstream>

#include "partition_view.h"

namespace softzone::tools {
namespace po = boost::program_options;

Status cmdRecover(Context& ctx, const std::vector<std::string>& args) {
  po::options_description options("recover options");
  po::variables_map values;
  if (!parseVerbOptions(ctx, "recover", "", options, {}, args, values)) return {};
  // Opening a changing session takes the lock and recovers; it reports what it did on stderr.
  std::ostringstream log;
  auto session = cpuset::openSession(ctx.fs, ctx.cgroup_mode, true, log);
  if (!session) return std::move(session).error();
  std::vector<std::string> lines;
  std::istringstream in(log.str());
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  if (ctx.json) {
    nlohmann::ordered_json out = {{"recovered", lines}, {"drift", session->zones.drift}};
    ctx.out << out.dump(2) << '\n';
    return {};
  }
  if (lines.empty()) ctx.out << "nothing to recover\n";
  for (const std::string& line : lines) ctx.out << line << "\n";
  for (const std::string& line : session->zones.drift) ctx.out << "drift: " << line << "\n";
  return {};
}

}  // namespace softzone::tools

// What every zonectl verb gets (the Context), the verb signature, and the explicit command table.
#pragma once

#include <boost/program_options.hpp>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "softzone/cpuset/cgroup.h"
#include "softzone/zones/fs_root.h"
#include "softzone/zones/result.h"

namespace softzone::tools {

struct Context {
  FsRoot fs;  // "/" or --root DIR
  bool json = false;
  cpuset::CgroupMode cgroup_mode = cpuset::CgroupMode::kAuto;
  std::ostream& out;
  std::ostream& err;
  // The global options given before the verb ("root", "cgroup"): given after it too, they are
  // refused rather than one silently winning.
  std::vector<std::string> globals_before_verb = {};
};

// A verb: its arguments are everything after the verb's name. It may throw
// boost::program_options::error for bad usage; main turns that into one line and exit 2.
using CommandFn = Status (*)(Context& ctx, const std::vector<std::string>& args);

struct Command {
  std::string_view name;
  CommandFn run;
  std::string_view summary;
};

// The verbs in the order `zonectl --help` lists them.
std::span<const Command> commands();
const Command* findCommand(std::string_view name);
// "unknown command 'plna'; did you mean 'plan'? (zonectl --help lists them)": the suggestion only
// when one verb is a small edit away.
std::string unknownCommandMessage(std::string_view name);

// The global options (--json, --root DIR, --cgroup MODE). zonectl takes them before the verb, and
// every verb takes them after its name too, except one it defines itself with the same spelling.
boost::program_options::options_description globalOptions();

// Parses a verb's arguments against its options (a --help option and the global options it does
// not define are added; a global one given here is applied to ctx, after `--` nothing is an
// option). Returns false when --help was given: the help has then been printed to ctx.out and the
// verb should return.
bool parseVerbOptions(Context& ctx, std::string_view verb, std::string_view usage_args,
                      boost::program_options::options_description& options,
                      const boost::program_options::positional_options_description& positional,
                      const std::vector<std::string>& args,
                      boost::program_options::variables_map& values);

// The exit-status policy for reading the kernel's files: a --root tree that is missing files or
// holds malformed ones is bad input (exit 2); on the live system the same is a failure (exit 1),
// since the user gave nothing wrong.
Error readError(const Context& ctx, Error error);

// The verbs, one file each (cmd_<verb>.cpp).
Status cmdTopology(Context& ctx, const std::vector<std::string>& args);
Status cmdPlan(Context& ctx, const std::vector<std::string>& args);
Status cmdVerify(Context& ctx, const std::vector<std::string>& args);
// Partitions at run time
// (cmd_{create,resize,destroy,attach,exec,migrate,apply,list,status,recover}).
Status cmdCreate(Context& ctx, const std::vector<std::string>& args);
Status cmdResize(Context& ctx, const std::vector<std::string>& args);
Status cmdDestroy(Context& ctx, const std::vector<std::string>& args);
Status cmdAttach(Context& ctx, const std::vector<std::string>& args);
Status cmdExec(Context& ctx, const std::vector<std::string>& args);
Status cmdMigrate(Context& ctx, const std::vector<std::string>& args);
Status cmdApply(Context& ctx, const std::vector<std::string>& args);
Status cmdList(Context& ctx, const std::vector<std::string>& args);
Status cmdStatus(Context& ctx, const std::vector<std::string>& args);
Status cmdRecover(Context& ctx, const std::vector<std::string>& args);
Status cmdReport(Context& ctx, const std::vector<std::string>& args);
Status cmdSnapshot(Context& ctx, const std::vector<std::string>& args);
Status cmdRun(Context& ctx, const std::vector<std::string>& args);
Status cmdTop(Context& ctx, const std::vector<std::string>& args);
// The report verbs' output: `path` "" or "-" is ctx.out, else a file (cmd_report.cpp).
Status writeReportOutput(Context& ctx, const std::string& path, const std::string& text);
Status cmdBind(Context& ctx, const std::vector<std::string>& args);
Status cmdResidency(Context& ctx, const std::vector<std::string>& args);

}  // namespace softzone::tools

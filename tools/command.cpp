// The zonectl command table and the helpers every verb shares.
#include "command.h"

#include <algorithm>
#include <array>

namespace softzone::tools {
namespace po = boost::program_options;

namespace {

// An explicit table: adding a verb is one line here and one file, nothing registers itself.
constexpr std::array kCommands = {
    Command{"topology", cmdTopology, "show NUMA nodes (fake and physical), memory, CPUs, cpusets"},
    Command{"plan", cmdPlan, "plan a spec: the numa=fake= boot parameter and the node map"},
    Command{"verify", cmdVerify, "check the running kernel against a spec's plan"},
    Command{"apply", cmdApply, "reconcile the live partitions with a spec (--dry-run, --prune)"},
    Command{"create", cmdCreate, "create a partition on free nodes (--nodes or --size)"},
    Command{"resize", cmdResize, "grow or shrink a partition; shrinking moves its pages first"},
    Command{"destroy", cmdDestroy, "destroy a partition; its tasks leave, its nodes become free"},
    Command{"attach", cmdAttach, "move processes (all threads) and their pages into a partition"},
    Command{"exec", cmdExec, "run a command inside a partition"},
    Command{"migrate", cmdMigrate, "move a process's or a partition's pages to nodes"},
    Command{"list", cmdList, "the zones: nodes, CPUs, tasks, memory, drift"},
    Command{"status", cmdStatus, "one zone (or all) in detail"},
    Command{"recover", cmdRecover, "complete or roll back an interrupted zonectl operation"},
    Command{"report", cmdReport,
            "memory, reclaim, pressure and OOM kills per zone (table, JSON, HTML)"},
    Command{"snapshot", cmdSnapshot, "save every per-node counter now, for report --since"},
    Command{"run", cmdRun, "run a command in a zone and report what it did to memory"},
    Command{"top", cmdTop, "a live view of the zones, refreshed every second (q quits)"},
    Command{"bind", cmdBind,
            "put the page cache of file trees on a zone's nodes (and keep it there)"},
    Command{"residency", cmdResidency, "cached pages of files and trees, per node and per zone"},
};

// Adds to a verb's options the global ones it does not define itself, and returns their names.
std::vector<std::string> addGlobalOptions(po::options_description& options) {
  po::options_description globals("global options (also accepted before the verb)");
  std::vector<std::string> added;
  const po::options_description all = globalOptions();
  for (const auto& option : all.options()) {
    if (options.find_nothrow(option->long_name(), false) != nullptr) continue;
    globals.add(option);
    added.push_back(option->long_name());
  }
  if (!added.empty()) options.add(globals);
  return added;
}

bool wasGivenBeforeVerb(const Context& ctx, const std::string& name) {
  return std::find(ctx.globals_before_verb.begin(), ctx.globals_before_verb.end(), name) !=
         ctx.globals_before_verb.end();
}

// A global option given after the verb means what it means before it. Bad values are bad usage
// (boost's error type, so main reports them as it does a verb's bad option: one line, exit 2).
void applyGlobalsAfterVerb(Context& ctx, const std::vector<std::string>& added,
                           const po::variables_map& values) {
  for (const std::string& name : added) {
    if (values.count(name) == 0 || values[name].defaulted()) continue;
    if (name == "json") {
      ctx.json = ctx.json || values[name].as<bool>();
      continue;
    }
    if (wasGivenBeforeVerb(ctx, name)) {
      throw po::error("--" + name + " is given both before and after the verb; give it once");
    }
    if (name == "root") {
      // FsRoot::open's errors are all bad input (a missing or unreadable DIR).
      auto fs = FsRoot::open(values[name].as<std::string>());
      if (!fs) throw po::error(fs.error().describe());
      ctx.fs = std::move(*fs);
    } else if (name == "cgroup") {
      auto mode = cpuset::parseCgroupMode(values[name].as<std::string>());
      if (!mode) throw po::error(mode.error().describe());
      ctx.cgroup_mode = *mode;
    }
  }
}

}  // namespace

po::options_description globalOptions() {
  po::options_description global("global options");
  global.add_options()                                           //
      ("json", po::bool_switch(), "print JSON instead of text")  //
      ("root", po::value<std::string>()->value_name("DIR"),
       "read sysfs, procfs and cgroupfs under DIR instead of / (captured trees)")  //
      ("cgroup", po::value<std::string>()->default_value("auto")->value_name("auto|v1|v2"),
       "the cgroup cpuset interface to use");
  return global;
}

std::span<const Command> commands() { return kCommands; }

const Command* findCommand(std::string_view name) {
  for (const Command& command : kCommands) {
    if (command.name == name) return &command;
  }
  return nullptr;
}

bool parseVerbOptions(Context& ctx, std::string_view verb, std::string_view usage_args,
                      po::options_description& options,
                      const po::positional_options_description& positional,
                      const std::vector<std::string>& args, po::variables_map& values) {
  options.add_options()("help,h", "show this help");
  std::vector<std::string> globals = addGlobalOptions(options);
  po::store(po::command_line_parser(args).options(options).positional(positional).run(), values);
  if (values.count("help") > 0) {
    const Command* command = findCommand(verb);
    ctx.out << "usage: zonectl [global options] " << verb;
    if (!usage_args.empty()) ctx.out << ' ' << usage_args;
    ctx.out << "\n";
    if (command != nullptr) ctx.out << command->summary << "\n";
    ctx.out << "\n" << options;
    return false;
  }
  po::notify(values);
  applyGlobalsAfterVerb(ctx, globals, values);
  return true;
}

Error readError(const Context& ctx, Error error) {
  if (!ctx.fs.isLive()) {
    return badInput("in --root " + ctx.fs.rootPath() + ": " + error.describe());
  }
  if (error.isBadInput()) {
    // The kernel wrote something softzone cannot read: not the user's input.
    return unsupported("unexpected kernel file contents: " + error.message());
  }
  return error;
}

}  // namespace softzone::tools

// The zonectl command table and the helpers every verb shares.
#include "command.h"

#include <algorithm>
#include <array>
#include <cctype>

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
std::vector<std::string> addGlobalOptions(po::options_description& options,
                                          po::options_description& shown) {
  po::options_description globals("global options (also accepted before the verb)");
  std::vector<std::string> added;
  const po::options_description all = globalOptions();
  for (const auto& option : all.options()) {
    if (options.find_nothrow(option->long_name(), false) != nullptr) continue;
    globals.add(option);
    added.push_back(option->long_name());
  }
  if (!added.empty()) {
    options.add(globals);
    shown.add(globals);
  }
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

namespace {

// The names the positional table fills (an unlimited last one once).
std::vector<std::string> positionalNames(const po::positional_options_description& positional) {
  std::vector<std::string> names;
  const unsigned count = std::min(positional.max_total_count(), 64u);
  for (unsigned i = 0; i < count; ++i) {
    const std::string& name = positional.name_for_position(i);
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  return names;
}

bool isPositional(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// SPEC for a positional argument: its value name, or its name in capitals.
std::string argumentName(const po::option_description& option) {
  std::string name = option.format_parameter();
  if (name.empty() || name == "arg") {
    name = option.long_name();
    for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return name;
}

void printArguments(std::ostream& out, const po::options_description& options,
                    const std::vector<std::string>& names) {
  if (names.empty()) return;
  size_t width = 0;
  for (const std::string& name : names) {
    width = std::max(width, argumentName(options.find(name, false)).size());
  }
  out << "arguments:\n";
  for (const std::string& name : names) {
    const po::option_description& option = options.find(name, false);
    const std::string shown = argumentName(option);
    out << "  " << shown << std::string(width - shown.size() + 2, ' ') << option.description()
        << '\n';
  }
  out << '\n';
}

// A positional argument is not an option: `--spec FILE` is refused as boost refuses any unknown
// option, and a missing one is named as the argument it is, with the verb's usage.
void checkPositionals(const po::parsed_options& parsed, const po::options_description& options,
                      const std::vector<std::string>& names, const po::variables_map& values,
                      std::string_view verb, std::string_view usage_args) {
  for (const po::option& option : parsed.options) {
    if (option.position_key == -1 && isPositional(names, option.string_key)) {
      throw po::error("unrecognised option '--" + option.string_key + "'");
    }
  }
  for (const std::string& name : names) {
    const po::option_description& option = options.find(name, false);
    if (!option.semantic()->is_required() || values.count(name) > 0) continue;
    throw po::error("missing " + argumentName(option) + " (" + option.description() +
                    "); usage: zonectl " + std::string(verb) + " " + std::string(usage_args));
  }
}

}  // namespace

namespace {

// Levenshtein distance, with a swap of two neighbours counting one edit (plna -> plan).
size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t change = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + change});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

std::string unknownCommandMessage(std::string_view name) {
  // Close: at most 2 edits, and fewer than half the word (so `ls` does not suggest `list`).
  const Command* best = nullptr;
  size_t best_distance = 0;
  for (const Command& command : kCommands) {
    const size_t distance = editDistance(name, command.name);
    if (best == nullptr || distance < best_distance) {
      best = &command;
      best_distance = distance;
    }
  }
  std::string message = "unknown command '" + std::string(name) + "'";
  if (best != nullptr && best_distance <= 2 && best_distance * 2 < best->name.size() &&
      best_distance * 2 < name.size() + 1) {
    return message + "; did you mean '" + std::string(best->name) +
           "'? (zonectl --help lists them)";
  }
  return message + "; see zonectl --help";
}

bool parseVerbOptions(Context& ctx, std::string_view verb, std::string_view usage_args,
                      po::options_description& options,
                      const po::positional_options_description& positional,
                      const std::vector<std::string>& args, po::variables_map& values) {
  const std::vector<std::string> names = positionalNames(positional);
  // The help lists the positional arguments apart from the options (they are not options).
  po::options_description shown(std::string(verb) + " options");
  for (const auto& option : options.options()) {
    if (!isPositional(names, option->long_name())) shown.add(option);
  }
  options.add_options()("help,h", "show this help");
  shown.add_options()("help,h", "show this help");
  std::vector<std::string> globals = addGlobalOptions(options, shown);
  const po::parsed_options parsed =
      po::command_line_parser(args).options(options).positional(positional).run();
  po::store(parsed, values);
  if (values.count("help") > 0) {
    const Command* command = findCommand(verb);
    ctx.out << "usage: zonectl [global options] " << verb;
    if (!usage_args.empty()) ctx.out << ' ' << usage_args;
    ctx.out << "\n";
    if (command != nullptr) ctx.out << command->summary << "\n";
    ctx.out << "\n";
    printArguments(ctx.out, options, names);
    ctx.out << shown;
    return false;
  }
  checkPositionals(parsed, options, names, values, verb, usage_args);
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

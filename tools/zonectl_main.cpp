// zonectl's entry point: global options, the verb from the command table, and the exit statuses.
#include <boost/program_options.hpp>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "command.h"

namespace po = boost::program_options;
using softzone::tools::Command;

namespace {

constexpr int kExitUsage = 2;

// Global options before the verb end at the first argument that is neither an option nor an
// option's value: that is the verb, and everything after it belongs to the verb (so
// `zonectl topology --help` is the verb's help, not zonectl's). The verb takes the global options
// after its name too (parseVerbOptions). The option table says which options take a value.
std::pair<std::vector<std::string>, std::vector<std::string>> splitAtVerb(
    const po::options_description& global, const std::vector<std::string>& args) {
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') break;
    if (arg.rfind("--", 0) == 0 && arg.find('=') == std::string::npos) {
      const po::option_description* option = global.find_nothrow(arg.substr(2), true);
      if (option != nullptr && option->semantic()->max_tokens() > 0) ++i;
    }
  }
  std::vector<std::string> global_args(args.begin(), args.begin() + std::min(i, args.size()));
  if (!global_args.empty() && global_args.back() == "--") global_args.pop_back();
  std::vector<std::string> verb_args(args.begin() + std::min(i, args.size()), args.end());
  return {global_args, verb_args};
}

void printUsage(std::ostream& out, const po::options_description& global) {
  out << "usage: zonectl [--json] [--root DIR] [--cgroup auto|v1|v2] COMMAND [ARGS...]\n"
         "Partition a machine's memory into software zones: fake NUMA nodes grouped into "
         "cpusets.\n\ncommands:\n";
  size_t width = 0;
  for (const Command& command : softzone::tools::commands()) {
    width = std::max(width, command.name.size());
  }
  for (const Command& command : softzone::tools::commands()) {
    out << "  " << command.name << std::string(width - command.name.size() + 2, ' ')
        << command.summary << '\n';
  }
  out << '\n'
      << global
      << "\nThe global options are accepted before or after the command "
         "(`zonectl report --json`).\n`zonectl COMMAND --help` shows a command's own options.\n";
}

int run(const std::vector<std::string>& args) {
  po::options_description global = softzone::tools::globalOptions();
  global.add_options()              //
      ("help,h", "show this help")  //
      ("version", "print the version");

  auto [global_args, verb_args] = splitAtVerb(global, args);
  po::variables_map values;
  po::store(po::command_line_parser(global_args).options(global).run(), values);
  po::notify(values);

  if (values.count("help") > 0) {
    printUsage(std::cout, global);
    return 0;
  }
  if (values.count("version") > 0) {
    std::cout << "zonectl " << SOFTZONE_VERSION << '\n';
    return 0;
  }
  if (verb_args.empty()) {
    std::cerr << "zonectl: no command given; see zonectl --help\n";
    return kExitUsage;
  }
  const std::string& verb = verb_args.front();
  const Command* command = softzone::tools::findCommand(verb);
  if (command == nullptr) {
    std::cerr << "zonectl: " << softzone::tools::unknownCommandMessage(verb) << '\n';
    return kExitUsage;
  }
  auto mode = softzone::cpuset::parseCgroupMode(values["cgroup"].as<std::string>());
  if (!mode) {
    std::cerr << "zonectl: " << mode.error().describe() << '\n';
    return mode.error().exitStatus();
  }
  auto fs = values.count("root") > 0 ? softzone::FsRoot::open(values["root"].as<std::string>())
                                     : softzone::FsRoot::live();
  if (!fs) {
    std::cerr << "zonectl: " << fs.error().describe() << '\n';
    return fs.error().exitStatus();
  }

  softzone::tools::Context ctx{std::move(*fs), values["json"].as<bool>(), *mode, std::cout,
                               std::cerr};
  if (values.count("root") > 0) ctx.globals_before_verb.push_back("root");
  if (!values["cgroup"].defaulted()) ctx.globals_before_verb.push_back("cgroup");
  std::vector<std::string> command_args(verb_args.begin() + 1, verb_args.end());
  softzone::Status status;
  try {
    status = command->run(ctx, command_args);
  } catch (const po::error& error) {
    // The verb's bad usage: one line naming the verb, exit 2.
    std::cerr << "zonectl " << verb << ": " << error.what() << '\n';
    return kExitUsage;
  }
  if (!status) {
    std::cerr << "zonectl " << verb << ": " << status.error().describe() << '\n';
    return status.error().exitStatus();
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const po::error& error) {
    // Bad usage, from the global options or a verb's: one line, exit 2.
    std::cerr << "zonectl: " << error.what() << '\n';
    return kExitUsage;
  }
}

// zoned's entry point: its options, then the loop (daemon.h). Exit 0 when stopped, 1 when it
// could not start, 2 for bad usage or a bad spec.
#include <boost/program_options.hpp>
#include <iostream>
#include <string>
#include <vector>

#include "softzone/zoned/daemon.h"

namespace po = boost::program_options;

namespace {

constexpr int kExitUsage = 2;

void printUsage(std::ostream& out, const po::options_description& options) {
  out << "usage: zoned --config FILE [--once] [--dry-run] [--root DIR] [--cgroup auto|v1|v2]\n"
         "Lends NUMA nodes between softzone partitions under memory pressure, within each\n"
         "partition's min and max (the spec's [partition.*] and [zoned] sections).\n\n"
      << options
      << "\nDecisions are logged on stderr, one line each. SIGHUP reloads the spec (a bad one is\n"
         "refused and the old kept); SIGTERM stops it between two samples.\n";
}

int run(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()                                                                        //
      ("config", po::value<std::string>()->value_name("FILE"), "the spec (as zonectl apply)")  //
      ("once", po::bool_switch(),
       "sample until a decision is due (at most `sustain` samples), act on it, exit")  //
      ("dry-run", po::bool_switch(), "print the decisions, change nothing")            //
      ("root", po::value<std::string>()->value_name("DIR")->default_value("/"),
       "read sysfs, procfs and cgroupfs under DIR (with --dry-run only)")  //
      ("cgroup", po::value<std::string>()->default_value("auto")->value_name("auto|v1|v2"),
       "the cgroup cpuset interface to use")  //
      ("help,h", "show this help")            //
      ("version", "print the version");
  po::variables_map values;
  po::store(po::command_line_parser(args).options(options).run(), values);
  po::notify(values);
  if (values.count("help") > 0) {
    printUsage(std::cout, options);
    return 0;
  }
  if (values.count("version") > 0) {
    std::cout << "zoned " << SOFTZONE_VERSION << '\n';
    return 0;
  }
  if (values.count("config") == 0) {
    std::cerr << "zoned: --config FILE is required; see zoned --help\n";
    return kExitUsage;
  }
  auto mode = softzone::cpuset::parseCgroupMode(values["cgroup"].as<std::string>());
  if (!mode) {
    std::cerr << "zoned: " << mode.error().describe() << '\n';
    return mode.error().exitStatus();
  }
  softzone::zoned::DaemonOptions daemon;
  daemon.config_path = values["config"].as<std::string>();
  daemon.root = values["root"].as<std::string>();
  daemon.cgroup_mode = *mode;
  daemon.once = values["once"].as<bool>();
  daemon.dry_run = values["dry-run"].as<bool>();
  return softzone::zoned::runZoned(daemon, std::cout, std::cerr);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const po::error& error) {
    std::cerr << "zoned: " << error.what() << '\n';
    return kExitUsage;
  }
}

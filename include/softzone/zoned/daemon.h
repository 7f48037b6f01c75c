// zoned's main loop: sample, decide, act under zonectl's lock, log, persist, publish metrics;
// SIGHUP reloads the spec, SIGTERM/SIGINT stop it between two samples.
#pragma once

#include <ostream>
#include <string>

#include "softzone/cpuset/cgroup.h"

namespace softzone::zoned {

struct DaemonOptions {
  std::string config_path;
  std::string root = "/";  // another root only with dry_run: a tree's pids are not acted on
  cpuset::CgroupMode cgroup_mode = cpuset::CgroupMode::kAuto;
  // Samples until the policy has seen `sustain` of them, one interval apart, then takes (or with
  // dry_run prints) that sample's decisions and exits.
  bool once = false;
  bool dry_run = false;  // decide and print, change nothing (no move, no state file)
};

// Runs until SIGTERM/SIGINT (or after one round with `once`). Returns the exit status: 0; 1 when
// it could not start (or, with `once`, a sample or a move failed); 2 for a bad config or options.
// Decisions and events go to `log`, one line each; with dry_run the decisions go to `out`.
int runZoned(const DaemonOptions& options, std::ostream& out, std::ostream& log);

}  // namespace softzone::zoned

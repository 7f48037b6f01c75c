// Runs the zonectl (or zoned) binary from a test and captures its exit status, stdout and stderr.
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/fake_tree.h"

extern char** environ;

namespace softzone::tools {

// Whether the zonectl under test honours SOFTZONE_TEST_STOP_AT: only one built with
// SOFTZONE_TEST_HOOKS does (the test and guest trees); a user's or a package's build ignores it,
// and a test that kills zonectl at a stop point is skipped there.
#ifdef SOFTZONE_ZONECTL_TEST_HOOKS
inline constexpr bool kZonectlStopPoints = true;
#else
inline constexpr bool kZonectlStopPoints = false;
#endif
inline constexpr const char* kNoStopPoints =
    "zonectl is built without SOFTZONE_TEST_HOOKS: its stop points are no-ops";

struct Outcome {
  int exit_status = -1;
  std::string out;
  std::string err;
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs `binary` with stdout and stderr going to files in a scratch tree (no pipes to deadlock on).
inline Outcome runBinary(std::string binary, std::vector<std::string> args) {
  ::softzone::testing::FakeTree scratch;
  std::string out_path = scratch.hostPath("/stdout");
  std::string err_path = scratch.hostPath("/stderr");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  std::vector<char*> argv = {binary.data()};
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  Outcome run;
  int spawn_error = posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawn_error != 0) return run;
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return run;
  run.exit_status = WEXITSTATUS(status);
  run.out = slurp(out_path);
  run.err = slurp(err_path);
  return run;
}

inline Outcome zonectl(std::vector<std::string> args) {
  return runBinary(SOFTZONE_ZONECTL, std::move(args));
}

// zonectl --root ROOT ARGS...: a verb on a fixture tree.
inline Outcome zonectlOn(const std::string& root, const std::vector<std::string>& args) {
  std::vector<std::string> full = {"--root", root};
  full.insert(full.end(), args.begin(), args.end());
  return zonectl(std::move(full));
}

}  // namespace softzone::tools

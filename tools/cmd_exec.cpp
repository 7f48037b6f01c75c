// zonectl exec NAME -- CMD ARGS...: runs a command inside a partition; its exit status is
// zonectl's (zonectl joins the partition, drops the lock and becomes the command).
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "partition_view.h"

namespace softzone::tools {
namespace po = boost::program_options;

namespace {

// zonectl joins the partition and execs CMD: its own pages are not worth moving. With v1's
// memory_migrate the kernel would move them on the attach, with MPOL_MF_MOVE_ALL, and with them
// the page cache of every library zonectl maps (libc, libstdc++, ...), shared by every process on
// the machine: it lands on the partition's nodes, and a later shrink has to move it again, each
// page unmapped from every process that maps it (measured: 256 MiB shrinks 1.5-2.5x slower for a
// process started this way). On v1 this is `attach --no-migrate` of zonectl itself; v2 always
// migrates on an attach, and there this stays as it was.
Status joinWithoutMigrating(cpuset::Session& session, const std::string& name,
                            const std::string& cgroup) {
  if (session.backend->version() == cpuset::CgroupVersion::kV1) {
    SZ_TRY(attached, cpuset::attachProcesses(session, name, {::getpid()}, /*migrate=*/false));
    (void)attached;
    return {};
  }
  return session.backend->moveProcess(cgroup, ::getpid());
}

}  // namespace

Status cmdExec(Context& ctx, const std::vector<std::string>& args) {
  po::options_description options("exec options");
  options.add_options()                                                                  //
      ("name", po::value<std::string>()->required()->value_name("NAME"), "partition name")  //
      ("command", po::value<std::vector<std::string>>()->required()->value_name("CMD"),
       "the command and its arguments, after --");
  po::positional_options_description positional;
  positional.add("name", 1).add("command", -1);
  po::variables_map values;
  if (!parseVerbOptions(ctx, "exec", "NAME -- CMD ARGS...", options, positional, args, values)) {
    return {};
  }
  std::string name = values["name"].as<std::string>();
  SZ_CHECK(checkName(name));
  std::vector<std::string> command = values["command"].as<std::vector<std::string>>();
  SZ_TRY(session, openPartitionSession(ctx, true));
  SZ_TRY(zone, cpuset::findPartition(session, name));
  if (!ctx.fs.isLive()) return badInput("exec runs a command: it needs the live system, not --root");
  SZ_CHECK(joinWithoutMigrating(session, name, zone->cgroup_path));
  session.lock->release();
  std::vector<char*> argv;
  for (std::string& arg : command) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::cout.flush();
  ::execvp(argv[0], argv.data());
  int err = errno;
  // The command could not start: the shell's statuses (127 not found, 126 not executable).
  std::cerr << "zonectl exec: " << command[0] << ": " << std::strerror(err) << "\n";
  std::_Exit(err == ENOENT ? 127 : 126);
}

}  // namespace softzone::tools

// zonectl exec NAME -- CMD ARGS...: runs a command inside a partition; its exit status is
// zonectl's (zonectl joins the partition, drops the lock and becomes the command).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "partition_view.h"
#include "softzone/zones/page_sharing.h"

namespace softzone::tools {
namespace po = boost::program_options;

namespace {

// On v1 zonectl joins the partition and execs CMD: its own pages are not worth moving. With v1's
// memory_migrate the kernel would move them on the attach, with MPOL_MF_MOVE_ALL, and with them
// the page cache of every library zonectl maps (libc, libstdc++, ...), shared by every process on
// the machine: it lands on the partition's nodes, and a later shrink has to move it again, each
// page unmapped from every process that maps it (measured: 256 MiB shrinks 1.5-2.5x slower for a
// process started this way). This is `attach --no-migrate` of zonectl itself.
Status joinWithoutMigrating(cpuset::Session& session, const std::string& name) {
  SZ_TRY(attached, cpuset::attachProcesses(session, name, {::getpid()}, /*migrate=*/false));
  (void)attached;
  return {};
}

// The helper of joinPuttingBack, in its own process: records where the joiner's page cache is,
// says so on `ready`, waits for `go` (the join done), puts the pages back. Never returns.
[[noreturn]] void runPutBackHelper(const FsRoot& fs, pid_t joiner, const NodeSet& outside,
                                   const std::string& zone, int ready, int go) {
  // zonectl is single-threaded here: the helper may allocate.
  auto leave = zones::findFilePagesOn(fs, joiner, outside);
  char byte = leave ? 1 : 0;
  (void)!::write(ready, &byte, 1);
  if (!leave || ::read(go, &byte, 1) != 1) std::_Exit(1);
  auto put = zones::putBackPages(fs, *leave);
  uint64_t failed = put ? put->pages_failed : leave->pages();
  if (failed > 0) {
    std::cerr << "zonectl exec: " << failed << " pages of zonectl's page cache stay in partition "
              << zone << " (busy, or evicted meanwhile)\n";
  }
  std::_Exit(0);
}

// v2 always migrates on an attach: zonectl's pages go with it into the partition, and there
// zonectl cannot move them out again (its cpuset refuses their old nodes). A helper forked first
// stays outside: before the join it finds where zonectl's file pages are (libraries, the binary:
// page cache others map or the shared zone holds, none of it the command's), after the join it
// puts them back there, as attach does for the pages a process shares (zones::putBackPages).
// Then zonectl execs CMD, keeping its pid. Pages that could not go back are reported on stderr,
// not fatal: CMD runs either way.
Status joinPuttingBack(cpuset::Session& session, const cpuset::ZoneView& zone) {
  int ready[2];
  int go[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return errnoError(errno, "pipe");
  if (::pipe2(go, O_CLOEXEC) != 0) {
    int err = errno;
    ::close(ready[0]);
    ::close(ready[1]);
    return errnoError(err, "pipe");
  }
  pid_t joiner = ::getpid();
  std::cout.flush();
  // A signal that ends zonectl between the join and the put-back would leave its pages in the
  // partition: the usual ones wait until the helper is done (and then end zonectl before CMD).
  sigset_t held;
  sigset_t before;
  ::sigemptyset(&held);
  for (int signal : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) ::sigaddset(&held, signal);
  ::sigprocmask(SIG_BLOCK, &held, &before);
  pid_t helper = ::fork();
  if (helper == 0) {
    // The joiner's ends: a helper holding the write end of `go` itself would never see it close
    // when the join fails, and the joiner would wait for it forever, its signals held.
    ::close(ready[0]);
    ::close(go[1]);
    runPutBackHelper(*session.fs, joiner, session.zones.machine_nodes.minus(zone.nodes), zone.name,
                     ready[1], go[0]);
  }
  int fork_errno = errno;
  ::close(ready[1]);
  ::close(go[0]);
  char byte = 0;
  bool found = helper > 0 && ::read(ready[0], &byte, 1) == 1 && byte == 1;
  ::close(ready[0]);
  if (!found) {
    std::cerr << "zonectl exec: "
              << (helper < 0 ? std::string("fork: ") + std::strerror(fork_errno)
                             : std::string("could not record where zonectl's pages are"))
              << "; its page cache may follow it into partition " << zone.name << "\n";
  }
  Status joined = session.backend->moveProcess(zone.cgroup_path, joiner);
  if (found && joined) (void)!::write(go[1], &byte, 1);
  ::close(go[1]);
  while (helper > 0 && ::waitpid(helper, nullptr, 0) < 0 && errno == EINTR) {
  }
  ::sigprocmask(SIG_SETMASK, &before, nullptr);
  return joined;
}

}  // namespace

Status cmdExec(Context& ctx, const std::vector<std::string>& args) {
  po::options_description options("exec options");
  options.add_options()                                                                     //
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
  if (!ctx.fs.isLive())
    return badInput("exec runs a command: it needs the live system, not --root");
  if (session.backend->canMoveWithoutMigrating()) {
    SZ_CHECK(joinWithoutMigrating(session, name));
  } else {
    SZ_CHECK(joinPuttingBack(session, *zone));
  }
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

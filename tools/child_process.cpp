// Starting a command inside a zone's cgroup (see child_process.h).
#include "child_process.h"

#include <fcntl.h>
#include <linux/sched.h>  // struct clone_args, CLONE_INTO_CGROUP
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "softzone/cpuset/partitions.h"

namespace softzone::tools {
namespace {

struct Pipes {
  int go[2] = {-1, -1};
  int failed[2] = {-1, -1};

  void closeAll() {
    for (int fd : {go[0], go[1], failed[0], failed[1]}) {
      if (fd >= 0) ::close(fd);
    }
  }
};

Result<Pipes> makePipes() {
  Pipes pipes;
  if (::pipe2(pipes.go, O_CLOEXEC) != 0) return errnoError(errno, "pipe");
  if (::pipe2(pipes.failed, O_CLOEXEC) != 0) {
    int err = errno;
    pipes.closeAll();
    return errnoError(err, "pipe");
  }
  return pipes;
}

// In the child, before exec: its own oom_score_adj, written by itself so that the command never
// runs with zonectl's. 0 or the errno. Raising the score needs no privilege.
int setOwnOomScoreAdj(const std::string& value) {
  if (value.empty()) return 0;
  int fd = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  ssize_t written = ::write(fd, value.data(), value.size());
  int err = written == static_cast<ssize_t>(value.size()) ? 0 : (written < 0 ? errno : EIO);
  ::close(fd);
  return err;
}

// In the child: only async-signal-safe calls, and none that use glibc's idea of the current
// thread (raise, abort, pthread_*): after a raw clone3(2) it is still the parent's. Waits for go,
// sets its oom_score_adj, execs, or reports why it could not.
[[noreturn]] void runChild(const Pipes& pipes, char* const* argv,
                           const std::string& oom_score_adj) {
  ::signal(SIGINT, SIG_DFL);
  ::signal(SIGQUIT, SIG_DFL);
  char byte = 0;
  ssize_t n;
  do {
    n = ::read(pipes.go[0], &byte, 1);
  } while (n < 0 && errno == EINTR);
  if (n == 1) {
    int err = setOwnOomScoreAdj(oom_score_adj);
    if (err == 0) {
      ::execvp(argv[0], argv);
      err = errno;
    }
    ssize_t ignored = ::write(pipes.failed[1], &err, sizeof err);
    (void)ignored;
  }
  ::_exit(127);
}

// fork(2) or, with a cgroup descriptor, clone3(2) into that cgroup. -errno on failure.
pid_t forkInto(int cgroup_fd) {
  if (cgroup_fd < 0) {
    pid_t pid = ::fork();
    return pid < 0 ? -errno : pid;
  }
  struct clone_args args {};
  args.flags = CLONE_INTO_CGROUP;
  args.exit_signal = SIGCHLD;
  args.cgroup = static_cast<uint64_t>(cgroup_fd);
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  return pid < 0 ? -errno : static_cast<pid_t>(pid);
}

}  // namespace

Result<WaitingChild> startChildIn(const cpuset::CgroupBackend& backend, const std::string& cgroup,
                                  const std::vector<std::string>& command,
                                  const std::string& oom_score_adj) {
  bool clone_into = backend.canCloneInto();
  Fd cgroup_dir;
  if (clone_into) {
    SZ_TRY(dir, backend.openCgroupDir(cgroup));
    cgroup_dir = std::move(dir);
  }
  SZ_TRY(pipes, makePipes());
  std::vector<char*> argv;
  for (const std::string& arg : command) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  pid_t pid = forkInto(clone_into ? cgroup_dir.get() : -1);
  if (pid < 0) {
    pipes.closeAll();
    return errnoError(-pid, clone_into ? "clone3 into " + cgroup : std::string("fork"));
  }
  if (pid == 0) runChild(pipes, argv.data(), oom_score_adj);
  ::close(pipes.go[0]);
  ::close(pipes.failed[1]);
  WaitingChild child{pid, pipes.go[1], pipes.failed[0]};
  if (clone_into) return child;
  // Started outside, moved in: the kernel migrates on the move only with memory_migrate on.
  std::vector<pid_t> moved_pids;
  Status moved = cpuset::moveWithoutMigrating(backend, cgroup, {pid}, moved_pids);
  if (!moved) {
    abandonChild(child);
    return std::move(moved).error();
  }
  return child;
}

int releaseChild(WaitingChild& child) {
  char go = 1;
  ssize_t written = ::write(child.go_write, &go, 1);
  (void)written;
  ::close(child.go_write);
  child.go_write = -1;
  int exec_errno = 0;
  ssize_t n;
  do {
    n = ::read(child.failed_read, &exec_errno, sizeof exec_errno);
  } while (n < 0 && errno == EINTR);
  ::close(child.failed_read);
  child.failed_read = -1;
  return n == static_cast<ssize_t>(sizeof exec_errno) ? exec_errno : 0;
}

void abandonChild(WaitingChild& child) {
  for (int* fd : {&child.go_write, &child.failed_read}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
  ::kill(child.pid, SIGKILL);
  ::waitpid(child.pid, nullptr, 0);
}

int waitStatusToExit(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace softzone::tools

// Test helpers for pid-reuse races: a child run as pid 1 of its own user + pid + mount namespace
// (with a /proc of that namespace), where a process can be given a chosen pid (clone3 set_tid),
// so "a pid read earlier now names another process" happens on purpose, without root.
#pragma once

#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>

namespace softzone::testing {

struct NamespaceRun {
  bool ran = false;  // false: the namespaces could not be made (skipped_why says why)
  std::string skipped_why;
  std::string failure;  // empty: the body's checks passed
};

namespace detail {

inline bool writeWhole(const char* path, const std::string& text) {
  int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool done = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  return done;
}

inline void report(int fd, const std::string& text) {
  (void)!::write(fd, text.data(), text.size());
}

// In the child that unshared: maps this user to root of the new user namespace.
inline std::string mapIds(uid_t uid, gid_t gid) {
  if (!writeWhole("/proc/self/setgroups", "deny"))
    return "setgroups: " + std::string(strerror(errno));
  if (!writeWhole("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1")) {
    return "uid_map: " + std::string(strerror(errno));
  }
  if (!writeWhole("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1")) {
    return "gid_map: " + std::string(strerror(errno));
  }
  return "";
}

// Pid 1 of the new pid namespace: its own /proc, then the body.
[[noreturn]] inline void runAsInit(int out, const std::function<std::string()>& body) {
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
      ::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    report(out, "skip:mounting a /proc for the pid namespace: " + std::string(strerror(errno)));
    ::_exit(0);
  }
  std::string failure = body();
  report(out, failure.empty() ? "ok:" : "fail:" + failure);
  ::_exit(0);
}

}  // namespace detail

// Runs `body` in a forked child that is pid 1 of a new user + pid + mount namespace with /proc
// mounted for it; `body` returns "" when its checks passed, else what failed. Every process of
// the namespace ends with it.
inline NamespaceRun runInPidNamespace(const std::function<std::string()>& body) {
  NamespaceRun run;
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    run.skipped_why = "pipe2 failed";
    return run;
  }
  uid_t uid = ::geteuid();
  gid_t gid = ::getegid();
  pid_t helper = ::fork();
  if (helper == 0) {
    ::close(pipe_fds[0]);
    if (::unshare(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS) != 0) {
      detail::report(pipe_fds[1],
                     "skip:unshare(user, pid, mount): " + std::string(strerror(errno)));
      ::_exit(0);
    }
    std::string mapped = detail::mapIds(uid, gid);
    if (!mapped.empty()) {
      detail::report(pipe_fds[1], "skip:" + mapped);
      ::_exit(0);
    }
    pid_t init = ::fork();
    if (init == 0) detail::runAsInit(pipe_fds[1], body);
    int status = 0;
    if (init > 0) ::waitpid(init, &status, 0);
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  std::string said;
  char buffer[512];
  ssize_t got;
  while ((got = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0) said.append(buffer, got);
  ::close(pipe_fds[0]);
  if (helper > 0) ::waitpid(helper, nullptr, 0);
  if (said.rfind("skip:", 0) == 0) {
    run.skipped_why = said.substr(5);
  } else if (said.rfind("ok:", 0) == 0) {
    run.ran = true;
  } else {
    run.ran = true;
    run.failure = said.rfind("fail:", 0) == 0 ? said.substr(5) : "the namespace died: " + said;
  }
  return run;
}

// Inside runInPidNamespace: a child with exactly `pid` (free now) that runs `child` and exits.
// The pid, or -errno.
inline pid_t forkWithPid(pid_t pid, const std::function<void()>& child) {
  pid_t wanted = pid;
  struct clone_args args {};
  args.exit_signal = SIGCHLD;
  args.set_tid = reinterpret_cast<uintptr_t>(&wanted);
  args.set_tid_size = 1;
  long got = ::syscall(SYS_clone3, &args, sizeof args);
  if (got < 0) return -errno;
  if (got == 0) {
    child();
    ::_exit(0);
  }
  return static_cast<pid_t>(got);
}

// Kills a child and reaps it: its pid is free for the next process.
inline void endAndReap(pid_t pid) {
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

}  // namespace softzone::testing

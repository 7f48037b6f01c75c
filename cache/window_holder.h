// Inside the cache library: a child process that keeps a group's windows mapped while the binder
// asks where their pages are and moves them through its pid.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <cstddef>
#include <vector>

#include "softzone/zones/result.h"

namespace softzone::cache::detail {

// The `advice` of a call that maps cached pages by reading a byte of each: the fault maps its
// cached neighbours too (fault-around), so a page in sixteen faults. Under emulation that mapped
// a 100 MiB tree in 23-25 ms against MADV_POPULATE_READ's 41-42 (6.1), and it leaves the pages'
// LRU state alone where MADV_POPULATE_READ marks each page accessed. A page past the end of a
// file that shrank (SIGBUS) ends the call with EFAULT.
constexpr int kTouchEachPage = -1;

// While alive, a SIGBUS raised by touchPages on this thread ends that call instead of the
// process: a file mapped by bind or residency may shrink under it. Only async-signal-safe calls,
// so a holder (a child forked from a threaded process) can use it.
class TouchGuard {
 public:
  TouchGuard() noexcept;
  TouchGuard(const TouchGuard&) = delete;
  TouchGuard& operator=(const TouchGuard&) = delete;
  ~TouchGuard();

 private:
  struct sigaction previous_ {};
};

// Reads a byte of each page of [address, address + bytes) under a TouchGuard: 0, or EFAULT when
// a page is past the end of its file.
int touchPages(const void* address, size_t bytes) noexcept;

// One call the holder makes: madvise(2), or kTouchEachPage.
struct HolderCall {
  void* address = nullptr;
  size_t bytes = 0;
  int advice = 0;  // MADV_SEQUENTIAL, MADV_POPULATE_READ, kTouchEachPage
};

// Why a child and not this process: a page mapped here is mapped in the address space every
// moving thread runs in, so each page one thread moved would interrupt the other threads' CPUs to
// flush their TLBs (two threads made bind's moves 10-40x slower). Mapped in a child that sleeps,
// the pages can be moved by several threads at once through its pid, as the partition engine
// moves a process's pages: 100 MiB of page cache mapped by a process moved in 190-205 ms with two
// threads against 360-490 ms with one (6.1 under emulation).
class WindowHolder {
 public:
  // Forks the holder from the calling thread: it inherits the thread's memory policy (what it
  // reads in goes where the thread's reads would) and every mapping made so far. It makes the
  // calls of `steps` in order, tells the caller after each step, then waits to be released
  // (reap, letGo, or this object's end).
  static Result<WindowHolder> start(std::vector<std::vector<HolderCall>> steps);

  WindowHolder(WindowHolder&& other) noexcept;
  WindowHolder& operator=(WindowHolder&&) = delete;
  WindowHolder(const WindowHolder&) = delete;
  ~WindowHolder();  // releases and reaps

  pid_t pid() const noexcept { return pid_; }
  // Waits until the holder has made the next step's calls: their results, one errno per call (0:
  // done). Fails when the holder died.
  Result<std::vector<int>> waitStep();
  // Releases the holder (it exits, its mappings going with it) and waits for it to be gone.
  void reap() noexcept;
  // Releases the holder and leaves the wait to the caller: its pid (a zombie once it has exited,
  // so the pid is not reused before the caller's waitpid). This object no longer knows it.
  pid_t letGo() noexcept;

 private:
  WindowHolder(pid_t pid, int progress_fd, int release_fd, int* results, size_t results_bytes,
               std::vector<size_t> step_sizes);
  // Lets the holder exit, without waiting for it.
  void release() noexcept;

  pid_t pid_ = -1;
  int progress_fd_ = -1;    // the holder writes a byte per step done
  int release_fd_ = -1;     // closing it lets the holder exit
  int* results_ = nullptr;  // shared with the holder: an errno per call, all steps in order
  size_t results_bytes_ = 0;
  std::vector<size_t> step_sizes_;
  size_t steps_done_ = 0;
  size_t results_done_ = 0;
};

}  // namespace softzone::cache::detail

// The holder: a forked child that makes its madvise calls step by step and sleeps until released.
#include "window_holder.h"

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "softzone/cache/page_cache.h"

namespace softzone::cache::detail {
namespace {

// Where a touch that hit a page past the end of its file goes back to, on this thread (none:
// the SIGBUS is not a touch's, and kills as it would have). volatile: only the signal handler
// reads it, so without it the compiler drops touchPages' store before the loop as dead (seen at
// -O3, the package's build: the SIGBUS then killed the process).
thread_local sigjmp_buf* volatile touch_escape = nullptr;
const size_t touch_stride = static_cast<size_t>(::sysconf(_SC_PAGESIZE));

void onTouchFault(int signal) {
  if (touch_escape != nullptr) siglongjmp(*touch_escape, 1);
  ::signal(signal, SIG_DFL);
  ::raise(signal);
}

void waitForExit(pid_t pid) noexcept {
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

int makeCall(const HolderCall& call) {
  if (call.advice == kTouchEachPage) return touchPages(call.address, call.bytes);
  return ::madvise(call.address, call.bytes, call.advice) == 0 ? 0 : errno;
}

// The holder's whole life: only async-signal-safe calls on memory prepared before the fork (the
// parent has other threads; a lock one of them held would never be released here).
[[noreturn]] void holderMain(const std::vector<std::vector<HolderCall>>& steps, int* results,
                             int progress_fd, int release_fd) {
  TouchGuard guard;
  size_t index = 0;
  for (const std::vector<HolderCall>& step : steps) {
    for (const HolderCall& call : step) results[index++] = makeCall(call);
    char done = 's';
    if (::write(progress_fd, &done, 1) != 1) ::_exit(1);  // the binder is gone
  }
  char byte = 0;
  while (::read(release_fd, &byte, 1) < 0 && errno == EINTR) {
  }
  ::_exit(0);
}

}  // namespace

TouchGuard::TouchGuard() noexcept {
  struct sigaction on_bus {};
  on_bus.sa_handler = onTouchFault;
  // SIGBUS is not blocked while the handler runs, so jumping out of it leaves the signal mask as
  // it was: touchPages need not save and restore the mask (a system call) for every call.
  on_bus.sa_flags = SA_NODEFER;
  ::sigaction(SIGBUS, &on_bus, &previous_);
}

TouchGuard::~TouchGuard() { ::sigaction(SIGBUS, &previous_, nullptr); }

int touchPages(const void* address, size_t bytes) noexcept {
  sigjmp_buf escape;
  if (sigsetjmp(escape, 0) != 0) {
    touch_escape = nullptr;
    return EFAULT;
  }
  touch_escape = &escape;
  const volatile char* page = static_cast<const volatile char*>(address);
  for (size_t offset = 0; offset < bytes; offset += touch_stride) (void)page[offset];
  touch_escape = nullptr;
  return 0;
}

Result<WindowHolder> WindowHolder::start(std::vector<std::vector<HolderCall>> steps) {
  size_t calls = 0;
  std::vector<size_t> step_sizes;
  for (const std::vector<HolderCall>& step : steps) {
    calls += step.size();
    step_sizes.push_back(step.size());
  }
  size_t results_bytes = std::max<size_t>(calls, 1) * sizeof(int);
  void* shared =
      ::mmap(nullptr, results_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) return errnoError(errno, "mmap of the holder's results");
  int progress[2];
  int release[2];
  if (::pipe2(progress, O_CLOEXEC) != 0) {
    int err = errno;
    ::munmap(shared, results_bytes);
    return errnoError(err, "pipe");
  }
  if (::pipe2(release, O_CLOEXEC) != 0) {
    int err = errno;
    ::close(progress[0]);
    ::close(progress[1]);
    ::munmap(shared, results_bytes);
    return errnoError(err, "pipe");
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(progress[0]);
    ::close(release[1]);
    holderMain(steps, static_cast<int*>(shared), progress[1], release[0]);
  }
  int err = errno;
  ::close(progress[1]);
  ::close(release[0]);
  if (pid < 0) {
    ::close(progress[0]);
    ::close(release[1]);
    ::munmap(shared, results_bytes);
    return errnoError(err, "fork of the page holder");
  }
  return WindowHolder(pid, progress[0], release[1], static_cast<int*>(shared), results_bytes,
                      std::move(step_sizes));
}

WindowHolder::WindowHolder(pid_t pid, int progress_fd, int release_fd, int* results,
                           size_t results_bytes, std::vector<size_t> step_sizes)
    : pid_(pid),
      progress_fd_(progress_fd),
      release_fd_(release_fd),
      results_(results),
      results_bytes_(results_bytes),
      step_sizes_(std::move(step_sizes)) {}

WindowHolder::WindowHolder(WindowHolder&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      progress_fd_(std::exchange(other.progress_fd_, -1)),
      release_fd_(std::exchange(other.release_fd_, -1)),
      results_(std::exchange(other.results_, nullptr)),
      results_bytes_(other.results_bytes_),
      step_sizes_(std::move(other.step_sizes_)),
      steps_done_(other.steps_done_),
      results_done_(other.results_done_) {}

WindowHolder::~WindowHolder() {
  release();
  reap();
  if (progress_fd_ >= 0) ::close(progress_fd_);
  if (results_ != nullptr) ::munmap(results_, results_bytes_);
}

Result<std::vector<int>> WindowHolder::waitStep() {
  if (steps_done_ >= step_sizes_.size())
    return errnoError(EINVAL, "the page holder has no step left");
  char byte = 0;
  ssize_t got = 0;
  do {
    got = ::read(progress_fd_, &byte, 1);
  } while (got < 0 && errno == EINTR);
  if (got != 1) {
    return errnoError(got < 0 ? errno : ESRCH, "the page holder (pid " + std::to_string(pid_) +
                                                   ") died before mapping the pages");
  }
  size_t size = step_sizes_[steps_done_++];
  std::vector<int> errnos(results_ + results_done_, results_ + results_done_ + size);
  results_done_ += size;
  return errnos;
}

void WindowHolder::release() noexcept {
  if (release_fd_ >= 0) ::close(std::exchange(release_fd_, -1));
}

pid_t WindowHolder::letGo() noexcept {
  release();
  return std::exchange(pid_, -1);
}

void WindowHolder::reap() noexcept {
  if (pid_ <= 0) return;
  release();
  waitForExit(std::exchange(pid_, -1));
}

}  // namespace softzone::cache::detail

namespace softzone::cache {

void ExitingHolders::wait() noexcept {
  for (pid_t pid : pids_) detail::waitForExit(pid);
  pids_.clear();
}

}  // namespace softzone::cache

// A datagram socket standing for systemd's notification socket: bound in a scratch directory and
// named in $NOTIFY_SOCKET while it lives, so sd_notify's messages can be read back.
#pragma once

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "support/fake_tree.h"

namespace softzone::testing {

// A datagram socket bound in a scratch directory and named in NOTIFY_SOCKET while it lives.
class NotifySocket {
 public:
  NotifySocket() {
    path_ = scratch_.hostPath("/notify");
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un at{};
    at.sun_family = AF_UNIX;
    path_.copy(at.sun_path, sizeof at.sun_path - 1);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&at), sizeof at), 0);
    ::setenv("NOTIFY_SOCKET", path_.c_str(), 1);
  }
  ~NotifySocket() {
    ::unsetenv("NOTIFY_SOCKET");
    ::close(fd_);
  }
  // The next datagram, "" when none is waiting.
  std::string next() {
    char buffer[4096];
    ssize_t got = ::recv(fd_, buffer, sizeof buffer, 0);
    return got > 0 ? std::string(buffer, got) : std::string();
  }

 private:
  FakeTree scratch_;
  std::string path_;
  int fd_ = -1;
};

}  // namespace softzone::testing

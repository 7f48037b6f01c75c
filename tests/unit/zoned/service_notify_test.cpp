// sd_notify as zoned sends it, received on a NOTIFY_SOCKET datagram socket the test binds: the
// messages' exact text, the watchdog's period from WATCHDOG_USEC, and silence outside systemd.
#include "softzone/zoned/service_notify.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "support/notify_socket.h"

namespace softzone::zoned {
namespace {

using ::softzone::testing::NotifySocket;

TEST(ServiceNotifierTest, SendsReadyStatusAndStoppingAsSystemdReadsThem) {
  NotifySocket socket;
  ServiceNotifier notifier = ServiceNotifier::fromEnvironment();
  ASSERT_TRUE(notifier.ready("a 2 nodes, 3 free"));
  EXPECT_EQ(socket.next(), "READY=1\nSTATUS=a 2 nodes, 3 free");
  ASSERT_TRUE(notifier.status("a 3 nodes, 2 free"));
  EXPECT_EQ(socket.next(), "STATUS=a 3 nodes, 2 free");
  ASSERT_TRUE(notifier.stopping());
  EXPECT_EQ(socket.next(), "STOPPING=1\nSTATUS=stopping");
}

TEST(ServiceNotifierTest, AStatusCannotAddAFieldOfItsOwn) {
  NotifySocket socket;
  ASSERT_TRUE(ServiceNotifier::fromEnvironment().status("web\nREADY=1"));
  EXPECT_EQ(socket.next(), "STATUS=web READY=1");
}

TEST(ServiceNotifierTest, PingsTheWatchdogAtHalfItsPeriodWhenTheServiceHasOne) {
  NotifySocket socket;
  ::setenv("WATCHDOG_USEC", "4000000", 1);
  ServiceNotifier notifier = ServiceNotifier::fromEnvironment();
  ::unsetenv("WATCHDOG_USEC");
  EXPECT_EQ(notifier.watchdogPingMs(), 2000);
  ASSERT_TRUE(notifier.watchdog());
  EXPECT_EQ(socket.next(), "WATCHDOG=1");
}

TEST(ServiceNotifierTest, NoWatchdogWithoutWatchdogUsecOrForAnotherPid) {
  NotifySocket socket;
  ::unsetenv("WATCHDOG_USEC");
  ServiceNotifier none = ServiceNotifier::fromEnvironment();
  EXPECT_EQ(none.watchdogPingMs(), 0);
  ASSERT_TRUE(none.watchdog());
  EXPECT_EQ(socket.next(), "");
  ::setenv("WATCHDOG_USEC", "4000000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid() + 1).c_str(), 1);
  EXPECT_EQ(ServiceNotifier::fromEnvironment().watchdogPingMs(), 0);
  ::unsetenv("WATCHDOG_USEC");
  ::unsetenv("WATCHDOG_PID");
}

TEST(ServiceNotifierTest, OutsideSystemdNothingIsSentAndNothingFails) {
  ::unsetenv("NOTIFY_SOCKET");
  ServiceNotifier notifier = ServiceNotifier::fromEnvironment();
  EXPECT_TRUE(notifier.ready("x"));
  EXPECT_TRUE(notifier.stopping());
}

TEST(ServiceNotifierTest, AStatusLineHasNoControlCharacters) {
  EXPECT_EQ(statusLine("a\tb\nc\rd\x7f"), "a b c d ");
}

}  // namespace
}  // namespace softzone::zoned

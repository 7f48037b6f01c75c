// zoned's messages to its service manager through libsystemd's sd_notify: READY=1 after the first
// sample, STATUS= one line, WATCHDOG=1 every loop, STOPPING=1. Outside systemd (no NOTIFY_SOCKET)
// every call does nothing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "softzone/zones/result.h"

namespace softzone::zoned {

class ServiceNotifier {
 public:
  // Reads $NOTIFY_SOCKET and $WATCHDOG_USEC (and $WATCHDOG_PID, which must be this process) once.
  static ServiceNotifier fromEnvironment();

  // How often to send WATCHDOG=1: half the service's WatchdogSec, as sd_watchdog_enabled(3)
  // advises; 0 when the service has no watchdog.
  int64_t watchdogPingMs() const noexcept { return watchdog_ping_ms_; }

  Status ready(std::string_view status) const;  // READY=1 and the status line
  Status status(std::string_view status) const;
  Status watchdog() const;  // nothing when the service has no watchdog
  Status stopping() const;

 private:
  explicit ServiceNotifier(int64_t watchdog_ping_ms) : watchdog_ping_ms_(watchdog_ping_ms) {}
  Status send(const std::string& message) const;

  int64_t watchdog_ping_ms_ = 0;
};

// The status text on one line: newlines and other control characters become spaces, so a
// message cannot add a field of its own ("READY=1" on a line of its own).
std::string statusLine(std::string_view text);

}  // namespace softzone::zoned

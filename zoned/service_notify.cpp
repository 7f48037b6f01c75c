// sd_notify for zoned: what it tells systemd and when is the daemon's; here only the wire.
#include "softzone/zoned/service_notify.h"

#include <systemd/sd-daemon.h>

namespace softzone::zoned {

ServiceNotifier ServiceNotifier::fromEnvironment() {
  uint64_t usec = 0;
  if (::sd_watchdog_enabled(0, &usec) <= 0) usec = 0;
  return ServiceNotifier(static_cast<int64_t>(usec / 2000));
}

Status ServiceNotifier::send(const std::string& message) const {
  // 0: not under systemd, nothing to say; > 0: sent.
  int sent = ::sd_notify(0, message.c_str());
  if (sent < 0) return errnoError(-sent, "sd_notify to $NOTIFY_SOCKET");
  return {};
}

Status ServiceNotifier::ready(std::string_view status) const {
  return send("READY=1\nSTATUS=" + statusLine(status));
}

Status ServiceNotifier::status(std::string_view status) const {
  return send("STATUS=" + statusLine(status));
}

Status ServiceNotifier::watchdog() const {
  if (watchdog_ping_ms_ == 0) return {};
  return send("WATCHDOG=1");
}

Status ServiceNotifier::stopping() const { return send("STOPPING=1\nSTATUS=stopping"); }

std::string statusLine(std::string_view text) {
  std::string line(text);
  for (char& c : line) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return line;
}

}  // namespace softzone::zoned

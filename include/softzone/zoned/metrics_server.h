// zoned's HTTP /metrics endpoint: serves the last exposition text from its own thread, on a
// loopback address only; the loop publishes, the server thread only reads the copy.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "softzone/zoned/config.h"
#include "softzone/zones/result.h"

namespace softzone::zoned {

class MetricsServer {
 public:
  // Binds `address` (port 0: an ephemeral port, for tests) and starts serving: GET and HEAD
  // /metrics answer the last published text as `text/plain; version=0.0.4`, anything else 404.
  // A host that is not loopback is refused (bad input); an address that cannot be bound (in use)
  // is an error naming it. Start it with SIGHUP/SIGTERM blocked: its threads inherit the mask.
  static Result<std::unique_ptr<MetricsServer>> start(const ListenAddress& address);

  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;
  ~MetricsServer();  // stops serving and joins its threads

  uint16_t port() const noexcept;

  // Replaces the text served; until the first call /metrics answers 503.
  void publish(std::string exposition);

 private:
  struct Impl;
  explicit MetricsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace softzone::zoned

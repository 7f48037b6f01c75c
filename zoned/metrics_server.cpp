// zoned's HTTP /metrics endpoint over cpp-httplib: one worker thread, short timeouts, one request
// per connection, small request limits; it reads a copy of the exposition under a mutex and never
// touches zones, so the single-threaded loop stays the only one that acts.
#include "softzone/zoned/metrics_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <thread>

namespace softzone::zoned {
namespace {

constexpr const char* kContentType = "text/plain; version=0.0.4";
// A scrape is a GET without a body; a client that sends more, or sends it slowly, is cut off.
constexpr size_t kMaxPayloadBytes = 1024;
constexpr time_t kTimeoutSeconds = 2;

std::string describeAddress(const ListenAddress& address) {
  std::string host =
      address.host.find(':') != std::string::npos ? "[" + address.host + "]" : address.host;
  return host + ":" + std::to_string(address.port);
}

}  // namespace

struct MetricsServer::Impl {
  httplib::Server server;
  std::thread thread;
  uint16_t port = 0;
  std::mutex mutex;
  std::string exposition;  // guarded by mutex
  bool published = false;  // guarded by mutex
  std::atomic<bool> finished = false;

  void answer(httplib::Response& response) {
    std::lock_guard lock(mutex);
    if (!published) {
      response.status = 503;
      response.set_content("zoned has not sampled yet\n", "text/plain");
      return;
    }
    response.set_content(exposition, kContentType);
  }

  void configure() {
    // One worker: a scrape takes microseconds, and a slow client cannot make zoned start threads.
    server.new_task_queue = [] { return new httplib::ThreadPool(1); };
    // httplib's default also sets SO_REUSEPORT, which would let a second zoned share the port
    // unnoticed; SO_REUSEADDR alone still lets a restarted zoned bind past TIME_WAIT.
    server.set_socket_options([](socket_t fd) {
      int yes = 1;
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    server.set_keep_alive_max_count(1);
    server.set_read_timeout(kTimeoutSeconds);
    server.set_write_timeout(kTimeoutSeconds);
    server.set_payload_max_length(kMaxPayloadBytes);
    // httplib routes HEAD to the GET handler and leaves the body out.
    server.Get("/metrics",
               [this](const httplib::Request&, httplib::Response& response) { answer(response); });
  }
};

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const ListenAddress& address) {
  if (!isLoopbackHost(address.host)) {
    return badInput("listen " + describeAddress(address) + ": not a loopback address");
  }
  auto impl = std::make_unique<Impl>();
  impl->configure();
  errno = 0;  // httplib says only yes or no; bind(2)'s errno is what is left to tell why
  int port = address.port == 0 ? impl->server.bind_to_any_port(address.host)
             : impl->server.bind_to_port(address.host, address.port) ? address.port
                                                                     : -1;
  if (port <= 0) {
    int err = errno != 0 ? errno : EADDRNOTAVAIL;
    return errnoError(
        err, "cannot serve /metrics on " + describeAddress(address) + " (the [zoned] listen key)");
  }
  impl->port = static_cast<uint16_t>(port);
  Impl* serving = impl.get();
  impl->thread = std::thread([serving] {
    serving->server.listen_after_bind();
    serving->finished = true;
  });
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
}

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

// httplib's stop() does nothing until its loop has started running: a server stopped right after
// it started would never end, so stop it until its thread says it has.
MetricsServer::~MetricsServer() {
  while (!impl_->finished) {
    if (impl_->server.is_running()) impl_->server.stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  impl_->thread.join();
}

uint16_t MetricsServer::port() const noexcept { return impl_->port; }

void MetricsServer::publish(std::string exposition) {
  std::lock_guard lock(impl_->mutex);
  impl_->exposition = std::move(exposition);
  impl_->published = true;
}

}  // namespace softzone::zoned

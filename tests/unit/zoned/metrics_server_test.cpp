// zoned's HTTP /metrics endpoint on an ephemeral loopback port, fetched with a plain socket: the
// body is the published exposition byte for byte, HEAD has no body, other paths are 404, and an
// address in use or not loopback is refused.
#include "softzone/zoned/metrics_server.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace softzone::zoned {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct Reply {
  std::string head;  // status line and headers
  std::string body;
};

// One request over a fresh IPv4 connection, read until the server closes it.
Reply fetch(uint16_t port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
  EXPECT_EQ(::write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
  std::string text;
  char buffer[4096];
  ssize_t got = 0;
  while ((got = ::read(fd, buffer, sizeof buffer)) > 0) text.append(buffer, got);
  ::close(fd);
  size_t end = text.find("\r\n\r\n");
  if (end == std::string::npos) return {text, ""};
  return {text.substr(0, end + 2), text.substr(end + 4)};
}

std::string get(const std::string& method, const std::string& path) {
  return method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
}

const std::string kExposition =
    "# HELP softzone_nodes Nodes the zone holds.\n# TYPE softzone_nodes gauge\n"
    "softzone_nodes{zone=\"web\"} 2\nsoftzone_nodes{zone=\"free\"} 5\n";

TEST(MetricsServerTest, GetMetricsAnswersThePublishedTextAsPrometheusText) {
  auto server = MetricsServer::start({"127.0.0.1", 0});
  ASSERT_TRUE(server) << server.error().describe();
  ASSERT_NE((*server)->port(), 0);
  (*server)->publish(kExposition);
  Reply reply = fetch((*server)->port(), get("GET", "/metrics"));
  EXPECT_THAT(reply.head, StartsWith("HTTP/1.1 200"));
  EXPECT_THAT(reply.head, HasSubstr("Content-Type: text/plain; version=0.0.4\r\n"));
  EXPECT_EQ(reply.body, kExposition);
}

TEST(MetricsServerTest, ServesTheLatestPublishedText) {
  auto server = MetricsServer::start({"127.0.0.1", 0});
  ASSERT_TRUE(server) << server.error().describe();
  (*server)->publish("softzone_zoned_samples_total 1\n");
  (*server)->publish(kExposition);
  EXPECT_EQ(fetch((*server)->port(), get("GET", "/metrics")).body, kExposition);
}

TEST(MetricsServerTest, HeadAnswersWithoutABody) {
  auto server = MetricsServer::start({"127.0.0.1", 0});
  ASSERT_TRUE(server) << server.error().describe();
  (*server)->publish(kExposition);
  Reply reply = fetch((*server)->port(), get("HEAD", "/metrics"));
  EXPECT_THAT(reply.head, StartsWith("HTTP/1.1 200"));
  EXPECT_EQ(reply.body, "");
}

TEST(MetricsServerTest, OtherPathsAndMethodsAreNotFound) {
  auto server = MetricsServer::start({"127.0.0.1", 0});
  ASSERT_TRUE(server) << server.error().describe();
  (*server)->publish(kExposition);
  for (std::string path : {"/", "/metrics/", "/metricsx", "/../metrics", "/index.html"}) {
    Reply reply = fetch((*server)->port(), get("GET", path));
    EXPECT_THAT(reply.head, StartsWith("HTTP/1.1 404")) << path;
    EXPECT_THAT(reply.body, ::testing::Not(HasSubstr("softzone_"))) << path;
  }
  std::string post =
      "POST /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  EXPECT_THAT(fetch((*server)->port(), post).head, StartsWith("HTTP/1.1 404"));
}

TEST(MetricsServerTest, BeforeTheFirstSampleItSaysSoWith503) {
  auto server = MetricsServer::start({"127.0.0.1", 0});
  ASSERT_TRUE(server) << server.error().describe();
  Reply reply = fetch((*server)->port(), get("GET", "/metrics"));
  EXPECT_THAT(reply.head, StartsWith("HTTP/1.1 503"));
}

TEST(MetricsServerTest, AnAddressInUseIsAnErrorNamingIt) {
  auto first = MetricsServer::start({"127.0.0.1", 0});
  ASSERT_TRUE(first) << first.error().describe();
  uint16_t port = (*first)->port();
  auto second = MetricsServer::start({"127.0.0.1", port});
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().exitStatus(), 1);
  EXPECT_THAT(second.error().describe(), HasSubstr("127.0.0.1:" + std::to_string(port)));
  EXPECT_THAT(second.error().describe(), HasSubstr("in use"));
}

TEST(MetricsServerTest, RefusesAnAddressThatIsNotLoopback) {
  for (std::string host : {"0.0.0.0", "::", "192.168.1.4", "localhost", "::ffff:127.0.0.1"}) {
    auto server = MetricsServer::start({host, 0});
    ASSERT_FALSE(server) << host;
    EXPECT_EQ(server.error().exitStatus(), 2) << host;
  }
}

TEST(MetricsServerTest, StopsRightAfterStarting) {
  for (int i = 0; i < 20; ++i) {
    auto server = MetricsServer::start({"127.0.0.1", 0});
    ASSERT_TRUE(server) << server.error().describe();
  }
}

}  // namespace
}  // namespace softzone::zoned

// Captured guest trees: zonectl --root on each fixture answers as zonectl did live in that guest.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "support/run_zonectl.h"

namespace softzone::tools {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<std::string> fixtureNames() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(SOFTZONE_FIXTURES)) {
    if (fs::exists(entry.path() / "topology-live.json")) names.push_back(entry.path().filename());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Free memory moves between the live read and the capture: compare everything else.
json withoutFree(const json& value) {
  if (value.is_object()) {
    json out = json::object();
    for (const auto& [key, item] : value.items()) {
      if (key.find("free") == std::string::npos) out[key] = withoutFree(item);
    }
    return out;
  }
  if (value.is_array()) {
    json out = json::array();
    for (const auto& item : value) out.push_back(withoutFree(item));
    return out;
  }
  return value;
}

class CapturedTree : public ::testing::TestWithParam<std::string> {
 protected:
  std::string dir() const { return std::string(SOFTZONE_FIXTURES) + "/" + GetParam(); }
};

TEST_P(CapturedTree, TopologyFromTheTreeMatchesTheLiveGuest) {
  std::ifstream live_file(dir() + "/topology-live.json");
  json live = json::parse(live_file);
  Outcome run = zonectl({"--json", "--root", dir() + "/root", "topology"});
  ASSERT_EQ(run.exit_status, 0) << run.err;
  json from_tree = json::parse(run.out);
  EXPECT_EQ(withoutFree(from_tree), withoutFree(live));
  for (const json& node : from_tree["nodes"]) {
    EXPECT_GT(node["mem_free_bytes"].get<uint64_t>(), 0u);
    EXPECT_LE(node["mem_free_bytes"].get<uint64_t>(), node["mem_total_bytes"].get<uint64_t>());
  }
}

TEST_P(CapturedTree, TextOutputNamesEveryNode) {
  Outcome run = zonectl({"--root", dir() + "/root", "topology"});
  ASSERT_EQ(run.exit_status, 0) << run.err;
  std::ifstream live_file(dir() + "/topology-live.json");
  json live = json::parse(live_file);
  EXPECT_EQ(std::count(run.out.begin(), run.out.end(), '\n'),
            static_cast<long>(live["nodes"].size()) + 8)
      << run.out;
}

std::string testNameOf(const ::testing::TestParamInfo<std::string>& fixture) {
  std::string name = fixture.param;
  std::replace_if(name.begin(), name.end(), [](char c) { return !std::isalnum(c); }, '_');
  return name;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CapturedTree, ::testing::ValuesIn(fixtureNames()), testNameOf);

TEST(CapturedTrees, TheIssueSetIsPresent) {
  auto names = fixtureNames();
  for (const char* wanted : {"debian-6.1-fake8-v1", "debian-6.12-fake16-v2",
                             "debian-6.1-2socket-fake4U-v2", "debian-6.12-nofake-v2"}) {
    EXPECT_THAT(names, ::testing::Contains(wanted));
  }
}

}  // namespace
}  // namespace softzone::tools

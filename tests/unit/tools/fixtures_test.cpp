// Captured guest trees: zonectl --root on each fixture answers as zonectl did live in that guest.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/fixture_param.h"
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

// The tree's own files, read here without zonectl: "Node 3 MemTotal:  128768 kB" per node, the
// node's cpulist, and /proc/meminfo's MemTotal.
uint64_t memTotalKb(const fs::path& meminfo, std::string_view first_word) {
  std::ifstream in(meminfo);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string word;
    while (words >> word && word != "MemTotal:") {
    }
    uint64_t kb = 0;
    if (word == "MemTotal:" && line.rfind(first_word, 0) == 0 && words >> kb) return kb;
  }
  ADD_FAILURE() << "no MemTotal in " << meminfo;
  return 0;
}

std::string firstLine(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

TEST_P(CapturedTree, TopologyAgreesWithTheTreesOwnFiles) {
  fs::path node_dir = fs::path(dir()) / "root/sys/devices/system/node";
  std::map<int, fs::path> node_paths;
  for (const auto& entry : fs::directory_iterator(node_dir)) {
    std::string name = entry.path().filename();
    if (name.rfind("node", 0) == 0 && name.size() > 4 && std::isdigit(name[4])) {
      node_paths[std::stoi(name.substr(4))] = entry.path();
    }
  }
  ASSERT_FALSE(node_paths.empty());
  Outcome run = zonectl({"--json", "--root", dir() + "/root", "topology"});
  ASSERT_EQ(run.exit_status, 0) << run.err;
  json topology = json::parse(run.out);
  ASSERT_EQ(topology["nodes"].size(), node_paths.size());
  uint64_t sum_bytes = 0;
  for (const json& node : topology["nodes"]) {
    int id = node["id"];
    ASSERT_TRUE(node_paths.count(id)) << "node " << id;
    uint64_t kb = memTotalKb(node_paths[id] / "meminfo", "Node " + std::to_string(id) + " ");
    EXPECT_EQ(node["mem_total_bytes"].get<uint64_t>(), kb * 1024) << "node " << id;
    EXPECT_EQ(node["cpus"].get<std::string>(), firstLine(node_paths[id] / "cpulist"))
        << "node " << id;
    sum_bytes += kb * 1024;
  }
  uint64_t proc_kb = memTotalKb(fs::path(dir()) / "root/proc/meminfo", "MemTotal:");
  EXPECT_EQ(topology["mem_total_bytes"].get<uint64_t>(), sum_bytes);
  EXPECT_EQ(sum_bytes, proc_kb * 1024);
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

INSTANTIATE_TEST_SUITE_P(Fixtures, CapturedTree, ::testing::ValuesIn(fixtureNames()),
                         softzone::testing::fixtureTestName);

TEST(CapturedTrees, TheIssueSetIsPresent) {
  auto names = fixtureNames();
  for (const char* wanted : {"debian-6.1-fake8-v1", "debian-6.12-fake16-v2",
                             "debian-6.1-2socket-fake4U-v2", "debian-6.12-nofake-v2"}) {
    EXPECT_THAT(names, ::testing::Contains(wanted));
  }
}

}  // namespace
}  // namespace softzone::tools

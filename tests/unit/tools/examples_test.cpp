// Every spec in examples/ parses and plans on the machine it was written for: the examples are
// documentation, and documentation that no longer plans is a bug.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "support/run_zonectl.h"

namespace softzone::tools {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

const std::string kExamples = std::string(SOFTZONE_FIXTURES) + "/../../examples";

struct Example {
  const char* spec;
  std::string machine;  // --machine argument
  const char* cmdline;  // the parameter it plans to
};
void PrintTo(const Example& test, std::ostream* out) { *out << test.spec; }

class ExamplesTest : public ::testing::TestWithParam<Example> {};

TEST_P(ExamplesTest, PlansOnItsMachine) {
  const Example& example = GetParam();
  Outcome run = zonectl({"plan", kExamples + "/" + example.spec, "--machine", example.machine,
                         "--format", "cmdline"});
  EXPECT_EQ(run.exit_status, 0) << run.err;
  EXPECT_EQ(run.out, std::string(example.cmdline) + "\n");
}

INSTANTIATE_TEST_SUITE_P(
    All, ExamplesTest,
    ::testing::Values(
        Example{"demo.ini", std::string(SOFTZONE_FIXTURES) + "/debian-6.12-nofake-v2/machine.xml",
                "numa=fake=15"},
        Example{"server.ini", kExamples + "/machines/two-socket-256g.json", "numa=fake=20U"},
        Example{"build-farm.ini", kExamples + "/machines/one-socket-64g.json", "numa=fake=55"}));

TEST(Examples, EverySpecIsCovered) {
  size_t specs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kExamples)) {
    if (entry.path().extension() == ".ini") ++specs;
  }
  EXPECT_EQ(specs, 3u) << "a new example needs a line in ExamplesTest";
}

}  // namespace
}  // namespace softzone::tools

// parseVerbOptions in-process: global options after the verb, a verb's own option of the same
// spelling, and `--` handing everything after it to the verb's command untouched.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "command.h"
#include "support/fake_tree.h"

namespace softzone::tools {
namespace {

namespace po = boost::program_options;
using ::softzone::testing::FakeTree;
using ::testing::ElementsAre;

struct Parsed {
  bool parsed = false;
  po::variables_map values;
};

class VerbOptions : public ::testing::Test {
 protected:
  // exec's own table: NAME, then the command and its arguments after `--`.
  Parsed parseExecLike(const std::vector<std::string>& args) {
    po::options_description options("exec options");
    options.add_options()                                       //
        ("name", po::value<std::string>()->required(), "name")  //
        ("command", po::value<std::vector<std::string>>()->required(), "command");
    po::positional_options_description positional;
    positional.add("name", 1).add("command", -1);
    Parsed result;
    result.parsed =
        parseVerbOptions(ctx_, "exec", "NAME -- CMD", options, positional, args, result.values);
    return result;
  }

  std::ostringstream out_;
  std::ostringstream err_;
  Context ctx_{FsRoot::live().value(), false, cpuset::CgroupMode::kAuto, out_, err_};
};

TEST_F(VerbOptions, JsonAfterTheVerbSetsTheContext) {
  Parsed run = parseExecLike({"web", "--json", "--", "true"});
  ASSERT_TRUE(run.parsed);
  EXPECT_TRUE(ctx_.json);
  EXPECT_THAT(run.values["command"].as<std::vector<std::string>>(), ElementsAre("true"));
}

TEST_F(VerbOptions, EverythingAfterTheDashesIsTheCommandsUntouched) {
  Parsed run =
      parseExecLike({"web", "--", "cmd", "--json", "--root", "/x", "--cgroup=v1", "--", "-h"});
  ASSERT_TRUE(run.parsed);
  EXPECT_FALSE(ctx_.json);
  EXPECT_TRUE(ctx_.fs.isLive());
  EXPECT_EQ(ctx_.cgroup_mode, cpuset::CgroupMode::kAuto);
  EXPECT_THAT(run.values["command"].as<std::vector<std::string>>(),
              ElementsAre("cmd", "--json", "--root", "/x", "--cgroup=v1", "--", "-h"));
  EXPECT_EQ(out_.str(), "");  // -h after -- is the command's, not a request for exec's help
}

TEST_F(VerbOptions, RootAndCgroupAfterTheVerbSetTheContext) {
  FakeTree tree;
  Parsed run = parseExecLike({"web", "--root", tree.path(), "--cgroup", "v1", "--", "true"});
  ASSERT_TRUE(run.parsed);
  EXPECT_FALSE(ctx_.fs.isLive());
  EXPECT_EQ(ctx_.fs.rootPath(), tree.open().rootPath());
  EXPECT_EQ(ctx_.cgroup_mode, cpuset::CgroupMode::kV1);
}

// A verb defining --root and --json itself (none does today; one may).
bool parseOwnOptions(Context& ctx, const std::vector<std::string>& args,
                     po::variables_map& values) {
  po::options_description options("own options");
  options.add_options()                                            //
      ("root", po::value<std::string>(), "the verb's own --root")  //
      ("json", po::value<std::string>(), "the verb's own --json, taking a value");
  return parseVerbOptions(ctx, "own", "", options, {}, args, values);
}

TEST_F(VerbOptions, AVerbsOwnOptionOfTheSameSpellingIsTheVerbs) {
  po::variables_map values;
  ASSERT_TRUE(parseOwnOptions(ctx_, {"--root", "tree", "--json", "x"}, values));
  EXPECT_EQ(values["root"].as<std::string>(), "tree");
  EXPECT_EQ(values["json"].as<std::string>(), "x");
  EXPECT_TRUE(ctx_.fs.isLive());
  EXPECT_FALSE(ctx_.json);
  // The global it does not define is still there.
  po::variables_map more;
  ASSERT_TRUE(parseOwnOptions(ctx_, {"--cgroup", "v2"}, more));
  EXPECT_EQ(ctx_.cgroup_mode, cpuset::CgroupMode::kV2);
}

TEST_F(VerbOptions, AGlobalGivenBeforeAndAfterIsBadUsage) {
  ctx_.globals_before_verb = {"cgroup"};
  EXPECT_THROW((void)parseExecLike({"web", "--cgroup", "v2", "--", "true"}), po::error);
  EXPECT_EQ(ctx_.cgroup_mode, cpuset::CgroupMode::kAuto);
}

}  // namespace
}  // namespace softzone::tools

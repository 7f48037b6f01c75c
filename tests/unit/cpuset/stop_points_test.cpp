// The fault-injection matrix is complete: every stop point the code declares (kStopPoints) is
// killed at by the guest case that tests/vm/guest/stop-points names, and a test build stops dead
// at a point the list does not declare.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "softzone/cpuset/op_lock.h"

namespace softzone::cpuset {
namespace {

const std::string kGuestDir = std::string(SOFTZONE_SOURCE_DIR) + "/tests/vm/guest";

struct MatrixRow {
  std::string point;
  std::string guest_case;
};

// tests/vm/guest/stop-points: "POINT CASE [CGROUP]" lines, '#' comments.
std::vector<MatrixRow> readMatrix() {
  std::ifstream in(kGuestDir + "/stop-points");
  std::vector<MatrixRow> rows;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    MatrixRow row;
    fields >> row.point >> row.guest_case;
    rows.push_back(row);
  }
  return rows;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(StopPoints, TheGuestMatrixKillsAtEveryDeclaredPointAndNoOther) {
  std::vector<MatrixRow> rows = readMatrix();
  ASSERT_FALSE(rows.empty()) << "no rows in " << kGuestDir << "/stop-points";
  std::set<std::string> in_matrix;
  for (const MatrixRow& row : rows) {
    EXPECT_TRUE(in_matrix.insert(row.point).second) << row.point << " is listed twice";
  }
  std::set<std::string> declared(kStopPoints.begin(), kStopPoints.end());
  EXPECT_EQ(declared.size(), kStopPoints.size()) << "kStopPoints names a point twice";
  for (const std::string& point : declared) {
    EXPECT_TRUE(in_matrix.count(point)) << point << " is in kStopPoints but no guest case kills "
                                        << "zonectl there: add it to tests/vm/guest/stop-points";
  }
  for (const std::string& point : in_matrix) {
    EXPECT_TRUE(declared.count(point)) << point << " is in tests/vm/guest/stop-points only";
  }
}

TEST(StopPoints, EachCaseOfTheMatrixReadsItsPointsFromIt) {
  for (const MatrixRow& row : readMatrix()) {
    std::string text = readFile(kGuestDir + "/cases/" + row.guest_case + ".sh");
    ASSERT_FALSE(text.empty()) << row.point << ": no case " << row.guest_case;
    EXPECT_THAT(text, ::testing::HasSubstr("stop_points " + row.guest_case))
        << row.guest_case << " must take its points from /tests/stop-points";
  }
}

TEST(StopPoints, ApplyActionsAreOnePointWhateverTheirNumber) {
  EXPECT_TRUE(isDeclaredStopPoint("apply.action.1"));
  EXPECT_TRUE(isDeclaredStopPoint("apply.action.12"));
  EXPECT_FALSE(isDeclaredStopPoint("apply.action."));
  EXPECT_FALSE(isDeclaredStopPoint("apply.action.1x"));
  EXPECT_TRUE(isDeclaredStopPoint("resize.shrink"));
  EXPECT_FALSE(isDeclaredStopPoint("resize.shrunk"));
}

TEST(StopPointsDeathTest, ATestBuildAbortsAtAPointNotDeclared) {
#ifndef SOFTZONE_TEST_HOOKS
  GTEST_SKIP() << "built without SOFTZONE_TEST_HOOKS: stop points are no-ops";
#else
  EXPECT_DEATH(stopPointForTests("create.something_new"), "not in kStopPoints");
#endif
}

}  // namespace
}  // namespace softzone::cpuset

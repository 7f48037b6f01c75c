// Test names for suites parameterised by a captured fixture's name ("debian-6.1-fake8-v1").
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <string>

namespace softzone::testing {

// gtest allows only letters, digits and '_' in a test's name: "debian_6_1_fake8_v1".
inline std::string fixtureTestName(const ::testing::TestParamInfo<std::string>& fixture) {
  std::string name = fixture.param;
  std::replace_if(
      name.begin(), name.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); },
      '_');
  return name;
}

}  // namespace softzone::testing

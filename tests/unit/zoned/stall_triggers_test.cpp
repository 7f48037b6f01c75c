// The PSI trigger line zoned writes to a partition's memory.pressure.
#include "softzone/zoned/stall_triggers.h"

#include <gtest/gtest.h>

#include <string>

namespace softzone::zoned {
namespace {

TEST(StallTriggersTest, TheLineIsInMicrosecondsAndEndsInTheNulTheKernelReplaces) {
  ZonedConfig config;
  // The kernel overwrites the last byte written with a NUL: without one of ours it would cut
  // the window's last digit (1000000 read as 100000, a window the kernel refuses).
  EXPECT_EQ(stallTriggerLine(config), std::string("some 100000 1000000\0", 20));
  config.stall_trigger_ms = 30;
  config.stall_window_ms = 500;
  EXPECT_EQ(stallTriggerLine(config), std::string("some 30000 500000\0", 18));
}

}  // namespace
}  // namespace softzone::zoned

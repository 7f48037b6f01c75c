// Tests for the zone kinds' text: the names JSON and tables have always printed.
#include "softzone/zones/zone_kind.h"

#include <gtest/gtest.h>

namespace softzone {
namespace {

TEST(ZoneKind, EachKindHasTheNameJsonAndTablesPrint) {
  EXPECT_EQ(zoneKindName(ZoneKind::kSystem), "system");
  EXPECT_EQ(zoneKindName(ZoneKind::kShared), "shared");
  EXPECT_EQ(zoneKindName(ZoneKind::kPartition), "partition");
  EXPECT_EQ(zoneKindName(ZoneKind::kFree), "free");
}

}  // namespace
}  // namespace softzone

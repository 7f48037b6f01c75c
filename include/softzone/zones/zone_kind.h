// The kinds of zone (system, shared, partition, the free pool) that the planner places and the
// cpuset state reads back, with the one text each has in JSON and tables (zones/zone_kind.cpp).
#pragma once

#include <string_view>

namespace softzone {

enum class ZoneKind { kSystem, kShared, kPartition, kFree };

// "system", "shared", "partition", "free": stable names for JSON and tables.
std::string_view zoneKindName(ZoneKind kind);

}  // namespace softzone

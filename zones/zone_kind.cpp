// The text of each zone kind, the one place JSON, tables and messages take it from.
#include "softzone/zones/zone_kind.h"

namespace softzone {

std::string_view zoneKindName(ZoneKind kind) {
  switch (kind) {
    case ZoneKind::kSystem:
      return "system";
    case ZoneKind::kShared:
      return "shared";
    case ZoneKind::kPartition:
      return "partition";
    case ZoneKind::kFree:
      return "free";
  }
  return "partition";
}

}  // namespace softzone

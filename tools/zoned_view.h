// What zoned's state file says, for zonectl list and status: the nodes each partition holds on
// loan and zoned's recent moves.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>

#include "softzone/cpuset/zone_state.h"
#include "softzone/zoned/state.h"
#include "softzone/zones/fs_root.h"

namespace softzone::tools {

struct ZonedView {
  std::optional<zoned::ZonedState> state;  // absent: zoned never ran, or its file is not usable
  std::string problem;                     // why a file that is there was not used; "" otherwise
};

// Reads /var/lib/softzone/zoned.json through `fs`. A missing file is no state and no problem;
// one that does not parse, or that another boot wrote (its loans are gone with that boot), is
// no state with the reason in `problem`: list and status still show the zones.
ZonedView readZonedView(const FsRoot& fs);

// Adds zoned's view to list's or status's JSON: each partition's "nodes_on_loan" (a node list,
// "" for none) and a top-level "zoned" object with "moves" (the recent ones, oldest first; only
// `only`'s with a single zone) and "problem" (null when none).
void addZonedJson(const ZonedView& view, const cpuset::ZoneView* only, nlohmann::ordered_json& out);

// The same as lines after the zones table: "on loan: node 4 to web from the free pool since
// 123.4 s after boot", then "zoned moved node 4 from free to web at 123.4 s after boot".
void renderZonedText(const ZonedView& view, const cpuset::ZoneView* only, std::ostream& out);

}  // namespace softzone::tools

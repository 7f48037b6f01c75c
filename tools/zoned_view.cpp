// zoned's loans and moves as zonectl shows them.
#include "zoned_view.h"

#include <cstdio>

#include "softzone/zoned/state_file.h"
#include "softzone/zones/kernel_files.h"

namespace softzone::tools {
namespace {

using json = nlohmann::ordered_json;

// Times in zoned's state are CLOCK_BOOTTIME milliseconds of the boot that wrote it.
std::string afterBoot(int64_t ms) {
  char text[48];
  std::snprintf(text, sizeof text, "%.1f s after boot", static_cast<double>(ms) / 1000.0);
  return text;
}

std::string poolOr(const std::string& zone) {
  return zone == zoned::kFreePool ? std::string("the free pool") : zone;
}

bool involves(const zoned::Move& move, const cpuset::ZoneView* only) {
  return only == nullptr || move.from == only->name || move.to == only->name;
}

}  // namespace

ZonedView readZonedView(const FsRoot& fs) {
  ZonedView view;
  auto boot_id = fs.readAttribute(kernel::kBootIdFile);
  auto file =
      zoned::readStateFile(fs, boot_id ? std::optional<std::string_view>(*boot_id) : std::nullopt);
  if (!file) {
    view.problem = file.error().describe();
  } else if (file->found == zoned::StateFile::Found::kOtherBoot) {
    view.problem = fs.hostPath(zoned::kZonedStateFile) + " is from another boot";
  } else if (file->found == zoned::StateFile::Found::kUsable) {
    view.state = std::move(file->state);
  }
  return view;
}

void addZonedJson(const ZonedView& view, const cpuset::ZoneView* only, json& out) {
  for (json& partition : out["partitions"]) {
    NodeSet on_loan;
    if (view.state) {
      for (const zoned::Loan& loan : view.state->loans) {
        if (loan.owner == partition["name"].get<std::string>()) on_loan.insert(loan.node);
      }
    }
    partition["nodes_on_loan"] = on_loan.format();
  }
  json moves = json::array();
  if (view.state) {
    for (const zoned::Move& move : view.state->moves) {
      if (!involves(move, only)) continue;
      moves.push_back(
          {{"time_ms", move.time_ms}, {"node", move.node}, {"from", move.from}, {"to", move.to}});
    }
  }
  out["zoned"] = {{"moves", moves},
                  {"problem", view.problem.empty() ? json(nullptr) : json(view.problem)}};
}

void renderZonedText(const ZonedView& view, const cpuset::ZoneView* only, std::ostream& out) {
  if (!view.problem.empty()) out << "zoned: state not used: " << view.problem << "\n";
  if (!view.state) return;
  for (const zoned::Loan& loan : view.state->loans) {
    if (only != nullptr && loan.owner != only->name && loan.lender != only->name) continue;
    out << "on loan: node " << loan.node << " to " << loan.owner << " from " << poolOr(loan.lender)
        << " since " << afterBoot(loan.since_ms) << "\n";
  }
  for (const zoned::Move& move : view.state->moves) {
    if (!involves(move, only)) continue;
    out << "zoned moved node " << move.node << " from " << poolOr(move.from) << " to "
        << poolOr(move.to) << " at " << afterBoot(move.time_ms) << "\n";
  }
}

}  // namespace softzone::tools

// zoned's moves: a node from the free pool or from an idle donor, each a journaled resize.
#include "softzone/zoned/actions.h"

#include "softzone/cpuset/partitions.h"

namespace softzone::zoned {
namespace {

// The decision's node still belongs to `owner` ("free": the free pool), re-read under the lock.
Status checkOwner(const cpuset::Session& session, const Decision& d, std::string_view owner) {
  std::string_view zone_name = owner == kFreePool ? cpuset::kFreeZoneName : owner;
  const cpuset::ZoneView* zone = session.zones.find(zone_name);
  if (zone == nullptr || !zone->nodes.contains(d.node)) {
    std::string where = owner == kFreePool ? std::string("free") : "in " + std::string(owner);
    return mismatch("node " + std::to_string(d.node) + " is no longer " + where +
                    " (the zones changed since the sample); nothing was changed");
  }
  return {};
}

Status growBy(cpuset::Session& session, const std::string& name, int node) {
  SZ_TRY(zone, cpuset::findPartition(session, name));
  NodeSet nodes = zone->nodes;
  nodes.insert(node);
  SZ_TRY(report, cpuset::resizePartition(session, name, nodes, cpuset::ResizeOptions{}));
  (void)report;  // a grow moves no page
  return {};
}

Status shrinkBy(cpuset::Session& session, const std::string& name, int node, std::ostream& log) {
  SZ_TRY(zone, cpuset::findPartition(session, name));
  NodeSet nodes = zone->nodes;
  nodes.erase(node);
  if (nodes.empty()) {
    return infeasible("partition " + name + " would be left without a node");
  }
  SZ_TRY(report, cpuset::resizePartition(session, name, nodes, cpuset::ResizeOptions{}));
  log << "zoned: moved " << report.migration.pages_moved << " pages of " << name << " off node "
      << node << " in " << static_cast<int64_t>(report.migration.elapsed_ms) << " ms, "
      << report.migration.pages_left << " left\n";
  return {};
}

}  // namespace

ActionResult carryOut(const FsRoot& fs, cpuset::CgroupMode mode, const Decision& decision,
                      int64_t now_ms, std::ostream& log) {
  ActionResult result;
  auto session = cpuset::openSession(fs, mode, true, log);
  if (!session) {
    result.status = std::move(session).error();
    return result;
  }
  const std::string& to = decision.partition.name;
  if (decision.kind == Decision::Kind::kGrowFromFree) {
    result.status = checkOwner(*session, decision, kFreePool);
    if (result.status) result.status = growBy(*session, to, decision.node);
    if (result.status) result.moves.push_back({now_ms, decision.node, std::string(kFreePool), to});
    return result;
  }
  if (decision.kind == Decision::Kind::kGiveBack) {
    // The borrower's shrink, as a donor's: its pages moved off the node and checked first.
    result.status = checkOwner(*session, decision, to);
    if (result.status) result.status = shrinkBy(*session, to, decision.node, log);
    if (result.status) result.moves.push_back({now_ms, decision.node, to, std::string(kFreePool)});
    return result;
  }
  if (decision.kind != Decision::Kind::kTakeFromDonor) return result;
  const std::string& donor = decision.donor->name;
  result.status = checkOwner(*session, decision, donor);
  if (result.status) result.status = shrinkBy(*session, donor, decision.node, log);
  if (!result.status) return result;
  result.moves.push_back({now_ms, decision.node, donor, std::string(kFreePool)});
  result.status = cpuset::reloadSession(*session);
  if (result.status) result.status = growBy(*session, to, decision.node);
  if (result.status) result.moves.push_back({now_ms, decision.node, std::string(kFreePool), to});
  return result;
}

}  // namespace softzone::zoned

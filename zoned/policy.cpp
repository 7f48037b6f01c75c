// zoned's balancer: which partition gets which node this sample, and why nothing moves otherwise.
#include "softzone/zoned/policy.h"

#include <algorithm>
#include <cstdio>
#include <tuple>

#include "softzone/zones/size.h"

namespace softzone::zoned {
namespace {

constexpr int64_t kRateWindowMs = 60 * 1000;
// Free memory falling by more than this between two samples means the partition is allocating:
// busy, whatever its pressure says. A fixed amount, not a share of the partition: a workload
// writing 10 MiB/s into a partition of 1.25 GiB falls 2.5 MiB per 250 ms sample, under 1/200 of
// it, and was taken for idle until the OOM kill (guest case zoned-crash).
constexpr uint64_t kAllocatingBytes = 1 << 20;
// A lent node goes back only when, without it, the partition's free memory stays above its grow
// thresholds (the larger of headroom and free_low) by this share of its memory without the node.
// Giving back and growing then answer different states, so one never undoes the other: after the
// return the partition must fill a quarter of its memory before headroom asks for a node again.
constexpr uint64_t kGiveBackMarginDivisor = 4;

uint64_t totalBytes(const PartitionSample& p) {
  uint64_t total = 0;
  for (const NodeSample& n : p.nodes) total += n.size_bytes;
  return total;
}

uint64_t freeBytes(const PartitionSample& p) {
  uint64_t free = 0;
  for (const NodeSample& n : p.nodes) free += std::min(n.free_bytes, n.size_bytes);
  return free;
}

uint64_t usedBytes(const NodeSample& n) {
  return n.size_bytes - std::min(n.free_bytes, n.size_bytes);
}

std::string percent(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f%%", value);
  return text;
}

std::string seconds(int64_t ms) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1fs", static_cast<double>(ms) / 1000.0);
  return text;
}

// Calm enough to lend a node: not allocating (free memory did not fall since the previous
// sample), under idle_pressure on v2, no direct reclaim at all on v1. A pressure that could not
// be read is never calm. A workload that allocates fast shows no stall until its last free page
// is gone, so pressure alone would call it idle right up to its OOM kill.
bool isIdleSample(const ZonedConfig& config, const PartitionSample& p, bool allocating) {
  if (allocating || p.pressure.stall_events > 0) return false;
  switch (p.pressure.source) {
    case PressureSample::Source::kPsi:
      return p.pressure.some_avg10 < config.idle_pressure &&
             p.pressure.full_avg10 < config.idle_pressure;
    case PressureSample::Source::kCpusetV1:
      return p.pressure.memory_pressure == 0;
    case PressureSample::Source::kNone:
      return false;
  }
  return false;
}

// The first grow threshold this sample crosses, said with its numbers; nullopt when none is.
std::optional<std::string> pressureTrigger(const ZonedConfig& config, const PartitionSample& p,
                                           bool allocating) {
  const PressureSample& s = p.pressure;
  if (s.source == PressureSample::Source::kPsi) {
    if (s.full_avg10 >= config.pressure_full_avg10) {
      return "PSI full " + percent(s.full_avg10) + " >= " + percent(config.pressure_full_avg10);
    }
    if (s.some_avg10 >= config.pressure_some_avg10) {
      return "PSI some " + percent(s.some_avg10) + " >= " + percent(config.pressure_some_avg10);
    }
  }
  if (s.source == PressureSample::Source::kCpusetV1 &&
      s.memory_pressure >= config.memory_pressure) {
    return "memory_pressure " + std::to_string(s.memory_pressure) +
           " >= " + std::to_string(config.memory_pressure);
  }
  if (config.refault_rate > 0 && p.refaults_per_second &&
      *p.refaults_per_second >= static_cast<double>(config.refault_rate)) {
    return "refaults " + std::to_string(static_cast<uint64_t>(*p.refaults_per_second)) +
           "/s >= " + std::to_string(config.refault_rate) + "/s";
  }
  uint64_t headroom = config.headroom.of(totalBytes(p));
  if (headroom > 0 && freeBytes(p) < headroom && !isIdleSample(config, p, allocating)) {
    return "free " + formatSize(freeBytes(p)) + " < headroom " + formatSize(headroom);
  }
  return std::nullopt;
}

// About to OOM, said with its numbers: free memory under free_low while tasks still allocate
// (not idle), or tasks stalled in reclaim as long as the stall trigger asks (the kernel's own
// measure, seen within a window instead of in avg10 seconds later); nullopt when neither.
std::optional<std::string> urgentTrigger(const ZonedConfig& config, const PartitionSample& p,
                                         bool allocating) {
  if (p.pressure.stall_events > 0) {
    return "PSI stall trigger (some " + formatDuration(config.stall_trigger_ms) + " in " +
           formatDuration(config.stall_window_ms) + ") fired " +
           std::to_string(p.pressure.stall_events) + "x, free " + formatSize(freeBytes(p));
  }
  uint64_t free_low = config.free_low.of(totalBytes(p));
  if (freeBytes(p) < free_low && !isIdleSample(config, p, allocating)) {
    return "free " + formatSize(freeBytes(p)) + " < free_low " + formatSize(free_low);
  }
  return std::nullopt;
}

// One sample's work: a copy of the state that moves as decisions are taken, so the second
// decision sees the first.
class Balancer {
 public:
  Balancer(const ZonedConfig& config, const PolicyInput& input)
      : config_(config),
        now_ms_(input.now_ms),
        partitions_(input.partitions),
        free_(input.free_nodes),
        moves_(input.recent_moves) {
    std::sort(partitions_.begin(), partitions_.end(),
              [](const PartitionSample& a, const PartitionSample& b) { return a.name < b.name; });
  }

  PolicyResult run(const PolicyMemory& previous) {
    track(previous);
    PolicyResult result;
    std::vector<size_t> needy = needyInOrder();
    for (size_t index : needy) result.decisions.push_back(serve(index));
    // After every partition that needs a node was served: a node given back this sample is not
    // one a needy partition could have had from its idle holder.
    for (size_t index = 0; index < partitions_.size(); ++index) {
      if (std::find(needy.begin(), needy.end(), index) != needy.end()) continue;
      if (auto back = giveBack(index)) result.decisions.push_back(std::move(*back));
    }
    result.memory = std::move(memory_);
    return result;
  }

 private:
  struct Candidate {
    size_t donor = 0;  // index into partitions_; unused for the free pool
    size_t node = 0;   // index into the donor's nodes or free_
    uint64_t used_bytes = 0;
  };

  void track(const PolicyMemory& previous) {
    for (const PartitionSample& p : partitions_) {
      PartitionTrack track;
      if (auto it = previous.find(p.name); it != previous.end()) track = it->second;
      bool allocating = track.free_bytes && freeBytes(p) + kAllocatingBytes < *track.free_bytes;
      allocating_.push_back(allocating);
      track.free_bytes = freeBytes(p);
      track.pressured_samples =
          pressureTrigger(config_, p, allocating) ? track.pressured_samples + 1 : 0;
      if (!isIdleSample(config_, p, allocating)) {
        track.idle_since_ms.reset();
      } else if (!track.idle_since_ms) {
        track.idle_since_ms = now_ms_;
      }
      memory_[p.name] = track;
    }
  }

  // Partitions that should grow now, the most pressing first: urgent ones, then the longest
  // pressured, then by name so equal cases always come out in the same order.
  std::vector<size_t> needyInOrder() const {
    std::vector<size_t> needy;
    for (size_t i = 0; i < partitions_.size(); ++i) {
      if (urgent(i) || streak(i) >= config_.sustain) needy.push_back(i);
    }
    std::sort(needy.begin(), needy.end(), [this](size_t a, size_t b) {
      auto key = [this](size_t i) {
        return std::make_tuple(!urgent(i), -streak(i), partitions_[i].name);
      };
      return key(a) < key(b);
    });
    return needy;
  }

  bool urgent(size_t index) const {
    return urgentTrigger(config_, partitions_[index], allocating_[index]).has_value();
  }

  int streak(size_t index) const { return memory_.at(partitions_[index].name).pressured_samples; }

  int64_t idleMs(size_t index) const {
    const auto& since = memory_.at(partitions_[index].name).idle_since_ms;
    return since ? now_ms_ - *since : -1;
  }

  PartitionFigures figures(size_t index) const {
    const PartitionSample& p = partitions_[index];
    return {p.name,        static_cast<int>(p.nodes.size()),
            totalBytes(p), freeBytes(p),
            p.pressure,    p.refaults_per_second,
            streak(index), idleMs(index)};
  }

  int movesInWindow() const {
    return static_cast<int>(std::count_if(moves_.begin(), moves_.end(), [this](const Move& m) {
      return m.time_ms > now_ms_ - kRateWindowMs && m.time_ms <= now_ms_;
    }));
  }

  // How long ago `node` last moved; nullopt when not within the cooldown.
  std::optional<int64_t> coolingFor(int node) const {
    std::optional<int64_t> last;
    for (const Move& m : moves_) {
      if (m.node == node && (!last || m.time_ms > *last)) last = m.time_ms;
    }
    if (!last || now_ms_ - *last >= config_.cooldown_ms) return std::nullopt;
    return now_ms_ - *last;
  }

  bool atMax(const PartitionSample& p) const {
    const PartitionLimits& l = p.limits;
    return (l.max_nodes && static_cast<int>(p.nodes.size()) >= *l.max_nodes) ||
           (l.max_bytes && totalBytes(p) >= *l.max_bytes);
  }

  bool fitsMax(const PartitionSample& p, const NodeSample& node) const {
    const PartitionLimits& l = p.limits;
    if (l.max_nodes && static_cast<int>(p.nodes.size()) + 1 > *l.max_nodes) return false;
    return !l.max_bytes || totalBytes(p) + node.size_bytes <= *l.max_bytes;
  }

  bool staysAboveMin(const PartitionSample& p, const NodeSample& node) const {
    const PartitionLimits& l = p.limits;
    int left = static_cast<int>(p.nodes.size()) - 1;
    if (left < 1 || (l.min_nodes && left < *l.min_nodes)) return false;
    return !l.min_bytes || totalBytes(p) - node.size_bytes >= *l.min_bytes;
  }

  bool idleLongEnough(size_t index) const {
    int64_t idle = idleMs(index);
    return idle >= 0 && idle >= config_.idle_for_ms;
  }

  Decision serve(size_t index);
  std::optional<Decision> giveBack(size_t index);
  std::optional<Candidate> lentNodeToGiveBack(size_t index) const;
  uint64_t growThreshold(uint64_t total_bytes) const;
  uint64_t giveBackFloor(uint64_t total_after_bytes) const;
  std::optional<Candidate> bestFreeNode(const PartitionSample& p) const;
  std::optional<Candidate> bestDonorNode(size_t index) const;
  std::string whyNot(size_t index) const;
  std::string donorsNote(size_t index) const;
  std::optional<std::string> coolingNote(size_t index) const;
  void moveNode(NodeSample node, const std::string& from, PartitionSample& to);

  const ZonedConfig& config_;
  int64_t now_ms_;
  std::vector<PartitionSample> partitions_;
  std::vector<bool> allocating_;  // by index into partitions_: free memory fell this sample
  std::vector<NodeSample> free_;
  std::vector<Move> moves_;
  PolicyMemory memory_;
};

Decision Balancer::serve(size_t index) {
  PartitionSample& p = partitions_[index];
  Decision decision;
  decision.partition = figures(index);
  std::optional<std::string> urgency = urgentTrigger(config_, p, allocating_[index]);
  decision.urgent = urgency.has_value();
  std::string trigger = urgency
                            ? *urgency
                            : pressureTrigger(config_, p, allocating_[index]).value_or("pressure") +
                                  " for " + std::to_string(streak(index)) + " samples";
  if (movesInWindow() >= config_.max_moves_per_minute) {
    decision.why = "rate limit " + std::to_string(config_.max_moves_per_minute) +
                   "/min reached; wanted it for " + trigger;
    return decision;
  }
  if (auto free = bestFreeNode(p)) {
    NodeSample node = free_[free->node];
    free_.erase(free_.begin() + static_cast<ptrdiff_t>(free->node));
    decision.kind = Decision::Kind::kGrowFromFree;
    decision.node = node.id;
    decision.node_bytes = node.size_bytes;
    decision.why = trigger;
    moveNode(node, std::string(kFreePool), p);
    return decision;
  }
  if (auto taken = bestDonorNode(index)) {
    PartitionSample& donor = partitions_[taken->donor];
    NodeSample node = donor.nodes[taken->node];
    decision.kind = Decision::Kind::kTakeFromDonor;
    decision.donor = figures(taken->donor);
    decision.node = node.id;
    decision.node_bytes = node.size_bytes;
    decision.node_used_bytes = taken->used_bytes;
    decision.why = trigger;
    donor.nodes.erase(donor.nodes.begin() + static_cast<ptrdiff_t>(taken->node));
    moveNode(node, donor.name, p);
    return decision;
  }
  decision.why = whyNot(index) + "; wanted it for " + trigger;
  return decision;
}

// The free memory under which a partition of `total_bytes` grows (when busy): the larger of
// headroom and free_low.
uint64_t Balancer::growThreshold(uint64_t total_bytes) const {
  return std::max(config_.headroom.of(total_bytes), config_.free_low.of(total_bytes));
}

// The free memory a partition of `total_after_bytes` must keep to give a lent node back: its
// grow threshold plus the margin (kGiveBackMarginDivisor).
uint64_t Balancer::giveBackFloor(uint64_t total_after_bytes) const {
  return growThreshold(total_after_bytes) + total_after_bytes / kGiveBackMarginDivisor;
}

// Of the nodes lent to the partition that it holds now, one it can give back: it stays at or
// above min, the node is not cooling down, and without it the partition keeps giveBackFloor free
// (its pages on the node move onto its other nodes). The least used first, then the lowest id.
std::optional<Balancer::Candidate> Balancer::lentNodeToGiveBack(size_t index) const {
  const PartitionSample& p = partitions_[index];
  const uint64_t free = freeBytes(p);
  std::optional<Candidate> best;
  for (size_t n = 0; n < p.nodes.size(); ++n) {
    const NodeSample& node = p.nodes[n];
    bool lent = std::find(p.lent_nodes.begin(), p.lent_nodes.end(), node.id) != p.lent_nodes.end();
    if (!lent || !staysAboveMin(p, node) || coolingFor(node.id)) continue;
    if (free < node.size_bytes ||
        free - node.size_bytes < giveBackFloor(totalBytes(p) - node.size_bytes)) {
      continue;
    }
    Candidate candidate{index, n, usedBytes(node)};
    if (!best || std::make_tuple(candidate.used_bytes, node.id) <
                     std::make_tuple(best->used_bytes, p.nodes[best->node].id)) {
      best = candidate;
    }
  }
  return best;
}

// A partition idle for idle_for gives one lent node back to the free pool, within the rate
// limit; nullopt when it keeps them all (nothing is logged: holding is not news).
std::optional<Decision> Balancer::giveBack(size_t index) {
  PartitionSample& p = partitions_[index];
  if (p.lent_nodes.empty() || !idleLongEnough(index)) return std::nullopt;
  // A partition that gave or got a node this sample: a donor's pages from the node taken are
  // still to land on its other nodes, so its sampled free memory overstates what it has.
  bool moved_now = std::any_of(moves_.begin(), moves_.end(), [&](const Move& m) {
    return m.time_ms == now_ms_ && (m.from == p.name || m.to == p.name);
  });
  if (moved_now) return std::nullopt;
  if (movesInWindow() >= config_.max_moves_per_minute) return std::nullopt;
  auto lent = lentNodeToGiveBack(index);
  if (!lent) return std::nullopt;
  NodeSample node = p.nodes[lent->node];
  uint64_t total_after = totalBytes(p) - node.size_bytes;
  Decision decision;
  decision.kind = Decision::Kind::kGiveBack;
  decision.partition = figures(index);
  decision.node = node.id;
  decision.node_bytes = node.size_bytes;
  decision.node_used_bytes = lent->used_bytes;
  decision.free_after_bytes = freeBytes(p) - node.size_bytes;
  decision.why =
      "idle " + seconds(idleMs(index)) + " >= " + formatDuration(config_.idle_for_ms) + ", free " +
      formatSize(freeBytes(p)) + ", " + formatSize(decision.free_after_bytes) +
      " without it >= " + formatSize(giveBackFloor(total_after)) + " (grow threshold " +
      formatSize(growThreshold(total_after)) + " + a quarter of " + formatSize(total_after) + ")";
  p.nodes.erase(p.nodes.begin() + static_cast<ptrdiff_t>(lent->node));
  free_.push_back(node);
  moves_.push_back({now_ms_, node.id, p.name, std::string(kFreePool)});
  // Its pages moving off the node lower its free memory without any allocation: the next
  // sample must not read that fall as a busy partition.
  memory_[p.name].free_bytes = decision.free_after_bytes;
  return decision;
}

// The largest free node that fits under max and is not cooling down; the lowest id on a tie.
std::optional<Balancer::Candidate> Balancer::bestFreeNode(const PartitionSample& p) const {
  std::optional<Candidate> best;
  for (size_t i = 0; i < free_.size(); ++i) {
    const NodeSample& node = free_[i];
    if (!fitsMax(p, node) || coolingFor(node.id)) continue;
    if (!best || std::make_tuple(-static_cast<int64_t>(node.size_bytes), node.id) <
                     std::make_tuple(-static_cast<int64_t>(free_[best->node].size_bytes),
                                     free_[best->node].id)) {
      best = Candidate{0, i, 0};
    }
  }
  return best;
}

// From partitions idle for idle_for and above min, the node with the least memory in use (the
// fewest pages to move off first); then the donor's name and the node id break ties.
std::optional<Balancer::Candidate> Balancer::bestDonorNode(size_t index) const {
  const PartitionSample& p = partitions_[index];
  std::optional<Candidate> best;
  for (size_t d = 0; d < partitions_.size(); ++d) {
    if (d == index || !idleLongEnough(d)) continue;
    const PartitionSample& donor = partitions_[d];
    for (size_t n = 0; n < donor.nodes.size(); ++n) {
      const NodeSample& node = donor.nodes[n];
      if (!staysAboveMin(donor, node) || !fitsMax(p, node) || coolingFor(node.id)) continue;
      Candidate candidate{d, n, usedBytes(node)};
      auto key = [this](const Candidate& c) {
        return std::make_tuple(c.used_bytes, partitions_[c.donor].name,
                               partitions_[c.donor].nodes[c.node].id);
      };
      if (!best || key(candidate) < key(*best)) best = candidate;
    }
  }
  return best;
}

void Balancer::moveNode(NodeSample node, const std::string& from, PartitionSample& to) {
  moves_.push_back({now_ms_, node.id, from, to.name});
  to.nodes.push_back(node);
  // Growing answers this pressure; the next grow needs `sustain` samples of its own.
  memory_[to.name].pressured_samples = 0;
}

// Why no node is given, most specific first: the partition's own max, a cooldown that will end,
// then nothing to give at all.
std::string Balancer::whyNot(size_t index) const {
  const PartitionSample& p = partitions_[index];
  const PartitionLimits& l = p.limits;
  std::string bounds = std::to_string(p.nodes.size()) + " nodes, " + formatSize(totalBytes(p));
  if (atMax(p)) {
    std::string max = l.max_nodes && static_cast<int>(p.nodes.size()) >= *l.max_nodes
                          ? std::to_string(*l.max_nodes) + " nodes"
                          : formatSize(l.max_bytes.value_or(0));
    return p.name + " at max " + max + " (" + bounds + ")";
  }
  if (auto cooling = coolingNote(index)) return *cooling;
  bool any_free_too_big =
      !free_.empty() &&
      std::none_of(free_.begin(), free_.end(), [&](const NodeSample& n) { return fitsMax(p, n); });
  if (any_free_too_big) {
    return p.name + " near max " + formatSize(l.max_bytes.value_or(0)) + " (" + bounds +
           "): no free node small enough";
  }
  return "no free node and no idle partition above min" + donorsNote(index);
}

// "cooldown: node 5 moved 12.0s ago (cooldown 30s)" for the node that would be given first
// once cool: the one whose cooldown ends soonest, the lowest id on a tie.
std::optional<std::string> Balancer::coolingNote(size_t index) const {
  const PartitionSample& p = partitions_[index];
  std::optional<std::pair<int64_t, int>> soonest;  // (-ago, node): the oldest move ends first
  auto consider = [&](const NodeSample& node) {
    auto ago = coolingFor(node.id);
    if (!ago || !fitsMax(p, node)) return;
    std::pair<int64_t, int> key{-*ago, node.id};
    if (!soonest || key < *soonest) soonest = key;
  };
  for (const NodeSample& node : free_) consider(node);
  for (size_t d = 0; d < partitions_.size(); ++d) {
    if (d == index || !idleLongEnough(d)) continue;
    for (const NodeSample& node : partitions_[d].nodes) {
      if (staysAboveMin(partitions_[d], node)) consider(node);
    }
  }
  if (!soonest) return std::nullopt;
  return "cooldown: node " + std::to_string(soonest->second) + " moved " +
         seconds(-soonest->first) + " ago (cooldown " + formatDuration(config_.cooldown_ms) + ")";
}

// " (db: busy; cache: at min 512M)": why each other partition cannot lend.
std::string Balancer::donorsNote(size_t index) const {
  std::string note;
  for (size_t d = 0; d < partitions_.size(); ++d) {
    if (d == index) continue;
    const PartitionSample& donor = partitions_[d];
    std::string why;
    if (idleMs(d) < 0) {
      why = "not idle";
    } else if (!idleLongEnough(d)) {
      why = "idle " + seconds(idleMs(d)) + " of " + formatDuration(config_.idle_for_ms);
    } else if (std::none_of(donor.nodes.begin(), donor.nodes.end(),
                            [&](const NodeSample& n) { return staysAboveMin(donor, n); })) {
      why = "at min " + (donor.limits.min_bytes ? formatSize(*donor.limits.min_bytes)
                                                : std::to_string(donor.nodes.size()) + " nodes");
    } else {
      why = "no node that fits under max";
    }
    note += (note.empty() ? " (" : "; ") + donor.name + ": " + why;
  }
  return note.empty() ? note : note + ")";
}

std::string describeFigures(const PartitionFigures& f) {
  std::string text = f.name + " " + std::to_string(f.nodes) + " nodes " +
                     formatSize(f.total_bytes) + ", free " + formatSize(f.free_bytes);
  switch (f.pressure.source) {
    case PressureSample::Source::kPsi:
      text += ", PSI some " + percent(f.pressure.some_avg10) + " full " +
              percent(f.pressure.full_avg10);
      break;
    case PressureSample::Source::kCpusetV1:
      text += ", memory_pressure " + std::to_string(f.pressure.memory_pressure);
      break;
    case PressureSample::Source::kNone:
      text += ", pressure unreadable";
      break;
  }
  if (f.refaults_per_second) {
    text += ", refaults " + std::to_string(static_cast<uint64_t>(*f.refaults_per_second)) + "/s";
  }
  if (f.idle_ms >= 0) text += ", idle " + seconds(f.idle_ms);
  return text;
}

}  // namespace

PartitionLimits limitsFromSpec(const planner::PartitionSpec& partition) {
  PartitionLimits limits;
  limits.min_bytes = partition.min_bytes.value_or(partition.memory_bytes);
  limits.max_bytes = partition.max_bytes.value_or(partition.memory_bytes);
  return limits;
}

PolicyResult decideMoves(const ZonedConfig& config, const PolicyInput& input,
                         const PolicyMemory& memory) {
  return Balancer(config, input).run(memory);
}

std::string formatDecision(const Decision& d) {
  std::string node = "node " + std::to_string(d.node) + " (" + formatSize(d.node_bytes);
  std::string figures = " [" + describeFigures(d.partition) + "]";
  switch (d.kind) {
    case Decision::Kind::kGrowFromFree:
      return "grow " + d.partition.name + " by " + node + ") from the free pool" +
             (d.urgent ? " now: " : ": ") + d.why + figures;
    case Decision::Kind::kTakeFromDonor:
      return "take " + node + ", " + formatSize(d.node_used_bytes) + " in use to move off) from " +
             d.donor->name + " for " + d.partition.name + (d.urgent ? " now: " : ": ") + d.why +
             figures + " [" + describeFigures(*d.donor) + "]";
    case Decision::Kind::kGiveBack:
      return "give back " + node + ", " + formatSize(d.node_used_bytes) +
             " in use to move off) from " + d.partition.name + " to the free pool: " + d.why +
             figures;
    case Decision::Kind::kNoOp:
      break;
  }
  return "no move for " + d.partition.name + ": " + d.why + figures;
}

}  // namespace softzone::zoned

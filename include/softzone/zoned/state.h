// zoned's own state file: the moves it made and the nodes it lent, as JSON, so a restarted zoned
// keeps its cooldowns and rate limit and knows which node came from where.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "softzone/zoned/policy.h"
#include "softzone/zones/result.h"

namespace softzone::zoned {

// Where zoned keeps it (inside --root DIR when given); zonectl list and status read it too.
inline constexpr std::string_view kZonedStateFile = "/var/lib/softzone/zoned.json";

// A node that now belongs to `owner` but came from `lender` (a partition, or the free pool).
struct Loan {
  int node = -1;
  std::string owner;
  std::string lender;
  int64_t since_ms = 0;
  friend bool operator==(const Loan&, const Loan&) = default;
};

struct ZonedState {
  // The kernel's boot id (/proc/sys/kernel/random/boot_id): times are on that boot's clock, and
  // after a reboot the partitions are the spec's again, so a state of another boot is stale.
  std::string boot_id;
  std::vector<Move> moves;  // oldest first
  std::vector<Loan> loans;  // by node
};

// Adds a move and updates the loans: a node that goes back to its lender, or to the free pool,
// is no longer lent; one that moves on stays lent by its first lender.
void recordMove(ZonedState& state, const Move& move);

// Marks each sampled partition's lent nodes (the loans it owns and still holds), which the
// policy may give back when it idles.
void markLentNodes(PolicyInput& input, const ZonedState& state);

// Drops moves older than `keep_ms` before `now_ms` (the longest of cooldown and the rate window).
void pruneMoves(ZonedState& state, int64_t now_ms, int64_t keep_ms);

// The state as JSON text, one object; parseState reads it back equal.
std::string formatState(const ZonedState& state);

// Reads a state file's text. Anything that is not a state this version wrote (wrong types, node
// ids out of range, names no partition can have, a node lent twice) is bad input saying what.
Result<ZonedState> parseState(std::string_view text);

bool operator==(const Move& a, const Move& b);

}  // namespace softzone::zoned

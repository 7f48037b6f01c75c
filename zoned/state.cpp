// zoned's state file: JSON written from ZonedState and read back with every field checked.
#include "softzone/zoned/state.h"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "softzone/planner/spec.h"
#include "softzone/zones/nodeset.h"

namespace softzone::zoned {
namespace {

using json = nlohmann::json;

constexpr std::string_view kStateFormat = "softzone-zoned-state";
constexpr int kStateVersion = 1;
constexpr size_t kMaxBootIdChars = 64;  // a UUID is 36

// A field of `object` that must be there, for messages: "moves[3].node".
const json& field(const json& object, const char* key, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end()) throw std::invalid_argument(where + key + " is missing");
  return *it;
}

int64_t wholeNumber(const json& value, const std::string& what, int64_t min, int64_t max) {
  std::string out_of_range = what + " " + value.dump() + " is out of range";
  if (value.is_number_unsigned()) {  // the parser's type for every number >= 0
    uint64_t number = value.get<uint64_t>();
    if (number > static_cast<uint64_t>(max) || static_cast<int64_t>(number) < min) {
      throw std::invalid_argument(out_of_range);
    }
    return static_cast<int64_t>(number);
  }
  if (!value.is_number_integer()) throw std::invalid_argument(what + " is not a whole number");
  int64_t number = value.get<int64_t>();
  if (number < min || number > max) throw std::invalid_argument(out_of_range);
  return number;
}

// A partition name, or the free pool's for the fields that allow it.
std::string zoneName(const json& value, const std::string& what, bool free_allowed) {
  if (!value.is_string()) throw std::invalid_argument(what + " is not a string");
  std::string name = value.get<std::string>();
  if (free_allowed && name == kFreePool) return name;
  if (auto problem = planner::checkPartitionName(name)) {
    throw std::invalid_argument(what + ": " + *problem);
  }
  return name;
}

void checkKeys(const json& object, std::initializer_list<const char*> keys,
               const std::string& where) {
  if (!object.is_object()) throw std::invalid_argument(where + " is not an object");
  for (const auto& item : object.items()) {
    if (std::find_if(keys.begin(), keys.end(), [&](const char* k) { return item.key() == k; }) ==
        keys.end()) {
      throw std::invalid_argument(where + " has an unknown key " + quoteInput(item.key()));
    }
  }
}

Move readMove(const json& entry, const std::string& where) {
  checkKeys(entry, {"time_ms", "node", "from", "to"}, where);
  Move move;
  move.time_ms = wholeNumber(field(entry, "time_ms", where + "."), where + ".time_ms", 0,
                             std::numeric_limits<int64_t>::max());
  move.node = static_cast<int>(
      wholeNumber(field(entry, "node", where + "."), where + ".node", 0, NodeSet::kMaxId));
  move.from = zoneName(field(entry, "from", where + "."), where + ".from", true);
  move.to = zoneName(field(entry, "to", where + "."), where + ".to", true);
  if (move.from == move.to) throw std::invalid_argument(where + " moves a node to where it was");
  return move;
}

Loan readLoan(const json& entry, const std::string& where) {
  checkKeys(entry, {"node", "owner", "lender", "since_ms"}, where);
  Loan loan;
  loan.node = static_cast<int>(
      wholeNumber(field(entry, "node", where + "."), where + ".node", 0, NodeSet::kMaxId));
  loan.owner = zoneName(field(entry, "owner", where + "."), where + ".owner", false);
  loan.lender = zoneName(field(entry, "lender", where + "."), where + ".lender", true);
  loan.since_ms = wholeNumber(field(entry, "since_ms", where + "."), where + ".since_ms", 0,
                              std::numeric_limits<int64_t>::max());
  if (loan.owner == loan.lender) throw std::invalid_argument(where + " is lent by its owner");
  return loan;
}

ZonedState readState(const json& root) {
  checkKeys(root, {"format", "version", "boot_id", "moves", "loans"}, "the state");
  ZonedState state;
  const json& boot_id = field(root, "boot_id", "");
  if (!boot_id.is_string() || boot_id.get<std::string>().size() > kMaxBootIdChars) {
    throw std::invalid_argument("boot_id is not a boot id string");
  }
  state.boot_id = boot_id.get<std::string>();
  const json& moves = field(root, "moves", "");
  const json& loans = field(root, "loans", "");
  if (!moves.is_array() || !loans.is_array())
    throw std::invalid_argument("moves and loans are not arrays");
  for (size_t i = 0; i < moves.size(); ++i) {
    state.moves.push_back(readMove(moves[i], "moves[" + std::to_string(i) + "]"));
  }
  std::set<int> lent;
  for (size_t i = 0; i < loans.size(); ++i) {
    Loan loan = readLoan(loans[i], "loans[" + std::to_string(i) + "]");
    if (!lent.insert(loan.node).second) {
      throw std::invalid_argument("node " + std::to_string(loan.node) + " is lent twice");
    }
    state.loans.push_back(std::move(loan));
  }
  return state;
}

}  // namespace

bool operator==(const Move& a, const Move& b) {
  return a.time_ms == b.time_ms && a.node == b.node && a.from == b.from && a.to == b.to;
}

void recordMove(ZonedState& state, const Move& move) {
  state.moves.push_back(move);
  auto loan = std::find_if(state.loans.begin(), state.loans.end(),
                           [&](const Loan& l) { return l.node == move.node; });
  if (loan == state.loans.end()) {
    if (move.to == kFreePool) return;
    state.loans.push_back({move.node, move.to, move.from, move.time_ms});
    std::sort(state.loans.begin(), state.loans.end(),
              [](const Loan& a, const Loan& b) { return a.node < b.node; });
    return;
  }
  if (move.to == loan->lender || move.to == kFreePool) {
    state.loans.erase(loan);
    return;
  }
  loan->owner = move.to;
}

void markLentNodes(PolicyInput& input, const ZonedState& state) {
  for (PartitionSample& p : input.partitions) {
    p.lent_nodes.clear();
    for (const Loan& loan : state.loans) {
      bool holds = std::any_of(p.nodes.begin(), p.nodes.end(),
                               [&](const NodeSample& n) { return n.id == loan.node; });
      if (loan.owner == p.name && holds) p.lent_nodes.push_back(loan.node);
    }
  }
}

void pruneMoves(ZonedState& state, int64_t now_ms, int64_t keep_ms) {
  std::erase_if(state.moves, [&](const Move& m) { return m.time_ms < now_ms - keep_ms; });
}

std::string formatState(const ZonedState& state) {
  json moves = json::array();
  for (const Move& m : state.moves) {
    moves.push_back({{"time_ms", m.time_ms}, {"node", m.node}, {"from", m.from}, {"to", m.to}});
  }
  json loans = json::array();
  for (const Loan& l : state.loans) {
    loans.push_back(
        {{"node", l.node}, {"owner", l.owner}, {"lender", l.lender}, {"since_ms", l.since_ms}});
  }
  json root = {{"format", kStateFormat},
               {"version", kStateVersion},
               {"boot_id", state.boot_id},
               {"moves", moves},
               {"loans", loans}};
  return root.dump(2) + "\n";
}

Result<ZonedState> parseState(std::string_view text) {
  json root = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) return badInput("zoned state: not a JSON object");
  auto format = root.find("format");
  if (format == root.end() || !format->is_string() || *format != kStateFormat) {
    return badInput("zoned state: not a zoned state file (no \"format\": \"" +
                    std::string(kStateFormat) + "\")");
  }
  auto version = root.find("version");
  if (version == root.end() || !version->is_number_integer() || *version != kStateVersion) {
    return badInput("zoned state: version " +
                    (version == root.end() ? "missing" : version->dump()) + " is not " +
                    std::to_string(kStateVersion));
  }
  // The library reports type errors as exceptions; here they are malformed input.
  try {
    return readState(root);
  } catch (const std::exception& e) {
    return badInput(std::string("zoned state: ") + e.what());
  }
}

}  // namespace softzone::zoned

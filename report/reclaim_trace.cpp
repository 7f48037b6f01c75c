// Exact per-node reclaim from a hist trigger on vmscan:mm_vmscan_lru_shrink_inactive.
#include "softzone/report/reclaim_trace.h"

#include <cerrno>
#include <charconv>
#include <vector>

#include "softzone/zones/kernel_files.h"
#include "softzone/zones/text_parse.h"

namespace softzone::report {
namespace {

constexpr std::string_view kTriggerInfo = "# trigger info:";

// "hist:keys=nid:vals=hitcount,nr_scanned,nr_reclaimed:sort=hitcount:size=2048 [active]"
bool isOurTrigger(std::string_view info) {
  size_t hist = info.find("hist:");
  if (hist == std::string_view::npos) return false;
  info = info.substr(hist + 5);
  info = info.substr(0, info.find(' '));
  bool keys_nid = false;
  bool scanned = false;
  bool reclaimed = false;
  while (!info.empty()) {
    size_t colon = info.find(':');
    std::string_view part = info.substr(0, colon);
    info = colon == std::string_view::npos ? std::string_view{} : info.substr(colon + 1);
    if (part == "keys=nid" || part == "key=nid") keys_nid = true;
    if (part.substr(0, 5) == "vals=" || part.substr(0, 4) == "val=") {
      std::string_view vals = part.substr(part.find('=') + 1);
      while (!vals.empty()) {
        size_t comma = vals.find(',');
        std::string_view val = vals.substr(0, comma);
        vals = comma == std::string_view::npos ? std::string_view{} : vals.substr(comma + 1);
        scanned |= val == "nr_scanned";
        reclaimed |= val == "nr_reclaimed";
      }
    }
  }
  return keys_nid && scanned && reclaimed;
}

Error entryError(size_t line_no, std::string_view line, std::string_view what) {
  return badInput("hist line " + std::to_string(line_no) + " " + quoteInput(line) + ": " +
                  std::string(what));
}

// "{ nid:          2 } hitcount:         15  nr_scanned:       1234  nr_reclaimed:       1200"
Status parseEntry(std::string_view line, size_t line_no, ReclaimHistogram& hist) {
  size_t close = line.find('}');
  if (close == std::string_view::npos) return entryError(line_no, line, "no closing '}'");
  std::string_view key = trimBlanks(line.substr(1, close - 1));
  if (key.substr(0, 4) != "nid:") return entryError(line_no, line, "the key is not nid");
  std::string_view nid_text = trimBlanks(key.substr(4));
  int nid = 0;
  auto [ptr, ec] = std::from_chars(nid_text.data(), nid_text.data() + nid_text.size(), nid);
  if (ec != std::errc() || ptr != nid_text.data() + nid_text.size() || nid < 0) {
    return entryError(line_no, line, "the node id is not a number");
  }
  NodeReclaim values;
  std::string_view rest = line.substr(close + 1);
  // "name: value" pairs separated by spaces.
  while (!(rest = trimBlanks(rest)).empty()) {
    size_t colon = rest.find(':');
    if (colon == std::string_view::npos) return entryError(line_no, line, "expected 'name: value'");
    std::string_view name = rest.substr(0, colon);
    rest = trimBlanks(rest.substr(colon + 1));
    size_t space = rest.find_first_of(" \t");
    auto value = parseNumber<uint64_t>(rest.substr(0, space));
    if (!value) return entryError(line_no, line, "a value is not a number");
    rest = space == std::string_view::npos ? std::string_view{} : rest.substr(space);
    if (name == "hitcount") values.passes = *value;
    if (name == "nr_scanned") values.scanned = *value;
    if (name == "nr_reclaimed") values.reclaimed = *value;
  }
  NodeReclaim& node = hist.nodes[nid];
  node.passes += values.passes;
  node.scanned += values.scanned;
  node.reclaimed += values.reclaimed;
  return {};
}

}  // namespace

Result<ReclaimHistogram> parseReclaimHist(std::string_view text) {
  ReclaimHistogram hist;
  bool in_ours = false;
  SZ_CHECK(forEachLine(text, [&](std::string_view line, size_t line_no) -> Status {
    std::string_view trimmed = trimBlanks(line);
    if (trimmed.substr(0, kTriggerInfo.size()) == kTriggerInfo) {
      // A section of one trigger starts here; only the first of ours counts.
      in_ours = !hist.found && isOurTrigger(trimmed.substr(kTriggerInfo.size()));
      hist.found |= in_ours;
      return {};
    }
    if (!in_ours) return {};
    if (trimmed.substr(0, 1) == "{") return parseEntry(trimmed, line_no, hist);
    if (trimmed.substr(0, 8) == "Dropped:") {
      if (auto dropped = parseNumber<uint64_t>(trimBlanks(trimmed.substr(8))))
        hist.dropped = *dropped;
    }
    return {};
  }));
  return hist;
}

std::optional<std::string> findTracefsAt(const FsRoot& fs) {
  for (std::string_view dir : {kernel::kTracefs, kTracefsDebugfs}) {
    if (fs.exists(kernel::joinPath(kernel::joinPath(dir, kReclaimEventDir), "trigger"))) {
      return std::string(dir);
    }
  }
  return std::nullopt;
}

Result<ReclaimHistogram> readReclaimHistAt(const FsRoot& fs, const std::string& tracefs) {
  std::string path = kernel::joinPath(kernel::joinPath(tracefs, kReclaimEventDir), "hist");
  SZ_TRY(text, fs.readFile(path));
  auto hist = parseReclaimHist(text);
  if (!hist) return Error(hist.error()).withContext(fs.hostPath(path));
  return hist;
}

Result<bool> ensureReclaimTriggerAt(const FsRoot& fs, const std::string& tracefs) {
  SZ_TRY(hist, readReclaimHistAt(fs, tracefs));
  if (hist.found) return false;
  std::string path = kernel::joinPath(kernel::joinPath(tracefs, kReclaimEventDir), "trigger");
  SZ_CHECK(fs.writeAttribute(path, kReclaimHistTrigger));
  return true;
}

Result<bool> removeReclaimTriggerAt(const FsRoot& fs, const std::string& tracefs) {
  SZ_TRY(before, readReclaimHistAt(fs, tracefs));
  if (!before.found) return false;
  std::string path = kernel::joinPath(kernel::joinPath(tracefs, kReclaimEventDir), "trigger");
  // "!" + the trigger removes the one with the same keys, values and defaults: ours.
  SZ_CHECK(fs.writeAttribute(path, "!" + std::string(kReclaimHistTrigger)));
  // The kernel takes a removal that matches nothing without an error: look again.
  SZ_TRY(after, readReclaimHistAt(fs, tracefs));
  if (after.found) {
    return errnoError(EBUSY, fs.hostPath(path) +
                                 ": a hist trigger keyed by nid is still installed (one softzone "
                                 "did not write, with other options?)");
  }
  return true;
}

}  // namespace softzone::report

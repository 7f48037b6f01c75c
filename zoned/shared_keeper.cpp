// zoned's keeper of the shared zone: walks the bound trees, lets bind_check.cpp choose the files,
// and moves their cached pages found off the shared nodes back with the cache library's bind
// (populate off: nothing the kernel reclaimed is read back in).
#include "softzone/zoned/shared_keeper.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>

#include "softzone/cache/page_cache.h"
#include "softzone/zones/buddyinfo.h"

namespace softzone::zoned {
namespace {

using Clock = std::chrono::steady_clock;

// A failure said once is said again after this long if it persists: a line a minute.
constexpr int64_t kRelogMs = 60 * 1000;
// Files a dry run names one by one per check; the rest are summed up.
constexpr size_t kDryRunLines = 20;

uint64_t pageBytes() { return static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)); }

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The shared zone's nodes, which must not be any partition's (zonectl bind refuses the same:
// an OOM in that partition would pick victims among every task whose mems intersect).
Result<NodeSet> sharedTargets(const cpuset::MachineZones& zones) {
  const cpuset::ZoneView* shared = zones.find(cpuset::kSharedZoneName);
  if (shared == nullptr || shared->nodes.empty()) {
    return infeasible(
        "the spec binds trees to the shared zone, but there is none with nodes "
        "(`zonectl apply SPEC` makes it)");
  }
  for (const cpuset::ZoneView* partition : zones.partitions()) {
    if (partition->nodes.intersects(shared->nodes)) {
      return mismatch("the shared zone's nodes " + shared->nodes.format() + " overlap partition " +
                      partition->name + "'s " + partition->nodes.format() + ": nothing moved");
    }
  }
  return shared->nodes;
}

// Free memory per shared node, so pages go where there is room: one read of /proc/buddyinfo, as
// the sample reads it. Empty (an equal spread) when it cannot be read.
std::map<int, uint64_t> freeBytesOn(const FsRoot& fs, const NodeSet& nodes) {
  std::map<int, uint64_t> free;
  auto all = zones::readNodeFreeBytesAt(fs);
  if (!all) return free;
  for (const auto& [node, bytes] : *all) {
    if (nodes.contains(node)) free[node] = bytes;
  }
  return free;
}

std::vector<WalkedFile> walkedFiles(const std::vector<cache::TreeFile>& files) {
  std::vector<WalkedFile> walked;
  walked.reserve(files.size());
  for (const cache::TreeFile& file : files) {
    walked.push_back({static_cast<uint64_t>(file.device), static_cast<uint64_t>(file.inode),
                      file.size_bytes, file.changed_ns});
  }
  return walked;
}

}  // namespace

bool SharedKeeper::checkIfDue(int64_t now_ms, const cpuset::MachineZones& zones,
                              const planner::Spec& spec, const ZonedConfig& config,
                              KeeperCounters& counters) {
  if (spec.shared.bind_paths.empty() || config.bind_check_ms == 0) return true;
  if (last_check_ms_ >= 0 && now_ms - last_check_ms_ < config.bind_check_ms) return true;
  bool first = last_check_ms_ < 0;
  last_check_ms_ = now_ms;
  now_ms_ = now_ms;
  if (!fs_.isLive()) {
    // A captured tree has no page cache: the keeper looks at the running system's only.
    if (first) log_ << "zoned: shared keeper: off with --root (no page cache in a tree)\n";
    return true;
  }
  auto start = Clock::now();
  ++counters.checks;
  bool done = check(zones, spec, config, counters);
  counters.last_check_seconds = msSince(start) / 1000.0;
  return done;
}

bool SharedKeeper::check(const cpuset::MachineZones& zones, const planner::Spec& spec,
                         const ZonedConfig& config, KeeperCounters& counters) {
  auto start = Clock::now();
  auto targets = sharedTargets(zones);
  if (!targets) {
    fail(counters, "no shared nodes", targets.error().describe());
    return false;
  }
  bool whole = true;
  std::optional<std::vector<cache::TreeFile>> files =
      walkBoundTrees(spec.shared.bind_paths, counters, whole);
  if (!files) return false;  // nothing walked: what was seen before is kept for the next check
  std::vector<WalkedFile> walked = walkedFiles(*files);
  counters.files = files->size();
  BindCheckPlan plan = planBindCheck(walked, memory_, config.bind_check_pages, pageBytes());
  counters.changed_files_left = plan.changed_left;
  std::vector<size_t> chosen = plan.changed;
  chosen.insert(chosen.end(), plan.rechecked.begin(), plan.rechecked.end());
  std::vector<cache::TreeFile> looked_at;
  std::vector<WalkedFile> walked_at;
  for (size_t i : chosen) {
    looked_at.push_back((*files)[i]);
    walked_at.push_back(walked[i]);
  }
  counters.files_checked += looked_at.size();
  if (dry_run_) return tellWhatWouldMove(looked_at, *targets, counters) && whole;

  cache::BindOptions options;
  options.targets = *targets;
  options.free_bytes = freeBytesOn(fs_, *targets);
  options.populate = false;
  options.proc = &fs_;
  options.workers = 1;  // one CPU: the keeper works beside the partitions' workloads
  cache::BindReport report = cache::bindFiles(looked_at, options);

  uint64_t moved = 0;
  for (const auto& [node, pages] : report.migrated_to) {
    counters.pages_moved[node] += pages;
    moved += pages;
  }
  counters.pages_failed += report.pages_failed;
  if (moved > 0) {
    log_ << "zoned: shared keeper: moved " << moved << " pages back to nodes " << targets->format()
         << " (" << plan.changed.size() << " new, changed or retried files, "
         << plan.rechecked.size() << " rechecked) in " << static_cast<int64_t>(msSince(start))
         << " ms\n";
  }
  return countFailures(report, looked_at, walked_at, counters) && whole;
}

std::optional<std::vector<cache::TreeFile>> SharedKeeper::walkBoundTrees(
    const std::vector<std::string>& paths, KeeperCounters& counters, bool& whole) {
  auto walks = cache::walkTrees(paths);
  if (!walks) {
    whole = false;
    fail(counters, "walk", "walking the bound trees: " + walks.error().describe());
    std::vector<std::string> walkable;
    for (const std::string& path : paths) {
      if (cache::walkTrees({path})) walkable.push_back(path);
    }
    if (walkable.empty()) return std::nullopt;
    walks = cache::walkTrees(walkable);
    if (!walks) return std::nullopt;  // changed again meanwhile: the next check walks anew
  }
  std::vector<cache::TreeFile> files;
  for (cache::TreeWalk& walk : *walks) {
    files.insert(files.end(), walk.files.begin(), walk.files.end());
  }
  return files;
}

bool SharedKeeper::countFailures(const cache::BindReport& report,
                                 const std::vector<cache::TreeFile>& looked_at,
                                 const std::vector<WalkedFile>& walked_at,
                                 KeeperCounters& counters) {
  if (report.stopped_by) {
    // What a stopped check did not reach is looked at again next time.
    for (const WalkedFile& file : walked_at) retryLater(memory_, file);
    fail(counters, "stopped", "stopped: " + report.stopped_by->describe());
    return false;
  }
  if (report.file_failures.empty()) return true;
  std::map<std::string, size_t> index_of;
  for (size_t k = 0; k < looked_at.size(); ++k) index_of[looked_at[k].path] = k;
  for (const cache::FileFailure& failure : report.file_failures) {
    auto found = index_of.find(failure.path);
    if (found != index_of.end()) retryLater(memory_, walked_at[found->second]);
    ++counters.failures[std::string(cache::failReasonName(failure.reason))];
  }
  const cache::FileFailure& first = report.file_failures.front();
  say(std::to_string(report.file_failures.size()) + " files not wholly moved (first: " +
      first.path + ": " + std::string(cache::failReasonName(first.reason)) + ": " + first.detail +
      "); looked at again next check");
  return false;
}

bool SharedKeeper::tellWhatWouldMove(const std::vector<cache::TreeFile>& looked_at,
                                     const NodeSet& targets, KeeperCounters& counters) {
  uint64_t total = 0;
  size_t files = 0;
  bool read_all = true;
  for (const cache::TreeFile& file : looked_at) {
    cache::FileResidency residency = cache::readFileResidency(file);
    if (!residency.error.empty()) {
      fail(counters, "read", "cannot look at " + file.path + ": " + residency.error);
      read_all = false;
      continue;
    }
    uint64_t placed =
        residency.cached_pages - std::min(residency.cached_pages, residency.unplaced_pages);
    uint64_t off = placed - std::min(placed, residency.pagesOn(targets));
    if (off == 0) continue;
    if (++files <= kDryRunLines) {
      out_ << "zoned: would move " << off << " pages of " << file.path
           << " back to the shared zone's nodes " << targets.format() << "\n";
    }
    total += off;
  }
  if (files > 0) {
    out_ << "zoned: would move " << total << " pages of " << files << " files back to nodes "
         << targets.format() << "\n";
  }
  return read_all;
}

void SharedKeeper::fail(KeeperCounters& counters, const std::string& reason,
                        const std::string& what) {
  ++counters.failures[reason];
  say(what);
}

void SharedKeeper::say(const std::string& what) {
  if (what == last_failure_ && now_ms_ - last_failure_ms_ < kRelogMs) return;
  last_failure_ = what;
  last_failure_ms_ = now_ms_;
  log_ << "zoned: shared keeper: " << what << "\n";
}

}  // namespace softzone::zoned

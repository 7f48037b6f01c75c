// zonectl run NAME -- CMD...: runs CMD in a zone's cgroup, samples while it runs, reports what
// happened (deltas since the start, peak usage, reclaim, OOM kills) and exits with CMD's status.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <optional>

#include "child_process.h"
#include "command.h"
#include "softzone/cpuset/cgroup_backend.h"
#include "softzone/cpuset/op_lock.h"
#include "softzone/report/report.h"
#include "softzone/zones/safe_write.h"

namespace softzone::tools {
namespace po = boost::program_options;

namespace {

// zonectl run stays out of the OOM killer's reach while it watches: an OOM in the zone picks its
// victim among every task whose nodes intersect the zone's, and zonectl (in the root cpuset) is
// one. CMD gets the score zonectl had, set by the child on itself before it execs (startChildIn),
// so no failed restore can leave CMD protected. Best effort: lowering needs CAP_SYS_RESOURCE.
constexpr std::string_view kOomScoreAdjProtected = "-1000";

std::optional<std::string> protectFromOomKiller(const FsRoot& fs) {
  auto original = fs.readAttribute("/proc/self/oom_score_adj");
  if (!original) return std::nullopt;
  if (!fs.writeAttribute("/proc/self/oom_score_adj", kOomScoreAdjProtected)) return std::nullopt;
  return *original;
}

void restoreOomScore(const FsRoot& fs, pid_t pid, const std::optional<std::string>& original) {
  if (!original) return;
  Status ignored = fs.writeAttribute("/proc/" + std::to_string(pid) + "/oom_score_adj", *original);
  (void)ignored;
}

std::string joinCommand(const std::vector<std::string>& command) {
  std::string text;
  for (const std::string& arg : command) text += (text.empty() ? "" : " ") + arg;
  return text;
}

// The zone's cgroup relative to the mount, for the backend.
std::string relativeCgroup(const report::ZoneInput& zone, const cpuset::CgroupChoice& cgroup) {
  std::string path = zone.cgroup_path;
  std::string mount = cgroup.mount_point;
  if (!mount.empty() && mount.back() != '/') mount += '/';
  if (path.compare(0, mount.size(), mount) == 0) path = path.substr(mount.size());
  return path;
}

struct RunRequest {
  std::string zone;
  std::vector<std::string> command;
  int interval_ms = 0;
  report::Format format = report::Format::kTable;
  std::string output;  // "" or "-": stdout
};

// The verb's options, checked before anything runs; nullopt after --help.
Result<std::optional<RunRequest>> parseRunRequest(Context& ctx,
                                                  const std::vector<std::string>& args) {
  po::options_description options("run options");
  options.add_options()                                                                         //
      ("zone", po::value<std::string>()->value_name("NAME")->required(), "the zone to run in")  //
      ("command", po::value<std::vector<std::string>>()->value_name("CMD"), "the command")      //
      ("interval", po::value<int>()->default_value(500)->value_name("MS"),
       "sampling interval while CMD runs")  //
      ("format", po::value<std::string>()->value_name("table|json|html"),
       "report format (default table; --json means json)")  //
      ("output,o", po::value<std::string>()->value_name("FILE"),
       "write the report to FILE instead of stdout");
  po::positional_options_description positional;
  positional.add("zone", 1).add("command", -1);
  po::variables_map values;
  if (!parseVerbOptions(ctx, "run", "NAME [--format ...] [-o FILE] -- CMD [ARGS...]", options,
                        positional, args, values)) {
    return std::optional<RunRequest>();
  }
  if (values.count("command") == 0) return badInput("no command given: zonectl run NAME -- CMD");
  RunRequest request;
  request.command = values["command"].as<std::vector<std::string>>();
  request.interval_ms = values["interval"].as<int>();
  if (request.interval_ms < 10 || request.interval_ms > 60000) {
    return badInput("--interval " + std::to_string(request.interval_ms) +
                    ": expected 10 to 60000 ms");
  }
  request.format = ctx.json ? report::Format::kJson : report::Format::kTable;
  if (values.count("format") > 0) {
    SZ_TRY(parsed, report::parseFormat(values["format"].as<std::string>()));
    request.format = parsed;
  }
  if (!ctx.fs.isLive()) return badInput("zonectl run starts a process: it cannot run with --root");
  // A bad -o is refused before the command runs, not after it has done its work.
  request.output = values.count("output") > 0 ? values["output"].as<std::string>() : "";
  if (!request.output.empty() && request.output != "-") SZ_CHECK(checkOutputFile(request.output));
  request.zone = values["zone"].as<std::string>();
  return std::optional<RunRequest>(std::move(request));
}

// While CMD runs: Ctrl-C is for CMD (zonectl stays to report how it ended, as time(1) does),
// and zonectl is out of the OOM killer's reach. restore() puts both back, as does leaving.
class WatchGuard {
 public:
  explicit WatchGuard(const FsRoot& fs) : fs_(fs) {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGINT, &ignore, &old_int_);
    ::sigaction(SIGQUIT, &ignore, &old_quit_);
    oom_score_ = protectFromOomKiller(fs_);
  }
  ~WatchGuard() { restore(); }
  WatchGuard(const WatchGuard&) = delete;
  WatchGuard& operator=(const WatchGuard&) = delete;

  // zonectl's own score before it was protected: what CMD starts with.
  const std::optional<std::string>& callerOomScore() const { return oom_score_; }

  void restore() {
    if (restored_) return;
    restored_ = true;
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGQUIT, &old_quit_, nullptr);
    restoreOomScore(fs_, ::getpid(), oom_score_);
  }

 private:
  const FsRoot& fs_;
  struct sigaction old_int_ {};
  struct sigaction old_quit_ {};
  std::optional<std::string> oom_score_;
  bool restored_ = false;
};

// Starts CMD in the zone's cgroup and lets it exec; returns its pid.
// The child waits until it is in the zone (not one page of CMD allocated outside it), and
// gets there without the kernel moving zonectl's pages into the zone (child_process.h); it
// sets the caller's oom_score_adj on itself before it execs. Where it cannot be cloned into
// the cgroup (v1) it is moved in with the partition's memory_migrate off for a moment: under
// the op lock, as every change is.
Result<pid_t> startCommandIn(const Context& ctx, const cpuset::CgroupBackend& backend,
                             const report::ZoneInput& zone, const cpuset::CgroupChoice& cgroup,
                             const std::vector<std::string>& command,
                             const std::optional<std::string>& oom_score) {
  std::optional<cpuset::OpLock> lock;
  if (!backend.canCloneInto()) {
    SZ_TRY(held, cpuset::OpLock::acquire(ctx.fs));
    lock.emplace(std::move(held));
  }
  auto started =
      startChildIn(backend, relativeCgroup(zone, cgroup), command, oom_score.value_or(""));
  lock.reset();
  if (!started) {
    return Error(started.error()).withContext("putting the command into " + zone.cgroup_path);
  }
  WaitingChild child = *started;
  if (int exec_errno = releaseChild(child); exec_errno != 0) {
    ::waitpid(child.pid, nullptr, 0);
    return errnoError(exec_errno, "running " + quoteInput(command.front()));
  }
  return child.pid;
}

// One sample per interval until CMD exits, each added to `series`; returns CMD's wait status.
int watchUntilExit(const Context& ctx, pid_t pid, int interval_ms, const report::ReportZones& zones,
                   report::MachineSample& baseline, const report::SampleOptions& quick,
                   std::vector<report::Report>& series) {
  int status = 0;
  for (;;) {
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0 && errno != EINTR) break;
    ::poll(nullptr, 0, interval_ms);
    if (::waitpid(pid, &status, WNOHANG) == pid) break;
    if (auto sample = report::readMachineSampleAt(ctx.fs, zones.zones, zones.cgroup, quick)) {
      series.push_back(report::buildReport(zones.zones, *sample, &baseline));
      // The victim's membership is in this sample: merge every task list seen so far, so a
      // kill found in the final sample can still be attributed. Each pid once: the lists are
      // merged every interval for as long as CMD runs.
      for (auto& [zone_name, pids] : sample->pids) {
        auto& all = baseline.pids[zone_name];
        all.insert(all.end(), pids.begin(), pids.end());
        std::sort(all.begin(), all.end());
        all.erase(std::unique(all.begin(), all.end()), all.end());
      }
    }
  }
  return status;
}

}  // namespace

Status cmdRun(Context& ctx, const std::vector<std::string>& args) {
  SZ_TRY(parsed, parseRunRequest(ctx, args));
  if (!parsed) return {};
  const RunRequest& request = *parsed;
  report::ReportZones zones = report::readReportZonesAt(ctx.fs, ctx.cgroup_mode);
  if (zones.problem) return unsupported(zones.problem->why);
  SZ_TRY(selected, report::selectZones(zones.zones, {request.zone}));
  const report::ZoneInput& zone = selected.front();
  if (zone.cgroup_path.empty() || !zones.cgroup) {
    return badInput("zone " + quoteInput(request.zone) + " has no cgroup to run in (a " +
                    std::string(zoneKindName(zone.kind)) + " zone)");
  }
  SZ_TRY(backend, cpuset::CgroupBackend::open(ctx.fs, *zones.cgroup));

  // One kswapd scan for the run: the samples after the first read only the threads it found.
  report::KswapdPids kswapd;
  report::SampleOptions first_options;
  first_options.kswapd = &kswapd;
  auto baseline = report::readMachineSampleAt(ctx.fs, zones.zones, zones.cgroup, first_options);
  if (!baseline) return readError(ctx, std::move(baseline).error());
  report::SampleOptions quick;
  quick.install_reclaim_trigger = false;
  quick.kswapd = &kswapd;
  std::vector<report::Report> series = {report::buildReport(zones.zones, *baseline, &*baseline)};

  WatchGuard guard(ctx.fs);
  SZ_TRY(pid, startCommandIn(ctx, *backend, zone, *zones.cgroup, request.command,
                             guard.callerOomScore()));
  int status = watchUntilExit(ctx, pid, request.interval_ms, zones, *baseline, quick, series);
  guard.restore();
  int exit_status = waitStatusToExit(status);

  auto final_sample = report::readMachineSampleAt(ctx.fs, zones.zones, zones.cgroup, quick);
  if (!final_sample) return readError(ctx, std::move(final_sample).error());
  for (const std::string& note : baseline->notes) final_sample->notes.push_back(note);
  report::Report result = report::buildReport(zones.zones, *final_sample, &*baseline);
  for (const report::Report& point : series) report::foldPeaks(result, point);
  result.command = joinCommand(request.command);
  result.exit_status = exit_status;
  result.host = report::readHostInfoAt(ctx.fs, zones.cgroup);
  series.push_back(result);

  SZ_CHECK(
      writeReportOutput(ctx, request.output, report::renderReport(result, series, request.format)));
  // zonectl run exits as CMD did, like time(1), so scripts can use it in place of CMD.
  ctx.out.flush();
  std::cout.flush();
  if (exit_status != 0) std::exit(exit_status);
  return {};
}

}  // namespace softzone::tools

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
#include "softzone/cgroup_backend.h"
#include "softzone/op_lock.h"
#include "softzone/report.h"
#include "softzone/safe_write.h"

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

}  // namespace

Status cmdRun(Context& ctx, const std::vector<std::string>& args) {
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
    return {};
  }
  if (values.count("command") == 0) return badInput("no command given: zonectl run NAME -- CMD");
  std::vector<std::string> command = values["command"].as<std::vector<std::string>>();
  int interval_ms = values["interval"].as<int>();
  if (interval_ms < 10 || interval_ms > 60000) {
    return badInput("--interval " + std::to_string(interval_ms) + ": expected 10 to 60000 ms");
  }
  report::Format format = ctx.json ? report::Format::kJson : report::Format::kTable;
  if (values.count("format") > 0) {
    SZ_TRY(parsed, report::parseFormat(values["format"].as<std::string>()));
    format = parsed;
  }
  if (!ctx.fs.isLive()) return badInput("zonectl run starts a process: it cannot run with --root");
  // A bad -o is refused before the command runs, not after it has done its work.
  std::string output = values.count("output") > 0 ? values["output"].as<std::string>() : "";
  if (!output.empty() && output != "-") SZ_CHECK(checkOutputFile(output));

  std::string name = values["zone"].as<std::string>();
  report::ReportZones zones = report::readReportZonesAt(ctx.fs, ctx.cgroup_mode);
  if (zones.problem) return unsupported(zones.problem->why);
  SZ_TRY(selected, report::selectZones(zones.zones, {name}));
  const report::ZoneInput& zone = selected.front();
  if (zone.cgroup_path.empty() || !zones.cgroup) {
    return badInput("zone " + quoteInput(name) + " has no cgroup to run in (a " + zone.kind +
                    " zone)");
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

  // Ctrl-C is for CMD; zonectl stays to report how it ended, as time(1) does.
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction old_int {};
  struct sigaction old_quit {};
  ::sigaction(SIGINT, &ignore, &old_int);
  ::sigaction(SIGQUIT, &ignore, &old_quit);
  auto restore = [&] {
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGQUIT, &old_quit, nullptr);
  };

  std::optional<std::string> oom_score = protectFromOomKiller(ctx.fs);
  // The child waits until it is in the zone (not one page of CMD allocated outside it), and
  // gets there without the kernel moving zonectl's pages into the zone (child_process.h); it
  // sets the caller's oom_score_adj on itself before it execs. Where it cannot be cloned into
  // the cgroup (v1) it is moved in with the partition's memory_migrate off for a moment: under
  // the op lock, as every change is.
  std::optional<cpuset::OpLock> lock;
  if (!backend->canCloneInto()) {
    auto held = cpuset::OpLock::acquire(ctx.fs);
    if (!held) {
      restore();
      restoreOomScore(ctx.fs, ::getpid(), oom_score);
      return std::move(held).error();
    }
    lock.emplace(std::move(*held));
  }
  auto started =
      startChildIn(*backend, relativeCgroup(zone, *zones.cgroup), command, oom_score.value_or(""));
  lock.reset();
  if (!started) {
    restore();
    restoreOomScore(ctx.fs, ::getpid(), oom_score);
    return Error(started.error()).withContext("putting the command into " + zone.cgroup_path);
  }
  WaitingChild child = *started;
  if (int exec_errno = releaseChild(child); exec_errno != 0) {
    ::waitpid(child.pid, nullptr, 0);
    restore();
    restoreOomScore(ctx.fs, ::getpid(), oom_score);
    return errnoError(exec_errno, "running " + quoteInput(command.front()));
  }

  int status = 0;
  for (;;) {
    pid_t done = ::waitpid(child.pid, &status, WNOHANG);
    if (done == child.pid) break;
    if (done < 0 && errno != EINTR) break;
    ::poll(nullptr, 0, interval_ms);
    if (::waitpid(child.pid, &status, WNOHANG) == child.pid) break;
    if (auto sample = report::readMachineSampleAt(ctx.fs, zones.zones, zones.cgroup, quick)) {
      series.push_back(report::buildReport(zones.zones, *sample, &*baseline));
      // The victim's membership is in this sample: merge every task list seen so far, so a
      // kill found in the final sample can still be attributed. Each pid once: the lists are
      // merged every interval for as long as CMD runs.
      for (auto& [zone_name, pids] : sample->pids) {
        auto& all = baseline->pids[zone_name];
        all.insert(all.end(), pids.begin(), pids.end());
        std::sort(all.begin(), all.end());
        all.erase(std::unique(all.begin(), all.end()), all.end());
      }
    }
  }
  restore();
  restoreOomScore(ctx.fs, ::getpid(), oom_score);
  int exit_status = waitStatusToExit(status);

  auto final_sample = report::readMachineSampleAt(ctx.fs, zones.zones, zones.cgroup, quick);
  if (!final_sample) return readError(ctx, std::move(final_sample).error());
  for (const std::string& note : baseline->notes) final_sample->notes.push_back(note);
  report::Report result = report::buildReport(zones.zones, *final_sample, &*baseline);
  for (const report::Report& point : series) report::foldPeaks(result, point);
  result.command = joinCommand(command);
  result.exit_status = exit_status;
  series.push_back(result);

  SZ_CHECK(writeReportOutput(ctx, output, report::renderReport(result, series, format)));
  // zonectl run exits as CMD did, like time(1), so scripts can use it in place of CMD.
  ctx.out.flush();
  std::cout.flush();
  if (exit_status != 0) std::exit(exit_status);
  return {};
}

}  // namespace softzone::tools

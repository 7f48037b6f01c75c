// zoned's loop. One thread: a sample, the policy's decisions, each carried out under the lock,
// then the state file and the metrics; between samples it sleeps on a signalfd, so SIGHUP and
// SIGTERM are handled between two steps, never inside a move, and on the partitions' PSI stall
// triggers, whose events bring the next sample forward.
#include "softzone/zoned/daemon.h"

#include <poll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <ctime>
#include <map>
#include <vector>

#include "softzone/cpuset/partitions.h"
#include "softzone/zoned/actions.h"
#include "softzone/zoned/config.h"
#include "softzone/zoned/metrics.h"
#include "softzone/zoned/metrics_server.h"
#include "softzone/zoned/sampler.h"
#include "softzone/zoned/service_notify.h"
#include "softzone/zoned/shared_keeper.h"
#include "softzone/zoned/stall_triggers.h"
#include "softzone/zoned/state.h"
#include "softzone/zoned/state_file.h"
#include "softzone/zones/kernel_files.h"
#include "softzone/zones/safe_write.h"

namespace softzone::zoned {
namespace {

constexpr int64_t kRateWindowMs = 60 * 1000;

// CLOCK_BOOTTIME: it keeps counting through suspend and is the same for every process of one
// boot, so a restarted zoned reads its own cooldowns right.
int64_t bootClockMs() {
  timespec now{};
  ::clock_gettime(CLOCK_BOOTTIME, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
}

// SIGHUP, SIGTERM and SIGINT, blocked and read from a signalfd.
class Signals {
 public:
  static Result<Signals> block() {
    sigset_t set;
    sigemptyset(&set);
    for (int signal : {SIGHUP, SIGTERM, SIGINT}) sigaddset(&set, signal);
    if (::sigprocmask(SIG_BLOCK, &set, nullptr) != 0) return errnoError(errno, "sigprocmask");
    int fd = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0) return errnoError(errno, "signalfd");
    return Signals(Fd(fd));
  }
  pollfd pollFd() const { return pollfd{fd_.get(), POLLIN, 0}; }
  // The signal that came, 0 when none did.
  int read() {
    signalfd_siginfo info{};
    if (::read(fd_.get(), &info, sizeof info) != static_cast<ssize_t>(sizeof info)) return 0;
    return static_cast<int>(info.ssi_signo);
  }

 private:
  explicit Signals(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;
};

// Why a sleep between samples ended.
enum class Wake { kDeadline, kStop, kStall };

Result<ZonedState> loadState(const FsRoot& fs, const std::string& boot_id, std::ostream& log) {
  auto file = readStateFile(fs, boot_id);
  if (!file)
    return std::move(file).error().withContext(
        "zoned's state (remove it to start with no cooldowns or loans)");
  if (file->found == StateFile::Found::kOtherBoot) {
    log << "zoned: " << fs.hostPath(kZonedStateFile)
        << " is from another boot; starting with no cooldowns or loans\n";
  }
  if (file->found != StateFile::Found::kUsable) return ZonedState{boot_id, {}, {}};
  return std::move(file->state);
}

// A partition that keeps wanting a node it cannot have gets its reason logged once, then again
// only when the reason changes or after this long: one line a minute, not one per sample.
constexpr int64_t kNoOpRelogMs = 60 * 1000;

// What a no-op decision says without its changing numbers ("cooldown", "web at max 1G"): the
// text before the first '(', ':' or ';'.
std::string reasonKind(const Decision& d) { return d.why.substr(0, d.why.find_first_of("(:;")); }

struct LoggedReason {
  std::string kind;
  int64_t at_ms = 0;
};

class Daemon {
 public:
  Daemon(const DaemonOptions& options, const FsRoot& fs, ZonedSpec spec, cpuset::Session session,
         ZonedState state, Signals signals, std::unique_ptr<MetricsServer> server,
         std::ostream& out, std::ostream& log)
      : options_(options),
        fs_(fs),
        spec_(std::move(spec)),
        session_(std::move(session)),
        state_(std::move(state)),
        signals_(std::move(signals)),
        server_(std::move(server)),
        out_(out),
        log_(log),
        keeper_(fs, options.dry_run, out, log) {}

  int run() {
    log_ << "zoned: started: " << spec_.spec.partitions.size() << " partitions in "
         << options_.config_path << ", interval " << formatDuration(spec_.config.interval_ms)
         << (options_.dry_run ? ", dry run" : "") << "\n";
    int samples_taken = 0;
    int64_t next_ms = bootClockMs();
    Wake wake = Wake::kDeadline;
    while (true) {
      bool decided = step();
      ++samples_taken;
      tellServiceManager(samples_taken == 1);
      if (options_.once && (decided || samples_taken >= spec_.config.sustain)) break;
      // A sample a stall trigger asked for comes between two regular ones and leaves their
      // schedule as it was.
      if (wake != Wake::kStall) next_ms += spec_.config.interval_ms;
      wake = sleepUntil(next_ms);
      if (wake == Wake::kStop) break;
      // Behind by more than one interval (a long move): start counting from now.
      next_ms = std::max(next_ms, bootClockMs() - spec_.config.interval_ms);
    }
    checkNotified(notifier_.stopping());
    log_ << "zoned: stopped\n";
    return options_.once &&
                   (counters_.sample_failures > 0 || counters_.move_failures > 0 || keeper_failed_)
               ? 1
               : 0;
  }

 private:
  // One sample and its decisions; true when there was anything to do (or say).
  bool step() {
    int64_t start = bootClockMs();
    ++counters_.samples;
    Status reloaded = cpuset::reloadZones(session_);
    if (reloaded) triggers_.refresh(session_, spec_.config, log_);
    Result<PolicyInput> input =
        reloaded ? sampler_.sample(session_, spec_.spec, start, spec_.config.refault_rate > 0)
                 : Result<PolicyInput>(std::move(reloaded).error());
    if (input) addStallEvents(*input);
    if (!input) {
      ++counters_.sample_failures;
      log_ << "zoned: sample failed, nothing decided: " << input.error().describe() << "\n";
      publishMetrics(nullptr);
      return false;
    }
    pruneMoves(state_, start, keepMs());
    input->recent_moves = recentMoves(start);
    markLentNodes(*input, state_);
    PolicyResult result = decideMoves(spec_.config, *input, memory_);
    memory_ = std::move(result.memory);
    bool acted = false;
    for (const Decision& d : result.decisions) acted |= handle(d);
    counters_.last_sample_seconds = static_cast<double>(bootClockMs() - start) / 1000.0;
    keepSharedZoneBound();
    publishMetrics(&*input);
    forgetCalmReasons(result.decisions);
    return acted || (options_.once && !result.decisions.empty());
  }

  // After the partitions' moves: pages of the shared zone's trees back on its nodes when a check
  // is due (shared_keeper.cpp). The shared zone's nodes are the session's, read this sample.
  void keepSharedZoneBound() {
    keeper_failed_ |= !keeper_.checkIfDue(bootClockMs(), session_.zones, spec_.spec, spec_.config,
                                          counters_.keeper);
  }

  // The trigger events since the previous sample go with this one, and into the counters.
  void addStallEvents(PolicyInput& input) {
    auto events = triggers_.take();
    for (PartitionSample& p : input.partitions) {
      auto it = events.find(p.name);
      if (it == events.end()) continue;
      p.pressure.stall_events = it->second;
      counters_.stall_events[p.name] += static_cast<uint64_t>(it->second);
    }
  }

  bool handle(const Decision& d) {
    if (d.kind == Decision::Kind::kNoOp) {
      LoggedReason now{reasonKind(d), bootClockMs()};
      auto [last, first] = logged_reasons_.try_emplace(d.partition.name, now);
      if (!first && last->second.kind == now.kind &&
          now.at_ms - last->second.at_ms < kNoOpRelogMs && !options_.once) {
        return false;
      }
      last->second = now;
      (options_.dry_run ? out_ : log_) << "zoned: " << formatDecision(d) << "\n";
      return false;
    }
    logged_reasons_.erase(d.partition.name);
    if (options_.dry_run) {
      out_ << "zoned: would " << formatDecision(d) << "\n";
      return true;
    }
    log_ << "zoned: " << formatDecision(d) << "\n";
    ActionResult done = carryOut(fs_, options_.cgroup_mode, d, bootClockMs(), log_);
    for (const Move& move : done.moves) record(move);
    if (!done.status) {
      ++counters_.move_failures;
      failed_.push_back({bootClockMs(), d.node, d.partition.name, d.partition.name});
      log_ << "zoned: failed: node " << d.node << " for " << d.partition.name << ": "
           << done.status.error().describe() << "\n";
    } else if (d.kind == Decision::Kind::kGiveBack) {
      log_ << "zoned: done: node " << d.node << " back in the free pool\n";
    } else {
      log_ << "zoned: done: node " << d.node << " now in " << d.partition.name << "\n";
    }
    saveState();
    return true;
  }

  void record(const Move& move) {
    recordMove(state_, move);
    ++counters_.nodes_received[move.to];
    ++counters_.nodes_released[move.from];
  }

  // Moves done plus failed attempts: a node whose move failed cools down like one that moved, so
  // a shrink that cannot empty it is not retried every few samples.
  std::vector<Move> recentMoves(int64_t now_ms) {
    std::erase_if(failed_, [&](const Move& m) { return now_ms - m.time_ms > keepMs(); });
    std::vector<Move> moves = state_.moves;
    moves.insert(moves.end(), failed_.begin(), failed_.end());
    return moves;
  }

  int64_t keepMs() const { return std::max(spec_.config.cooldown_ms, kRateWindowMs); }

  // A partition that no longer needs a node has its reason forgotten: said again next time.
  void forgetCalmReasons(const std::vector<Decision>& decisions) {
    std::erase_if(logged_reasons_, [&](const auto& entry) {
      return std::none_of(decisions.begin(), decisions.end(),
                          [&](const Decision& d) { return d.partition.name == entry.first; });
    });
  }

  void saveState() {
    Status made = fs_.makeDirs(cpuset::kStateDir, 0755);
    Status saved = made ? fs_.replaceFile(kZonedStateFile, formatState(state_)) : made;
    if (!saved) log_ << "zoned: cannot save its state: " << saved.error().describe() << "\n";
  }

  // One text for the textfile and the endpoint; the server thread gets its own copy.
  // READY=1 once the first sample is in (zonectl list, the metrics and the state file are then
  // zoned's), the status line every sample, and a watchdog ping per loop: a loop stuck in a move
  // or a sample stops pinging.
  void tellServiceManager(bool first) {
    if (first) {
      checkNotified(notifier_.ready(status_));
    } else {
      checkNotified(notifier_.status(status_));
    }
    pingWatchdog();
  }

  void pingWatchdog() {
    last_ping_ms_ = bootClockMs();
    checkNotified(notifier_.watchdog());
  }

  void checkNotified(const Status& sent) {
    if (!sent && !notify_failed_) log_ << "zoned: " << sent.error().describe() << "\n";
    notify_failed_ = !sent;
  }

  void publishMetrics(const PolicyInput* sample) {
    status_ = formatStatusLine(sample, state_, counters_);
    if (spec_.config.metrics_textfile.empty() && !server_) return;
    std::string text = formatMetrics(sample, state_, counters_);
    // The file first: whoever reads /metrics finds the file written already.
    if (!spec_.config.metrics_textfile.empty()) {
      Status written =
          writeOutputFile(spec_.config.metrics_textfile, text, Durability::kAtomicOnly);
      if (!written && !metrics_failed_) {
        log_ << "zoned: cannot write the metrics: " << written.error().describe() << "\n";
      }
      metrics_failed_ = !written;
    }
    if (server_) server_->publish(std::move(text));
  }

  // Sleeps until `deadline_ms`, handling signals, pinging the watchdog when an interval is
  // longer than its ping period, and waking early when a partition's stall trigger fires.
  Wake sleepUntil(int64_t deadline_ms) {
    int64_t ping_ms = notifier_.watchdogPingMs();
    while (true) {
      int64_t now = bootClockMs();
      if (ping_ms > 0 && now - last_ping_ms_ >= ping_ms) pingWatchdog();
      int64_t left = deadline_ms - now;
      if (left <= 0) return Wake::kDeadline;
      if (ping_ms > 0) left = std::min(left, last_ping_ms_ + ping_ms - now);
      std::vector<pollfd> fds{signals_.pollFd()};
      triggers_.appendPollFds(fds);
      int ready = ::poll(fds.data(), fds.size(), static_cast<int>(std::max<int64_t>(left, 0)));
      if (ready <= 0) continue;
      if (fds[0].revents & POLLIN) {
        int signal = signals_.read();
        if (signal == SIGTERM || signal == SIGINT) return Wake::kStop;
        if (signal == SIGHUP) reload();
      }
      if (triggers_.collect(fds, 1)) return Wake::kStall;
    }
  }

  void reload() {
    auto spec = readZonedSpecFile(options_.config_path);
    if (!spec) {
      ++counters_.reload_failures;
      log_ << "zoned: reload refused, keeping the configuration in use: " << spec.error().describe()
           << "\n";
      return;
    }
    ++counters_.reloads;
    keepListening(spec->config);
    spec_ = std::move(spec).value();
    log_ << "zoned: reloaded " << options_.config_path << "\n";
  }

  // The endpoint is bound once, at start: a changed `listen` waits for a restart, and the config
  // in use says where it really listens.
  void keepListening(ZonedConfig& next) {
    auto where = [](const std::optional<ListenAddress>& a) {
      return a ? a->host + " port " + std::to_string(a->port) : std::string("none");
    };
    if (where(next.listen) != where(spec_.config.listen)) {
      log_ << "zoned: listen changed to " << where(next.listen) << "; it takes effect at restart, "
           << "still " << where(spec_.config.listen) << "\n";
    }
    next.listen = spec_.config.listen;
  }

  DaemonOptions options_;
  const FsRoot& fs_;  // the session points at it too
  ZonedSpec spec_;
  cpuset::Session session_;
  ZonedState state_;
  Signals signals_;
  std::unique_ptr<MetricsServer> server_;  // null without `listen`
  ServiceNotifier notifier_ = ServiceNotifier::fromEnvironment();
  std::string status_;  // the last status line, sent after each sample
  bool notify_failed_ = false;
  int64_t last_ping_ms_ = 0;
  std::ostream& out_;
  std::ostream& log_;
  Sampler sampler_;
  StallTriggers triggers_;
  PolicyMemory memory_;
  ZonedCounters counters_;
  std::vector<Move> failed_;
  std::map<std::string, LoggedReason, std::less<>> logged_reasons_;
  bool metrics_failed_ = false;
  SharedKeeper keeper_;
  bool keeper_failed_ = false;
};

Status checkCanAct(const DaemonOptions& options, const FsRoot& fs) {
  if (options.dry_run) return {};
  if (!fs.isLive()) {
    return badInput("--root " + options.root +
                    ": zoned moves nodes only on the running system; add --dry-run to read a tree");
  }
  if (::geteuid() != 0) {
    return errnoError(EPERM, "needs root: it resizes partitions; --dry-run only decides");
  }
  return {};
}

// cgroup v1 counts memory_pressure only with the root's memory_pressure_enabled set: without it
// every partition reads 0, which zoned would take for idle. A global switch of the cpuset
// hierarchy, costing a little bookkeeping per direct reclaim.
Status enableV1Pressure(const cpuset::Session& session, std::ostream& log) {
  const cpuset::CgroupChoice& cgroup = session.zones.cgroup;
  if (cgroup.version != cpuset::CgroupVersion::kV1) return {};
  std::string path =
      kernel::joinPath(cgroup.mount_point, kernel::kCpusetV1MemoryPressureEnabledFile);
  SZ_TRY(enabled, session.fs->readAttribute(path));
  if (enabled == "1") return {};
  SZ_CHECK(session.fs->writeAttribute(path, "1"));
  log << "zoned: turned on " << session.fs->hostPath(path)
      << " (v1 pressure is counted only then)\n";
  return {};
}

// A zoned killed in the middle of a move left the journal: complete it (or roll it back) now,
// not at the next move, which may be long in coming. A mutating session does it and lets go.
Status recoverInterrupted(const FsRoot& fs, cpuset::CgroupMode mode, std::ostream& log) {
  SZ_TRY(session, cpuset::openSession(fs, mode, true, log));
  (void)session;  // opening it completed or rolled back what was interrupted; the lock drops here
  return {};
}

// After Signals::block(): the server's threads inherit the blocked signals, so SIGHUP and SIGTERM
// reach the signalfd and never kill zoned from another thread. SIGPIPE is ignored: a scraper
// that hangs up mid-answer must not kill zoned (httplib writes without MSG_NOSIGNAL).
Result<std::unique_ptr<MetricsServer>> startServer(const ZonedConfig& config, std::ostream& log) {
  if (!config.listen) return std::unique_ptr<MetricsServer>();
  ::signal(SIGPIPE, SIG_IGN);
  SZ_TRY(server, MetricsServer::start(*config.listen));
  log << "zoned: serving /metrics on port " << server->port() << " of " << config.listen->host
      << "\n";
  return server;
}

Result<int> start(const DaemonOptions& options, std::ostream& out, std::ostream& log) {
  SZ_TRY(spec, readZonedSpecFile(options.config_path));
  SZ_TRY(fs, FsRoot::open(options.root));
  SZ_CHECK(checkCanAct(options, fs));
  SZ_TRY(signals, Signals::block());
  SZ_TRY(server, startServer(spec.config, log));
  SZ_TRY(session, cpuset::openSession(fs, options.cgroup_mode, false, log));
  if (!options.dry_run) {
    SZ_CHECK(enableV1Pressure(session, log));
    SZ_CHECK(recoverInterrupted(fs, options.cgroup_mode, log));
  }
  // A tree without a boot id is read in a dry run all the same: nothing is saved.
  auto boot_id = fs.readAttribute(kernel::kBootIdFile);
  if (!boot_id && !options.dry_run) return std::move(boot_id).error();
  SZ_TRY(state, loadState(fs, boot_id ? *boot_id : std::string(), log));
  Daemon daemon(options, fs, std::move(spec), std::move(session), std::move(state),
                std::move(signals), std::move(server), out, log);
  return daemon.run();
}

}  // namespace

int runZoned(const DaemonOptions& options, std::ostream& out, std::ostream& log) {
  auto status = start(options, out, log);
  if (status) return *status;
  log << "zoned: " << status.error().describe() << "\n";
  return status.error().exitStatus();
}

}  // namespace softzone::zoned

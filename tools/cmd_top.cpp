// zonectl top: a live view of the zones, refreshed every interval; q quits. Plain ANSI escapes
// and line output, so it works over ssh and in a pipe (where it prints frames one after another).
#include <poll.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <sstream>

#include "command.h"
#include "softzone/report/report.h"
#include "softzone/zones/size.h"

namespace softzone::tools {
namespace po = boost::program_options;

namespace {

// Raw keyboard input while top runs; the terminal is restored however top ends.
class RawTerminal {
 public:
  RawTerminal() {
    if (::isatty(STDIN_FILENO) == 0 || ::tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    struct termios raw = saved_;
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    active_ = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;
  ~RawTerminal() {
    if (active_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }

 private:
  struct termios saved_ {};
  bool active_ = false;
};

// Waits up to `timeout_ms` for a key; true when it was q (or Q). End of input stops listening.
bool waitForQuit(int timeout_ms, bool& input_open) {
  if (!input_open) {
    ::poll(nullptr, 0, timeout_ms);
    return false;
  }
  struct pollfd fd = {STDIN_FILENO, POLLIN, 0};
  int ready = ::poll(&fd, 1, timeout_ms);
  if (ready <= 0) return false;
  char key = 0;
  ssize_t n = ::read(STDIN_FILENO, &key, 1);
  if (n <= 0) {
    input_open = false;
    return false;
  }
  return key == 'q' || key == 'Q';
}

std::string fixed(double value, int digits) {
  char text[48];
  std::snprintf(text, sizeof text, "%.*f", digits, value);
  return text;
}

std::string clockText(int64_t time_ms) {
  time_t seconds = static_cast<time_t>(time_ms / 1000);
  struct tm local {};
  ::localtime_r(&seconds, &local);
  char text[16];
  std::strftime(text, sizeof text, "%H:%M:%S", &local);
  return text;
}

std::string frame(const report::Report& report, int interval_ms) {
  using report::Metric;
  std::ostringstream out;
  out << "softzone top  " << clockText(report.time_ms) << "  every "
      << fixed(interval_ms / 1000.0, 1) << " s  (q quits)  counters since top started\n\n";
  char line[256];
  std::snprintf(line, sizeof line, "%-14s %-9s %-10s %9s %9s %6s %9s %9s %11s %9s %8s %4s\n",
                "ZONE", "KIND", "NODES", "TOTAL(MiB)", "USED(MiB)", "USED%", "FILE(MiB)",
                "ANON(MiB)", "RECLAIMED", "REFAULTS", "PSI10%", "OOM");
  out << line;
  for (const report::ZoneReport& zone : report.zones) {
    uint64_t total = report::at(zone.values, Metric::kMemTotal);
    uint64_t used = report::at(zone.values, Metric::kMemUsed);
    double percent =
        total == 0 ? 0 : 100.0 * static_cast<double>(used) / static_cast<double>(total);
    std::string reclaimed = report.sources.reclaim_trace
                                ? std::to_string(report::at(zone.values, Metric::kReclaimReclaimed))
                                : "-";
    std::string refaults = report.sources.vmstat
                               ? std::to_string(report::at(zone.values, Metric::kRefaultAnon) +
                                                report::at(zone.values, Metric::kRefaultFile))
                               : "-";
    std::string psi = zone.pressure.source == report::Pressure::Source::kPsi
                          ? fixed(zone.pressure.some_avg10, 2)
                          : "-";
    std::string oom = report.sources.kmsg ? std::to_string(zone.oom_victims.size()) : "-";
    std::snprintf(
        line, sizeof line, "%-14.14s %-9s %-10.10s %9s %9s %6s %9s %9s %11s %9s %8s %4s\n",
        zone.zone.name.c_str(), std::string(zoneKindName(zone.zone.kind)).c_str(),
        zone.zone.nodes.format().c_str(), fixed(static_cast<double>(total) / kMiB, 1).c_str(),
        fixed(static_cast<double>(used) / kMiB, 1).c_str(), fixed(percent, 1).c_str(),
        fixed(static_cast<double>(report::at(zone.values, Metric::kFile)) / kMiB, 1).c_str(),
        fixed(static_cast<double>(report::at(zone.values, Metric::kAnon)) / kMiB, 1).c_str(),
        reclaimed.c_str(), refaults.c_str(), psi.c_str(), oom.c_str());
    out << line;
  }
  for (const report::SourceProblem& problem : report.problems) {
    out << "missing: " << problem.source << ": " << problem.why << '\n';
  }
  return out.str();
}

}  // namespace

Status cmdTop(Context& ctx, const std::vector<std::string>& args) {
  po::options_description options("top options");
  options.add_options()  //
      ("interval", po::value<double>()->default_value(1.0)->value_name("SECONDS"),
       "time between refreshes")  //
      ("iterations,n", po::value<int>()->default_value(0)->value_name("N"),
       "stop after N frames (0: until q)")  //
      ("once", po::bool_switch(), "print one frame and exit (same as -n 1)");
  po::variables_map values;
  if (!parseVerbOptions(ctx, "top", "[--interval SECONDS] [-n N]", options, {}, args, values)) {
    return {};
  }
  double interval = values["interval"].as<double>();
  if (!(interval >= 0.1 && interval <= 3600)) {
    return badInput("--interval " + fixed(interval, 2) + ": expected 0.1 to 3600 seconds");
  }
  int iterations = values["once"].as<bool>() ? 1 : values["iterations"].as<int>();
  if (iterations < 0) return badInput("--iterations must not be negative");
  int interval_ms = static_cast<int>(interval * 1000);

  report::ReportZones zones = report::readReportZonesAt(ctx.fs, ctx.cgroup_mode);
  report::KswapdPids kswapd;
  report::SampleOptions first_options;
  first_options.kswapd = &kswapd;
  auto first = report::readMachineSampleAt(ctx.fs, zones.zones, zones.cgroup, first_options);
  if (!first) return readError(ctx, std::move(first).error());
  bool tty = ::isatty(STDOUT_FILENO) != 0;
  RawTerminal terminal;
  bool input_open = true;
  report::SampleOptions quick;
  quick.install_reclaim_trigger = false;
  quick.kswapd = &kswapd;
  report::MachineSample baseline = std::move(*first);
  for (int shown = 0; iterations == 0 || shown < iterations; ++shown) {
    report::MachineSample current = baseline;
    if (shown > 0) {
      auto sample = report::readMachineSampleAt(ctx.fs, zones.zones, zones.cgroup, quick);
      if (!sample) return readError(ctx, std::move(sample).error());
      current = std::move(*sample);
    }
    report::Report report = report::buildReport(zones.zones, current, &baseline);
    if (tty) ctx.out << "\x1b[H\x1b[2J";
    ctx.out << frame(report, interval_ms);
    if (!tty) ctx.out << '\n';
    ctx.out.flush();
    if (iterations != 0 && shown + 1 >= iterations) break;
    if (waitForQuit(interval_ms, input_open)) break;
  }
  return {};
}

}  // namespace softzone::tools

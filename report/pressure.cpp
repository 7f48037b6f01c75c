// Memory pressure per cgroup: PSI lines (v2) and cpuset.memory_pressure (v1).
#include "softzone/report/pressure.h"

#include <charconv>

#include "softzone/zones/kernel_files.h"
#include "softzone/zones/text_parse.h"

namespace softzone::report {
namespace {

// "some avg10=1.00 avg60=0.00 avg300=0.00 total=123": avg10 and total.
Status parsePsiLine(std::string_view line, double& avg10, uint64_t& total) {
  bool have_avg10 = false;
  bool have_total = false;
  while (!line.empty()) {
    size_t space = line.find(' ');
    std::string_view field = line.substr(0, space);
    line = space == std::string_view::npos ? std::string_view{} : line.substr(space + 1);
    size_t eq = field.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = field.substr(0, eq);
    std::string_view value = field.substr(eq + 1);
    if (key == "avg10") {
      auto parsed = parseNumber<double>(value);
      if (!parsed) return badInput("PSI avg10 " + quoteInput(value) + " is not a number");
      avg10 = *parsed;
      have_avg10 = true;
    } else if (key == "total") {
      auto parsed = parseNumber<uint64_t>(value);
      if (!parsed) return badInput("PSI total " + quoteInput(value) + " is not a number");
      total = *parsed;
      have_total = true;
    }
  }
  if (!have_avg10 || !have_total) return badInput("a PSI line without avg10= and total=");
  return {};
}

std::string cgroupFile(const std::string& cgroup_path, std::string_view file) {
  return kernel::joinPath(cgroup_path, file);
}

}  // namespace

Result<Pressure> parsePsi(std::string_view text) {
  Pressure pressure;
  pressure.source = Pressure::Source::kPsi;
  bool have_some = false;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (line.substr(0, 5) == "some ") {
      SZ_CHECK(parsePsiLine(line.substr(5), pressure.some_avg10, pressure.some_total_us));
      have_some = true;
    } else if (line.substr(0, 5) == "full ") {
      SZ_CHECK(parsePsiLine(line.substr(5), pressure.full_avg10, pressure.full_total_us));
    }
  }
  if (!have_some) return badInput("no 'some' line in a PSI file");
  return pressure;
}

Pressure readPressureAt(const FsRoot& fs, const cpuset::CgroupChoice& cgroup,
                        const std::string& cgroup_path) {
  Pressure pressure;
  if (cgroup_path.empty()) {
    pressure.why_missing = "no cgroup";
    return pressure;
  }
  if (cgroup.version == cpuset::CgroupVersion::kV2) {
    std::string path = cgroupFile(cgroup_path, kernel::kMemoryPressureFile);
    auto text = fs.readFile(path);
    if (!text) {
      pressure.why_missing = text.error().describe() + " (PSI needs CONFIG_PSI and psi=1)";
      return pressure;
    }
    auto parsed = parsePsi(*text);
    if (!parsed) {
      pressure.why_missing = fs.hostPath(path) + ": " + parsed.error().message();
      return pressure;
    }
    return *parsed;
  }
  std::string path = cgroupFile(cgroup_path, kernel::kCpusetV1MemoryPressureFile);
  auto text = fs.readAttribute(path);
  if (!text) {
    pressure.why_missing = text.error().describe();
    return pressure;
  }
  auto value = parseNumber<uint64_t>(*text);
  if (!value) {
    pressure.why_missing = fs.hostPath(path) + ": " + quoteInput(*text) + " is not a number";
    return pressure;
  }
  pressure.source = Pressure::Source::kCpusetV1;
  pressure.memory_pressure = *value;
  auto enabled =
      fs.readAttribute(cgroupFile(cgroup.mount_point, kernel::kCpusetV1MemoryPressureEnabledFile));
  pressure.v1_enabled = enabled && *enabled == "1";
  return pressure;
}

}  // namespace softzone::report

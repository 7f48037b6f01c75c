// The cgroup v1 and v2 cpuset backends behind CgroupBackend.
#include "softzone/cpuset/cgroup_backend.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <set>

#include "softzone/cpuset/op_lock.h"
#include "softzone/zones/kernel_files.h"
#include "softzone/zones/text_parse.h"

namespace softzone::cpuset {
namespace {

constexpr std::string_view kCpusetPrefix = "cpuset.";
constexpr std::string_view kMemsName = "mems";
constexpr std::string_view kCpusName = "cpus";
constexpr std::string_view kEffectiveMemsV1 = "effective_mems";
constexpr std::string_view kEffectiveCpusV1 = "effective_cpus";
constexpr std::string_view kMemoryMigrateName = "memory_migrate";
constexpr std::string_view kMemHardwallName = "mem_hardwall";

bool isPathChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-' || c == ':' || c == '@';
}

std::vector<std::string_view> components(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    parts.push_back(path.substr(pos, end - pos));
    pos = end + 1;
  }
  return parts;
}

std::string parentOf(std::string_view cgroup) {
  size_t slash = cgroup.rfind('/');
  return slash == std::string_view::npos ? std::string() : std::string(cgroup.substr(0, slash));
}

class V2Backend final : public CgroupBackend {
 public:
  V2Backend(FsRoot tree, std::string mount_point)
      : CgroupBackend(std::move(tree), std::move(mount_point), std::string(kCpusetPrefix)) {}

  CgroupVersion version() const noexcept override { return CgroupVersion::kV2; }
  std::string_view procCgroupController() const noexcept override { return ""; }
  bool canCloneInto() const noexcept override { return true; }
  bool canMoveWithoutMigrating() const noexcept override { return false; }
  bool hasMemHardwall() const noexcept override { return false; }
  bool childMayLackCpuset() const noexcept override { return true; }

  Result<NodeSet> readEffectiveMems(std::string_view cgroup) const override {
    return readList(file(cgroup, kernel::kCpusetMemsEffectiveFile));
  }

  Result<NodeSet> readEffectiveCpus(std::string_view cgroup) const override {
    return readList(file(cgroup, kernel::kCpusetCpusEffectiveFile));
  }

  Result<bool> readMemHardwall(std::string_view) const override { return false; }

  Status prepareParent(std::string_view parent) const override {
    std::string at;
    SZ_CHECK(enableCpuset(at));
    for (std::string_view part : components(parent)) {
      at = at.empty() ? std::string(part) : at + "/" + std::string(part);
      Status made = tree().mkdirAt(at);
      if (!made && made.error().code() != std::errc::file_exists) return made;
      SZ_CHECK(enableCpuset(at));
    }
    return {};
  }

  Status createCgroup(std::string_view cgroup, const CgroupSettings& settings) const override {
    SZ_CHECK(tree().mkdirAt(cgroup));
    Status configured = configureCgroup(cgroup, settings);
    if (!configured) (void)tree().rmdirAt(cgroup);  // nothing half-made is left behind
    return configured;
  }

  Status configureCgroup(std::string_view cgroup, const CgroupSettings& settings) const override {
    // An empty cpuset.cpus on v2 means "the parent's": exactly what no CPUs of its own means.
    SZ_CHECK(writeCpus(cgroup, settings.cpus));
    return writeMems(cgroup, settings.mems);
  }

  Status setMemoryMigrate(std::string_view, bool migrate) const override {
    if (migrate) return {};
    return unsupported(
        "cgroup v2 always moves a task's pages when it changes cpuset (there is no "
        "memory_migrate to turn off); use cgroup v1 to leave them");
  }

 private:
  // "+cpuset" in `cgroup`'s subtree_control, unless it is there already (a write would fail
  // with EBUSY on a cgroup holding tasks even when nothing changes on some kernels).
  Status enableCpuset(const std::string& cgroup) const {
    std::string path = file(cgroup, kernel::kCgroupSubtreeControlFile);
    auto current = tree().readAttribute(path);
    if (current) {
      std::string padded = " " + *current + " ";
      if (padded.find(" cpuset ") != std::string::npos) return {};
    }
    return put(path, "+cpuset");
  }
};

class V1Backend final : public CgroupBackend {
 public:
  V1Backend(FsRoot tree, std::string mount_point, std::string prefix)
      : CgroupBackend(std::move(tree), std::move(mount_point), std::move(prefix)) {}

  CgroupVersion version() const noexcept override { return CgroupVersion::kV1; }
  std::string_view procCgroupController() const noexcept override { return "cpuset"; }
  bool canCloneInto() const noexcept override { return false; }
  bool canMoveWithoutMigrating() const noexcept override { return true; }
  bool hasMemHardwall() const noexcept override { return true; }
  bool childMayLackCpuset() const noexcept override { return false; }

  Result<NodeSet> readEffectiveMems(std::string_view cgroup) const override {
    auto effective = readList(cpusetFile(cgroup, kEffectiveMemsV1));
    return effective ? effective : readMems(cgroup);
  }

  Result<NodeSet> readEffectiveCpus(std::string_view cgroup) const override {
    auto effective = readList(cpusetFile(cgroup, kEffectiveCpusV1));
    return effective ? effective : readCpus(cgroup);
  }

  Result<bool> readMemHardwall(std::string_view cgroup) const override {
    auto text = tree().readAttribute(cpusetFile(cgroup, kMemHardwallName));
    if (!text) return std::move(text).error();
    return text->size() == 1 && text->front() == '1';
  }

  Status prepareParent(std::string_view parent) const override {
    std::string at;
    for (std::string_view part : components(parent)) {
      std::string above = at;
      at = at.empty() ? std::string(part) : at + "/" + std::string(part);
      Status made = tree().mkdirAt(at);
      if (!made && made.error().code() != std::errc::file_exists) return made;
      // A new v1 cpuset is empty, and so is one another tool made without filling it (a
      // delegated path on a systemd host): nothing can go below it until it has what its parent
      // has. A path already filled in is left as it is.
      // (An unreadable value is treated as empty: the write then says what is wrong.)
      if (auto cpus = readCpus(at); !cpus || cpus->empty()) {
        SZ_TRY(above_cpus, readCpus(above));
        SZ_CHECK(writeCpus(at, above_cpus));
      }
      if (auto mems = readMems(at); !mems || mems->empty()) {
        SZ_TRY(above_mems, readMems(above));
        SZ_CHECK(writeMems(at, above_mems));
      }
    }
    return {};
  }

  Status createCgroup(std::string_view cgroup, const CgroupSettings& settings) const override {
    SZ_CHECK(tree().mkdirAt(cgroup));
    Status configured = configureCgroup(cgroup, settings);
    if (!configured) (void)tree().rmdirAt(cgroup);
    return configured;
  }

  Status configureCgroup(std::string_view cgroup, const CgroupSettings& settings) const override {
    NodeSet cpus = settings.cpus;
    if (cpus.empty()) {
      // v1 takes no task into a cpuset without CPUs: no CPUs of its own means its parent's.
      SZ_TRY(parent_cpus, readCpus(parentOf(cgroup)));
      cpus = parent_cpus;
    }
    SZ_CHECK(writeCpus(cgroup, cpus));
    // memory_migrate before mems: tasks already inside follow the nodes when they change.
    SZ_CHECK(setMemoryMigrate(cgroup, true));
    SZ_CHECK(writeMems(cgroup, settings.mems));
    return put(cpusetFile(cgroup, kMemHardwallName), settings.mem_hardwall ? "1" : "0");
  }

  Status setMemoryMigrate(std::string_view cgroup, bool migrate) const override {
    return put(cpusetFile(cgroup, kMemoryMigrateName), migrate ? "1" : "0");
  }
};

}  // namespace

Result<std::string> defaultCgroupParent() {
  const char* env = std::getenv(std::string(kCgroupParentEnv).c_str());
  if (env == nullptr || *env == '\0') return std::string(kDefaultCgroupParent);
  if (auto problem = checkCgroupPath(env)) {
    return badInput(std::string(kCgroupParentEnv) + ": " + *problem);
  }
  return std::string(env);
}

std::optional<std::string> checkCgroupPath(std::string_view path) {
  if (path.empty()) return "the cgroup path is empty";
  if (path.size() > 4096) return "the cgroup path is too long";
  if (path.front() == '/') {
    return "the cgroup path " + quoteInput(path) + " must be relative to the cgroup mount";
  }
  for (std::string_view part : components(path)) {
    if (part.empty() || part == "." || part == ".." ||
        !std::all_of(part.begin(), part.end(), isPathChar)) {
      return "the cgroup path " + quoteInput(path) +
             " needs components of A-Z a-z 0-9 _ . : @ - other than . and ..";
    }
  }
  return std::nullopt;
}

Result<std::unique_ptr<CgroupBackend>> CgroupBackend::open(const FsRoot& fs,
                                                           const CgroupChoice& choice) {
  auto tree = fs.openSubtree(choice.mount_point);
  if (!tree) return std::move(tree).error().withContext("the cgroup mount");
  if (choice.version == CgroupVersion::kV2) {
    return std::unique_ptr<CgroupBackend>(new V2Backend(std::move(*tree), choice.mount_point));
  }
  // A v1 hierarchy mounted with "noprefix" names its files "mems", not "cpuset.mems".
  std::string prefix(kCpusetPrefix);
  if (!tree->exists(std::string(kCpusetPrefix) + std::string(kMemsName)) &&
      tree->exists(kMemsName)) {
    prefix.clear();
  }
  return std::unique_ptr<CgroupBackend>(
      new V1Backend(std::move(*tree), choice.mount_point, std::move(prefix)));
}

std::string CgroupBackend::file(std::string_view cgroup, std::string_view name) {
  if (cgroup.empty()) return std::string(name);
  return std::string(cgroup) + "/" + std::string(name);
}

std::string CgroupBackend::cpusetFile(std::string_view cgroup, std::string_view name) const {
  return file(cgroup, prefix_ + std::string(name));
}

Status CgroupBackend::put(const std::string& path, std::string_view value) const {
  if (tree_.isLive()) return tree_.writeAttribute(path, value);
  // A --root tree is plain files: mkdir makes no cgroup files there, so writes create them.
  auto fd = tree_.openAt(path, O_WRONLY | O_CREAT | O_TRUNC, true);
  if (!fd) return std::move(fd).error();
  std::string text(value);
  if (text.empty() || text.back() != '\n') text += '\n';
  if (::write(fd->get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    return errnoError(errno, "writing " + path);
  }
  return {};
}

Result<NodeSet> CgroupBackend::readList(const std::string& path) const {
  SZ_TRY(text, tree_.readFile(path));
  auto list = NodeSet::parseKernelList(text, path);
  if (!list) return std::move(list).error().withContext("reading " + path);
  return list;
}

bool CgroupBackend::exists(std::string_view cgroup) const {
  if (cgroup.empty()) return true;
  return tree_.openAt(cgroup, O_PATH | O_DIRECTORY, true).has_value();
}

Result<NodeSet> CgroupBackend::readMems(std::string_view cgroup) const {
  return readList(cpusetFile(cgroup, kMemsName));
}

Result<NodeSet> CgroupBackend::readCpus(std::string_view cgroup) const {
  return readList(cpusetFile(cgroup, kCpusName));
}

Result<std::vector<pid_t>> CgroupBackend::readProcs(std::string_view cgroup) const {
  std::string path = file(cgroup, kernel::kCgroupProcsFile);
  auto read = tree_.readLines(path);
  // A --root tree's cgroups made by mkdir have no cgroup.procs: no task is in them.
  if (!read && !tree_.isLive() && read.error().code() == std::errc::no_such_file_or_directory &&
      exists(cgroup)) {
    return std::vector<pid_t>();
  }
  SZ_TRY(lines, std::move(read));
  std::set<pid_t> pids;  // v1's cgroup.procs may repeat a pid and is not sorted
  for (const std::string& line : lines) {
    if (line.empty()) continue;
    auto pid = parseNumber<pid_t>(line);
    if (!pid || *pid <= 0) {
      return badInput(path + ": expected a process id per line, got " + quoteInput(line));
    }
    pids.insert(*pid);
  }
  return std::vector<pid_t>(pids.begin(), pids.end());
}

Result<std::vector<std::string>> CgroupBackend::listChildren(std::string_view cgroup) const {
  SZ_TRY(names, tree_.listDir(cgroup.empty() ? std::string_view(".") : cgroup));
  std::vector<std::string> children;
  for (std::string& name : names) {
    // Only directories are cgroups; opening one as a directory also refuses symlinks.
    if (tree_.openAt(file(cgroup, name), O_PATH | O_DIRECTORY, true)) {
      children.push_back(std::move(name));
    }
  }
  return children;
}

Status CgroupBackend::writeMems(std::string_view cgroup, const NodeSet& mems) const {
  return put(cpusetFile(cgroup, kMemsName), mems.format());
}

Status CgroupBackend::writeCpus(std::string_view cgroup, const NodeSet& cpus) const {
  // An empty write is how v2 hands a cgroup back its parent's CPUs; a bare "\n" does that too
  // and a zero-byte write would not reach the kernel at all.
  return put(cpusetFile(cgroup, kCpusName), cpus.empty() ? "\n" : cpus.format());
}

Status CgroupBackend::moveProcess(std::string_view cgroup, pid_t pid) const {
  return put(file(cgroup, kernel::kCgroupProcsFile), std::to_string(pid));
}

Status CgroupBackend::moveProcesses(std::string_view cgroup, const std::vector<pid_t>& pids,
                                    bool migrate, std::vector<pid_t>& moved) const {
  if (!migrate) {
    SZ_CHECK(setMemoryMigrate(cgroup, false));
    stopPointForTests("cgroup.migrate_off");
  }
  Status all = {};
  for (pid_t pid : pids) {
    all = moveProcess(cgroup, pid);
    if (!all) {
      all = std::move(all).error().withContext("moving process " + std::to_string(pid));
      break;
    }
    moved.push_back(pid);
  }
  if (!migrate) {
    Status on = setMemoryMigrate(cgroup, true);
    if (all && !on) return on;
  }
  return all;
}

Result<Fd> CgroupBackend::openCgroupDir(std::string_view cgroup) const {
  return tree_.openAt(cgroup, O_PATH | O_DIRECTORY);
}

Status CgroupBackend::removeCgroup(std::string_view cgroup) const {
  if (!tree_.isLive()) {
    // A --root tree's cgroup is a directory of plain files: they go first, as the kernel's do.
    auto names = tree_.listDir(cgroup);
    if (names) {
      for (const std::string& name : *names) (void)tree_.unlinkAt(file(cgroup, name));
    }
  }
  return tree_.rmdirAt(cgroup);
}

}  // namespace softzone::cpuset

// The spec reader: a line pre-pass for structure and line numbers, Boost.Program_options for
// values.
#include "softzone/planner/spec.h"

#include <algorithm>
#include <array>
#include <boost/program_options/parsers.hpp>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <sstream>
#include <string>

#include "softzone/zones/text_parse.h"

namespace softzone::planner {
namespace {

namespace po = boost::program_options;

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";
constexpr std::string_view kPartitionPrefix = "partition.";
// zoned's own section, in the same file so `zonectl apply` and zoned read one spec: its lines are
// kept as read (Spec::zoned_keys) and their keys and values checked by libsoftzone_zoned.
constexpr std::string_view kZonedSection = "zoned";
constexpr std::string_view kSizeExpected = "expected a size like 512M or 1.5G";
constexpr std::string_view kSectionsExpected = "[machine], [shared] or [partition.NAME]";
constexpr std::array<std::string_view, 3> kReservedNames = {"system", "shared", "free"};

constexpr std::array<std::string_view, 3> kMachineKeys = {"reserve", "node_size", "kernel_image"};
constexpr std::array<std::string_view, 2> kSharedKeys = {"size", "bind"};
constexpr std::array<std::string_view, 5> kPartitionKeys = {"memory", "cpus", "min", "max",
                                                            "mem_hardwall"};

bool isNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool equalsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [](char x, char y) { return lower(x) == lower(y); });
}

// "a, b or c": the list of what would have been accepted, for messages.
template <size_t N>
std::string joinChoices(const std::array<std::string_view, N>& choices) {
  std::string joined;
  for (size_t i = 0; i < N; ++i) {
    if (i > 0) joined += i + 1 == N ? " or " : ", ";
    joined += choices[i];
  }
  return joined;
}

// The part of a parseSize/NodeSet::parse message after its "WHAT "TEXT": " prefix, so ours can
// say the location once and keep their precise reason. Empty when the shape is unexpected.
std::string detailOf(const Error& error, std::string_view what, std::string_view text) {
  std::string prefix = std::string(what) + " " + quoteInput(text) + ": ";
  const std::string& message = error.message();
  if (message.size() > prefix.size() && message.compare(0, prefix.size(), prefix) == 0) {
    return message.substr(prefix.size());
  }
  return {};
}

// One `key = value` line as the pre-pass saw it; the value comes from Program_options later.
struct KeyLine {
  std::string section;
  std::string key;
  int line = 0;
  std::string value;
};

struct SectionLine {
  std::string name;
  int line = 0;
};

// The structure of a spec: its sections and keys with line numbers, already checked for shape.
struct Outline {
  std::vector<SectionLine> sections;
  std::vector<KeyLine> keys;
};

// Which keys a section accepts; the section name was validated when it was opened.
std::string allowedKeys(std::string_view section) {
  if (section == "machine") return joinChoices(kMachineKeys);
  if (section == "shared") return joinChoices(kSharedKeys);
  if (section == kZonedSection) return "the keys of docs/zoned.md";
  return joinChoices(kPartitionKeys);
}

bool isAllowedKey(std::string_view section, std::string_view key) {
  auto contains = [key](const auto& keys) {
    return std::find(keys.begin(), keys.end(), key) != keys.end();
  };
  if (section == "machine") return contains(kMachineKeys);
  if (section == "shared") return contains(kSharedKeys);
  if (section == kZonedSection) return true;  // zoned knows its keys
  return contains(kPartitionKeys);
}

// Walks the lines once: sections, keys, line numbers, and every structural mistake Program_options
// would either accept silently (duplicates, unknown keys) or report without a line number.
class OutlineReader {
 public:
  OutlineReader(std::string_view text, std::string_view file_name)
      : text_(text), file_name_(file_name) {}

  Result<Outline> read() {
    size_t start = 0;
    int line_number = 0;
    while (start < text_.size()) {
      size_t end = text_.find('\n', start);
      if (end == std::string_view::npos) end = text_.size();
      ++line_number;
      SZ_CHECK(readLine(text_.substr(start, end - start), line_number));
      start = end + 1;
    }
    return std::move(outline_);
  }

 private:
  Status readLine(std::string_view raw, int line_number) {
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    for (unsigned char c : raw) {
      if ((c < 0x20 && c != '\t') || c == 0x7f) {
        static constexpr char kHex[] = "0123456789abcdef";
        std::string byte = {'0', 'x', kHex[c >> 4], kHex[c & 0xf]};
        return fail(line_number, "unexpected byte " + byte + ": a spec is a text file of " +
                                     std::string(kSectionsExpected) +
                                     " sections and KEY = VALUE lines");
      }
    }
    // Program_options ends a line at the first '#', wherever it is; so do we, to agree with it.
    std::string_view content = trimBlanks(raw.substr(0, raw.find('#')));
    if (content.empty()) return {};
    if (content.front() == '[') return openSection(content, line_number);
    size_t equals = content.find('=');
    if (equals == std::string_view::npos) {
      return fail(line_number, "expected KEY = VALUE or a section header like [machine], got " +
                                   quoteInput(content));
    }
    return addKey(trimBlanks(content.substr(0, equals)), trimBlanks(content.substr(equals + 1)),
                  line_number);
  }

  Status openSection(std::string_view content, int line_number) {
    if (content.size() < 2 || content.back() != ']') {
      return fail(line_number, "malformed section header " + quoteInput(content) + ": expected " +
                                   std::string(kSectionsExpected));
    }
    std::string name(content.substr(1, content.size() - 2));
    SZ_CHECK(checkSectionName(name, line_number));
    auto [it, inserted] = first_lines_.try_emplace("[" + name + "]", line_number);
    if (!inserted) {
      return fail(line_number, "duplicate section [" + name + "] (first at line " +
                                   std::to_string(it->second) + "); merge the two");
    }
    outline_.sections.push_back({name, line_number});
    section_ = name;
    return {};
  }

  Status checkSectionName(const std::string& name, int line_number) const {
    if (name == "machine" || name == "shared" || name == kZonedSection) return {};
    if (name.compare(0, kPartitionPrefix.size(), kPartitionPrefix) == 0) {
      std::string_view partition = std::string_view(name).substr(kPartitionPrefix.size());
      if (auto problem = checkPartitionName(partition)) {
        return fail(line_number, "[" + name + "]: " + *problem);
      }
      return {};
    }
    if (name == "partition") {
      return fail(line_number,
                  "[partition] needs a name: write [partition.NAME], e.g. [partition.web]");
    }
    return fail(line_number, "unknown section " + quoteInput("[" + name + "]") + ": expected " +
                                 std::string(kSectionsExpected));
  }

  Status addKey(std::string_view key, std::string_view value, int line_number) {
    if (section_.empty()) {
      return fail(line_number, std::string(key) + " = " + quoteInput(value) +
                                   " is outside a section: keys go under " +
                                   std::string(kSectionsExpected));
    }
    std::string where = "[" + section_ + "] ";
    if (key.empty()) {
      return fail(line_number, where + "a line starting with '=' has no key; expected one of " +
                                   allowedKeys(section_));
    }
    if (!isAllowedKey(section_, key)) {
      return fail(line_number,
                  where + "unknown key " + quoteInput(key) + ": expected " + allowedKeys(section_));
    }
    auto [it, inserted] = first_lines_.try_emplace(where + std::string(key), line_number);
    if (!inserted) {
      return fail(line_number, where + std::string(key) + " is given twice (first at line " +
                                   std::to_string(it->second) + "); keep one");
    }
    outline_.keys.push_back({section_, std::string(key), line_number, {}});
    return {};
  }

  Error fail(int line_number, const std::string& problem) const {
    return badInput(specLocation(file_name_, line_number) + problem);
  }

  std::string_view text_;
  std::string_view file_name_;
  Outline outline_;
  std::string section_;                                  // the open section, "" before the first
  std::map<std::string, int, std::less<>> first_lines_;  // "[section]" and "[section] key"
};

// Fills each key's value from Program_options. The pre-pass accepted only lines it reads the same
// way, so the options line up one for one; anything else is reported rather than guessed at.
Status fillValues(std::string_view text, std::string_view file_name, Outline& outline) {
  std::vector<po::option> options;
  try {
    std::istringstream stream{std::string(text)};
    po::options_description none;  // everything unregistered: the pre-pass knows the keys
    options = po::parse_config_file(stream, none, /*allow_unregistered=*/true).options;
  } catch (const std::exception& e) {
    return badInput(specLocation(file_name, 0) + e.what());
  }
  if (options.size() != outline.keys.size()) {
    return badInput(specLocation(file_name, 0) + "read " + std::to_string(options.size()) +
                    " keys where the line scan found " + std::to_string(outline.keys.size()));
  }
  for (size_t i = 0; i < options.size(); ++i) {
    KeyLine& key = outline.keys[i];
    // Program_options joins section and key with a '.' unless the section already ends in one.
    std::string expected = key.section + (key.section.back() == '.' ? "" : ".") + key.key;
    if (options[i].string_key != expected || options[i].value.size() != 1) {
      return badInput(specLocation(file_name, key.line) + "could not read " + quoteInput(expected));
    }
    key.value = options[i].value[0];
  }
  return {};
}

// Turns checked key lines into a Spec, one section kind at a time.
class SpecBuilder {
 public:
  explicit SpecBuilder(std::string_view file_name) { spec_.file_name = file_name; }

  Result<Spec> build(const Outline& outline) {
    for (const SectionLine& section : outline.sections) {
      if (section.name.compare(0, kPartitionPrefix.size(), kPartitionPrefix) != 0) continue;
      PartitionSpec partition;
      partition.name = section.name.substr(kPartitionPrefix.size());
      partition.line = section.line;
      spec_.partitions.push_back(std::move(partition));
    }
    for (const KeyLine& key : outline.keys) SZ_CHECK(apply(key));
    if (spec_.partitions.empty()) {
      return badInput(specLocation(spec_.file_name, 1) +
                      "no [partition.NAME] section: a spec needs at least one partition with "
                      "memory = SIZE");
    }
    SZ_CHECK(checkShared());
    for (const PartitionSpec& partition : spec_.partitions) SZ_CHECK(checkPartition(partition));
    return std::move(spec_);
  }

 private:
  Status apply(const KeyLine& key) {
    if (key.section == "machine") return applyMachine(key);
    if (key.section == "shared") return applyShared(key);
    if (key.section == kZonedSection) {
      spec_.zoned_keys.push_back({key.key, key.line, key.value});
      return {};
    }
    return applyPartition(key, partitionFor(key.section));
  }

  PartitionSpec& partitionFor(const std::string& section) {
    std::string_view name = std::string_view(section).substr(kPartitionPrefix.size());
    auto it = std::find_if(spec_.partitions.begin(), spec_.partitions.end(),
                           [name](const PartitionSpec& p) { return p.name == name; });
    return *it;  // every partition section was added in build()
  }

  Status applyMachine(const KeyLine& key) {
    if (key.key == "reserve") {
      SZ_TRY(bytes, size(key));
      spec_.machine.reserve_bytes = bytes;
    } else if (key.key == "kernel_image") {
      SZ_TRY(bytes, size(key));
      spec_.machine.kernel_image_bytes = bytes;
    } else {
      SZ_TRY(bytes, positiveSize(key));
      spec_.machine.node_size_bytes = bytes;
    }
    return {};
  }

  Status applyShared(const KeyLine& key) {
    if (key.key == "size") {
      SZ_TRY(bytes, size(key));
      spec_.shared.size_bytes = bytes;
      size_line_ = key.line;
      return {};
    }
    bind_line_ = key.line;
    SZ_TRY(paths, bindPaths(key));
    spec_.shared.bind_paths = std::move(paths);
    return {};
  }

  Status applyPartition(const KeyLine& key, PartitionSpec& partition) {
    std::string_view name = key.key;
    if (name == "memory") {
      SZ_TRY(bytes, positiveSize(key));
      partition.memory_bytes = bytes;
      memory_lines_[partition.name] = key.line;
    } else if (name == "cpus") {
      SZ_CHECK(cpus(key, partition));
      partition.cpus_line = key.line;
    } else if (name == "min") {
      SZ_TRY(bytes, size(key));
      partition.min_bytes = bytes;
      min_lines_[partition.name] = key.line;
    } else if (name == "max") {
      SZ_TRY(bytes, positiveSize(key));
      partition.max_bytes = bytes;
      max_lines_[partition.name] = key.line;
    } else {
      SZ_TRY(flag, boolean(key));
      partition.mem_hardwall = flag;
    }
    return {};
  }

  Result<uint64_t> size(const KeyLine& key) const {
    auto bytes = parseMemorySize(key.value, key.key);
    if (bytes) return bytes;
    std::string detail = detailOf(bytes.error(), key.key, key.value);
    return fail(key, std::string(kSizeExpected) + (detail.empty() ? "" : " (" + detail + ")"));
  }

  Result<uint64_t> positiveSize(const KeyLine& key) const {
    SZ_TRY(bytes, size(key));
    if (bytes == 0) return fail(key, std::string(kSizeExpected) + ", above 0");
    return bytes;
  }

  Result<std::vector<std::string>> bindPaths(const KeyLine& key) const {
    std::vector<std::string> paths;
    std::istringstream words(key.value);
    std::string path;
    while (words >> path) {
      if (path.front() != '/') {
        return fail(key, "expected absolute paths separated by spaces; " + quoteInput(path) +
                             " does not start with /");
      }
      if (std::find(paths.begin(), paths.end(), path) != paths.end()) {
        return fail(key, quoteInput(path) + " is listed twice");
      }
      paths.push_back(path);
    }
    if (paths.empty())
      return fail(key, "expected absolute paths separated by spaces, like /lib /usr/lib");
    return paths;
  }

  // A bare number is a count; anything with '-' or ',' is a list, so "0-0" names CPU 0 alone.
  Status cpus(const KeyLine& key, PartitionSpec& partition) const {
    static constexpr std::string_view kExpected = "expected a CPU count like 2 or a list like 2-3";
    const std::string& text = key.value;
    if (text.find_first_of("-,") != std::string::npos) {
      auto list = NodeSet::parse(text, "cpus");
      if (!list) {
        std::string detail = detailOf(list.error(), "cpus", text);
        return fail(key, std::string(kExpected) + (detail.empty() ? "" : " (" + detail + ")"));
      }
      partition.cpu_list = std::move(list).value();
      return {};
    }
    int count = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), count);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
      return fail(key, std::string(kExpected));
    }
    if (count < 1 || count > NodeSet::kMaxId + 1) {
      return fail(key, "a CPU count is 1 to " + std::to_string(NodeSet::kMaxId + 1) +
                           " (a bare number is a count: for CPU 0 alone write the list 0-0)");
    }
    partition.cpu_count = count;
    return {};
  }

  Result<bool> boolean(const KeyLine& key) const {
    for (std::string_view yes : {"true", "yes", "on", "1"}) {
      if (equalsIgnoringCase(key.value, yes)) return true;
    }
    for (std::string_view no : {"false", "no", "off", "0"}) {
      if (equalsIgnoringCase(key.value, no)) return false;
    }
    return fail(key, "expected true or false");
  }

  Status checkShared() const {
    if (bind_line_ == 0 || spec_.shared.size_bytes > 0) return {};
    return badInput(specLocation(spec_.file_name, bind_line_) +
                    "[shared] bind needs a shared zone to bind to; set [shared] size = SIZE" +
                    (size_line_ == 0 ? "" : " (line " + std::to_string(size_line_) + " sets 0)"));
  }

  Status checkPartition(const PartitionSpec& partition) const {
    std::string where = "[partition." + partition.name + "] ";
    auto memory_line = memory_lines_.find(partition.name);
    if (memory_line == memory_lines_.end()) {
      return badInput(specLocation(spec_.file_name, partition.line) + where +
                      "memory is missing: every partition needs memory = SIZE, like 1G");
    }
    std::string memory =
        formatSize(partition.memory_bytes) + " at line " + std::to_string(memory_line->second);
    if (partition.min_bytes && *partition.min_bytes > partition.memory_bytes) {
      return badInput(specLocation(spec_.file_name, min_lines_.at(partition.name)) + where +
                      "min = " + formatSize(*partition.min_bytes) + " is above memory (" + memory +
                      "): expected min <= memory <= max");
    }
    if (partition.max_bytes && *partition.max_bytes < partition.memory_bytes) {
      return badInput(specLocation(spec_.file_name, max_lines_.at(partition.name)) + where +
                      "max = " + formatSize(*partition.max_bytes) + " is below memory (" + memory +
                      "): expected min <= memory <= max");
    }
    return {};
  }

  Error fail(const KeyLine& key, const std::string& expected) const {
    return badInput(specLocation(spec_.file_name, key.line) + "[" + key.section + "] " + key.key +
                    " = " + quoteInput(key.value) + ": " + expected);
  }

  Spec spec_;
  int size_line_ = 0;
  int bind_line_ = 0;
  std::map<std::string, int, std::less<>> memory_lines_;
  std::map<std::string, int, std::less<>> min_lines_;
  std::map<std::string, int, std::less<>> max_lines_;
};

}  // namespace

const PartitionSpec* Spec::partition(std::string_view name) const noexcept {
  for (const PartitionSpec& p : partitions) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::optional<std::string> checkPartitionName(std::string_view name) {
  static const std::string kRule = "a partition name is 1 to " +
                                   std::to_string(kMaxPartitionNameChars) +
                                   " of A-Z a-z 0-9 _ . - (it names a cgroup directory)";
  if (name.empty()) return "the partition name is empty; " + kRule;
  if (name.size() > kMaxPartitionNameChars) {
    return "the partition name " + quoteInput(name) + " is too long; " + kRule;
  }
  if (!std::all_of(name.begin(), name.end(), isNameChar)) {
    return "the partition name " + quoteInput(name) + " has other characters; " + kRule;
  }
  if (name == "." || name == "..") return quoteInput(name) + " cannot name a directory; " + kRule;
  if (std::find(kReservedNames.begin(), kReservedNames.end(), name) != kReservedNames.end()) {
    return quoteInput(name) + " is reserved for softzone's own zones (" +
           joinChoices(kReservedNames) + "); choose another name";
  }
  return std::nullopt;
}

std::string specLocation(std::string_view file_name, int line) {
  if (line <= 0) return file_name.empty() ? std::string() : std::string(file_name) + ": ";
  if (file_name.empty()) return "line " + std::to_string(line) + ": ";
  return std::string(file_name) + ":" + std::to_string(line) + ": ";
}

Result<Spec> parseSpec(std::string_view text, std::string_view file_name) {
  if (text.substr(0, kUtf8Bom.size()) == kUtf8Bom) text.remove_prefix(kUtf8Bom.size());
  SZ_TRY(outline, OutlineReader(text, file_name).read());
  SZ_CHECK(fillValues(text, file_name, outline));
  return SpecBuilder(file_name).build(outline);
}

Result<Spec> readSpecFile(const std::string& path) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"),
                                                       &std::fclose);
  if (!file) {
    return badInput("cannot read the spec " + quoteInput(path) + ": " + std::strerror(errno) +
                    "; give the path of an INI spec (see examples/)");
  }
  std::string contents;
  std::array<char, 8192> buffer;
  size_t got = 0;
  while ((got = std::fread(buffer.data(), 1, buffer.size(), file.get())) > 0) {
    contents.append(buffer.data(), got);
  }
  if (std::ferror(file.get())) {
    return badInput("cannot read the spec " + quoteInput(path) + ": " + std::strerror(errno));
  }
  return parseSpec(contents, path);
}

}  // namespace softzone::planner

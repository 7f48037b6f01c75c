// Parsing and printing numa=fake=, mirroring how the kernel's numa_emulation() reads it.
#include "softzone/planner/fake_numa.h"

#include <charconv>
#include <limits>

namespace softzone::planner {
namespace {

constexpr std::string_view kForms = "expected N, <size>M, <size>G or NU (e.g. 8, 512M, 1G, 4U)";

// Appended rather than `"'" + std::string(text)`: GCC 12 at -O3 warns -Wrestrict on that inlined
// insert at the front (a false positive, GCC bug 105329).
std::string quoted(std::string_view text) {
  std::string out = "'";
  out += text;
  out += '\'';
  return out;
}

// A plain decimal number. The kernel uses simple_strtoul(..., 0), which would read a leading 0
// as octal and 0x as hex: such values are refused rather than guessed.
Result<uint64_t> parseDecimal(std::string_view digits, std::string_view whole) {
  if (digits.empty()) return badInput("numa=fake=" + quoted(whole) + ": " + std::string(kForms));
  if (digits.size() > 1 && digits.front() == '0') {
    return badInput("numa=fake=" + quoted(whole) +
                    ": a leading 0 makes the kernel read the number as octal or hex; write it "
                    "in decimal without leading zeros");
  }
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec == std::errc::result_out_of_range) {
    return badInput("numa=fake=" + quoted(whole) + ": number too large");
  }
  if (ec != std::errc() || end != digits.data() + digits.size()) {
    return badInput("numa=fake=" + quoted(whole) + ": " + std::string(kForms));
  }
  return value;
}

Result<int> parseNodeCount(std::string_view digits, std::string_view whole) {
  SZ_TRY(value, parseDecimal(digits, whole));
  if (value == 0 || value > static_cast<uint64_t>(kMaxFakeNodes)) {
    return badInput("numa=fake=" + quoted(whole) + ": the node count must be 1 to " +
                    std::to_string(kMaxFakeNodes));
  }
  return static_cast<int>(value);
}

Result<uint64_t> parseNodeSize(std::string_view digits, uint64_t unit, std::string_view whole) {
  SZ_TRY(value, parseDecimal(digits, whole));
  if (value == 0) return badInput("numa=fake=" + quoted(whole) + ": the node size must not be 0");
  if (value > std::numeric_limits<uint64_t>::max() / unit) {
    return badInput("numa=fake=" + quoted(whole) + ": node size too large");
  }
  return value * unit;
}

// The ":d,d,..." tail, values as the kernel's get_option() reads them into a distance table.
Result<std::vector<int>> parseDistances(std::string_view tail, std::string_view whole) {
  std::vector<int> distances;
  if (tail.empty()) {
    return badInput("numa=fake=" + quoted(whole) + ": empty distance list after ':'");
  }
  while (true) {
    size_t comma = tail.find(',');
    std::string_view item = tail.substr(0, comma);
    SZ_TRY(value, parseDecimal(item, whole));
    // SLIT distances are one byte; 255 means unreachable.
    if (value > 255) {
      return badInput("numa=fake=" + quoted(whole) + ": distance " + std::string(item) +
                      " is above 255");
    }
    distances.push_back(static_cast<int>(value));
    if (comma == std::string_view::npos) break;
    tail.remove_prefix(comma + 1);
  }
  return distances;
}

// Suffixes the kernel does not look for: they would silently turn into a node count.
bool isMisleadingSuffix(char c) {
  return c == 'm' || c == 'g' || c == 'k' || c == 'K' || c == 't' || c == 'T' || c == 'p' ||
         c == 'P' || c == 'e' || c == 'E' || c == 'u';
}

}  // namespace

Result<FakeNuma> parseFakeNumaArg(std::string_view text) {
  if (text.empty()) return badInput("numa=fake= has no value: " + std::string(kForms));
  FakeNuma fake;
  std::string_view head = text;
  if (size_t colon = text.find(':'); colon != std::string_view::npos) {
    head = text.substr(0, colon);
    SZ_TRY(distances, parseDistances(text.substr(colon + 1), text));
    fake.distances = std::move(distances);
  }
  if (head.empty()) return badInput("numa=fake=" + quoted(text) + ": " + std::string(kForms));

  const char last = head.back();
  const std::string_view digits = head.substr(0, head.size() - 1);
  if (last == 'U') {
    fake.kind = FakeNuma::Kind::kPerPhysical;
    SZ_TRY(count, parseNodeCount(digits, text));
    fake.count = count;
  } else if (last == 'M' || last == 'G') {
    fake.kind = FakeNuma::Kind::kSize;
    SZ_TRY(size, parseNodeSize(digits, last == 'M' ? kMiB : kGiB, text));
    fake.size_bytes = size;
  } else if (isMisleadingSuffix(last)) {
    return badInput("numa=fake=" + quoted(text) + ": the kernel only recognises the suffixes " +
                    "M, G (node size) and U (per physical node), upper case; with '" +
                    std::string(1, last) + "' it would read a node count");
  } else {
    fake.kind = FakeNuma::Kind::kCount;
    SZ_TRY(count, parseNodeCount(head, text));
    fake.count = count;
  }
  return fake;
}

std::string formatFakeNumaArg(const FakeNuma& fake) {
  std::string text;
  switch (fake.kind) {
    case FakeNuma::Kind::kCount:
      text = std::to_string(fake.count);
      break;
    case FakeNuma::Kind::kPerPhysical:
      text = std::to_string(fake.count) + "U";
      break;
    case FakeNuma::Kind::kSize:
      if (fake.size_bytes >= kGiB && fake.size_bytes % kGiB == 0) {
        text = std::to_string(fake.size_bytes / kGiB) + "G";
      } else {
        text = std::to_string(fake.size_bytes / kMiB) + "M";
      }
      break;
  }
  for (size_t i = 0; i < fake.distances.size(); ++i) {
    text += (i == 0 ? ':' : ',');
    text += std::to_string(fake.distances[i]);
  }
  return text;
}

std::string describeFakeNuma(const FakeNuma& fake) {
  std::string text;
  switch (fake.kind) {
    case FakeNuma::Kind::kCount:
      text = std::to_string(fake.count) + (fake.count == 1 ? " node" : " nodes") + " over all RAM";
      break;
    case FakeNuma::Kind::kPerPhysical:
      text = std::to_string(fake.count) + (fake.count == 1 ? " node" : " nodes") +
             " per physical node";
      break;
    case FakeNuma::Kind::kSize:
      text = "nodes of " + std::to_string(fake.size_bytes / kMiB) + " MiB over all RAM";
      break;
  }
  if (!fake.distances.empty()) text += ", with a distance table";
  return text;
}

std::string_view fakeNumaKindName(FakeNuma::Kind kind) {
  switch (kind) {
    case FakeNuma::Kind::kCount:
      return "count";
    case FakeNuma::Kind::kSize:
      return "size";
    case FakeNuma::Kind::kPerPhysical:
      return "per_physical";
  }
  return "unknown";
}

}  // namespace softzone::planner

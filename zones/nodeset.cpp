// NodeSet: a bitmap of node or CPU ids with numactl's list syntax ("0-3,7") in and out.
#include "softzone/zones/nodeset.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstdlib>
#include <utility>

namespace softzone {
namespace {

constexpr int kBitsPerWord = 64;
constexpr std::string_view kSpaces = " \t\n\r\v\f";

size_t wordIndex(int id) { return static_cast<size_t>(id) / kBitsPerWord; }
uint64_t bitMask(int id) { return uint64_t{1} << (static_cast<unsigned>(id) % kBitsPerWord); }

// Keeps the "no trailing zero words" invariant that lets operator== compare the vectors.
void trimTrailingZeros(std::vector<uint64_t>& words) {
  while (!words.empty() && words.back() == 0) words.pop_back();
}

// The smallest set id >= from, or -1.
int nextSet(const std::vector<uint64_t>& words, int from) {
  size_t w = wordIndex(from);
  if (w >= words.size()) return -1;
  uint64_t bits = words[w] & ~(bitMask(from) - 1);
  while (bits == 0) {
    if (++w == words.size()) return -1;
    bits = words[w];
  }
  return static_cast<int>(w) * kBitsPerWord + std::countr_zero(bits);
}

// The smallest clear id >= from; past the last word every id is clear.
int nextClear(const std::vector<uint64_t>& words, int from) {
  size_t w = wordIndex(from);
  if (w >= words.size()) return from;
  uint64_t bits = ~words[w] & ~(bitMask(from) - 1);
  while (bits == 0) {
    if (++w == words.size()) return static_cast<int>(w) * kBitsPerWord;
    bits = ~words[w];
  }
  return static_cast<int>(w) * kBitsPerWord + std::countr_zero(bits);
}

std::string_view trimSpaces(std::string_view text) {
  size_t start = text.find_first_not_of(kSpaces);
  if (start == std::string_view::npos) return {};
  size_t end = text.find_last_not_of(kSpaces);
  return text.substr(start, end - start + 1);
}

bool allDigits(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Parses one list (already trimmed) element by element; every error names the whole list and,
// when there is more than one element, which element is wrong.
class ListParser {
 public:
  ListParser(std::string_view what, std::string_view text) : what_(what), text_(text) {}

  Result<NodeSet> parse() {
    NodeSet set;
    size_t count = static_cast<size_t>(std::count(text_.begin(), text_.end(), ',')) + 1;
    size_t start = 0;
    for (size_t index = 1; index <= count; ++index) {
      size_t end = index == count ? text_.size() : text_.find(',', start);
      auto element = parseElement(text_.substr(start, end - start), index, count);
      if (!element) return std::move(element).error();
      for (int id = element->first; id <= element->second; ++id) set.insert(id);
      start = end + 1;
    }
    return set;
  }

 private:
  using Range = std::pair<int, int>;

  Result<Range> parseElement(std::string_view element, size_t index, size_t count) {
    if (element.empty()) return emptyElement(index, count);
    element_ = count > 1 ? "element " + std::to_string(index) + " " + quoteInput(element) + ": "
                         : std::string();
    size_t dash = element.find('-');
    if (dash == std::string_view::npos) {
      SZ_TRY(id, parseId(element));
      return Range{id, id};
    }
    if (dash == 0) return fail("the range has no start");
    if (dash + 1 == element.size()) return fail("the range has no end");
    SZ_TRY(first, parseId(element.substr(0, dash)));
    SZ_TRY(last, parseId(element.substr(dash + 1)));
    if (last < first) {
      return fail("range end " + std::to_string(last) + " is below its start " +
                  std::to_string(first));
    }
    return Range{first, last};
  }

  Result<int> parseId(std::string_view digits) {
    // Digits only: from_chars alone would take a leading '-', and numactl's "+", "!", "all"
    // and ":stride" forms are not part of this syntax.
    if (!allDigits(digits)) return fail(quoteInput(digits) + " is not a number");
    uint64_t value = 0;
    auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc() || ptr != digits.data() + digits.size() || value > NodeSet::kMaxId) {
      return fail("id " + std::string(digits) + " is above the maximum " +
                  std::to_string(NodeSet::kMaxId));
    }
    return static_cast<int>(value);
  }

  Error emptyElement(size_t index, size_t count) const {
    if (index == 1) return fail("the list starts with a comma");
    if (index == count) return fail("the list ends with a comma");
    return fail("element " + std::to_string(index) + " is empty (two commas in a row)");
  }

  Error fail(const std::string& problem) const {
    return badInput(std::string(what_) + " " + quoteInput(text_) + ": " + element_ + problem);
  }

  std::string_view what_;
  std::string_view text_;
  std::string element_;  // "element 2 "x": " while parsing a list of several elements
};

Result<NodeSet> parseList(std::string_view text, std::string_view what, bool allow_empty) {
  std::string_view body = trimSpaces(text);
  if (body.empty()) {
    if (allow_empty) return NodeSet();
    return badInput(std::string(what) + " is empty; expected a list like 0-3,7");
  }
  return ListParser(what, body).parse();
}

}  // namespace

NodeSet NodeSet::of(std::initializer_list<int> ids) {
  NodeSet set;
  for (int id : ids) set.insert(id);
  return set;
}

NodeSet NodeSet::range(int first, int last) {
  NodeSet set;
  for (int id = first; id <= last; ++id) set.insert(id);
  return set;
}

Result<NodeSet> NodeSet::parse(std::string_view text, std::string_view what) {
  return parseList(text, what, /*allow_empty=*/false);
}

Result<NodeSet> NodeSet::parseKernelList(std::string_view text, std::string_view what) {
  return parseList(text, what, /*allow_empty=*/true);
}

std::string NodeSet::format() const {
  std::string out;
  for (int start = nextSet(words_, 0); start >= 0;) {
    int end = nextClear(words_, start) - 1;
    if (!out.empty()) out += ',';
    out += std::to_string(start);
    // A run of two prints as "4-5", as the kernel's bitmap_print_to_pagebuf does.
    if (end > start) out += '-' + std::to_string(end);
    start = nextSet(words_, end + 1);
  }
  return out;
}

void NodeSet::insert(int id) {
  if (id < 0 || id > kMaxId) std::abort();  // a broken invariant: parsers bound every id
  size_t w = wordIndex(id);
  if (w >= words_.size()) words_.resize(w + 1, 0);
  if ((words_[w] & bitMask(id)) == 0) {
    words_[w] |= bitMask(id);
    ++count_;
  }
}

void NodeSet::erase(int id) {
  if (!contains(id)) return;
  words_[wordIndex(id)] &= ~bitMask(id);
  --count_;
  trimTrailingZeros(words_);
}

bool NodeSet::contains(int id) const noexcept {
  if (id < 0) return false;
  size_t w = wordIndex(id);
  return w < words_.size() && (words_[w] & bitMask(id)) != 0;
}

int NodeSet::first() const noexcept { return nextSet(words_, 0); }

int NodeSet::last() const noexcept {
  if (words_.empty()) return -1;
  int top = static_cast<int>(words_.size()) - 1;
  return top * kBitsPerWord + (kBitsPerWord - 1 - std::countl_zero(words_.back()));
}

std::vector<int> NodeSet::ids() const {
  std::vector<int> out;
  out.reserve(static_cast<size_t>(count_));
  for (int id = nextSet(words_, 0); id >= 0; id = nextSet(words_, id + 1)) out.push_back(id);
  return out;
}

NodeSet NodeSet::unionWith(const NodeSet& other) const {
  NodeSet out = words_.size() >= other.words_.size() ? *this : other;
  const NodeSet& smaller = words_.size() >= other.words_.size() ? other : *this;
  for (size_t w = 0; w < smaller.words_.size(); ++w) out.words_[w] |= smaller.words_[w];
  out.recount();
  return out;
}

NodeSet NodeSet::intersectionWith(const NodeSet& other) const {
  NodeSet out;
  out.words_.resize(std::min(words_.size(), other.words_.size()));
  for (size_t w = 0; w < out.words_.size(); ++w) out.words_[w] = words_[w] & other.words_[w];
  out.recount();
  return out;
}

NodeSet NodeSet::minus(const NodeSet& other) const {
  NodeSet out = *this;
  size_t common = std::min(words_.size(), other.words_.size());
  for (size_t w = 0; w < common; ++w) out.words_[w] &= ~other.words_[w];
  out.recount();
  return out;
}

bool NodeSet::intersects(const NodeSet& other) const noexcept {
  size_t common = std::min(words_.size(), other.words_.size());
  for (size_t w = 0; w < common; ++w) {
    if ((words_[w] & other.words_[w]) != 0) return true;
  }
  return false;
}

bool NodeSet::isSubsetOf(const NodeSet& other) const noexcept {
  // Without trailing zero words, a longer vector has an id the other lacks.
  if (words_.size() > other.words_.size()) return false;
  for (size_t w = 0; w < words_.size(); ++w) {
    if ((words_[w] & ~other.words_[w]) != 0) return false;
  }
  return true;
}

bool operator==(const NodeSet& a, const NodeSet& b) noexcept { return a.words_ == b.words_; }

// Also restores the no-trailing-zero-words invariant, which every bulk operation may break.
void NodeSet::recount() noexcept {
  trimTrailingZeros(words_);
  count_ = 0;
  for (uint64_t word : words_) count_ += std::popcount(word);
}

}  // namespace softzone

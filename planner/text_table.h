// A plain left-aligned text table for the planner's own output (plans, verifications). The
// planner sits below tools/ and cannot use zonectl's table; this one needs no more.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace softzone::planner {

inline constexpr std::string_view kColumnGap = "  ";

// A plain left-aligned table: every column as wide as its widest cell.
class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header) { rows_.push_back(std::move(header)); }

  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

  std::string render() const {
    std::vector<size_t> widths(rows_.front().size(), 0);
    for (const auto& row : rows_) {
      for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
    }
    std::string text;
    for (const auto& row : rows_) {
      std::string line;
      for (size_t c = 0; c < row.size(); ++c) {
        if (c > 0) line += kColumnGap;
        line += row[c];
        if (c + 1 < row.size()) line.append(widths[c] - row[c].size(), ' ');
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      text += line + "\n";
    }
    return text;
  }

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace softzone::planner

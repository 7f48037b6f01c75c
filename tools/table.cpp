// Rendering the table model as aligned text columns.
#include "table.h"

#include <algorithm>
#include <cstdlib>

namespace softzone::tools {
namespace {

constexpr std::string_view kColumnGap = "  ";

void renderLine(std::ostream& out, const std::vector<std::string>& cells,
                const std::vector<size_t>& widths, const std::vector<Table::Align>& aligns) {
  std::string line;
  for (size_t i = 0; i < widths.size(); ++i) {
    const std::string& cell = i < cells.size() ? cells[i] : std::string();
    std::string padding(widths[i] - cell.size(), ' ');
    if (i > 0) line += kColumnGap;
    if (aligns[i] == Table::Align::kRight) {
      line += padding;
      line += cell;
    } else {
      line += cell;
      line += padding;
    }
  }
  // Left-aligned last columns would leave trailing spaces.
  line.erase(line.find_last_not_of(' ') + 1);
  out << line << '\n';
}

}  // namespace

void Table::addColumn(std::string title, Align align) {
  columns_.push_back({std::move(title), align});
}

void Table::addRow(std::vector<std::string> cells) {
  if (cells.size() > columns_.size()) std::abort();  // a row wider than the table is a bug
  rows_.push_back(std::move(cells));
}

void Table::render(std::ostream& out) const {
  std::vector<size_t> widths;
  std::vector<Align> aligns;
  std::vector<std::string> titles;
  for (const Column& column : columns_) {
    widths.push_back(column.title.size());
    aligns.push_back(column.align);
    titles.push_back(column.title);
  }
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  renderLine(out, titles, widths, aligns);
  for (const auto& row : rows_) renderLine(out, row, widths, aligns);
}

}  // namespace softzone::tools

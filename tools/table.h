// A small table model (titles with units, rows of cells) printed as aligned columns, like numastat.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace softzone::tools {

class Table {
 public:
  enum class Align { kLeft, kRight };

  // Titles carry their unit ("SIZE (MiB)"); numbers read best right-aligned.
  void addColumn(std::string title, Align align = Align::kLeft);
  // One cell per column; missing cells are blank, extra cells are a broken invariant.
  void addRow(std::vector<std::string> cells);

  size_t rowCount() const noexcept { return rows_.size(); }

  // Columns separated by two spaces, no trailing spaces, one line per row after the titles.
  void render(std::ostream& out) const;

 private:
  struct Column {
    std::string title;
    Align align;
  };

  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace softzone::tools

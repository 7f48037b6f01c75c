// Tests for the text table: column widths, alignment, no trailing spaces.
#include "table.h"

#include <gtest/gtest.h>

#include <sstream>

namespace softzone::tools {
namespace {

TEST(Table, AlignsColumns) {
  Table table;
  table.addColumn("NODE", Table::Align::kRight);
  table.addColumn("SIZE (MiB)", Table::Align::kRight);
  table.addColumn("CPUS");
  table.addRow({"0", "125", "0-3"});
  table.addRow({"10", "81", "4,6-7"});
  std::ostringstream out;
  table.render(out);
  EXPECT_EQ(out.str(),
            "NODE  SIZE (MiB)  CPUS\n"
            "   0         125  0-3\n"
            "  10          81  4,6-7\n");
}

TEST(Table, MissingCellsAreBlankAndLinesHaveNoTrailingSpaces) {
  Table table;
  table.addColumn("A");
  table.addColumn("LONG TITLE");
  table.addRow({"wide cell"});
  std::ostringstream out;
  table.render(out);
  EXPECT_EQ(out.str(),
            "A          LONG TITLE\n"
            "wide cell\n");
  EXPECT_EQ(table.rowCount(), 1u);
}

TEST(Table, TitlesOnlyWhenEmpty) {
  Table table;
  table.addColumn("X");
  std::ostringstream out;
  table.render(out);
  EXPECT_EQ(out.str(), "X\n");
}

}  // namespace
}  // namespace softzone::tools

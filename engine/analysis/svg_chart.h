#pragma once
// Small multi-panel line charts written as plain SVG text (no dependency). Series with the same
// index share a colour across panels and one legend entry.
#include <string>
#include <vector>

namespace nspbert {

struct ChartSeries {
  std::vector<double> x, y;  // non-finite y values leave a gap
};

struct ChartPanel {
  std::string id;  // short machine name, e.g. "norm"
  std::string title, x_label, y_label;
  std::vector<ChartSeries> series;  // one per legend entry, same order
  bool y_from_zero = false;         // start the y axis at 0 when all values are positive
  bool x_integer = true;            // ticks on whole numbers only (layers)
  bool y_log_when_wide = false;     // logarithmic y axis when positive values span more than 20x
};

struct LegendEntry {
  std::string label;
  bool dashed = false;
};

struct Chart {
  std::string title;
  std::string subtitle;  // a second line under the title, e.g. what an ablation changed
  std::vector<ChartPanel> panels;
  std::vector<LegendEntry> legend;
};

std::string render_svg(const Chart& chart);

// Text safe inside an XML element or a double-quoted attribute: markup characters escaped,
// invalid UTF-8 and characters XML 1.0 forbids replaced by U+FFFD.
std::string xml_escape(const std::string& text);

}  // namespace nspbert

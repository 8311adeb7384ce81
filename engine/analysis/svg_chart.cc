#include "engine/analysis/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>

namespace nspbert {

namespace {

// Okabe-Ito: distinguishable with the common colour-vision deficiencies (yellow left out: unreadable on white).
constexpr const char* kColours[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"};
constexpr int kColourCount = sizeof(kColours) / sizeof(kColours[0]);

constexpr double kPlotWidth = 250, kPlotHeight = 190;
constexpr double kLeft = 62, kRight = 18, kTop = 34, kBottom = 48;
constexpr double kCellWidth = kLeft + kPlotWidth + kRight, kCellHeight = kTop + kPlotHeight + kBottom;
constexpr double kOuter = 12;

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

struct Axis {
  double lo = 0, hi = 1, step = 0.2;  // for a log axis: lo and hi are powers of ten, step unused
  int decimals = 1;
  bool log = false;

  double span() const { return hi - lo; }
  // Where v sits along the axis, 0 at lo and 1 at hi.
  double fraction(double v) const {
    return log ? (std::log10(v) - std::log10(lo)) / (std::log10(hi) - std::log10(lo)) : (v - lo) / span();
  }
  std::vector<double> ticks() const {
    std::vector<double> t;
    if (!log) {
      const int n = static_cast<int>(std::round(span() / step));
      for (int i = 0; i <= n; ++i) t.push_back(lo + i * step);
      return t;
    }
    const int first = static_cast<int>(std::round(std::log10(lo))), last = static_cast<int>(std::round(std::log10(hi)));
    for (int k = first; k <= last; ++k)
      for (double m : {1.0, 2.0, 5.0})
        if ((m == 1.0 || last - first <= 2) && (k < last || m == 1.0)) t.push_back(m * std::pow(10.0, k));
    return t;
  }
};

// 1, 2, 2.5 or 5 times a power of ten, so that about `target` steps cover the range.
double nice_step(double range, int target) {
  const double raw = range / target;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / magnitude;
  const double m = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
  return m * magnitude;
}

int decimals_for(double step) {
  int d = 0;
  while (d < 8 &&
         std::fabs(step * std::pow(10.0, d) - std::round(step * std::pow(10.0, d))) > 1e-6 * step * std::pow(10.0, d))
    ++d;
  return d;
}

Axis make_axis(double lo, double hi, bool from_zero, bool integer) {
  Axis a;
  if (!std::isfinite(lo) || !std::isfinite(hi)) {
    lo = 0;
    hi = 1;
  }
  if (from_zero && lo > 0) lo = 0;
  if (hi - lo <= std::max(std::fabs(hi), std::fabs(lo)) * 1e-9) {
    const double pad = integer ? 1.0 : (lo == 0 ? 1.0 : std::fabs(lo) * 0.1);
    lo -= from_zero && lo == 0 ? 0 : pad;
    hi += pad;
  }
  a.step = nice_step(hi - lo, 5);
  if (integer) a.step = std::max(1.0, std::round(a.step));
  a.lo = std::floor(lo / a.step + 1e-9) * a.step;
  a.hi = std::ceil(hi / a.step - 1e-9) * a.step;
  a.decimals = integer ? 0 : decimals_for(a.step);
  return a;
}

// Values spanning more than this ratio get a logarithmic axis when the panel allows it.
constexpr double kLogSpan = 20;

Axis make_log_axis(double lo, double hi) {
  Axis a;
  a.log = true;
  a.lo = std::pow(10.0, std::floor(std::log10(lo)));
  a.hi = std::pow(10.0, std::ceil(std::log10(hi)));
  if (a.hi <= a.lo) a.hi = a.lo * 10;
  return a;
}

std::string tick_label(double v, const Axis& axis) {
  char buf[48];
  if (axis.log) {
    std::snprintf(buf, sizeof buf, "%g", v);
    return buf;
  }
  if (std::fabs(v) < axis.step * 1e-6) v = 0;  // no "-0.0"
  std::snprintf(buf, sizeof buf, "%.*f", axis.decimals, v);
  return buf;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool xml_allowed(uint32_t cp) {
  return cp == 0x9 || cp == 0xA || cp == 0xD || (cp >= 0x20 && cp <= 0xD7FF) || (cp >= 0xE000 && cp <= 0xFFFD) ||
         (cp >= 0x10000 && cp <= 0x10FFFF);
}

// One panel drawn top to bottom (scales, grid, axes, lines, legend): ~80 lines that share the
// scale variables, kept together on purpose.
void panel_svg(std::string& out, const ChartPanel& panel, const Chart& chart, double origin_x, double origin_y) {
  double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin, ymin = xmin, ymax = -xmin;
  for (const ChartSeries& s : panel.series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      xmin = std::min(xmin, s.x[i]);
      xmax = std::max(xmax, s.x[i]);
      ymin = std::min(ymin, s.y[i]);
      ymax = std::max(ymax, s.y[i]);
    }
  const Axis ax = make_axis(xmin, xmax, false, panel.x_integer);
  const bool log_y = panel.y_log_when_wide && ymin > 0 && std::isfinite(ymax) && ymax / ymin > kLogSpan;
  const Axis ay = log_y ? make_log_axis(ymin, ymax) : make_axis(ymin, ymax, panel.y_from_zero, false);
  auto px = [&](double x) { return kLeft + ax.fraction(x) * kPlotWidth; };
  auto py = [&](double y) { return kTop + kPlotHeight - ay.fraction(y) * kPlotHeight; };

  out += "<g class=\"panel\" id=\"panel-" + xml_escape(panel.id) + "\" transform=\"translate(" + num(origin_x) + "," +
         num(origin_y) + ")\">\n";
  out += "<text class=\"panel-title\" x=\"" + num(kLeft + kPlotWidth / 2) + "\" y=\"" + num(kTop - 12) +
         "\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">" + xml_escape(panel.title) +
         (log_y ? ", log scale" : "") + "</text>\n";
  out += "<rect x=\"" + num(kLeft) + "\" y=\"" + num(kTop) + "\" width=\"" + num(kPlotWidth) + "\" height=\"" +
         num(kPlotHeight) + "\" fill=\"#fafafa\" stroke=\"none\"/>\n";

  out += "<g class=\"ticks\" font-size=\"11\" fill=\"#333\">\n";
  for (const double v : ax.ticks()) {
    const double x = px(v);
    out += "<line x1=\"" + num(x) + "\" y1=\"" + num(kTop) + "\" x2=\"" + num(x) + "\" y2=\"" +
           num(kTop + kPlotHeight) + "\" stroke=\"#e3e3e3\"/>";
    out += "<line x1=\"" + num(x) + "\" y1=\"" + num(kTop + kPlotHeight) + "\" x2=\"" + num(x) + "\" y2=\"" +
           num(kTop + kPlotHeight + 5) + "\" stroke=\"#333\"/>";
    out += "<text x=\"" + num(x) + "\" y=\"" + num(kTop + kPlotHeight + 18) + "\" text-anchor=\"middle\">" +
           tick_label(v, ax) + "</text>\n";
  }
  for (const double v : ay.ticks()) {
    const double y = py(v);
    out += "<line x1=\"" + num(kLeft) + "\" y1=\"" + num(y) + "\" x2=\"" + num(kLeft + kPlotWidth) + "\" y2=\"" +
           num(y) + "\" stroke=\"#e3e3e3\"/>";
    out += "<line x1=\"" + num(kLeft - 5) + "\" y1=\"" + num(y) + "\" x2=\"" + num(kLeft) + "\" y2=\"" + num(y) +
           "\" stroke=\"#333\"/>";
    out += "<text x=\"" + num(kLeft - 8) + "\" y=\"" + num(y + 4) + "\" text-anchor=\"end\">" + tick_label(v, ay) +
           "</text>\n";
  }
  out += "</g>\n";

  out += "<g class=\"axes\" stroke=\"#333\">";
  out += "<line x1=\"" + num(kLeft) + "\" y1=\"" + num(kTop) + "\" x2=\"" + num(kLeft) + "\" y2=\"" +
         num(kTop + kPlotHeight) + "\"/>";
  out += "<line x1=\"" + num(kLeft) + "\" y1=\"" + num(kTop + kPlotHeight) + "\" x2=\"" + num(kLeft + kPlotWidth) +
         "\" y2=\"" + num(kTop + kPlotHeight) + "\"/>";
  out += "</g>\n";
  out += "<text class=\"x-label\" x=\"" + num(kLeft + kPlotWidth / 2) + "\" y=\"" + num(kTop + kPlotHeight + 38) +
         "\" text-anchor=\"middle\">" + xml_escape(panel.x_label) + "</text>\n";
  const double ly = kTop + kPlotHeight / 2;
  out += "<text class=\"y-label\" x=\"14\" y=\"" + num(ly) + "\" text-anchor=\"middle\" transform=\"rotate(-90 14 " +
         num(ly) + ")\">" + xml_escape(panel.y_label) + "</text>\n";

  for (size_t s = 0; s < panel.series.size(); ++s) {
    const ChartSeries& series = panel.series[s];
    const char* colour = kColours[s % kColourCount];
    const bool dashed = s < chart.legend.size() && chart.legend[s].dashed;
    const std::string label = s < chart.legend.size() ? chart.legend[s].label : "series " + std::to_string(s + 1);
    std::string points, markers;
    for (size_t i = 0; i < series.x.size() && i < series.y.size(); ++i) {
      if (!std::isfinite(series.x[i]) || !std::isfinite(series.y[i])) continue;
      const std::string cx = num(px(series.x[i])), cy = num(py(series.y[i]));
      if (!points.empty()) points += ' ';
      points += cx + "," + cy;
      char value[64];
      std::snprintf(value, sizeof value, "%.4g", series.y[i]);
      markers += "<circle cx=\"" + cx + "\" cy=\"" + cy + "\" r=\"3\" fill=\"" + colour + "\"><title>" +
                 xml_escape(label) + ", " + xml_escape(panel.x_label) + " " + tick_label(series.x[i], ax) + ": " +
                 value + "</title></circle>";
    }
    out += "<polyline class=\"series\" data-series=\"" + std::to_string(s) + "\" points=\"" + points +
           "\" fill=\"none\" stroke=\"" + colour + "\" stroke-width=\"2\"" +
           (dashed ? " stroke-dasharray=\"7 4\"" : "") + "/>\n";
    out += "<g class=\"points\">" + markers + "</g>\n";
  }
  out += "</g>\n";
}

}  // namespace

std::string xml_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  for (size_t i = 0; i < n;) {
    uint32_t cp = 0;
    size_t len = 0;
    const unsigned char c = s[i];
    if (c < 0x80) {
      cp = c, len = 1;
    } else if ((c & 0xE0) == 0xC0) {
      cp = c & 0x1F, len = 2;
    } else if ((c & 0xF0) == 0xE0) {
      cp = c & 0x0F, len = 3;
    } else if ((c & 0xF8) == 0xF0) {
      cp = c & 0x07, len = 4;
    }
    bool valid = len > 0 && i + len <= n;
    for (size_t k = 1; valid && k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) valid = false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    static constexpr uint32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
    if (valid && (cp < kMinimum[len] || (cp >= 0xD800 && cp <= 0xDFFF))) valid = false;
    if (!valid) {
      append_utf8(out, 0xFFFD);
      ++i;
      continue;
    }
    i += len;
    switch (cp) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: append_utf8(out, xml_allowed(cp) ? cp : 0xFFFD);
    }
  }
  return out;
}

std::string render_svg(const Chart& chart) {
  const size_t panels = std::max<size_t>(chart.panels.size(), 1);
  const double width = kOuter * 2 + kCellWidth * static_cast<double>(panels);
  const double header = chart.subtitle.empty() ? 44 : 64;

  // Legend entries flow left to right and wrap; widths estimated from the label length
  // (CJK glyphs count double).
  struct Placed {
    double x, y;
  };
  std::vector<Placed> placed;
  double lx = kOuter + kLeft, lrow = 0;
  for (const LegendEntry& entry : chart.legend) {
    double chars = 0;
    for (unsigned char c : entry.label) chars += (c & 0xC0) == 0x80 ? 0 : (c >= 0xE0 ? 2 : 1);
    const double w = 40 + chars * 7 + 24;
    if (lx + w > width - kOuter && lx > kOuter + kLeft) {
      lx = kOuter + kLeft;
      ++lrow;
    }
    placed.push_back({lx, lrow * 20});
    lx += w;
  }
  const double legend_top = header + kCellHeight + 6;
  const double height = legend_top + (chart.legend.empty() ? 0 : (lrow + 1) * 20) + kOuter;

  std::string out;
  out += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(width) + "\" height=\"" + num(height) +
         "\" viewBox=\"0 0 " + num(width) + " " + num(height) +
         "\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"12\">\n";
  out += "<title>" + xml_escape(chart.title) + (chart.subtitle.empty() ? "" : " — " + xml_escape(chart.subtitle)) +
         "</title>\n";
  out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  out += "<text class=\"chart-title\" x=\"" + num(width / 2) +
         "\" y=\"26\" text-anchor=\"middle\" font-size=\"16\" "
         "font-weight=\"bold\">" +
         xml_escape(chart.title) + "</text>\n";
  if (!chart.subtitle.empty())
    out += "<text class=\"chart-subtitle\" x=\"" + num(width / 2) +
           "\" y=\"46\" text-anchor=\"middle\" fill=\"#a00\">" + xml_escape(chart.subtitle) + "</text>\n";
  for (size_t p = 0; p < chart.panels.size(); ++p)
    panel_svg(out, chart.panels[p], chart, kOuter + kCellWidth * static_cast<double>(p), header);

  if (!chart.legend.empty()) {
    out += "<g class=\"legend\" transform=\"translate(0," + num(legend_top) + ")\">\n";
    for (size_t i = 0; i < chart.legend.size(); ++i) {
      const LegendEntry& entry = chart.legend[i];
      const char* colour = kColours[i % kColourCount];
      const double x = placed[i].x, y = placed[i].y + 8;
      out += "<g class=\"legend-entry\"><line x1=\"" + num(x) + "\" y1=\"" + num(y) + "\" x2=\"" + num(x + 32) +
             "\" y2=\"" + num(y) + "\" stroke=\"" + colour + "\" stroke-width=\"2\"" +
             (entry.dashed ? " stroke-dasharray=\"7 4\"" : "") + "/><circle cx=\"" + num(x + 16) + "\" cy=\"" + num(y) +
             "\" r=\"3\" fill=\"" + colour + "\"/><text x=\"" + num(x + 40) + "\" y=\"" + num(y + 4) + "\">" +
             xml_escape(entry.label) + "</text></g>\n";
    }
    out += "</g>\n";
  }
  out += "</svg>\n";
  return out;
}

}  // namespace nspbert

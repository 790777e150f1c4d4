#pragma once
// The evaluation's plots as standalone SVG documents (no plotting library): the threshold sweep
// heatmap with the chosen point, the reliability diagram before/after calibration, the confusion
// matrix and precision-recall curves. Each string is a complete <svg> with its xmlns, so it can be
// saved as a .svg file and also inlined in report.html unchanged.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "kspam/eval/calibration.hpp"
#include "kspam/eval/metrics.hpp"

namespace kspam::eval::plots {

inline std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

inline std::string num(double v, int decimals = 2) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// A perceptually ordered dark-blue -> teal -> yellow ramp (anchors from viridis), t in [0, 1].
inline std::string ramp_color(double t) {
  static const double anchors[5][3] = {{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
  t = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0) * 4.0;
  const int i = std::min(3, static_cast<int>(t));
  const double f = t - i;
  char buf[16];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", int(anchors[i][0] + f * (anchors[i + 1][0] - anchors[i][0]) + 0.5),
                int(anchors[i][1] + f * (anchors[i + 1][1] - anchors[i][1]) + 0.5),
                int(anchors[i][2] + f * (anchors[i + 1][2] - anchors[i][2]) + 0.5));
  return buf;
}

namespace detail {

inline std::string open_svg(int width, int height, const std::string& title, const std::string& css_class) {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"" + css_class + "\" width=\"" + std::to_string(width) +
         "\" height=\"" + std::to_string(height) + "\" viewBox=\"0 0 " + std::to_string(width) + " " +
         std::to_string(height) + "\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">" +
         "<title>" + xml_escape(title) + "</title><rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>" +
         "<text x=\"" + std::to_string(width / 2) + "\" y=\"20\" text-anchor=\"middle\" font-size=\"14\" "
         "font-weight=\"bold\">" + xml_escape(title) + "</text>";
}

inline std::string text(double x, double y, const std::string& s, const std::string& anchor = "middle",
                        const std::string& extra = "") {
  return "<text x=\"" + num(x, 1) + "\" y=\"" + num(y, 1) + "\" text-anchor=\"" + anchor + "\"" +
         (extra.empty() ? "" : " " + extra) + ">" + xml_escape(s) + "</text>";
}

inline std::string line(double x1, double y1, double x2, double y2, const std::string& style) {
  return "<line x1=\"" + num(x1, 1) + "\" y1=\"" + num(y1, 1) + "\" x2=\"" + num(x2, 1) + "\" y2=\"" + num(y2, 1) +
         "\" " + style + "/>";
}

// Unit-square axes (0..1 on both) in a plot box; returns the SVG for frame, ticks and labels.
struct Box {
  double left, top, width, height;
  double x(double v) const { return left + v * width; }
  double y(double v) const { return top + (1.0 - v) * height; }
};

inline std::string unit_axes(const Box& b, const std::string& xlabel, const std::string& ylabel) {
  std::string s = "<rect x=\"" + num(b.left, 1) + "\" y=\"" + num(b.top, 1) + "\" width=\"" + num(b.width, 1) +
                  "\" height=\"" + num(b.height, 1) + "\" fill=\"none\" stroke=\"#333\"/>";
  for (int i = 0; i <= 5; ++i) {
    const double v = i / 5.0;
    s += line(b.x(v), b.top, b.x(v), b.top + b.height, "stroke=\"#e5e5e5\"");
    s += line(b.left, b.y(v), b.left + b.width, b.y(v), "stroke=\"#e5e5e5\"");
    s += text(b.x(v), b.top + b.height + 15, num(v, 1));
    s += text(b.left - 6, b.y(v) + 4, num(v, 1), "end");
  }
  s += text(b.left + b.width / 2, b.top + b.height + 32, xlabel);
  s += "<text transform=\"translate(" + num(b.left - 38, 1) + "," + num(b.top + b.height / 2, 1) +
       ") rotate(-90)\" text-anchor=\"middle\">" + xml_escape(ylabel) + "</text>";
  return s;
}

inline const char* series_color(std::size_t i) {
  static const char* colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"};
  return colors[i % 6];
}

}  // namespace detail

struct SweepCell {
  double review = 0, demote = 0;
  std::optional<double> value;
};

// Heatmap of the objective over the (demote, review) grid; cells with review > demote are blank.
// `higher_is_better` picks the colour direction so that the best cells are always the bright ones.
inline std::string sweep_heatmap(const std::vector<SweepCell>& cells, double chosen_review, double chosen_demote,
                                 const std::string& objective_label, bool higher_is_better) {
  std::vector<double> axis;
  for (const auto& c : cells) {
    axis.push_back(c.review);
    axis.push_back(c.demote);
  }
  std::sort(axis.begin(), axis.end());
  axis.erase(std::unique(axis.begin(), axis.end(), [](double a, double b) { return std::abs(a - b) < 1e-9; }), axis.end());
  double lo = 1e300, hi = -1e300;
  for (const auto& c : cells)
    if (c.value) {
      lo = std::min(lo, *c.value);
      hi = std::max(hi, *c.value);
    }
  const int W = 600, H = 500;
  std::string s = detail::open_svg(W, H, "Threshold sweep: " + objective_label, "plot plot-sweep");
  const detail::Box b{70, 40, 400, 400};
  const std::size_t n = std::max<std::size_t>(axis.size(), 1);
  const double cell = b.width / double(n);
  auto index = [&](double v) {
    return static_cast<std::size_t>(std::lower_bound(axis.begin(), axis.end(), v - 1e-9) - axis.begin());
  };
  for (const auto& c : cells) {
    if (!c.value) continue;
    const double t = hi > lo ? (*c.value - lo) / (hi - lo) : 1.0;
    const double x = b.left + double(index(c.demote)) * cell;
    const double y = b.top + b.height - double(index(c.review) + 1) * cell;
    s += "<rect x=\"" + num(x, 2) + "\" y=\"" + num(y, 2) + "\" width=\"" + num(cell + 0.3, 2) + "\" height=\"" +
         num(cell + 0.3, 2) + "\" fill=\"" + ramp_color(higher_is_better ? t : 1.0 - t) + "\"><title>review " +
         num(c.review) + ", demote " + num(c.demote) + ": " + num(*c.value, 4) + "</title></rect>";
  }
  s += "<rect x=\"" + num(b.left, 1) + "\" y=\"" + num(b.top, 1) + "\" width=\"" + num(b.width, 1) + "\" height=\"" +
       num(b.height, 1) + "\" fill=\"none\" stroke=\"#333\"/>";
  const std::size_t label_every = std::max<std::size_t>(1, n / 10);
  for (std::size_t i = 0; i < axis.size(); i += label_every) {
    s += detail::text(b.left + (double(i) + 0.5) * cell, b.top + b.height + 15, num(axis[i]));
    s += detail::text(b.left - 6, b.top + b.height - (double(i) + 0.5) * cell + 4, num(axis[i]), "end");
  }
  s += detail::text(b.left + b.width / 2, b.top + b.height + 34, "demote threshold");
  s += "<text transform=\"translate(24," + num(b.top + b.height / 2, 1) +
       ") rotate(-90)\" text-anchor=\"middle\">review threshold</text>";
  // The chosen point.
  const double cx = b.left + (double(index(chosen_demote)) + 0.5) * cell;
  const double cy = b.top + b.height - (double(index(chosen_review)) + 0.5) * cell;
  s += "<circle class=\"chosen\" cx=\"" + num(cx, 1) + "\" cy=\"" + num(cy, 1) + "\" r=\"" +
       num(std::max(5.0, cell * 0.45), 1) + "\" fill=\"none\" stroke=\"#e4002b\" stroke-width=\"3\"/>";
  s += detail::text(b.left + b.width / 2, H - 8,
                    "chosen: review " + num(chosen_review) + ", demote " + num(chosen_demote), "middle",
                    "fill=\"#e4002b\"");
  // Colour legend.
  const double lx = b.left + b.width + 25, lh = b.height;
  for (int i = 0; i < 50; ++i) {
    const double t = i / 49.0;
    s += "<rect x=\"" + num(lx, 1) + "\" y=\"" + num(b.top + lh - (i + 1) * lh / 50, 2) + "\" width=\"16\" height=\"" +
         num(lh / 50 + 0.3, 2) + "\" fill=\"" + ramp_color(t) + "\"/>";
  }
  if (hi >= lo) {
    const double top_value = higher_is_better ? hi : lo, bottom_value = higher_is_better ? lo : hi;
    s += detail::text(lx + 20, b.top + 8, num(top_value, 3), "start");
    s += detail::text(lx + 20, b.top + lh, num(bottom_value, 3), "start");
    s += detail::text(lx + 20, b.top + lh / 2, higher_is_better ? "better ↑" : "lower cost ↑", "start");
  }
  return s + "</svg>";
}

// Reliability diagram: fraction positive against mean score per non-empty bin, before and after
// calibration, with the diagonal of perfect calibration.
inline std::string reliability_diagram(const Reliability& before, const std::optional<Reliability>& after) {
  const int W = 480, H = 460;
  std::string s = detail::open_svg(W, H, "Reliability (ECE before " + (before.ece ? num(*before.ece, 3) : "n/a") +
                                              (after && after->ece ? ", after " + num(*after->ece, 3) : "") + ")",
                                   "plot plot-reliability");
  const detail::Box b{70, 40, 360, 360};
  s += detail::unit_axes(b, "mean predicted P(spam) in bin", "fraction actually spam");
  s += detail::line(b.x(0), b.y(0), b.x(1), b.y(1), "stroke=\"#999\" stroke-dasharray=\"4 4\"");
  auto series = [&](const Reliability& r, const char* color, const std::string& name) {
    std::string path, dots;
    for (const auto& bin : r.bins) {
      if (!bin.count) continue;
      path += (path.empty() ? "M" : " L") + num(b.x(*bin.mean_score), 1) + "," + num(b.y(*bin.frac_positive), 1);
      dots += "<circle cx=\"" + num(b.x(*bin.mean_score), 1) + "\" cy=\"" + num(b.y(*bin.frac_positive), 1) +
              "\" r=\"" + num(2.5 + std::min(5.0, std::sqrt(double(bin.count)) / 3), 1) + "\" fill=\"" + color +
              "\" fill-opacity=\"0.8\"><title>" + xml_escape(name) + ": " + std::to_string(bin.count) +
              " rows, mean score " + num(*bin.mean_score, 3) + ", spam " + num(*bin.frac_positive, 3) +
              "</title></circle>";
    }
    if (!path.empty()) s += "<path d=\"" + path + "\" fill=\"none\" stroke=\"" + color + "\" stroke-width=\"2\"/>";
    s += dots;
  };
  series(before, detail::series_color(0), "before");
  if (after) series(*after, detail::series_color(1), "after isotonic");
  s += "<rect x=\"" + num(b.left + 10, 1) + "\" y=\"" + num(b.top + 10, 1) + "\" width=\"12\" height=\"12\" fill=\"" +
       detail::series_color(0) + "\"/>" + detail::text(b.left + 28, b.top + 20, "before calibration", "start");
  if (after)
    s += "<rect x=\"" + num(b.left + 10, 1) + "\" y=\"" + num(b.top + 28, 1) + "\" width=\"12\" height=\"12\" fill=\"" +
         detail::series_color(1) + "\"/>" + detail::text(b.left + 28, b.top + 38, "after isotonic regression", "start");
  return s + "</svg>";
}

inline std::string confusion_matrix(const ConfusionMatrix& cm, const std::string& title) {
  const int W = 380, H = 340;
  std::string s = detail::open_svg(W, H, title, "plot plot-confusion");
  const double left = 110, top = 60, size = 110;
  const std::size_t cells[2][2] = {{cm.tn, cm.fp}, {cm.fn, cm.tp}};
  const double total = std::max<double>(1.0, double(cm.total()));
  for (int t = 0; t < 2; ++t)
    for (int p = 0; p < 2; ++p) {
      const double share = double(cells[t][p]) / total;
      const double x = left + p * size, y = top + t * size;
      s += "<rect x=\"" + num(x, 1) + "\" y=\"" + num(y, 1) + "\" width=\"" + num(size, 1) + "\" height=\"" +
           num(size, 1) + "\" fill=\"" + ramp_color(0.15 + 0.85 * share) + "\" stroke=\"#fff\"/>";
      const std::string fill = share > 0.5 ? "#000" : "#fff";
      s += detail::text(x + size / 2, y + size / 2, std::to_string(cells[t][p]), "middle",
                        "font-size=\"22\" font-weight=\"bold\" fill=\"" + fill + "\"");
      s += detail::text(x + size / 2, y + size / 2 + 20, num(100 * share, 1) + "%", "middle", "fill=\"" + fill + "\"");
    }
  s += detail::text(left + size / 2, top - 8, "predicted clean");
  s += detail::text(left + 1.5 * size, top - 8, "predicted spam");
  s += detail::text(left - 8, top + size / 2, "truly clean", "end");
  s += detail::text(left - 8, top + 1.5 * size, "truly spam", "end");
  return s + "</svg>";
}

struct PrSeries {
  std::string name;
  PrecisionRecallCurve curve;
  std::optional<double> average_precision;
};

// Precision-recall curves drawn as the step function average precision integrates.
inline std::string pr_curves(const std::vector<PrSeries>& series, std::optional<double> prevalence) {
  const int W = 480, H = 460;
  std::string s = detail::open_svg(W, H, "Precision-recall", "plot plot-pr");
  const detail::Box b{70, 40, 360, 360};
  s += detail::unit_axes(b, "recall", "precision");
  if (prevalence)
    s += detail::line(b.x(0), b.y(*prevalence), b.x(1), b.y(*prevalence), "stroke=\"#999\" stroke-dasharray=\"4 4\"");
  for (std::size_t k = 0; k < series.size(); ++k) {
    const auto& c = series[k].curve;
    std::string path;
    // Points run from high recall to low; draw the staircase: precision holds until recall drops.
    for (std::size_t i = 0; i < c.recall.size(); ++i) {
      const double x = b.x(c.recall[i]), y = b.y(c.precision[i]);
      if (path.empty()) path = "M" + num(x, 1) + "," + num(y, 1);
      else path += " H" + num(x, 1) + " V" + num(y, 1);
    }
    s += "<path d=\"" + path + "\" fill=\"none\" stroke=\"" + detail::series_color(k) + "\" stroke-width=\"2\"/>";
    const std::string label = series[k].name + (series[k].average_precision ? " (AP " + num(*series[k].average_precision, 3) + ")" : "");
    s += "<rect x=\"" + num(b.left + 10, 1) + "\" y=\"" + num(b.top + b.height - 20 - 18 * double(series.size() - 1 - k), 1) +
         "\" width=\"12\" height=\"12\" fill=\"" + detail::series_color(k) + "\"/>" +
         detail::text(b.left + 28, b.top + b.height - 10 - 18 * double(series.size() - 1 - k), label, "start");
  }
  return s + "</svg>";
}

}  // namespace kspam::eval::plots

#pragma once
// Label confidence from annotator votes, its summary, and the label-quality policy that decides
// how much each labeled row counts in training.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "kspam/core/error.hpp"
#include "kspam/core/json.hpp"
#include "kspam/data/listing.hpp"

namespace kspam::data {

// Accumulates label confidences row by row (so a streamed file needs no memory per row).
struct ConfidenceSummary {
  std::size_t count = 0;
  std::size_t no_votes = 0;
  double sum = 0.0;
  double sum_abs = 0.0;
  // 10 equal bins over [-1, 1]; +1 falls into the last bin.
  std::vector<std::size_t> histogram = std::vector<std::size_t>(10, 0);

  void add(const Listing& row) {
    const double c = row.label_confidence();
    ++count;
    sum += c;
    sum_abs += std::fabs(c);
    if (row.yes_count + row.no_count == 0) ++no_votes;
    ++histogram[static_cast<std::size_t>(std::min(9.0, std::floor((c + 1.0) / 0.2)))];
  }
  double mean() const { return count ? sum / static_cast<double>(count) : 0.0; }
  // Mean |confidence|: how much annotators agreed.
  double mean_abs() const { return count ? sum_abs / static_cast<double>(count) : 0.0; }

  json::Value to_json() const {
    json::Value v = json::Value::object();
    v["count"] = count;
    v["mean"] = mean();
    v["mean_abs"] = mean_abs();
    v["rows_without_votes"] = no_votes;
    json::Value edges = json::Value::array();
    for (int i = 0; i <= 10; ++i) edges.push_back(-1.0 + 0.2 * i);
    v["histogram_edges"] = edges;
    v["histogram"] = histogram;
    return v;
  }
};

inline ConfidenceSummary summarise_confidence(const std::vector<Listing>& rows) {
  ConfidenceSummary s;
  for (const auto& row : rows) s.add(row);
  return s;
}

// How label quality enters training: every labeled row counts fully (the default), each row
// counts |label_confidence|, or rows below a confidence threshold are left out.
enum class LabelQuality { IncludeAll, WeightByConfidence, ExcludeBelow };

struct LabelQualityPolicy {
  LabelQuality mode = LabelQuality::IncludeAll;
  double threshold = 0.0;  // for ExcludeBelow: rows with |confidence| < threshold are dropped

  static LabelQualityPolicy parse(const std::string& text) {
    LabelQualityPolicy p;
    if (text == "all" || text.empty()) return p;
    if (text == "weight") {
      p.mode = LabelQuality::WeightByConfidence;
      return p;
    }
    if (text.starts_with("exclude:")) {
      p.mode = LabelQuality::ExcludeBelow;
      try {
        p.threshold = std::stod(text.substr(8));
      } catch (const std::exception&) {
        throw InputError("--label-quality", 0, "", text, "expected exclude:<threshold in [0,1]>");
      }
      if (!(p.threshold >= 0.0 && p.threshold <= 1.0))
        throw InputError("--label-quality", 0, "", text, "threshold must be in [0,1]");
      return p;
    }
    throw InputError("--label-quality", 0, "", text, "expected 'all', 'weight' or 'exclude:<threshold>'");
  }

  std::string describe() const {
    switch (mode) {
      case LabelQuality::IncludeAll: return "all";
      case LabelQuality::WeightByConfidence: return "weight";
      case LabelQuality::ExcludeBelow: return "exclude:" + std::to_string(threshold);
    }
    return "all";
  }

  // Training weight of a row: 0 means the row is left out.
  double weight(const Listing& row) const {
    const double c = std::fabs(row.label_confidence());
    switch (mode) {
      case LabelQuality::IncludeAll: return 1.0;
      case LabelQuality::WeightByConfidence: return c;
      case LabelQuality::ExcludeBelow: return c < threshold ? 0.0 : 1.0;
    }
    return 1.0;
  }
};

}  // namespace kspam::data

#pragma once
// Calibration: reliability bins and expected calibration error (ECE), and isotonic regression by
// pool-adjacent-violators.
//
// Bins are sklearn.calibration.calibration_curve(strategy="uniform")'s: n equal-width bins of
// [0, 1] with edges i / n, a score on an inner edge belonging to the lower bin (numpy
// searchsorted, side="left"). ECE = sum over bins of count_b / n * |fraction positive_b -
// mean score_b| (empty bins contribute nothing and are reported as empty).
//
// IsotonicCalibrator matches sklearn.isotonic.IsotonicRegression(increasing=True,
// out_of_bounds="clip"): x values closer than 1e-15 (float64 resolution) are merged with their mean
// y, PAV fits a non-decreasing step function on those, and prediction interpolates linearly between
// the fitted points, clipping x to the fitted range.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <span>
#include <vector>

#include "kspam/core/error.hpp"
#include "kspam/core/json.hpp"
#include "kspam/eval/folds.hpp"

namespace kspam::eval {

struct ReliabilityBin {
  double lower = 0, upper = 0;
  std::size_t count = 0;
  std::optional<double> mean_score;     // undefined for an empty bin
  std::optional<double> frac_positive;  // undefined for an empty bin
};

struct Reliability {
  std::size_t rows = 0;
  std::vector<ReliabilityBin> bins;
  std::optional<double> ece;  // undefined when there are no rows

  json::Value to_json() const {
    json::Value v = json::Value::object();
    v["rows"] = rows;
    if (!ece) {
      v["empty"] = true;
      return v;
    }
    v["ece"] = *ece;
    json::Value bs = json::Value::array();
    for (const auto& b : bins) {
      json::Value j = json::Value::object();
      j["lower"] = b.lower;
      j["upper"] = b.upper;
      j["count"] = b.count;
      j["mean_score"] = b.mean_score ? json::Value(*b.mean_score) : json::Value(nullptr);
      j["frac_positive"] = b.frac_positive ? json::Value(*b.frac_positive) : json::Value(nullptr);
      bs.push_back(j);
    }
    v["bins"] = bs;
    return v;
  }
};

inline Reliability reliability(std::span<const int> truth, std::span<const double> score, int n_bins = 10) {
  if (n_bins < 1) throw Error("reliability: need at least one bin");
  if (truth.size() != score.size()) throw Error("reliability: truth and score differ in length");
  Reliability r;
  r.rows = truth.size();
  const double step = 1.0 / n_bins;  // numpy.linspace(0, 1, n + 1): edge i is i * step
  std::vector<double> sum_score(std::size_t(n_bins), 0.0), sum_true(std::size_t(n_bins), 0.0);
  std::vector<std::size_t> count(std::size_t(n_bins), 0);
  for (std::size_t i = 0; i < truth.size(); ++i) {
    // Number of inner edges strictly below the score (searchsorted side="left").
    int bin = 0;
    while (bin < n_bins - 1 && double(bin + 1) * step < score[i]) ++bin;
    sum_score[std::size_t(bin)] += score[i];
    sum_true[std::size_t(bin)] += truth[i];
    count[std::size_t(bin)]++;
  }
  double ece = 0;
  for (int b = 0; b < n_bins; ++b) {
    ReliabilityBin bin;
    bin.lower = double(b) * step;
    bin.upper = b + 1 == n_bins ? 1.0 : double(b + 1) * step;
    bin.count = count[std::size_t(b)];
    if (bin.count) {
      bin.mean_score = sum_score[std::size_t(b)] / double(bin.count);
      bin.frac_positive = sum_true[std::size_t(b)] / double(bin.count);
      ece += double(bin.count) / double(r.rows) * std::abs(*bin.frac_positive - *bin.mean_score);
    }
    r.bins.push_back(bin);
  }
  if (r.rows) r.ece = ece;
  return r;
}

class IsotonicCalibrator {
 public:
  void fit(std::span<const double> x, std::span<const double> y) {
    if (x.size() != y.size()) throw Error("isotonic fit: x and y differ in length");
    if (x.empty()) throw Error("isotonic fit: no rows to fit on");
    std::vector<std::size_t> order(x.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    // sklearn: np.lexsort((y, x)), by x then y.
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      return x[a] != x[b] ? x[a] < x[b] : y[a] < y[b];
    });
    // Merge equal x (within float64 resolution, as sklearn's _make_unique) into weighted means.
    constexpr double kResolution = 1e-15;
    std::vector<double> ux, uy, uw;
    double cur_x = x[order[0]], cur_y = 0, cur_w = 0;
    for (std::size_t i : order) {
      if (x[i] - cur_x >= kResolution) {
        ux.push_back(cur_x);
        uy.push_back(cur_y / cur_w);
        uw.push_back(cur_w);
        cur_x = x[i];
        cur_y = 0;
        cur_w = 0;
      }
      cur_y += y[i];
      cur_w += 1;
    }
    ux.push_back(cur_x);
    uy.push_back(cur_y / cur_w);
    uw.push_back(cur_w);

    // Pool adjacent violators: blocks of (weighted mean, weight, length), merged backwards while
    // the new block's mean is below its predecessor's.
    std::vector<double> mean, weight;
    std::vector<std::size_t> length;
    for (std::size_t i = 0; i < uy.size(); ++i) {
      mean.push_back(uy[i]);
      weight.push_back(uw[i]);
      length.push_back(1);
      while (mean.size() > 1 && mean[mean.size() - 2] > mean.back()) {
        const std::size_t k = mean.size() - 1;
        const double w = weight[k - 1] + weight[k];
        mean[k - 1] = (mean[k - 1] * weight[k - 1] + mean[k] * weight[k]) / w;
        weight[k - 1] = w;
        length[k - 1] += length[k];
        mean.pop_back();
        weight.pop_back();
        length.pop_back();
      }
    }
    x_ = std::move(ux);
    y_.clear();
    for (std::size_t b = 0; b < mean.size(); ++b) y_.insert(y_.end(), length[b], mean[b]);
  }

  bool fitted() const { return !x_.empty(); }

  double predict(double x) const {
    if (!fitted()) throw Error("isotonic predict before fit");
    if (x <= x_.front()) return y_.front();
    if (x >= x_.back()) return y_.back();
    const auto hi = static_cast<std::size_t>(std::upper_bound(x_.begin(), x_.end(), x) - x_.begin());
    const std::size_t lo = hi - 1;
    if (x == x_[lo]) return y_[lo];
    const double slope = (y_[hi] - y_[lo]) / (x_[hi] - x_[lo]);
    return slope * (x - x_[lo]) + y_[lo];
  }

  // The fitted step function's knots (x ascending, y non-decreasing).
  const std::vector<double>& knots_x() const { return x_; }
  const std::vector<double>& knots_y() const { return y_; }

  json::Value to_json() const {
    // Only the knots where y changes (and the ends) are needed to predict; sklearn keeps the same.
    json::Value xs = json::Value::array(), ys = json::Value::array();
    for (std::size_t i = 0; i < x_.size(); ++i) {
      const bool keep = i == 0 || i + 1 == x_.size() || y_[i] != y_[i - 1] || y_[i] != y_[i + 1];
      if (!keep) continue;
      xs.push_back(x_[i]);
      ys.push_back(y_[i]);
    }
    json::Value v = json::Value::object();
    v["method"] = "isotonic (PAV), increasing, out_of_bounds=clip";
    v["x"] = xs;
    v["y"] = ys;
    return v;
  }

 private:
  std::vector<double> x_, y_;
};

// Out-of-fold calibrated scores when one labeled set must serve both to fit and to judge the
// calibrator: rows are split into `folds` stratified folds (each class shuffled with a seeded Rng
// and dealt round-robin), and each fold is calibrated by a model fitted on the other folds.
// Returns the calibrated score of every row, in input order.
inline std::vector<double> cross_fit_isotonic(std::span<const int> truth, std::span<const double> score, int folds,
                                              std::uint64_t seed) {
  if (truth.size() != score.size()) throw Error("cross_fit_isotonic: truth and score differ in length");
  folds = std::max(2, folds);
  const auto fold_of = stratified_folds(truth, folds, seed);
  std::vector<double> out(truth.size(), 0.0);
  for (int f = 0; f < folds; ++f) {
    std::vector<double> fx, fy;
    for (std::size_t i = 0; i < truth.size(); ++i)
      if (fold_of[i] != f) {
        fx.push_back(score[i]);
        fy.push_back(truth[i]);
      }
    if (fx.empty()) throw InputError("calibration", "too few labeled rows to cross-fit the calibrator");
    IsotonicCalibrator model;
    model.fit(fx, fy);
    for (std::size_t i = 0; i < truth.size(); ++i)
      if (fold_of[i] == f) out[i] = model.predict(score[i]);
  }
  return out;
}

}  // namespace kspam::eval

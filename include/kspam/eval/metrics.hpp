#pragma once
// Binary classification metrics over Prediction records, computed the way scikit-learn 1.2
// computes them (checked against fixtures made by tests/reference/make_eval_metrics.py):
//   - per-class precision/recall/F1/support, accuracy, micro/macro/weighted averages as
//     sklearn.metrics.precision_recall_fscore_support / classification_report with labels=[0, 1]
//     and zero_division=0;
//   - average precision as sklearn.metrics.average_precision_score: the step-wise sum
//     sum_n (R_n - R_{n-1}) P_n over the thresholds of precision_recall_curve, where tied scores
//     form one threshold (no interpolation);
//   - ROC-AUC as sklearn.metrics.roc_auc_score (trapezoids over roc_curve; ties count one half).
// Where sklearn warns and substitutes 0 (0/0: a class never predicted, never present) or raises
// (ROC-AUC with one class), we keep the value `undefined` (std::nullopt, JSON null) and list its
// name under "undefined", so no file ever holds NaN and no reader mistakes 0/0 for a real zero.
// The averages follow sklearn exactly: an undefined per-class value counts as 0 in the mean.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "kspam/core/error.hpp"
#include "kspam/core/json.hpp"
#include "kspam/eval/prediction.hpp"

namespace kspam::eval {

inline constexpr const char* kClassNames[2] = {"clean", "spam"};

// Rows (truth, predicted) counted as sklearn's confusion_matrix(labels=[0, 1]) lays them out:
// [[tn, fp], [fn, tp]].
struct ConfusionMatrix {
  std::size_t tn = 0, fp = 0, fn = 0, tp = 0;

  std::size_t total() const { return tn + fp + fn + tp; }
  void add(int truth, int predicted) {
    if (truth) (predicted ? tp : fn)++;
    else (predicted ? fp : tn)++;
  }
  json::Value to_json() const {
    json::Value v = json::Value::object();
    v["labels"] = json::Array{json::Value(kClassNames[0]), json::Value(kClassNames[1])};
    v["rows_are"] = "truth";
    v["columns_are"] = "prediction";
    v["matrix"] = json::Array{json::Array{json::Value(tn), json::Value(fp)}, json::Array{json::Value(fn), json::Value(tp)}};
    return v;
  }
};

struct ClassMetrics {
  std::optional<double> precision;  // undefined when the class was never predicted
  std::optional<double> recall;     // undefined when the class never occurs in truth
  std::optional<double> f1;         // undefined when the class occurs in neither
  std::size_t support = 0;          // rows whose truth is this class
};

// The precision-recall curve exactly as sklearn.metrics.precision_recall_curve returns it:
// thresholds ascending (distinct scores), precision/recall one longer, ending with (1, 0).
struct PrecisionRecallCurve {
  std::vector<double> precision, recall, thresholds;
};

// The ROC curve as sklearn.metrics.roc_curve(drop_intermediate=False) returns it: starts at
// (0, 0) with threshold +inf, one point per distinct score, descending thresholds.
struct RocCurve {
  std::vector<double> fpr, tpr, thresholds;
};

namespace detail {

// Distinct-threshold cumulative counts, as sklearn's _binary_clf_curve: scores sorted descending,
// one entry per distinct score (the last row of each run of ties).
struct ClfCurve {
  std::vector<double> fps, tps, thresholds;
};

inline ClfCurve binary_clf_curve(std::span<const int> truth, std::span<const double> score) {
  if (truth.size() != score.size()) throw Error("binary_clf_curve: truth and score differ in length");
  std::vector<std::size_t> order(truth.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return score[a] > score[b]; });
  ClfCurve c;
  double tp = 0, fp = 0;
  for (std::size_t k = 0; k < order.size(); ++k) {
    const std::size_t i = order[k];
    (truth[i] ? tp : fp) += 1;
    const bool last_of_run = k + 1 == order.size() || score[order[k + 1]] != score[i];
    if (last_of_run) {
      c.fps.push_back(fp);
      c.tps.push_back(tp);
      c.thresholds.push_back(score[i]);
    }
  }
  return c;
}

inline std::optional<double> safe_div(double num, double den) {
  if (den == 0) return std::nullopt;
  return num / den;
}

}  // namespace detail

inline PrecisionRecallCurve precision_recall_curve(std::span<const int> truth, std::span<const double> score) {
  const auto c = detail::binary_clf_curve(truth, score);
  PrecisionRecallCurve out;
  const std::size_t n = c.tps.size();
  const double total_pos = n ? c.tps.back() : 0.0;
  for (std::size_t k = n; k-- > 0;) {
    const double predicted = c.tps[k] + c.fps[k];
    out.precision.push_back(predicted != 0 ? c.tps[k] / predicted : 0.0);
    // sklearn sets recall to 1 everywhere when there is no positive (and warns).
    out.recall.push_back(total_pos == 0 ? 1.0 : c.tps[k] / total_pos);
    out.thresholds.push_back(c.thresholds[k]);
  }
  out.precision.push_back(1.0);
  out.recall.push_back(0.0);
  return out;
}

// sklearn.metrics.average_precision_score; undefined (nullopt) when no row is positive (sklearn
// warns and returns 0 there) or there are no rows.
inline std::optional<double> average_precision(std::span<const int> truth, std::span<const double> score) {
  if (std::none_of(truth.begin(), truth.end(), [](int t) { return t == 1; })) return std::nullopt;
  const auto curve = precision_recall_curve(truth, score);
  double sum = 0;
  for (std::size_t k = 0; k + 1 < curve.recall.size(); ++k)
    sum += (curve.recall[k + 1] - curve.recall[k]) * curve.precision[k];
  return -sum;
}

inline RocCurve roc_curve(std::span<const int> truth, std::span<const double> score) {
  const auto c = detail::binary_clf_curve(truth, score);
  RocCurve out;
  const double pos = c.tps.empty() ? 0 : c.tps.back();
  const double neg = c.fps.empty() ? 0 : c.fps.back();
  out.fpr.push_back(0);
  out.tpr.push_back(0);
  out.thresholds.push_back(std::numeric_limits<double>::infinity());
  for (std::size_t k = 0; k < c.tps.size(); ++k) {
    out.fpr.push_back(neg ? c.fps[k] / neg : 0.0);
    out.tpr.push_back(pos ? c.tps[k] / pos : 0.0);
    out.thresholds.push_back(c.thresholds[k]);
  }
  return out;
}

// sklearn.metrics.roc_auc_score; undefined when only one class is present (sklearn raises).
inline std::optional<double> roc_auc(std::span<const int> truth, std::span<const double> score) {
  const auto pos = static_cast<std::size_t>(std::count(truth.begin(), truth.end(), 1));
  if (pos == 0 || pos == truth.size()) return std::nullopt;
  const auto roc = roc_curve(truth, score);
  double area = 0;
  for (std::size_t k = 1; k < roc.fpr.size(); ++k)
    area += (roc.fpr[k] - roc.fpr[k - 1]) * (roc.tpr[k] + roc.tpr[k - 1]) / 2.0;
  return area;
}

struct BinaryMetrics {
  std::size_t rows = 0;       // labeled rows evaluated
  std::size_t unlabeled = 0;  // rows without truth, left out of every metric
  ConfusionMatrix confusion;
  ClassMetrics per_class[2];  // [0] clean, [1] spam
  std::optional<double> accuracy;
  // Averages as sklearn computes them (undefined per-class values count as 0); undefined only
  // when there are no rows at all.
  std::optional<double> macro_precision, macro_recall, macro_f1;
  std::optional<double> weighted_precision, weighted_recall, weighted_f1;
  std::optional<double> micro_f1;  // equals accuracy for a binary problem with labels [0, 1]
  std::optional<double> average_precision;  // AUPRC of `score` for the spam class
  std::optional<double> roc_auc;

  bool empty() const { return rows == 0; }
  double spam_f1() const { return per_class[1].f1.value_or(0.0); }

  // Names of the values that are 0/0 for these rows (e.g. "spam.precision", "roc_auc").
  std::vector<std::string> undefined() const {
    std::vector<std::string> out;
    if (empty()) return {"all"};
    for (int c = 0; c < 2; ++c) {
      const std::string name = kClassNames[c];
      if (!per_class[c].precision) out.push_back(name + ".precision");
      if (!per_class[c].recall) out.push_back(name + ".recall");
      if (!per_class[c].f1) out.push_back(name + ".f1");
    }
    if (!average_precision) out.push_back("average_precision");
    if (!roc_auc) out.push_back("roc_auc");
    return out;
  }

  // metrics.json's shape: undefined values are null and named in "undefined"; an empty set is
  // {"rows": 0, "empty": true} with no numbers at all.
  json::Value to_json() const {
    json::Value v = json::Value::object();
    v["rows"] = rows;
    if (unlabeled) v["unlabeled_rows_ignored"] = unlabeled;
    if (empty()) {
      v["empty"] = true;
      return v;
    }
    auto opt = [](const std::optional<double>& x) { return x ? json::Value(*x) : json::Value(nullptr); };
    v["accuracy"] = opt(accuracy);
    v["macro_f1"] = opt(macro_f1);
    v["micro_f1"] = opt(micro_f1);
    v["weighted_f1"] = opt(weighted_f1);
    v["macro_precision"] = opt(macro_precision);
    v["macro_recall"] = opt(macro_recall);
    v["average_precision"] = opt(average_precision);
    v["roc_auc"] = opt(roc_auc);
    json::Value classes = json::Value::object();
    for (int c = 0; c < 2; ++c) {
      json::Value k = json::Value::object();
      k["precision"] = opt(per_class[c].precision);
      k["recall"] = opt(per_class[c].recall);
      k["f1"] = opt(per_class[c].f1);
      k["support"] = per_class[c].support;
      classes[kClassNames[c]] = k;
    }
    v["per_class"] = classes;
    v["confusion_matrix"] = confusion.to_json();
    json::Value undef = json::Value::array();
    for (const auto& name : undefined()) undef.push_back(name);
    v["undefined"] = undef;
    return v;
  }
};

// Metrics from parallel arrays. `score` may be empty, then AUPRC and ROC-AUC stay undefined.
inline BinaryMetrics compute_metrics(std::span<const int> truth, std::span<const int> predicted,
                                     std::span<const double> score = {}) {
  if (truth.size() != predicted.size() || (!score.empty() && score.size() != truth.size()))
    throw Error("compute_metrics: truth, predicted and score differ in length");
  BinaryMetrics m;
  m.rows = truth.size();
  for (std::size_t i = 0; i < truth.size(); ++i) m.confusion.add(truth[i], predicted[i]);
  if (m.empty()) return m;
  const auto& cm = m.confusion;
  const double tp[2] = {double(cm.tn), double(cm.tp)};
  const double fp[2] = {double(cm.fn), double(cm.fp)};  // predicted as the class, truth the other
  const double fn[2] = {double(cm.fp), double(cm.fn)};  // truth the class, predicted the other
  for (int c = 0; c < 2; ++c) {
    auto& k = m.per_class[c];
    k.support = static_cast<std::size_t>(tp[c] + fn[c]);
    k.precision = detail::safe_div(tp[c], tp[c] + fp[c]);
    k.recall = detail::safe_div(tp[c], tp[c] + fn[c]);
    if (tp[c] + fp[c] + fn[c] > 0) {
      // As sklearn: from the zero-filled precision and recall, 0 when both are 0.
      const double p = k.precision.value_or(0.0), r = k.recall.value_or(0.0);
      k.f1 = p + r == 0 ? 0.0 : 2 * p * r / (p + r);
    }
  }
  const double n = static_cast<double>(m.rows);
  m.accuracy = (tp[0] + tp[1]) / n;
  m.micro_f1 = m.accuracy;
  auto avg = [&](auto get, bool weighted) {
    double s = 0;
    for (int c = 0; c < 2; ++c)
      s += get(m.per_class[c]).value_or(0.0) * (weighted ? double(m.per_class[c].support) / n : 0.5);
    return s;
  };
  auto P = [](const ClassMetrics& k) { return k.precision; };
  auto R = [](const ClassMetrics& k) { return k.recall; };
  auto F = [](const ClassMetrics& k) { return k.f1; };
  m.macro_precision = avg(P, false);
  m.macro_recall = avg(R, false);
  m.macro_f1 = avg(F, false);
  m.weighted_precision = avg(P, true);
  m.weighted_recall = avg(R, true);
  m.weighted_f1 = avg(F, true);
  if (!score.empty()) {
    m.average_precision = average_precision(truth, score);
    m.roc_auc = roc_auc(truth, score);
  }
  return m;
}

// Metrics of the model's own verdicts (`predicted`) and scores, over the labeled rows.
inline BinaryMetrics compute_metrics(const std::vector<Prediction>& rows) {
  std::vector<int> truth, predicted;
  std::vector<double> score;
  std::size_t unlabeled = 0;
  bool all_scored = true;
  for (const auto& r : rows) {
    if (!r.truth) {
      ++unlabeled;
      continue;
    }
    truth.push_back(*r.truth);
    predicted.push_back(r.predicted);
    score.push_back(r.score);
    all_scored = all_scored && std::isfinite(r.score);
  }
  auto m = compute_metrics(truth, predicted, all_scored ? std::span<const double>(score) : std::span<const double>());
  m.unlabeled = unlabeled;
  return m;
}

// classification_report.json: the dict that
//   sklearn.metrics.classification_report(y_true, y_pred, labels=[0, 1],
//       target_names=["clean", "spam"], zero_division=0, output_dict=True)
// returns, key for key ("accuracy" when both classes occur in truth or prediction, else
// "micro avg" as sklearn does). An empty set gives an empty object.
inline json::Value classification_report(const BinaryMetrics& m) {
  json::Value v = json::Value::object();
  if (m.empty()) return v;
  auto entry = [](double p, double r, double f, std::size_t support) {
    json::Value e = json::Value::object();
    e["precision"] = p;
    e["recall"] = r;
    e["f1-score"] = f;
    e["support"] = support;
    return e;
  };
  for (int c = 0; c < 2; ++c) {
    const auto& k = m.per_class[c];
    v[kClassNames[c]] = entry(k.precision.value_or(0.0), k.recall.value_or(0.0), k.f1.value_or(0.0), k.support);
  }
  const auto& cm = m.confusion;
  const bool both_present = (cm.tn + cm.fp + cm.fn > 0) && (cm.tp + cm.fp + cm.fn > 0);
  if (both_present) {
    v["accuracy"] = *m.accuracy;
  } else {
    // sklearn reports micro averages when the given labels differ from those present; for
    // labels [0, 1] micro precision = recall = F1 = accuracy.
    v["micro avg"] = entry(*m.accuracy, *m.accuracy, *m.accuracy, m.rows);
  }
  v["macro avg"] = entry(*m.macro_precision, *m.macro_recall, *m.macro_f1, m.rows);
  v["weighted avg"] = entry(*m.weighted_precision, *m.weighted_recall, *m.weighted_f1, m.rows);
  return v;
}

}  // namespace kspam::eval

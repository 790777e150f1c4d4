#pragma once
// The keep/review/demote policy and what it costs.
//
//   demote  if the model says spam and confidence >= demote threshold
//   review  if the model says spam and review threshold <= confidence < demote threshold
//   keep    otherwise
//
// "Macro F1 of a policy" is the macro F1 (mean of the clean and spam F1, sklearn's
// average="macro") of the binary decision "demoted" against the truth: a demoted listing counts as
// predicted spam; kept AND reviewed listings count as predicted clean, because a listing waiting
// for review stays visible. The expected cost per labeled listing is
//   (cost_false_demote * #demoted clean + cost_review * #reviewed + cost_missed_spam * #kept spam) / n
// (a demoted spam listing and a kept clean one cost nothing; a reviewed listing costs the reviewer's
// time whatever its truth, and the reviewer then gets it right).
#include <cmath>
#include <string>
#include <vector>

#include "kspam/core/error.hpp"
#include "kspam/core/json.hpp"
#include "kspam/eval/metrics.hpp"
#include "kspam/eval/prediction.hpp"

namespace kspam::eval {

struct PolicyThresholds {
  double review = 0.5;
  double demote = 0.7;

  void validate(const std::string& origin = "policy") const {
    auto in_unit = [](double x) { return std::isfinite(x) && x >= 0.0 && x <= 1.0; };
    if (!in_unit(review)) throw InputError(origin, 0, "review_threshold", std::to_string(review), "must be in [0, 1]");
    if (!in_unit(demote)) throw InputError(origin, 0, "demote_threshold", std::to_string(demote), "must be in [0, 1]");
    if (review > demote)
      throw InputError(origin, 0, "review_threshold", std::to_string(review),
                       "must not exceed the demote threshold (" + std::to_string(demote) + ")");
  }
  json::Value to_json() const {
    json::Value v = json::Value::object();
    v["review_threshold"] = review;
    v["demote_threshold"] = demote;
    return v;
  }
};

// What each kind of mistake or action costs, in any one unit (e.g. minutes of staff time).
struct CostMatrix {
  double false_demote = 10.0;  // demoting a good listing (a seller loses sales, may complain)
  double review = 1.0;         // a person looking at one listing
  double missed_spam = 5.0;    // spam left in place (buyers see it)

  void validate(const std::string& origin = "costs") const {
    for (auto [name, value] : {std::pair{"cost_false_demote", false_demote}, std::pair{"cost_review", review},
                               std::pair{"cost_missed_spam", missed_spam}})
      if (!std::isfinite(value) || value < 0)
        throw InputError(origin, 0, name, std::to_string(value), "a cost must be a finite number >= 0");
  }
  json::Value to_json() const {
    json::Value v = json::Value::object();
    v["false_demote"] = false_demote;
    v["review"] = review;
    v["missed_spam"] = missed_spam;
    return v;
  }
};

inline Decision decide(int predicted, double confidence, const PolicyThresholds& t) {
  if (predicted != 1) return Decision::Keep;
  if (confidence >= t.demote) return Decision::Demote;
  if (confidence >= t.review) return Decision::Review;
  return Decision::Keep;
}

inline Decision decide(const Prediction& p, const PolicyThresholds& t) { return decide(p.predicted, p.confidence, t); }

inline void apply_policy(std::vector<Prediction>& rows, const PolicyThresholds& t) {
  for (auto& p : rows) p.decision = decide(p, t);
}

// The policy's outcome on labeled rows: decisions by truth, macro F1 of "demoted", expected cost.
struct PolicyOutcome {
  PolicyThresholds thresholds;
  std::size_t rows = 0;
  std::size_t decisions[2][3] = {{0, 0, 0}, {0, 0, 0}};  // [truth][keep, review, demote]
  BinaryMetrics demote_metrics;                          // "demoted" as the spam prediction
  std::optional<double> expected_cost;                   // per labeled listing; undefined when empty

  std::size_t count(Decision d) const { return decisions[0][int(d)] + decisions[1][int(d)]; }
  std::optional<double> macro_f1() const { return demote_metrics.macro_f1; }

  json::Value to_json() const {
    json::Value v = thresholds.to_json();
    v["rows"] = rows;
    if (rows == 0) {
      v["empty"] = true;
      return v;
    }
    json::Value d = json::Value::object();
    for (int truth = 0; truth < 2; ++truth) {
      json::Value row = json::Value::object();
      for (int k = 0; k < 3; ++k) row[to_string(static_cast<Decision>(k))] = decisions[truth][k];
      d[kClassNames[truth]] = row;
    }
    v["decisions_by_truth"] = d;
    v["macro_f1"] = *demote_metrics.macro_f1;
    v["demote_precision"] = demote_metrics.per_class[1].precision ? json::Value(*demote_metrics.per_class[1].precision)
                                                                  : json::Value(nullptr);
    v["demote_recall"] =
        demote_metrics.per_class[1].recall ? json::Value(*demote_metrics.per_class[1].recall) : json::Value(nullptr);
    v["spam_caught_by_review_or_demote"] = decisions[1][1] + decisions[1][2];
    v["expected_cost_per_listing"] = *expected_cost;
    return v;
  }
};

// The outcome of given decisions (one per row, e.g. from per-fold thresholds) on the labeled rows.
inline PolicyOutcome summarize_decisions(const std::vector<Prediction>& rows, const std::vector<Decision>& decisions,
                                         const CostMatrix& costs) {
  if (decisions.size() != rows.size()) throw Error("summarize_decisions: one decision per row needed");
  PolicyOutcome out;
  std::vector<int> truth, demoted;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (!rows[i].truth) continue;
    out.decisions[*rows[i].truth][int(decisions[i])]++;
    truth.push_back(*rows[i].truth);
    demoted.push_back(decisions[i] == Decision::Demote ? 1 : 0);
  }
  out.rows = truth.size();
  out.demote_metrics = compute_metrics(truth, demoted);
  if (out.rows) {
    const double total = costs.false_demote * double(out.decisions[0][int(Decision::Demote)]) +
                         costs.review * double(out.count(Decision::Review)) +
                         costs.missed_spam * double(out.decisions[1][int(Decision::Keep)]);
    out.expected_cost = total / double(out.rows);
  }
  return out;
}

inline PolicyOutcome evaluate_policy(const std::vector<Prediction>& rows, const PolicyThresholds& t,
                                     const CostMatrix& costs) {
  std::vector<Decision> decisions;
  decisions.reserve(rows.size());
  for (const auto& p : rows) decisions.push_back(decide(p, t));
  auto out = summarize_decisions(rows, decisions, costs);
  out.thresholds = t;
  return out;
}

}  // namespace kspam::eval

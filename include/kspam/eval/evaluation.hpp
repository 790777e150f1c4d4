#pragma once
// One evaluation of one model's predictions, end to end: metrics of its verdicts, the policy at
// the given thresholds, the threshold sweep and the policy at the chosen point, calibration (ECE
// before/after isotonic regression and the thresholds chosen after it), slices and uplift against
// other models on the same rows. write_evaluation() puts it on disk:
//   metrics.json, classification_report.json, predictions_with_decisions.csv, threshold_sweep.csv,
//   calibration.json (the isotonic knots).
//
// Honest tuning: when validation predictions are given, thresholds are chosen and the calibrator
// is fitted on them, then applied unchanged to the evaluated rows. Without them, the evaluated
// labeled rows serve both purposes: the sweep's chosen point is then in-sample (optimistic, and
// metrics.json says "tuned_on": "evaluated rows (in-sample)"), and calibration is cross-fitted
// (5 stratified folds, seeded: each row's calibrated score comes from a model that never saw it),
// with the calibrator saved for later use fitted on all labeled rows.
#include <algorithm>
#include <array>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "kspam/core/atomic_file.hpp"
#include "kspam/core/json.hpp"
#include "kspam/data/read_listings.hpp"
#include "kspam/eval/calibration.hpp"
#include "kspam/eval/folds.hpp"
#include "kspam/eval/listing_images.hpp"
#include "kspam/eval/metrics.hpp"
#include "kspam/eval/policy.hpp"
#include "kspam/eval/predictions_csv.hpp"
#include "kspam/eval/slices.hpp"
#include "kspam/eval/sweep.hpp"
#include "kspam/eval/uplift.hpp"

namespace kspam::eval {

struct EvaluationInputs {
  std::string model_name = "model";
  std::filesystem::path predictions;
  std::filesystem::path val_predictions;  // optional: tuning and calibration set
  std::vector<std::pair<std::string, std::filesystem::path>> compare;  // other models, by name
  std::vector<std::filesystem::path> listings;  // optional: id check, slice columns, gallery text
  std::filesystem::path image_cache;            // optional: cached photos (SHA-1 of URL names)
};

struct EvaluationOptions {
  PolicyThresholds thresholds;  // the policy before tuning
  bool sweep = true;
  SweepGrid grid;
  SweepObjective objective = SweepObjective::MacroF1;
  CostMatrix costs;
  int calibration_bins = 10;
  int cross_fit_folds = 5;
  std::uint64_t seed = 42;
  std::vector<std::string> slice_columns;  // besides image_present
};

// Listings by product id, with the directory each came from (to resolve relative image paths).
class ListingIndex {
 public:
  void add(const std::filesystem::path& path) {
    tables_.push_back(data::read_listings(path.string()));
    const auto& t = tables_.back();
    for (std::size_t i = 0; i < t.rows.size(); ++i) by_id_[t.rows[i].product_id] = {tables_.size() - 1, i};
    sources_.push_back(path);
  }
  bool empty() const { return tables_.empty(); }
  const data::Listing* find(const std::string& id) const {
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : &tables_[it->second.first].rows[it->second.second];
  }
  std::filesystem::path dir_of(const std::string& id) const {
    auto it = by_id_.find(id);
    return it == by_id_.end() ? std::filesystem::path() : sources_[it->second.first].parent_path();
  }
  // The value of extra column `name` for `id`; nullopt when no table has that column for it.
  std::optional<std::string> extra(const std::string& id, const std::string& name) const {
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return std::nullopt;
    const auto& t = tables_[it->second.first];
    const int k = t.extra_index(name);
    if (k < 0) return std::nullopt;
    return t.rows[it->second.second].extra[static_cast<std::size_t>(k)];
  }
  bool has_column(const std::string& name) const {
    return std::any_of(tables_.begin(), tables_.end(), [&](const auto& t) { return t.extra_index(name) >= 0; });
  }
  std::string describe() const {
    std::string s;
    for (const auto& p : sources_) s += (s.empty() ? "" : ", ") + p.string();
    return s;
  }

 private:
  std::vector<data::ListingTable> tables_;
  std::vector<std::filesystem::path> sources_;
  std::unordered_map<std::string, std::pair<std::size_t, std::size_t>> by_id_;
};

struct CalibrationSummary {
  std::string fitted_on;  // "validation predictions" or "cross-fitted on the evaluated rows (k folds)"
  Reliability before, after;
  IsotonicCalibrator calibrator;  // the one to keep (fitted on validation, or on all labeled rows)
  std::optional<SweepResult> sweep_after;
  std::optional<PolicyOutcome> policy_after;  // on the evaluated rows, calibrated, at sweep_after's point

  json::Value to_json(const std::optional<PolicyThresholds>& chosen_before) const {
    json::Value v = json::Value::object();
    v["method"] = "isotonic regression (pool adjacent violators), increasing, clipped";
    v["fitted_on"] = fitted_on;
    v["score"] = "P(spam) (the 'score' column)";
    v["before"] = before.to_json();
    v["after"] = after.to_json();
    if (before.ece && after.ece) v["ece_change"] = *after.ece - *before.ece;
    if (chosen_before) v["chosen_thresholds_before"] = chosen_before->to_json();
    if (sweep_after) v["chosen_thresholds_after"] = sweep_after->chosen().thresholds.to_json();
    if (policy_after) v["policy_after"] = policy_after->to_json();
    return v;
  }
};

struct EvaluationResult {
  EvaluationInputs inputs;
  EvaluationOptions options;
  PredictionTable table;              // the evaluated predictions as read
  std::vector<Prediction> rows;       // with decisions at the chosen (or given) thresholds
  std::vector<double> calibrated;     // calibrated score per row (NaN where not computed)
  BinaryMetrics metrics;
  PolicyOutcome given;
  std::optional<SweepResult> sweep;
  std::string tuned_on;
  PolicyThresholds chosen;
  PolicyOutcome at_chosen;
  // Without a separate tuning set: thresholds chosen on k-1 folds, applied to the held-out fold,
  // pooled over the folds; an estimate of the chosen policy on rows it was not tuned on.
  std::optional<PolicyOutcome> cross_validated;
  std::vector<PolicyThresholds> cross_validated_thresholds;  // one per fold
  std::optional<CalibrationSummary> calibration;
  std::vector<Slice> slices;
  std::optional<Uplift> uplift;
  std::size_t image_present_rows = 0;
  std::string image_present_from;

  json::Value metrics_json() const {
    json::Value v = json::Value::object();
    v["model"] = inputs.model_name;
    json::Value in = json::Value::object();
    in["predictions"] = inputs.predictions.string();
    if (!inputs.val_predictions.empty()) in["val_predictions"] = inputs.val_predictions.string();
    json::Value listings = json::Value::array();
    for (const auto& l : inputs.listings) listings.push_back(l.string());
    in["listings"] = listings;
    if (!inputs.image_cache.empty()) in["image_cache"] = inputs.image_cache.string();
    json::Value compare = json::Value::object();
    for (const auto& [name, path] : inputs.compare) compare[name] = path.string();
    in["compare"] = compare;
    v["inputs"] = in;
    v["rows"] = table.rows.size();
    v["labeled_rows"] = metrics.rows;
    v["image_present_rows"] = image_present_rows;
    v["image_present_from"] = image_present_from;
    v["metrics"] = metrics.to_json();
    json::Value policy = json::Value::object();
    policy["definition"] =
        "demote if predicted spam and confidence >= demote_threshold; review if predicted spam and review_threshold <= "
        "confidence < demote_threshold; keep otherwise. macro_f1: sklearn macro F1 of (decision == demote) against "
        "the truth. expected_cost_per_listing: (false_demote * demoted clean + review * reviewed + missed_spam * kept "
        "spam) / labeled rows.";
    policy["costs"] = options.costs.to_json();
    policy["given"] = given.to_json();
    if (sweep) {
      json::Value s = sweep->to_json();
      s["grid"]["start"] = options.grid.start;
      s["grid"]["stop"] = options.grid.stop;
      s["grid"]["step"] = options.grid.step;
      s["tuned_on"] = tuned_on;
      policy["sweep"] = s;
    }
    if (cross_validated) {
      json::Value cv = cross_validated->to_json();
      cv["review_threshold"] = nullptr;  // thresholds differ per fold: listed below
      cv["demote_threshold"] = nullptr;
      json::Value per_fold = json::Value::array();
      for (const auto& t : cross_validated_thresholds) per_fold.push_back(t.to_json());
      cv["fold_thresholds"] = per_fold;
      cv["method"] = std::to_string(cross_validated_thresholds.size()) +
                     "-fold stratified cross-validation: thresholds swept on the other folds, applied to each held-out "
                     "fold, outcomes pooled (an honest estimate of the in-sample chosen point)";
      policy["cross_validated_estimate"] = cv;
    }
    policy["chosen_thresholds"] = chosen.to_json();
    policy["at_chosen"] = at_chosen.to_json();
    policy["expected_cost_at_chosen"] = at_chosen.expected_cost ? json::Value(*at_chosen.expected_cost) : json::Value(nullptr);
    policy["demote_metrics_at_chosen"] = at_chosen.demote_metrics.to_json();
    v["policy"] = policy;
    if (calibration)
      v["calibration"] = calibration->to_json(sweep ? std::optional<PolicyThresholds>(sweep->chosen().thresholds)
                                                    : std::nullopt);
    json::Value slices_json = json::Value::object();
    for (const auto& s : slices) slices_json[s.column] = s.to_json();
    v["slices"] = slices_json;
    if (uplift) v["uplift"] = uplift->to_json();
    return v;
  }
};

namespace detail {

inline std::vector<int> labels_of(const std::vector<Prediction>& rows, std::vector<double>* scores = nullptr) {
  std::vector<int> out;
  for (const auto& p : rows)
    if (p.truth) {
      out.push_back(*p.truth);
      if (scores) scores->push_back(p.score);
    }
  return out;
}

// A copy of `rows` whose scores are replaced by calibrated ones (verdict and confidence follow).
inline std::vector<Prediction> with_scores(const std::vector<Prediction>& rows, const std::vector<double>& score) {
  std::vector<Prediction> out = rows;
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i].score = score[i];
    out[i].predicted = score[i] >= 0.5 ? 1 : 0;
    out[i].confidence = out[i].predicted ? score[i] : 1.0 - score[i];
  }
  return out;
}

inline void check_ids(const PredictionTable& t, const ListingIndex& listings) {
  if (listings.empty()) return;
  for (std::size_t i = 0; i < t.rows.size(); ++i)
    if (!listings.find(t.rows[i].product_id))
      throw InputError(t.source, t.lines[i], "product_id", t.rows[i].product_id,
                       "unknown product id: not in the listings (" + listings.describe() + ")");
}

}  // namespace detail

inline EvaluationResult evaluate(const EvaluationInputs& inputs, const EvaluationOptions& options) {
  options.thresholds.validate("--review/--demote");
  options.costs.validate("--cost-*");
  EvaluationResult r;
  r.inputs = inputs;
  r.options = options;
  r.table = read_predictions_csv(inputs.predictions.string());
  if (r.table.rows.empty()) throw InputError(inputs.predictions.string(), "no predictions in the file");

  ListingIndex listings;
  for (const auto& path : inputs.listings) listings.add(path);
  detail::check_ids(r.table, listings);
  r.rows = r.table.rows;

  // Image present: the predictions say so when they carry the column (the model knows whether it
  // saw a photo); else a readable photo on disk for the listing; else just a non-empty URL.
  if (r.table.has_image_present) {
    r.image_present_from = "predictions column image_present";
  } else if (!listings.empty()) {
    r.image_present_from = "a readable photo in the image cache or beside the listings";
    for (auto& p : r.rows) {
      const auto* l = listings.find(p.product_id);
      p.image_present = l && resolve_listing_image(l->image_url, listings.dir_of(p.product_id), inputs.image_cache);
    }
  } else {
    r.image_present_from = "unknown (no image_present column and no listings given): all rows count as missing";
  }
  for (const auto& p : r.rows) r.image_present_rows += p.image_present;

  r.metrics = compute_metrics(r.rows);
  if (r.metrics.empty())
    throw InputError(inputs.predictions.string(), "no labeled rows: evaluation needs the truth (the label column)");
  r.given = evaluate_policy(r.rows, options.thresholds, options.costs);

  std::optional<PredictionTable> val;
  if (!inputs.val_predictions.empty()) {
    val = read_predictions_csv(inputs.val_predictions.string());
    detail::check_ids(*val, listings);
    if (compute_metrics(val->rows).empty())
      throw InputError(inputs.val_predictions.string(), "no labeled rows to tune thresholds or fit calibration on");
  }
  const std::vector<Prediction>& tuning = val ? val->rows : r.rows;
  r.tuned_on = val ? "validation predictions (" + inputs.val_predictions.string() + ")" : "evaluated rows (in-sample)";

  r.chosen = options.thresholds;
  if (options.sweep) {
    r.sweep = sweep_thresholds(tuning, options.grid, options.objective, options.costs);
    r.chosen = r.sweep->chosen().thresholds;
  }
  r.at_chosen = evaluate_policy(r.rows, r.chosen, options.costs);
  apply_policy(r.rows, r.chosen);

  if (options.sweep && !val) {
    // Labeled rows only, in order; folds as the calibration's cross-fitting draws them.
    std::vector<Prediction> labeled;
    for (const auto& p : r.rows)
      if (p.truth) labeled.push_back(p);
    std::vector<int> truth;
    for (const auto& p : labeled) truth.push_back(*p.truth);
    const int folds = std::max(2, options.cross_fit_folds);
    const auto fold_of = stratified_folds(truth, folds, options.seed);
    std::vector<Decision> decisions(labeled.size(), Decision::Keep);
    for (int f = 0; f < folds; ++f) {
      std::vector<Prediction> train;
      for (std::size_t i = 0; i < labeled.size(); ++i)
        if (fold_of[i] != f) train.push_back(labeled[i]);
      if (train.empty()) continue;
      const auto t = sweep_thresholds(train, options.grid, options.objective, options.costs).chosen().thresholds;
      r.cross_validated_thresholds.push_back(t);
      for (std::size_t i = 0; i < labeled.size(); ++i)
        if (fold_of[i] == f) decisions[i] = decide(labeled[i], t);
    }
    r.cross_validated = summarize_decisions(labeled, decisions, options.costs);
  }

  // Calibration.
  {
    CalibrationSummary cal;
    std::vector<double> scores;
    const auto truth = detail::labels_of(r.rows, &scores);
    cal.before = reliability(truth, scores, options.calibration_bins);
    std::vector<double> tuning_scores;
    const auto tuning_truth = detail::labels_of(tuning, &tuning_scores);
    const std::vector<double> tuning_y(tuning_truth.begin(), tuning_truth.end());
    cal.calibrator.fit(tuning_scores, tuning_y);
    r.calibrated.assign(r.rows.size(), 0.0);
    std::vector<double> labeled_after;
    if (val) {
      cal.fitted_on = "validation predictions (" + inputs.val_predictions.string() + ")";
      for (std::size_t i = 0; i < r.rows.size(); ++i) r.calibrated[i] = cal.calibrator.predict(r.rows[i].score);
      for (const auto& p : r.rows)
        if (p.truth) labeled_after.push_back(cal.calibrator.predict(p.score));
    } else {
      cal.fitted_on = "cross-fitted on the evaluated rows (" + std::to_string(std::max(2, options.cross_fit_folds)) +
                      " stratified folds, seed " + std::to_string(options.seed) +
                      "); calibration.json holds the model fitted on all labeled rows";
      labeled_after = cross_fit_isotonic(truth, scores, options.cross_fit_folds, options.seed);
      std::size_t k = 0;
      for (std::size_t i = 0; i < r.rows.size(); ++i)
        r.calibrated[i] = r.rows[i].truth ? labeled_after[k++] : cal.calibrator.predict(r.rows[i].score);
    }
    cal.after = reliability(truth, labeled_after, options.calibration_bins);
    if (options.sweep) {
      const auto calibrated_rows = detail::with_scores(r.rows, r.calibrated);
      if (val) {
        std::vector<double> vs;
        for (const auto& p : val->rows) vs.push_back(cal.calibrator.predict(p.score));
        cal.sweep_after = sweep_thresholds(detail::with_scores(val->rows, vs), options.grid, options.objective, options.costs);
      } else {
        cal.sweep_after = sweep_thresholds(calibrated_rows, options.grid, options.objective, options.costs);
      }
      cal.policy_after = evaluate_policy(calibrated_rows, cal.sweep_after->chosen().thresholds, options.costs);
    }
    r.calibration = std::move(cal);
  }

  // Slices at the chosen thresholds.
  {
    std::vector<std::optional<bool>> flags;
    for (const auto& p : r.rows) flags.push_back(p.image_present);
    r.slices.push_back(compute_slice("image_present", r.rows, flags, r.chosen, options.costs));
  }
  for (const auto& column_raw : options.slice_columns) {
    const std::string column = detail::lower(detail::trim_field(column_raw));
    if (column == "image_present") continue;
    const int k = r.table.extra_index(column);
    if (k < 0 && !listings.has_column(column))
      throw InputError("--slice", 0, "", column_raw,
                       "no such column in " + inputs.predictions.string() +
                           (listings.empty() ? std::string() : " or in the listings (" + listings.describe() + ")"));
    std::vector<std::optional<bool>> flags;
    for (std::size_t i = 0; i < r.rows.size(); ++i) {
      if (k >= 0) {
        flags.push_back(parse_bool_cell(r.table.source, r.table.lines[i], column, r.table.extra[i][std::size_t(k)]));
      } else {
        const auto* l = listings.find(r.rows[i].product_id);
        const auto v = listings.extra(r.rows[i].product_id, column);
        flags.push_back(v ? parse_bool_cell(listings.describe(), l ? l->line : 0, column, *v) : std::nullopt);
      }
    }
    r.slices.push_back(compute_slice(column, r.rows, flags, r.chosen, options.costs));
  }

  // Uplift against the other models on the same rows, at the chosen thresholds.
  if (!inputs.compare.empty()) {
    std::vector<PredictionTable> others;
    others.reserve(inputs.compare.size());
    for (const auto& [name, path] : inputs.compare) {
      others.push_back(read_predictions_csv(path.string()));
      detail::check_ids(others.back(), listings);
    }
    std::vector<ModelPredictions> models = {{inputs.model_name, inputs.predictions.string(), &r.rows}};
    for (std::size_t i = 0; i < others.size(); ++i)
      models.push_back({inputs.compare[i].first, inputs.compare[i].second.string(), &others[i].rows});
    r.uplift = compare_models(models, r.chosen, options.costs);
  }
  return r;
}

// Writes the evaluation's files into `dir` (each atomically).
inline void write_evaluation(const EvaluationResult& r, const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  write_file_atomically(dir / "metrics.json", r.metrics_json().dump());
  write_file_atomically(dir / "classification_report.json", classification_report(r.metrics).dump());
  // Extra columns pass through; calibrated_score is (re)written, so evaluating our own output works.
  std::vector<std::string> extra_columns = r.table.extra_columns;
  std::vector<std::vector<std::string>> extra = r.table.extra;
  auto at = std::find(extra_columns.begin(), extra_columns.end(), "calibrated_score");
  const auto k = static_cast<std::size_t>(at - extra_columns.begin());
  if (at == extra_columns.end()) extra_columns.push_back("calibrated_score");
  for (std::size_t i = 0; i < extra.size(); ++i) {
    if (k < extra[i].size()) extra[i][k] = csv_number(r.calibrated.at(i));
    else extra[i].push_back(csv_number(r.calibrated.at(i)));
  }
  write_predictions_csv(dir / "predictions_with_decisions.csv", r.rows, extra_columns, extra);
  if (r.sweep) r.sweep->write_csv(dir / "threshold_sweep.csv");
  if (r.calibration) {
    json::Value c = r.calibration->calibrator.to_json();
    c["fitted_on"] = r.calibration->fitted_on;
    write_file_atomically(dir / "calibration.json", c.dump());
  }
}

// Applies an evaluation's chosen policy (and its calibrator) to another predictions file, e.g. the
// model's predictions on the unlabeled test listings: the same columns plus calibrated_score, each
// row's decision at the chosen thresholds. Returns the number of rows of each decision.
inline std::array<std::size_t, 3> write_decisions_for(const EvaluationResult& r, const std::filesystem::path& predictions,
                                                      const std::filesystem::path& out) {
  auto table = read_predictions_csv(predictions.string());
  apply_policy(table.rows, r.chosen);
  std::array<std::size_t, 3> counts{0, 0, 0};
  for (const auto& p : table.rows) counts[std::size_t(p.decision)]++;
  auto columns = table.extra_columns;
  auto extra = table.extra;
  const bool calibrate = r.calibration && r.calibration->calibrator.fitted();
  if (calibrate) {
    const auto at = std::find(columns.begin(), columns.end(), "calibrated_score");
    const auto k = static_cast<std::size_t>(at - columns.begin());
    if (at == columns.end()) columns.push_back("calibrated_score");
    for (std::size_t i = 0; i < extra.size(); ++i) {
      const auto v = csv_number(r.calibration->calibrator.predict(table.rows[i].score));
      if (k < extra[i].size()) extra[i][k] = v;
      else extra[i].push_back(v);
    }
  }
  write_predictions_csv(out, table.rows, columns, extra);
  return counts;
}

}  // namespace kspam::eval

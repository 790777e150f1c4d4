#pragma once
// The classic baseline as one piece: TF-IDF (fitted on the training descriptions only) feeding a
// logistic regression, plus the legacy heuristic, both answering with eval::Prediction records so
// that every evaluation treats them like the VLM. Also the baseline's predictions CSV
// (product_id,label,score,pred; score = P(spam); label empty when unknown).
#include <filesystem>
#include <string>
#include <vector>

#include "kspam/classic/legacy_heuristic.hpp"
#include "kspam/classic/logistic_regression.hpp"
#include "kspam/classic/tfidf_vectorizer.hpp"
#include "kspam/core/atomic_file.hpp"
#include "kspam/core/csv_writer.hpp"
#include "kspam/core/json.hpp"
#include "kspam/data/label_quality.hpp"
#include "kspam/data/listing.hpp"
#include "kspam/eval/prediction.hpp"

namespace kspam::classic {

struct BaselineOptions {
  TfidfOptions tfidf = TfidfOptions::baseline();
  LogisticOptions logistic;
  data::LabelQualityPolicy label_quality;  // how annotator agreement weights the training rows
};

class TfidfLogisticBaseline {
 public:
  explicit TfidfLogisticBaseline(BaselineOptions options = {})
      : options_(std::move(options)), vectorizer_(options_.tfidf), model_(options_.logistic) {}

  // Fits on the labeled rows of `train` (unlabeled rows are ignored; the label-quality policy gives
  // each row its weight, 0 = left out). `source` names the data in error messages.
  void fit(const std::vector<data::Listing>& train, const std::string& source = "training data") {
    std::vector<std::size_t> used;
    std::vector<double> weights;
    std::vector<int> labels;
    for (std::size_t i = 0; i < train.size(); ++i) {
      if (!train[i].label) continue;
      const double w = options_.label_quality.weight(train[i]);
      if (options_.label_quality.mode == data::LabelQuality::ExcludeBelow && w == 0.0) continue;
      used.push_back(i);
      weights.push_back(w);
      labels.push_back(*train[i].label);
    }
    if (used.empty()) throw InputError(source, "no labeled rows to train the baseline on");
    try {
      const SparseMatrix X =
          vectorizer_.fit_transform(used.size(), [&](std::size_t k) { return std::string_view(train[used[k]].description); });
      const bool weighted = options_.label_quality.mode == data::LabelQuality::WeightByConfidence;
      model_.fit(X, labels, weighted ? weights : std::vector<double>{});
    } catch (const InputError& e) {
      throw InputError(source, 0, e.column(), e.value(), e.file() + ": " + e.problem());
    }
    train_rows_ = used.size();
    for (int y : labels) train_spam_ += y == 1;
  }

  std::vector<eval::Prediction> predict(const std::vector<data::Listing>& rows) const {
    const SparseMatrix X =
        vectorizer_.transform(rows.size(), [&](std::size_t i) { return std::string_view(rows[i].description); });
    const Eigen::VectorXd p = model_.predict_proba(X);
    std::vector<eval::Prediction> out;
    out.reserve(rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i)
      out.push_back(eval::Prediction::from_probability(rows[i].product_id, rows[i].label, p[static_cast<Eigen::Index>(i)]));
    return out;
  }

  const TfidfVectorizer& vectorizer() const { return vectorizer_; }
  const LogisticRegression& model() const { return model_; }

  // What was fitted, for baseline_metrics.json.
  json::Value describe() const {
    json::Value v = json::Value::object();
    v["model"] = "tfidf + logistic regression";
    v["train_rows"] = train_rows_;
    v["train_spam"] = train_spam_;
    v["label_quality"] = options_.label_quality.describe();
    json::Value tf = options_.tfidf.to_json();
    tf["n_features"] = vectorizer_.n_features();
    const auto& cut = vectorizer_.cut_report();
    if (cut.applied) {
      tf["max_features_cut"]["candidates"] = cut.candidates;
      tf["max_features_cut"]["count_at_cut"] = cut.count_at_cut;
      tf["max_features_cut"]["tied_terms_dropped"] = cut.dropped_at_cut;
    }
    v["tfidf"] = tf;
    json::Value lr = options_.logistic.to_json();
    lr["newton_iterations"] = model_.n_iter();
    lr["converged"] = model_.converged();
    lr["max_abs_gradient"] = model_.final_gradient();
    lr["intercept"] = model_.intercept();
    v["logistic"] = lr;
    return v;
  }

 private:
  BaselineOptions options_;
  TfidfVectorizer vectorizer_;
  LogisticRegression model_;
  std::size_t train_rows_ = 0;
  std::size_t train_spam_ = 0;
};

inline std::vector<eval::Prediction> legacy_predict(const LegacyKeywordHeuristic& heuristic,
                                                    const std::vector<data::Listing>& rows) {
  std::vector<eval::Prediction> out;
  out.reserve(rows.size());
  for (const auto& row : rows) {
    const auto verdict = heuristic.score(row.description);
    eval::Prediction p;
    p.product_id = row.product_id;
    p.truth = row.label;
    p.score = verdict.score;
    p.predicted = verdict.spam ? 1 : 0;
    p.confidence = verdict.spam ? verdict.score : 1.0 - verdict.score;
    p.reason = verdict.reason;
    out.push_back(std::move(p));
  }
  return out;
}

// product_id,label,score,pred: the columns every consumer of the baseline reads (eval's reader
// takes them as they are). Written atomically; a non-finite score is a bug, never written.
inline void write_baseline_predictions(const std::filesystem::path& path, const std::vector<eval::Prediction>& rows) {
  AtomicFileWriter writer(path);
  auto& out = writer.stream();
  write_csv_row(out, {"product_id", "label", "score", "pred"});
  for (const auto& p : rows) {
    if (!std::isfinite(p.score)) throw Error("baseline produced a non-finite score for " + p.product_id);
    write_csv_row(out, {p.product_id, p.truth ? std::to_string(*p.truth) : std::string(), csv_number(p.score),
                        std::to_string(p.predicted)});
  }
  writer.commit();
}

}  // namespace kspam::classic

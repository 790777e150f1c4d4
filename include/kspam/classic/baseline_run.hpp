#pragma once
// One baseline run over files, shared by `kspam baseline` and the `kspam run` stage: read the
// training and evaluation listings, fit TF-IDF + logistic regression on the training descriptions
// only, score the evaluation rows (and any further files) with the model and the legacy heuristic,
// and write into `out`:
//   baseline_metrics.json, baseline_predictions.csv     the model on the evaluation file
//   legacy_metrics.json,   legacy_predictions.csv       the legacy heuristic on the same rows
//   baseline_predictions_<name>.csv, legacy_predictions_<name>.csv   for each further file
// Metrics are eval::compute_metrics (scikit-learn's definitions); an unlabeled evaluation file gives
// {"rows": 0, "empty": true}. Every file is written atomically.
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "kspam/classic/baseline.hpp"
#include "kspam/core/atomic_file.hpp"
#include "kspam/core/json.hpp"
#include "kspam/core/timer.hpp"
#include "kspam/data/read_listings.hpp"
#include "kspam/eval/metrics.hpp"

namespace kspam::classic {

struct BaselineRunRequest {
  std::filesystem::path train;
  std::filesystem::path eval;
  std::vector<std::pair<std::string, std::filesystem::path>> predict;  // (name, listings file)
  std::filesystem::path out;
  BaselineOptions options;
  LegacyHeuristicConfig legacy;
};

struct BaselineRunResult {
  json::Value summary;  // what record_stage should keep
  std::filesystem::path baseline_predictions, legacy_predictions;
  std::vector<std::pair<std::string, std::filesystem::path>> baseline_extra, legacy_extra;
};

namespace detail {
inline json::Value metrics_file(const std::string& model, const json::Value& about, const eval::BinaryMetrics& m,
                                const std::filesystem::path& eval_file) {
  json::Value v = json::Value::object();
  v["model"] = model;
  v["eval_file"] = eval_file.string();
  v["threshold"] = 0.5;
  const json::Value metrics = m.to_json();
  for (const auto& [key, value] : metrics.as_object()) v[key] = value;
  v["about"] = about;
  return v;
}
}  // namespace detail

// `say` receives one progress line at a time (the CLI prints them).
inline BaselineRunResult run_baseline(const BaselineRunRequest& request,
                                      const std::function<void(const std::string&)>& say = {}) {
  auto tell = [&](const std::string& line) {
    if (say) say(line);
  };
  Stopwatch total;
  data::ReadOptions labeled;
  labeled.require_labels = true;
  const auto train = data::read_listings(request.train.string(), labeled);
  const auto evaluation = data::read_listings(request.eval.string());
  std::filesystem::create_directories(request.out);

  Stopwatch fit_watch;
  TfidfLogisticBaseline baseline(request.options);
  baseline.fit(train.rows, request.train.string());
  const double fit_seconds = fit_watch.seconds();
  const auto& model = baseline.model();
  char line[256];
  std::snprintf(line, sizeof line, "fitted on %zu rows: %zu TF-IDF features, logistic regression %s after %d Newton steps (%.2f s)",
                train.rows.size(), baseline.vectorizer().n_features(), model.converged() ? "converged" : "did NOT converge",
                model.n_iter(), fit_seconds);
  tell(line);

  const LegacyKeywordHeuristic heuristic(request.legacy);
  BaselineRunResult result;
  Stopwatch predict_watch;
  const auto model_preds = baseline.predict(evaluation.rows);
  const auto legacy_preds = legacy_predict(heuristic, evaluation.rows);
  result.baseline_predictions = request.out / "baseline_predictions.csv";
  result.legacy_predictions = request.out / "legacy_predictions.csv";
  write_baseline_predictions(result.baseline_predictions, model_preds);
  write_baseline_predictions(result.legacy_predictions, legacy_preds);

  const auto model_metrics = eval::compute_metrics(model_preds);
  const auto legacy_metrics = eval::compute_metrics(legacy_preds);
  json::Value about = baseline.describe();
  about["train_file"] = request.train.string();
  write_file_atomically(request.out / "baseline_metrics.json",
                        detail::metrics_file("tfidf_logistic", about, model_metrics, request.eval).dump());
  json::Value legacy_about = json::Value::object();
  legacy_about["model"] = "legacy keyword heuristic";
  legacy_about["config"] = request.legacy.to_json();
  write_file_atomically(request.out / "legacy_metrics.json",
                        detail::metrics_file("legacy_heuristic", legacy_about, legacy_metrics, request.eval).dump());

  auto summary_line = [&](const char* name, const eval::BinaryMetrics& m) {
    if (m.empty()) {
      std::snprintf(line, sizeof line, "%s: %s has no labels, predictions only", name, request.eval.string().c_str());
    } else {
      std::snprintf(line, sizeof line, "%-16s on %zu rows: macro F1 %.3f, spam F1 %.3f, accuracy %.3f, AUPRC %.3f", name,
                    m.rows, m.macro_f1.value_or(0.0), m.spam_f1(), m.accuracy.value_or(0.0),
                    m.average_precision.value_or(0.0));
    }
    tell(line);
  };
  summary_line("baseline", model_metrics);
  summary_line("legacy heuristic", legacy_metrics);

  json::Value extra_files = json::Value::object();
  for (const auto& [name, path] : request.predict) {
    const auto rows = data::read_listings(path.string());
    const auto b = request.out / ("baseline_predictions_" + name + ".csv");
    const auto l = request.out / ("legacy_predictions_" + name + ".csv");
    write_baseline_predictions(b, baseline.predict(rows.rows));
    write_baseline_predictions(l, legacy_predict(heuristic, rows.rows));
    result.baseline_extra.emplace_back(name, b);
    result.legacy_extra.emplace_back(name, l);
    extra_files[name]["source"] = path.string();
    extra_files[name]["rows"] = rows.rows.size();
    tell("predicted " + std::to_string(rows.rows.size()) + " rows of " + path.string() + " -> " + b.string());
  }

  json::Value s = json::Value::object();
  s["config"]["train"] = request.train.string();
  s["config"]["eval"] = request.eval.string();
  s["config"]["tfidf"] = request.options.tfidf.to_json();
  s["config"]["logistic"] = request.options.logistic.to_json();
  s["config"]["label_quality"] = request.options.label_quality.describe();
  s["sizes"]["train_rows"] = train.rows.size();
  s["sizes"]["eval_rows"] = evaluation.rows.size();
  s["sizes"]["features"] = baseline.vectorizer().n_features();
  s["sizes"]["predicted"] = extra_files;
  s["model"]["newton_iterations"] = model.n_iter();
  s["model"]["converged"] = model.converged();
  s["eval"]["baseline_macro_f1"] = model_metrics.macro_f1 ? json::Value(*model_metrics.macro_f1) : json::Value();
  s["eval"]["legacy_macro_f1"] = legacy_metrics.macro_f1 ? json::Value(*legacy_metrics.macro_f1) : json::Value();
  s["seconds"]["fit"] = fit_seconds;
  s["seconds"]["predict"] = predict_watch.seconds();
  s["seconds"]["total"] = total.seconds();
  result.summary = s;
  return result;
}

}  // namespace kspam::classic

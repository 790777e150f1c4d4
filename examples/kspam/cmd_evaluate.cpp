// kspam evaluate: metrics, policy, threshold sweep, calibration, slices and uplift for one model's
// predictions CSV; writes metrics.json, classification_report.json, predictions_with_decisions.csv,
// threshold_sweep.csv and calibration.json into --out and records the stage in run_metadata.json.
#include <memory>

#include "cli.hpp"
#include "kspam/core/run_metadata.hpp"
#include "kspam/core/timer.hpp"
#include "kspam/eval/evaluation.hpp"

namespace kspam::cli {
namespace {

struct EvaluateArgs {
  std::string predictions, val_predictions, out, image_cache, model = "model", objective = "macro_f1";
  std::vector<std::string> compare, listings, slices;
  eval::EvaluationOptions options;
  bool no_sweep = false;
};

std::string fmt3(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

const CommandRegistrar registrar{{
    "evaluate",
    "Score a predictions CSV: metrics, keep/review/demote policy, threshold sweep, calibration, slices, uplift",
    [](CLI::App& app) {
      auto a = std::make_shared<EvaluateArgs>();
      app.add_option("--predictions", a->predictions,
                     "Predictions CSV (product_id,label,score,pred[,confidence,reason,decision,image_present,raw_output])")
          ->required();
      app.add_option("--out", a->out, "Directory for the evaluation's files")->required();
      app.add_option("--model-name", a->model, "Name of the model in tables and the report")->capture_default_str();
      app.add_option("--val-predictions", a->val_predictions,
                     "Predictions on a separate labeled set: thresholds are tuned and the calibrator fitted there "
                     "(without it: in-sample tuning, cross-fitted calibration)");
      app.add_option("--compare", a->compare, "Other models on the same rows for the uplift table, as NAME=CSV (repeatable)");
      app.add_option("--listings", a->listings,
                     "Listings TSV(s) the predictions came from: unknown ids become errors, and slices/gallery use them");
      app.add_option("--image-cache", a->image_cache, "Directory of cached photos (named by SHA-1 of the URL)");
      app.add_option("--slice", a->slices, "Boolean column to slice by, besides image_present (repeatable)");
      app.add_option("--review", a->options.thresholds.review, "Review threshold on confidence")->capture_default_str();
      app.add_option("--demote", a->options.thresholds.demote, "Demote threshold on confidence")->capture_default_str();
      app.add_flag("--no-sweep", a->no_sweep, "Keep the given thresholds instead of choosing them by a sweep");
      app.add_option("--objective", a->objective, "Sweep objective: macro_f1 (maximise) or cost (minimise)")
          ->capture_default_str();
      app.add_option("--grid-step", a->options.grid.step, "Step of the threshold grid over [0, 1]")->capture_default_str();
      app.add_option("--cost-false-demote", a->options.costs.false_demote, "Cost of demoting a good listing")
          ->capture_default_str();
      app.add_option("--cost-review", a->options.costs.review, "Cost of one manual review")->capture_default_str();
      app.add_option("--cost-missed-spam", a->options.costs.missed_spam, "Cost of leaving spam in place")
          ->capture_default_str();
      app.add_option("--bins", a->options.calibration_bins, "Reliability bins for ECE")->capture_default_str();
      app.add_option("--folds", a->options.cross_fit_folds, "Folds for cross-fitted calibration")->capture_default_str();
      app.add_option("--seed", a->options.seed, "Seed for the calibration folds")->capture_default_str();
      app.callback([a] {
        Stopwatch watch;
        eval::EvaluationInputs in;
        in.model_name = a->model;
        in.predictions = a->predictions;
        in.val_predictions = a->val_predictions;
        in.image_cache = a->image_cache;
        for (const auto& l : a->listings) in.listings.emplace_back(l);
        for (const auto& c : a->compare) {
          const auto eq = c.find('=');
          if (eq == std::string::npos || eq == 0 || eq + 1 == c.size())
            throw InputError("--compare", 0, "", c, "expected NAME=PREDICTIONS.csv");
          in.compare.emplace_back(c.substr(0, eq), c.substr(eq + 1));
        }
        a->options.sweep = !a->no_sweep;
        a->options.objective = eval::parse_objective(a->objective);
        a->options.slice_columns = a->slices;
        if (a->options.calibration_bins < 1 || a->options.calibration_bins > 1000)
          throw InputError("--bins", 0, "", std::to_string(a->options.calibration_bins), "must be between 1 and 1000");
        const auto result = eval::evaluate(in, a->options);
        eval::write_evaluation(result, a->out);

        const auto& m = result.metrics;
        say("evaluate", a->model + ": " + std::to_string(m.rows) + " labeled rows, macro F1 " + fmt3(*m.macro_f1) +
                            ", AUPRC " + (m.average_precision ? fmt3(*m.average_precision) : "undefined") +
                            ", ROC-AUC " + (m.roc_auc ? fmt3(*m.roc_auc) : "undefined"));
        say("evaluate", "policy at review " + fmt3(result.chosen.review) + " / demote " + fmt3(result.chosen.demote) +
                            (result.sweep ? " (chosen by " + std::string(eval::to_string(a->options.objective)) + " on " +
                                                result.tuned_on + ")"
                                          : " (given)") +
                            ": macro F1 " + fmt3(*result.at_chosen.macro_f1()) + ", expected cost " +
                            fmt3(*result.at_chosen.expected_cost) + " per listing");
        if (result.calibration && result.calibration->before.ece && result.calibration->after.ece)
          say("evaluate", "ECE " + fmt3(*result.calibration->before.ece) + " -> " + fmt3(*result.calibration->after.ece) +
                              " after isotonic calibration");
        json::Value record = json::Value::object();
        record["config"]["model"] = a->model;
        record["config"]["predictions"] = a->predictions;
        record["config"]["thresholds_given"] = a->options.thresholds.to_json();
        record["config"]["objective"] = eval::to_string(a->options.objective);
        record["config"]["costs"] = a->options.costs.to_json();
        record["sizes"]["rows"] = result.rows.size();
        record["sizes"]["labeled"] = m.rows;
        record["chosen_thresholds"] = result.chosen.to_json();
        record["seconds"] = watch.seconds();
        record_stage(a->out, "evaluate", record);
        say("evaluate", "wrote metrics.json, classification_report.json, predictions_with_decisions.csv" +
                            std::string(result.sweep ? ", threshold_sweep.csv" : "") + " to " + a->out);
      });
    }}};

}  // namespace
}  // namespace kspam::cli

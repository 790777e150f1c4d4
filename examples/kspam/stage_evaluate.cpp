// `kspam run` stage 80: evaluate the best model available (the VLM when it ran, else the TF-IDF
// baseline), with uplift against the others (baseline, legacy heuristic) on the same rows.
#include "cli.hpp"
#include "kspam/core/run_metadata.hpp"
#include "kspam/core/timer.hpp"
#include "kspam/eval/evaluation.hpp"

namespace kspam::cli {
namespace {

struct EvalStageOptions {
  std::string objective = "macro_f1";
  std::vector<std::string> slices;
  eval::EvaluationOptions options;
};

EvalStageOptions& stage_options() {
  static EvalStageOptions o;
  return o;
}

const StageRegistrar evaluate_stage{{
    80, "evaluate", "metrics, policy sweep, calibration, slices, uplift",
    [](CLI::App& app) {
      auto& o = stage_options();
      app.add_option("--review-threshold", o.options.thresholds.review, "Policy: review threshold before the sweep")
          ->capture_default_str();
      app.add_option("--demote-threshold", o.options.thresholds.demote, "Policy: demote threshold before the sweep")
          ->capture_default_str();
      app.add_option("--objective", o.objective, "Threshold sweep objective: macro_f1 or cost")->capture_default_str();
      app.add_option("--cost-false-demote", o.options.costs.false_demote, "Cost of demoting a good listing")
          ->capture_default_str();
      app.add_option("--cost-review", o.options.costs.review, "Cost of one manual review")->capture_default_str();
      app.add_option("--cost-missed-spam", o.options.costs.missed_spam, "Cost of leaving spam in place")
          ->capture_default_str();
      app.add_option("--slice", o.slices, "Boolean listing column to slice metrics by, besides image_present");
    },
    [](RunContext& context) {
      Stopwatch watch;
      auto& o = stage_options();
      // The best model available evaluates; the others become the uplift comparison.
      const std::pair<const char*, const char*> models[] = {
          {"vlm", "vlm_predictions"}, {"baseline", "baseline_predictions"}, {"legacy", "legacy_predictions"}};
      eval::EvaluationInputs in;
      for (const auto& [name, role] : models) {
        auto it = context.artifacts.find(role);
        if (it == context.artifacts.end()) continue;
        if (in.predictions.empty()) {
          in.model_name = name;
          in.predictions = it->second;
          auto val = context.artifacts.find(std::string(name) + "_val_predictions");
          if (val != context.artifacts.end()) in.val_predictions = val->second;
        } else {
          in.compare.emplace_back(name, it->second);
        }
      }
      if (in.predictions.empty()) {
        say("evaluate", "no model predictions in this run (neither the VLM nor the baseline stage ran): nothing to evaluate");
        return;
      }
      in.listings.push_back(context.data);
      if (!context.test.empty()) in.listings.push_back(context.test);
      if (auto it = context.artifacts.find("image_cache"); it != context.artifacts.end()) in.image_cache = it->second;
      auto options = o.options;
      options.objective = eval::parse_objective(o.objective);
      options.slice_columns = o.slices;
      options.seed = context.seed;
      const auto result = eval::evaluate(in, options);
      eval::write_evaluation(result, context.out);
      context.artifacts["metrics"] = context.out / "metrics.json";
      context.artifacts["predictions_with_decisions"] = context.out / "predictions_with_decisions.csv";
      // The same model's predictions on the other files (test, unlabeled): decisions at the chosen point.
      for (const char* part : {"test", "unlabeled"}) {
        auto it = context.artifacts.find(in.model_name + "_" + part + "_predictions");
        if (it == context.artifacts.end()) continue;
        const auto out = context.out / (std::string(part) + "_predictions_with_decisions.csv");
        const auto counts = eval::write_decisions_for(result, it->second, out);
        context.artifacts[std::string(part) + "_predictions_with_decisions"] = out;
        say("evaluate", std::string(part) + ": " + std::to_string(counts[0]) + " keep, " + std::to_string(counts[1]) +
                            " review, " + std::to_string(counts[2]) + " demote -> " + out.string());
      }
      char line[256];
      std::snprintf(line, sizeof line, "%s: macro F1 %.3f on %zu labeled rows; review %.2f / demote %.2f, expected cost %.3f",
                    in.model_name.c_str(), *result.metrics.macro_f1, result.metrics.rows, result.chosen.review,
                    result.chosen.demote, *result.at_chosen.expected_cost);
      say("evaluate", line);
      json::Value record = json::Value::object();
      record["config"]["model"] = in.model_name;
      record["config"]["predictions"] = in.predictions.string();
      record["config"]["objective"] = o.objective;
      record["config"]["costs"] = options.costs.to_json();
      record["sizes"]["rows"] = result.rows.size();
      record["sizes"]["labeled"] = result.metrics.rows;
      record["chosen_thresholds"] = result.chosen.to_json();
      record["seconds"] = watch.seconds();
      record_stage(context.out, "evaluate", record);
    }}};

}  // namespace
}  // namespace kspam::cli

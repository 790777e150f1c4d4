// `kspam run` stage 40: the legacy heuristic and the TF-IDF + logistic-regression baseline, fitted
// on the split's train.tsv, evaluated on val.tsv, and scoring the test and unlabeled files too.
#include <memory>

#include "cli.hpp"
#include "kspam/classic/baseline_run.hpp"
#include "kspam/core/json_parse.hpp"
#include "kspam/core/run_metadata.hpp"

namespace kspam::cli {
namespace {

std::string class_weight = "none";
std::size_t max_features = 10000;

// The split stage records its label-quality policy beside train.tsv; "weight" becomes sample
// weights here ("exclude" rows were already left out of train.tsv).
data::LabelQualityPolicy split_policy(const std::filesystem::path& train) {
  const auto summary = train.parent_path() / "split_summary.json";
  if (!std::filesystem::exists(summary)) return {};
  const auto v = json::parse(read_file(summary), summary.string());
  const auto* policy = v.find("label_quality");
  return policy && policy->is_string() ? data::LabelQualityPolicy::parse(policy->as_string()) : data::LabelQualityPolicy{};
}

const StageRegistrar stage{{
    40, "baseline", "legacy heuristic + TF-IDF/logistic-regression baseline",
    [](CLI::App& app) {
      app.add_option("--class-weight", class_weight, "Baseline class weights: none | balanced")
          ->check(CLI::IsMember({"none", "balanced"}))
          ->capture_default_str();
      app.add_option("--max-features", max_features, "Baseline TF-IDF vocabulary size")
          ->check(CLI::PositiveNumber)
          ->capture_default_str();
    },
    [](RunContext& context) {
      const auto train = context.artifacts.find("train");
      const auto val = context.artifacts.find("val");
      if (train == context.artifacts.end() || val == context.artifacts.end())
        throw Error("the baseline stage needs the split stage's train and val files (do not skip 'split')");
      classic::BaselineRunRequest request;
      request.train = train->second;
      request.eval = val->second;
      request.out = context.out / "baseline";
      for (const char* role : {"test", "unlabeled"})
        if (auto it = context.artifacts.find(role); it != context.artifacts.end()) request.predict.emplace_back(role, it->second);
      request.options.tfidf.max_features = max_features;
      request.options.logistic.class_weight =
          class_weight == "balanced" ? classic::ClassWeight::Balanced : classic::ClassWeight::None;
      const auto policy = split_policy(request.train);
      if (policy.mode == data::LabelQuality::WeightByConfidence) request.options.label_quality = policy;

      const auto result = classic::run_baseline(request, [](const std::string& line) { say("baseline", line); });
      context.artifacts["baseline_predictions"] = result.baseline_predictions;
      context.artifacts["legacy_predictions"] = result.legacy_predictions;
      context.artifacts["baseline_metrics"] = request.out / "baseline_metrics.json";
      context.artifacts["legacy_metrics"] = request.out / "legacy_metrics.json";
      for (const auto& [name, path] : result.baseline_extra) context.artifacts["baseline_" + name + "_predictions"] = path;
      for (const auto& [name, path] : result.legacy_extra) context.artifacts["legacy_" + name + "_predictions"] = path;
      record_stage(context.out, "baseline", result.summary);
    }}};

}  // namespace
}  // namespace kspam::cli

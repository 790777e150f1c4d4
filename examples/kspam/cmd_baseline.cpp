// kspam baseline: TF-IDF + logistic regression (scikit-learn's defaults) and the legacy keyword
// heuristic, fitted on one listings file and evaluated on another.
#include <memory>

#include "cli.hpp"
#include "kspam/classic/baseline_run.hpp"
#include "kspam/core/run_metadata.hpp"

namespace kspam::cli {
namespace {

struct BaselineArgs {
  std::string train, eval, out;
  std::vector<std::string> predict;
  std::string class_weight = "none";
  std::size_t max_features = 10000;
  double C = 1.0;
  std::string label_quality = "all";
  unsigned threads = 0;
};

const CommandRegistrar registrar{{
    "baseline",
    "Fit the TF-IDF + logistic-regression baseline and the legacy keyword heuristic; evaluate both",
    [](CLI::App& app) {
      auto args = std::make_shared<BaselineArgs>();
      app.add_option("--train", args->train, "Labeled listings TSV to fit on")->required();
      app.add_option("--eval", args->eval, "Listings TSV to evaluate on (labels optional: without them, predictions only)")
          ->required();
      app.add_option("--out", args->out, "Output directory")->required();
      app.add_option("--predict", args->predict,
                     "Further listings TSVs to score; each gives baseline_predictions_<file stem>.csv");
      app.add_option("--class-weight", args->class_weight, "none | balanced (weights classes by n / (2 * count))")
          ->check(CLI::IsMember({"none", "balanced"}))
          ->capture_default_str();
      app.add_option("--max-features", args->max_features, "Keep the N most frequent terms")
          ->check(CLI::PositiveNumber)
          ->capture_default_str();
      app.add_option("--C", args->C, "Inverse L2 regularisation strength")->check(CLI::PositiveNumber)->capture_default_str();
      app.add_option("--label-quality", args->label_quality,
                     "Training rows by annotator agreement: all | weight | exclude:<min |confidence|>")
          ->capture_default_str();
      app.add_option("--threads", args->threads, "Worker threads (0 = all cores)")->capture_default_str();
      app.callback([args] {
        classic::BaselineRunRequest request;
        request.train = args->train;
        request.eval = args->eval;
        request.out = args->out;
        for (const auto& path : args->predict)
          request.predict.emplace_back(std::filesystem::path(path).stem().string(), path);
        request.options.tfidf.max_features = args->max_features;
        request.options.tfidf.threads = args->threads;
        request.options.logistic.C = args->C;
        request.options.logistic.threads = args->threads;
        request.options.logistic.class_weight =
            args->class_weight == "balanced" ? classic::ClassWeight::Balanced : classic::ClassWeight::None;
        request.options.label_quality = data::LabelQualityPolicy::parse(args->label_quality);
        const auto result = classic::run_baseline(request, [](const std::string& line) { say("baseline", line); });
        record_stage(args->out, "baseline", result.summary);
        say("baseline", "wrote " + (std::filesystem::path(args->out) / "baseline_metrics.json").string() + " and predictions");
      });
    }}};

}  // namespace
}  // namespace kspam::cli

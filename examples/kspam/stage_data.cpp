// `kspam run` data stages: validate every input, then split the labeled data into train/val.
#include "cli.hpp"
#include "data_stages.hpp"
#include "kspam/core/run_metadata.hpp"
#include "kspam/core/timer.hpp"

namespace kspam::cli {
namespace {

std::string label_quality = "all";

const StageRegistrar validate_stage{{
    10, "validate", "check the input TSVs",
    nullptr,
    [](RunContext& context) {
      Stopwatch watch;
      json::Value record = json::Value::object();
      data::ReadOptions options;
      options.collect_errors = true;  // show the user everything wrong at once
      record["sizes"]["data"] = validate_file(context.data, options);
      if (!context.test.empty()) record["sizes"]["test"] = validate_file(context.test, options);
      record["seconds"] = watch.seconds();
      record_stage(context.out, "validate", record);
    }}};

const StageRegistrar split_stage{{
    20, "split", "stratified train/val split",
    [](CLI::App& app) {
      app.add_option("--label-quality", label_quality,
                     "Training rows by annotator agreement: all | weight | exclude:<min |confidence|>")
          ->capture_default_str();
    },
    [](RunContext& context) {
      Stopwatch watch;
      SplitOptions options;
      options.seed = context.seed;
      options.val_fraction = context.val_fraction;
      options.label_quality = label_quality;
      const auto dir = context.out / "split";
      auto summary = split_file(context.data, dir, options);
      context.artifacts["train"] = dir / "train.tsv";
      context.artifacts["val"] = dir / "val.tsv";
      if (std::filesystem::exists(dir / "unlabeled.tsv")) context.artifacts["unlabeled"] = dir / "unlabeled.tsv";
      if (!context.test.empty()) context.artifacts["test"] = context.test;
      json::Value record = json::Value::object();
      record["config"] = summary;
      record["seconds"] = watch.seconds();
      record_stage(context.out, "split", record);
    }}};

}  // namespace
}  // namespace kspam::cli

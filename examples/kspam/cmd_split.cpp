// kspam split: stratified train/validation split of a labeled listings TSV.
#include <memory>

#include "cli.hpp"
#include "data_stages.hpp"
#include "kspam/core/run_metadata.hpp"
#include "kspam/core/timer.hpp"

namespace kspam::cli {
namespace {

struct SplitArgs {
  std::string data;
  std::string out;
  SplitOptions options;
};

const CommandRegistrar registrar{{
    "split",
    "Split labeled listings into train.tsv and val.tsv, stratified by label",
    [](CLI::App& app) {
      auto args = std::make_shared<SplitArgs>();
      app.add_option("--data", args->data, "Listings TSV")->required();
      app.add_option("--out", args->out, "Output directory")->required();
      app.add_option("--seed", args->options.seed, "Random seed")->capture_default_str();
      app.add_option("--val-fraction", args->options.val_fraction, "Fraction of each class for validation")
          ->capture_default_str();
      app.add_option("--label-quality", args->options.label_quality,
                     "Training rows by annotator agreement: all | weight | exclude:<min |confidence|>")
          ->capture_default_str();
      app.callback([args] {
        Stopwatch watch;
        auto summary = split_file(args->data, args->out, args->options);
        json::Value record = json::Value::object();
        record["config"] = summary;
        record["seconds"] = watch.seconds();
        record_stage(args->out, "split", record);
      });
    }}};

}  // namespace
}  // namespace kspam::cli

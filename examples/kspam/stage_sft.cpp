// `kspam run` stage 50: the SFT examples. Reads the split's train/val TSVs, finds each photo in
// the image cache (when the images stage ran), and writes <run>/sft/train.jsonl and val.jsonl.
// The label-quality policy is the one the split stage used (recorded in split_summary.json).
#include <filesystem>
#include <string>

#include "cli.hpp"
#include "kspam/core/json_parse.hpp"
#include "kspam/core/run_metadata.hpp"
#include "kspam/core/timer.hpp"
#include "kspam/text/sft_dataset.hpp"

namespace kspam::cli {

json::Value run_build_sft(const text::SftBuildOptions& options, const std::string& tokenizer_path);

namespace {

std::string sft_tokenizer;
std::size_t sft_max_seq_len = 1024;
CLI::App* run_app = nullptr;

// --tokenizer and --max-seq-len concern later stages too (training, prediction): each is added
// once, by whichever stage comes first, and read back from the run's app by name.
template <typename T>
void add_shared_option(CLI::App& app, const std::string& name, T& value, const std::string& help) {
  if (!app.get_option_no_throw(name)) app.add_option(name, value, help)->capture_default_str();
}
template <typename T>
T shared_option(const std::string& name, T fallback) {
  const CLI::Option* o = run_app ? run_app->get_option_no_throw(name) : nullptr;
  return o && o->count() ? o->as<T>() : fallback;
}

const StageRegistrar sft_stage{{
    50, "sft", "build the fine-tuning examples (train.jsonl, val.jsonl)",
    [](CLI::App& app) {
      run_app = &app;
      add_shared_option(app, "--tokenizer", sft_tokenizer, "tokenizer.json (default: the one scripts/setup.sh installs)");
      add_shared_option(app, "--max-seq-len", sft_max_seq_len, "Longest training example in tokens");
    },
    [](RunContext& context) {
      Stopwatch watch;
      if (!context.artifacts.count("train")) throw Error("the sft stage needs the split stage's train.tsv");
      text::SftBuildOptions options;
      options.train = context.artifacts.at("train");
      if (context.artifacts.count("val")) options.val = context.artifacts.at("val");
      if (context.artifacts.count("image_cache")) options.cache_dir = context.artifacts.at("image_cache");
      // The split copies rows verbatim: relative image paths stay relative to the original data file.
      options.image_base = std::filesystem::absolute(context.data).parent_path();
      options.out = context.out / "sft";
      options.max_seq_len = shared_option<std::size_t>("--max-seq-len", sft_max_seq_len);
      const auto tokenizer = shared_option<std::string>("--tokenizer", sft_tokenizer);
      const auto split_summary = options.train.parent_path() / "split_summary.json";
      if (std::filesystem::exists(split_summary)) {
        const auto s = json::parse(read_file(split_summary), split_summary.string());
        if (const auto* lq = s.find("label_quality"); lq && lq->is_string()) {
          // describe() writes exclude thresholds with std::to_string; parse accepts that form.
          options.label_quality = data::LabelQualityPolicy::parse(lq->as_string());
        }
      }
      const json::Value summary = run_build_sft(options, tokenizer);
      context.artifacts["sft_train"] = options.out / "train.jsonl";
      if (!options.val.empty()) context.artifacts["sft_val"] = options.out / "val.jsonl";
      json::Value record = json::Value::object();
      record["config"]["max_seq_len"] = options.max_seq_len;
      record["config"]["label_quality"] = options.label_quality.describe();
      record["sizes"] = summary;
      record["seconds"] = watch.seconds();
      record_stage(context.out, "sft", record);
    }}};

}  // namespace
}  // namespace kspam::cli

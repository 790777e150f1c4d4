// kspam build-sft: labeled train/val TSVs (+ the image cache) -> train.jsonl / val.jsonl in the
// messages format for fine-tuning Qwen3-VL, with a preview and counts.
#include <memory>
#include <string>

#include "cli.hpp"
#include "kspam/core/run_metadata.hpp"
#include "kspam/core/timer.hpp"
#include "kspam/text/sft_dataset.hpp"

namespace kspam::cli {
namespace {

struct BuildSftArgs {
  std::string train, val, cache_dir, image_base, out, tokenizer;
  std::size_t max_seq_len = 1024;
  std::string label_quality = "all";
  unsigned threads = 0;
};

void report(const json::Value& summary, const char* split) {
  const json::Value* s = summary.find(split);
  if (!s) return;
  say("build-sft", std::string(split) + ": " + std::to_string(s->find("rows")->as_int()) + " rows (" +
                       std::to_string(s->find("with_image")->as_int()) + " with image, " +
                       std::to_string(s->find("without_image")->as_int()) + " without), " +
                       std::to_string(s->find("shortened")->as_int()) + " descriptions shortened to fit, " +
                       std::to_string(s->find("dropped_too_long")->as_int()) + " rows too long even so, " +
                       std::to_string(s->find("tokens_max")->as_int()) + " tokens at most");
}

}  // namespace

// Shared with `kspam run` (stage_sft.cpp).
json::Value run_build_sft(const text::SftBuildOptions& options, const std::string& tokenizer_path) {
  const auto tok = text::load_tokenizer(tokenizer_path);
  const json::Value summary = text::build_sft_files(tok, options);
  report(summary, "train");
  report(summary, "val");
  say("build-sft", "wrote " + (options.out / "train.jsonl").string() + ", val.jsonl; preview in sft_preview.txt");
  return summary;
}

namespace {

const CommandRegistrar registrar{{
    "build-sft",
    "Build train.jsonl / val.jsonl (Qwen3-VL chat messages with strict JSON answers) from labeled TSVs",
    [](CLI::App& app) {
      auto args = std::make_shared<BuildSftArgs>();
      app.add_option("--train", args->train, "Labeled training listings TSV")->required();
      app.add_option("--val", args->val, "Labeled validation listings TSV");
      app.add_option("--cache-dir", args->cache_dir,
                     "Image cache from `kspam images` / the images stage (rows whose photo is not there go text-only)");
      app.add_option("--image-base", args->image_base,
                     "Folder that relative image_url values are relative to (default: each TSV's folder)");
      app.add_option("--out", args->out, "Output directory")->required();
      app.add_option("--tokenizer", args->tokenizer, "tokenizer.json (default: the one scripts/setup.sh installs)");
      app.add_option("--max-seq-len", args->max_seq_len, "Longest example in tokens; longer descriptions are shortened")
          ->capture_default_str();
      app.add_option("--label-quality", args->label_quality,
                     "all | weight (answer confidence = annotator agreement) | exclude:<min |confidence|>")
          ->capture_default_str();
      app.add_option("--threads", args->threads, "Worker threads (0 = all cores)")->capture_default_str();
      app.callback([args] {
        Stopwatch watch;
        text::SftBuildOptions options;
        options.train = args->train;
        options.val = args->val;
        options.cache_dir = args->cache_dir;
        options.image_base = args->image_base;
        options.out = args->out;
        options.max_seq_len = args->max_seq_len;
        options.label_quality = data::LabelQualityPolicy::parse(args->label_quality);
        options.threads = args->threads;
        json::Value record = json::Value::object();
        record["sizes"] = run_build_sft(options, args->tokenizer);
        record["seconds"] = watch.seconds();
        record_stage(args->out, "build-sft", record);
      });
    }}};

}  // namespace
}  // namespace kspam::cli

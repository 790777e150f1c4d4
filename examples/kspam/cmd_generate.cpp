// kspam generate: greedy decoding from a Qwen3-VL checkpoint on the CPU backend. Prints the new token
// ids as a JSON array and, with --tokenizer, the decoded text on the next line. Stops at
// --max-new-tokens or on the checkpoint's end-of-turn ids (generation_config.json).
#include <algorithm>
#include <cstdio>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "cli.hpp"
#include "kspam/backend/cpu/backend.hpp"
#include "kspam/core/json.hpp"
#include "kspam/core/timer.hpp"
#include "kspam/model/generate.hpp"
#include "kspam/model/image_inputs.hpp"
#include "kspam/text/tokenizer.hpp"

namespace kspam::cli {
namespace {

struct GenerateArgs {
  std::string model;
  std::string input_ids;
  std::string prompt;
  std::vector<std::string> images;
  std::string pixel_values;
  std::string tokenizer;
  int max_new_tokens = 64;
  bool ignore_eos = false;
};

const CommandRegistrar registrar{{
    "generate",
    "Greedy text generation from a Qwen3-VL checkpoint (CPU)",
    [](CLI::App& app) {
      auto args = std::make_shared<GenerateArgs>();
      app.add_option("--model", args->model, "Checkpoint folder (config.json + model.safetensors or shards)")
          ->required()->check(CLI::ExistingDirectory);
      auto* ids_option = app.add_option("--input-ids", args->input_ids,
                                 "Comma-separated prompt token ids (one <|image_pad|> per image, or expanded runs)");
      auto* text_option = app.add_option("--prompt", args->prompt,
                                  "Prompt text, already in the chat format (needs --tokenizer); "
                                  "<|image_pad|> marks each image");
      ids_option->excludes(text_option);
      app.add_option("--image", args->images, "Image file for the prompt's image pads, in order (repeatable)")
          ->check(CLI::ExistingFile);
      app.add_option("--pixel-values", args->pixel_values,
                     "pixel_values + image_grid_thw safetensors (from kspam preprocess) instead of --image")
          ->check(CLI::ExistingFile);
      app.add_option("--tokenizer", args->tokenizer, "tokenizer.json: decode the output (and encode --prompt)")
          ->check(CLI::ExistingFile);
      app.add_option("--max-new-tokens", args->max_new_tokens, "Most tokens to generate")
          ->capture_default_str()->check(CLI::Range(1, 1 << 20));
      app.add_flag("--ignore-eos", args->ignore_eos, "Do not stop on the end-of-turn ids");
      app.callback([args] {
        using B = backend::cpu::Backend;
        if (args->input_ids.empty() && args->prompt.empty()) {
          throw InputError("--input-ids", "give the prompt as --input-ids or as --prompt with --tokenizer");
        }
        if (!args->prompt.empty() && args->tokenizer.empty()) throw InputError("--prompt", "needs --tokenizer");
        Stopwatch watch;
        const auto model = model::Qwen3VLModel<B>::load(args->model);
        std::optional<text::Tokenizer> tokenizer;
        if (!args->tokenizer.empty()) tokenizer = text::Tokenizer::from_file(args->tokenizer);
        std::vector<std::int64_t> ids;
        if (!args->prompt.empty()) {
          for (auto id : tokenizer->encode(args->prompt)) ids.push_back(static_cast<std::int64_t>(id));
        } else {
          ids = model::parse_id_list(args->input_ids);
        }
        const auto images = model::load_image_inputs(args->model, model.config(), args->images, args->pixel_values);
        std::vector<model::Prompt<B>> prompts{model::make_prompt<B>(model.config(), std::move(ids), images)};
        const double load_s = watch.seconds();
        model::GenerationOptions options;
        options.max_new_tokens = args->max_new_tokens;
        options.use_model_stop_ids = !args->ignore_eos;
        const auto out = model::generate_greedy(model, prompts, options);
        const double gen_s = watch.seconds() - load_s;
        std::printf("%s\n", json::Value(out[0]).dump(-1).c_str());
        if (tokenizer) {
          std::vector<text::TokenId> tokens;
          for (auto id : out[0]) tokens.push_back(static_cast<text::TokenId>(id));
          std::printf("%s\n", tokenizer->decode(tokens).c_str());
        }
        std::fflush(stdout);
        char line[200];
        std::snprintf(line, sizeof line, "%zu prompt tokens, %zu new tokens in %.2f s (%.1f tokens/s); load %.2f s",
                      prompts[0].ids.size(), out[0].size(), gen_s, out[0].size() / std::max(gen_s, 1e-9), load_s);
        say("generate", line);
      });
    }}};

}  // namespace
}  // namespace kspam::cli

// kspam forward: one prompt through a Qwen3-VL checkpoint on the CPU backend; writes the logits of
// every position (F32 [seq, vocab]) and the 3-D position ids (I64 [3, seq]) as safetensors.
#include <memory>
#include <string>
#include <vector>

#include "cli.hpp"
#include "kspam/backend/cpu/backend.hpp"
#include "kspam/core/timer.hpp"
#include "kspam/model/image_inputs.hpp"
#include "kspam/model/qwen3vl_model.hpp"
#include "kspam/tensor/safetensors.hpp"

namespace kspam::cli {
namespace {

struct ForwardArgs {
  std::string model;
  std::string input_ids;
  std::vector<std::string> images;
  std::string pixel_values;
  std::string out;
};

const CommandRegistrar registrar{{
    "forward",
    "Run one prompt through a Qwen3-VL checkpoint (CPU) and write its logits",
    [](CLI::App& app) {
      auto args = std::make_shared<ForwardArgs>();
      app.add_option("--model", args->model, "Checkpoint folder (config.json + model.safetensors or shards)")
          ->required()->check(CLI::ExistingDirectory);
      app.add_option("--input-ids", args->input_ids,
                     "Comma-separated token ids; one <|image_pad|> per image, or the already expanded runs")
          ->required();
      app.add_option("--image", args->images, "Image file for the prompt's image pads, in order (repeatable)")
          ->check(CLI::ExistingFile);
      app.add_option("--pixel-values", args->pixel_values,
                     "pixel_values + image_grid_thw safetensors (from kspam preprocess) instead of --image")
          ->check(CLI::ExistingFile);
      app.add_option("--out", args->out, "Output .safetensors: logits F32 [seq, vocab], position_ids I64 [3, seq]")
          ->required();
      app.callback([args] {
        using B = backend::cpu::Backend;
        Stopwatch watch;
        const auto model = model::Qwen3VLModel<B>::load(args->model);
        const double load_s = watch.seconds();
        const auto images = model::load_image_inputs(args->model, model.config(), args->images, args->pixel_values);
        const auto prompt =
            model::make_prompt<B>(model.config(), model::parse_id_list(args->input_ids), images);
        model::PrefillState<B> state;
        const B::Matrix logits = model.forward(prompt, &state);
        const auto seq = static_cast<std::int64_t>(prompt.ids.size());
        std::vector<std::int64_t> positions;
        for (const auto& axis : state.positions.axis) positions.insert(positions.end(), axis.begin(), axis.end());
        tensor::SafetensorsWriter writer;
        writer.add_f32("logits", {seq, static_cast<std::int64_t>(logits.cols())},
                       std::span<const float>(logits.data(), static_cast<std::size_t>(logits.size())));
        writer.add_i64("position_ids", {3, seq}, positions);
        writer.set_metadata("rope_delta", std::to_string(state.positions.delta));
        writer.set_metadata("model", args->model);
        writer.write(args->out);
        char line[200];
        std::snprintf(line, sizeof line, "%lld tokens (%zu image%s), logits [%lld, %lld]; load %.2f s, forward %.2f s",
                      static_cast<long long>(seq), prompt.grids.size(), prompt.grids.size() == 1 ? "" : "s",
                      static_cast<long long>(seq),
                      static_cast<long long>(logits.cols()), load_s, watch.seconds() - load_s);
        say("forward", line);
      });
    }}};

}  // namespace
}  // namespace kspam::cli

// kspam preprocess: one image -> the Qwen3-VL vision inputs (pixel_values F32 [N,1536] and
// image_grid_thw I64 [1,3]) as safetensors, exactly as the Hugging Face processor makes them.
#include <memory>

#include "cli.hpp"
#include "kspam/core/timer.hpp"
#include "kspam/image/decode.hpp"
#include "kspam/image/preprocess.hpp"
#include "kspam/image/preprocessor_config_json.hpp"
#include "kspam/tensor/safetensors.hpp"

namespace kspam::cli {
namespace {

struct PreprocessArgs {
  std::string image;
  std::string out;
  std::string config;
  std::int64_t min_pixels = -1;
  std::int64_t max_pixels = -1;
};

const CommandRegistrar registrar{{
    "preprocess",
    "Turn one image into Qwen3-VL pixel_values + image_grid_thw (safetensors)",
    [](CLI::App& app) {
      auto args = std::make_shared<PreprocessArgs>();
      app.add_option("--image", args->image, "Image file (JPEG, PNG, GIF, BMP, WebP)")->required()->check(CLI::ExistingFile);
      app.add_option("--out", args->out, "Output .safetensors")->required();
      app.add_option("--config", args->config,
                     "preprocessor_config.json or a checkpoint folder holding one (default: Qwen3-VL settings)");
      app.add_option("--min-pixels", args->min_pixels, "Smallest resized area (default 65536, or the config's)");
      app.add_option("--max-pixels", args->max_pixels, "Largest resized area (default 16777216, or the config's)");
      app.callback([args] {
        Stopwatch watch;
        image::PreprocessorConfig config;
        if (!args->config.empty()) config = image::load_preprocessor_config(args->config);
        if (args->min_pixels >= 0) config.min_pixels = args->min_pixels;
        if (args->max_pixels >= 0) config.max_pixels = args->max_pixels;
        config.validate("--min-pixels/--max-pixels");
        const auto img = image::decode_image_file(args->image);
        const auto pv = image::preprocess(img, config, args->image);
        tensor::SafetensorsWriter writer;
        writer.add_f32("pixel_values", {pv.rows, pv.cols}, pv.values);
        writer.add_i64("image_grid_thw", {1, 3}, pv.grid_thw);
        writer.set_metadata("source", args->image);
        writer.set_metadata("min_pixels", std::to_string(config.min_pixels));
        writer.set_metadata("max_pixels", std::to_string(config.max_pixels));
        writer.write(args->out);
        char line[256];
        std::snprintf(line, sizeof line, "%dx%d -> %lldx%lld, grid %lldx%lldx%lld, %lld patches, %lld tokens in %.3f s",
                      img.width, img.height, static_cast<long long>(pv.resized_width),
                      static_cast<long long>(pv.resized_height), static_cast<long long>(pv.grid_thw[0]),
                      static_cast<long long>(pv.grid_thw[1]), static_cast<long long>(pv.grid_thw[2]),
                      static_cast<long long>(pv.rows), static_cast<long long>(pv.merged_tokens(config.merge_size)),
                      watch.seconds());
        say("preprocess", line);
      });
    }}};

}  // namespace
}  // namespace kspam::cli

#pragma once
// The image processor settings of a Qwen-VL checkpoint, as its preprocessor_config.json states
// them. Defaults are Qwen3-VL-2B-Instruct's (patch 16, merge 2, temporal 2, mean = std = 0.5,
// min_pixels 65536 = 256², max_pixels 16777216 = 4096²); the class defaults of transformers
// (patch 14, CLIP mean/std) are not used by any Qwen3-VL checkpoint.
// transformers 5.x spells the pixel limits size.shortest_edge / size.longest_edge; Qwen2-VL era
// configs use min_pixels / max_pixels at top level. Both are read; explicit min_pixels/max_pixels
// win when a file has both (they are what the older processor code used). Reading the JSON lives in
// preprocessor_config_json.hpp (simdjson), so this struct stays usable from CUDA translation units.
#include <array>
#include <cstdint>
#include <filesystem>
#include <string>

#include "kspam/core/error.hpp"

namespace kspam::image {

struct PreprocessorConfig {
  std::int64_t patch_size = 16;
  std::int64_t merge_size = 2;
  std::int64_t temporal_patch_size = 2;
  std::int64_t min_pixels = 65536;
  std::int64_t max_pixels = 16777216;
  std::array<double, 3> image_mean{0.5, 0.5, 0.5};
  std::array<double, 3> image_std{0.5, 0.5, 0.5};
  double rescale_factor = 1.0 / 255.0;
  bool do_resize = true;
  bool do_rescale = true;
  bool do_normalize = true;

  std::int64_t factor() const { return patch_size * merge_size; }
  // Values in one row of pixel_values: channels x temporal x patch x patch (1536 for Qwen3-VL).
  std::int64_t patch_dim() const { return 3 * temporal_patch_size * patch_size * patch_size; }

  // Throws InputError naming `origin` when the settings cannot describe a valid patching.
  void validate(const std::string& origin) const {
    auto bad = [&](const std::string& field, const std::string& value, const std::string& why) {
      throw InputError(origin, 0, field, value, why);
    };
    if (patch_size <= 0 || patch_size > 1024) bad("patch_size", std::to_string(patch_size), "must be in 1..1024");
    if (merge_size <= 0 || merge_size > 64) bad("merge_size", std::to_string(merge_size), "must be in 1..64");
    if (temporal_patch_size <= 0 || temporal_patch_size > 64)
      bad("temporal_patch_size", std::to_string(temporal_patch_size), "must be in 1..64");
    if (min_pixels < 0) bad("min_pixels", std::to_string(min_pixels), "must not be negative");
    if (max_pixels < factor() * factor())
      bad("max_pixels", std::to_string(max_pixels), "must be at least one " + std::to_string(factor()) + "x" +
                                                         std::to_string(factor()) + " unit");
    if (min_pixels > max_pixels)
      bad("min_pixels", std::to_string(min_pixels), "is larger than max_pixels " + std::to_string(max_pixels));
    for (int c = 0; c < 3; ++c)
      if (!(image_std[static_cast<std::size_t>(c)] > 0.0))
        bad("image_std", std::to_string(image_std[static_cast<std::size_t>(c)]), "must be positive");
    if (!(rescale_factor > 0.0)) bad("rescale_factor", std::to_string(rescale_factor), "must be positive");
  }
};

}  // namespace kspam::image

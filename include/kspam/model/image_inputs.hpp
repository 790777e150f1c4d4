#pragma once
// Images for a prompt from files: decoded and preprocessed with the checkpoint's preprocessor settings
// (its preprocessor_config.json when present, else the vision config's patch/merge sizes with the
// Qwen3-VL pixel limits), or read ready-made from a pixel_values safetensors file.
#include <filesystem>
#include <string>
#include <vector>

#include "kspam/image/decode.hpp"
#include "kspam/image/preprocess.hpp"
#include "kspam/image/preprocessor_config_json.hpp"
#include "kspam/model/prompt_inputs.hpp"

namespace kspam::model {

inline image::PreprocessorConfig preprocessor_for(const std::filesystem::path& model_dir, const Qwen3VLConfig& config) {
  if (std::filesystem::exists(model_dir / "preprocessor_config.json")) {
    return image::load_preprocessor_config(model_dir / "preprocessor_config.json");
  }
  image::PreprocessorConfig p;
  p.patch_size = config.vision.patch_size;
  p.merge_size = config.vision.spatial_merge_size;
  p.temporal_patch_size = config.vision.temporal_patch_size;
  return p;
}

inline ImageInputs load_image_inputs(const std::filesystem::path& model_dir, const Qwen3VLConfig& config,
                                     const std::vector<std::string>& images, const std::string& pixel_values_file) {
  ImageInputs out;
  if (!pixel_values_file.empty()) read_pixel_values(pixel_values_file, out);
  if (!images.empty()) {
    const auto pre = preprocessor_for(model_dir, config);
    for (const auto& path : images) {
      const auto pv = image::preprocess(image::decode_image_file(path), pre, path);
      out.append(pv.values, pv.rows, pv.cols, ImageGrid{pv.grid_thw[0], pv.grid_thw[1], pv.grid_thw[2]}, path);
    }
  }
  return out;
}

}  // namespace kspam::model

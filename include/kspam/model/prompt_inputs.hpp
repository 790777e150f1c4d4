#pragma once
// Turning user-supplied inputs into a model::Prompt: a comma-separated id list, pixel_values +
// image_grid_thw from a safetensors file (what `kspam preprocess` writes), images decoded and
// preprocessed on the spot, and the expansion of one <|image_pad|> per image into the t·h·w/4 copies
// the model expects (ids that already hold the expanded runs are taken as they are).
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "kspam/core/error.hpp"
#include "kspam/model/qwen3vl_config.hpp"
#include "kspam/model/qwen3vl_model.hpp"
#include "kspam/model/rope_index.hpp"
#include "kspam/tensor/safetensors.hpp"

namespace kspam::model {

// "1, 2,3" -> {1, 2, 3}; `origin` names the option in errors.
inline std::vector<std::int64_t> parse_id_list(const std::string& text, const std::string& origin = "--input-ids") {
  std::vector<std::int64_t> ids;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find(',', pos);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(pos, end - pos);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    std::int64_t v = 0;
    const auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || ec != std::errc() || ptr != item.data() + item.size() || v < 0) {
      throw InputError(origin, 0, "", item, "expected comma-separated non-negative token ids");
    }
    ids.push_back(v);
    pos = end + 1;
  }
  return ids;
}

// Images to append to a prompt: rows of pixel_values and their grids, in prompt order.
struct ImageInputs {
  std::vector<float> values;
  std::int64_t rows = 0, cols = 0;
  std::vector<ImageGrid> grids;

  void append(const std::vector<float>& v, std::int64_t r, std::int64_t c, ImageGrid g, const std::string& origin) {
    if (cols != 0 && c != cols) {
      throw InputError(origin, 0, "pixel_values", std::to_string(c), "has a different width than the earlier images");
    }
    cols = c;
    rows += r;
    values.insert(values.end(), v.begin(), v.end());
    grids.push_back(g);
  }
};

// Reads pixel_values F32 [N, cols] and image_grid_thw I64 [images, 3] from a safetensors file.
inline void read_pixel_values(const std::filesystem::path& path, ImageInputs& out) {
  const tensor::SafetensorsFile f(path);
  const std::string origin = path.string();
  if (!f.contains("pixel_values") || !f.contains("image_grid_thw")) {
    throw InputError(origin, "needs tensors 'pixel_values' and 'image_grid_thw' (as kspam preprocess writes)");
  }
  const auto& pv = f.get("pixel_values");
  const auto& grid = f.get("image_grid_thw");
  if (pv.shape.size() != 2 || !tensor::is_floating(pv.dtype)) {
    throw InputError(origin, 0, "pixel_values", tensor::shape_string(pv.shape), "must be a 2-D float tensor");
  }
  if (grid.shape.size() != 2 || grid.shape[1] != 3 || tensor::is_floating(grid.dtype)) {
    throw InputError(origin, 0, "image_grid_thw", tensor::shape_string(grid.shape), "must be an integer tensor [images, 3]");
  }
  const auto g = grid.to_i64();
  const auto values = pv.to_f32();
  std::int64_t row = 0;
  for (std::size_t i = 0; i < g.size(); i += 3) {
    const ImageGrid ig{g[i], g[i + 1], g[i + 2]};
    if (ig.t < 1 || ig.h < 1 || ig.w < 1 || ig.patches() > pv.shape[0] - row) {
      throw InputError(origin, 0, "image_grid_thw", std::to_string(ig.t) + "x" + std::to_string(ig.h) + "x" +
                       std::to_string(ig.w), "does not fit the pixel_values rows");
    }
    const auto begin = values.begin() + static_cast<std::ptrdiff_t>(row * pv.shape[1]);
    out.append(std::vector<float>(begin, begin + static_cast<std::ptrdiff_t>(ig.patches() * pv.shape[1])), ig.patches(),
               pv.shape[1], ig, origin);
    row += ig.patches();
  }
  if (row != pv.shape[0]) {
    throw InputError(origin, 0, "pixel_values", std::to_string(pv.shape[0]) + " rows",
                     "the grids account for " + std::to_string(row));
  }
}

// Builds the prompt: checks the images against the model and expands single image-pad tokens.
template <nn::Backend B>
Prompt<B> make_prompt(const Qwen3VLConfig& config, std::vector<std::int64_t> ids, const ImageInputs& images) {
  const std::int64_t merge = config.vision.spatial_merge_size;
  if (!images.grids.empty() && images.cols != config.vision.patch_dim()) {
    throw InputError("<pixel_values>", 0, "pixel_values", std::to_string(images.cols) + " columns",
                     "the model's vision tower takes " + std::to_string(config.vision.patch_dim()));
  }
  const std::int64_t pads = std::count(ids.begin(), ids.end(), config.image_token_id);
  const std::int64_t needed = image_token_count(images.grids, merge);
  if (pads != needed) {
    if (pads != static_cast<std::int64_t>(images.grids.size())) {
      throw InputError("--input-ids", 0, "", std::to_string(pads) + " image-pad tokens (id " +
                       std::to_string(config.image_token_id) + ")",
                       "need one per image (" + std::to_string(images.grids.size()) + ") or the expanded " +
                           std::to_string(needed));
    }
    std::vector<std::int64_t> expanded;
    std::size_t image = 0;
    for (auto id : ids) {
      if (id != config.image_token_id) {
        expanded.push_back(id);
        continue;
      }
      const auto& g = images.grids[image++];
      expanded.insert(expanded.end(), static_cast<std::size_t>(g.t * (g.h / merge) * (g.w / merge)), id);
    }
    ids = std::move(expanded);
  }
  Prompt<B> p;
  p.ids = std::move(ids);
  p.grids = images.grids;
  if (!images.grids.empty()) {
    p.pixel_values = Eigen::Map<const typename B::Matrix>(images.values.data(), images.rows, images.cols);
  }
  return p;
}

}  // namespace kspam::model

#pragma once
// Qwen3-VL image preprocessing: RGB image -> pixel_values [N, 1536] + image_grid_thw, the tensors
// the vision tower takes. smart_resize, antialiased bicubic resize (uint8, torch CPU fixed point),
// rescale + normalise fused as the Hugging Face torchvision backend does it
// ((x - 255*mean) / (255*std) in float32), the still image repeated to fill the temporal patch, and
// patches laid out in merge-window order: rows run over (merge-row, merge-col, i, j) so each 2x2
// group of patches the merger fuses is contiguous; each row is (channel, frame, py, px).
// (docs: qwen3-vl-architecture.md §5; parity tests in tests/image/test_preprocess_parity.cpp.)
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "kspam/core/error.hpp"
#include "kspam/image/bicubic_resize.hpp"
#include "kspam/image/preprocessor_config.hpp"
#include "kspam/image/rgb_image.hpp"
#include "kspam/image/smart_resize.hpp"

namespace kspam::image {

struct PixelPatches {
  std::vector<float> values;                 // rows x cols, row-major
  std::int64_t rows = 0;                      // grid_t * grid_h * grid_w
  std::int64_t cols = 0;                      // 3 * temporal * patch * patch
  std::array<std::int64_t, 3> grid_thw{};     // (t, h, w) in patches
  std::int64_t resized_height = 0;
  std::int64_t resized_width = 0;

  // Tokens this image takes in the prompt after the 2x2 merger: t*h*w / merge².
  std::int64_t merged_tokens(std::int64_t merge_size = 2) const {
    return grid_thw[0] * grid_thw[1] * grid_thw[2] / (merge_size * merge_size);
  }
};

namespace detail {
// Per-level lookup of the normalised value, computed with the same float32 operations as the
// reference (so a table is exact, not an approximation).
inline std::array<std::array<float, 256>, 3> normalisation_table(const PreprocessorConfig& config) {
  std::array<std::array<float, 256>, 3> table{};
  for (std::size_t c = 0; c < 3; ++c) {
    // torchvision backend: mean and std are pre-divided by the rescale factor (Python float64),
    // then F.normalize subtracts and divides in float32.
    const float mean = config.do_rescale ? static_cast<float>(config.image_mean[c] * (1.0 / config.rescale_factor))
                                         : static_cast<float>(config.image_mean[c]);
    const float stdv = config.do_rescale ? static_cast<float>(config.image_std[c] * (1.0 / config.rescale_factor))
                                         : static_cast<float>(config.image_std[c]);
    const float rescale = static_cast<float>(config.rescale_factor);
    for (int v = 0; v < 256; ++v) {
      const float x = static_cast<float>(v);
      float y;
      if (config.do_normalize) y = (x - mean) / stdv;
      else if (config.do_rescale) y = x * rescale;
      else y = x;
      table[c][static_cast<std::size_t>(v)] = y;
    }
  }
  return table;
}
}  // namespace detail

// Lays out an already resized image (sides multiples of patch*merge) as pixel_values.
inline PixelPatches patchify(const RgbImage& resized, const PreprocessorConfig& config) {
  const std::int64_t p = config.patch_size, m = config.merge_size, tp = config.temporal_patch_size;
  const std::int64_t H = resized.height, W = resized.width;
  if (H % (p * m) != 0 || W % (p * m) != 0)
    throw Error("patchify: image " + std::to_string(H) + "x" + std::to_string(W) + " is not a multiple of " +
                std::to_string(p * m));
  const std::int64_t gh = H / p, gw = W / p;
  PixelPatches out;
  out.grid_thw = {1, gh, gw};  // one still image, repeated to fill the temporal patch: grid_t = 1
  out.rows = gh * gw;
  out.cols = 3 * tp * p * p;
  out.resized_height = H;
  out.resized_width = W;
  out.values.resize(static_cast<std::size_t>(out.rows * out.cols));
  const auto table = detail::normalisation_table(config);
  float* dst = out.values.data();
  for (std::int64_t br = 0; br < gh / m; ++br)
    for (std::int64_t bc = 0; bc < gw / m; ++bc)
      for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t j = 0; j < m; ++j) {
          const std::int64_t y0 = (br * m + i) * p, x0 = (bc * m + j) * p;
          for (std::int64_t c = 0; c < 3; ++c) {
            const auto& lut = table[static_cast<std::size_t>(c)];
            float* frame0 = dst;
            for (std::int64_t py = 0; py < p; ++py) {
              const std::uint8_t* src =
                  resized.pixels.data() + (static_cast<std::size_t>(y0 + py) * static_cast<std::size_t>(W) +
                                           static_cast<std::size_t>(x0)) * 3 + static_cast<std::size_t>(c);
              for (std::int64_t px = 0; px < p; ++px) *dst++ = lut[src[px * 3]];
            }
            for (std::int64_t t = 1; t < tp; ++t) {  // identical frames of a still image
              std::copy(frame0, frame0 + p * p, dst);
              dst += p * p;
            }
          }
        }
  return out;
}

// The whole preprocessing of one decoded image. `origin` names the image in errors.
inline PixelPatches preprocess(const RgbImage& image, const PreprocessorConfig& config,
                               const std::string& origin = "<image>") {
  config.validate(origin);
  const auto size = smart_resize(image.height, image.width, config.factor(), config.min_pixels, config.max_pixels, origin);
  if (!config.do_resize && (size.height != image.height || size.width != image.width))
    throw InputError(origin, 0, "", std::to_string(image.height) + "x" + std::to_string(image.width),
                     "do_resize is off but the image is not a multiple of " + std::to_string(config.factor()));
  if (size.height == image.height && size.width == image.width) return patchify(image, config);
  return patchify(resize_bicubic(image, static_cast<int>(size.width), static_cast<int>(size.height)), config);
}

}  // namespace kspam::image

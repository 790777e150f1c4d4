#pragma once
// Qwen2-VL / Qwen3-VL smart_resize: the size an image is resampled to before patchifying, so that
// both sides are multiples of factor = patch_size * merge_size (32 for Qwen3-VL), the pixel count
// lies in [min_pixels, max_pixels], and the aspect ratio is kept as well as those allow. Follows
// transformers 5.17 (docs: qwen3-vl-architecture.md §5.2) to the bit, including Python's
// round-half-to-even and the order of the float64 divisions; checked against transformers'
// own smart_resize on 140 sizes and limits (tests/image/test_smart_resize.cpp).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "kspam/core/error.hpp"

namespace kspam::image {

struct ResizedSize {
  std::int64_t height = 0;
  std::int64_t width = 0;
  bool operator==(const ResizedSize&) const = default;
};

// Throws InputError (naming `origin`) for an aspect ratio above 200 or a non-positive size.
inline ResizedSize smart_resize(std::int64_t height, std::int64_t width, std::int64_t factor, std::int64_t min_pixels,
                                std::int64_t max_pixels, const std::string& origin = "<image>") {
  const std::string size_text = std::to_string(height) + "x" + std::to_string(width);
  if (height <= 0 || width <= 0) throw InputError(origin, 0, "", size_text, "image has zero size");
  if (factor <= 0 || min_pixels < 0 || max_pixels <= 0)
    throw InputError(origin, "smart_resize needs factor > 0, min_pixels >= 0 and max_pixels > 0");
  // Python compares max/min in float64; this stays exact for any size an image can have.
  const double h = static_cast<double>(height), w = static_cast<double>(width), f = static_cast<double>(factor);
  if (std::max(h, w) / std::min(h, w) > 200.0)
    throw InputError(origin, 0, "", size_text, "aspect ratio above 200 (Qwen-VL cannot take such an image)");
  // std::nearbyint rounds half to even under the default rounding mode, as Python's round() does.
  auto round_by_factor = [&](double v) { return static_cast<std::int64_t>(std::nearbyint(v / f)) * factor; };
  std::int64_t h_bar = round_by_factor(h);
  std::int64_t w_bar = round_by_factor(w);
  const double area = static_cast<double>(height * width);
  if (h_bar * w_bar > max_pixels) {
    const double beta = std::sqrt(area / static_cast<double>(max_pixels));
    h_bar = std::max(factor, static_cast<std::int64_t>(std::floor(h / beta / f)) * factor);
    w_bar = std::max(factor, static_cast<std::int64_t>(std::floor(w / beta / f)) * factor);
  } else if (h_bar * w_bar < min_pixels) {
    const double beta = std::sqrt(static_cast<double>(min_pixels) / area);
    h_bar = static_cast<std::int64_t>(std::ceil(h * beta / f)) * factor;
    w_bar = static_cast<std::int64_t>(std::ceil(w * beta / f)) * factor;
  }
  return {h_bar, w_bar};
}

}  // namespace kspam::image

#pragma once
// Antialiased bicubic resize of an 8-bit RGB image, bit-exact with what the Hugging Face Qwen2-VL
// processor (torchvision backend) gets from torch on CPU for a uint8 tensor:
// torch.nn.functional.interpolate(mode="bicubic", antialias=True) runs Pillow's separable
// convolution with the Keys cubic (a = -0.5), the kernel widened by the scale when shrinking, and
// weights held as int16 fixed point at a per-axis precision. Width pass first, rounded and clamped
// to uint8, then the height pass; an axis whose size is unchanged is skipped
// (docs: qwen3-vl-architecture.md §5.3). The GPU path of torch computes in float without the
// intermediate rounding and differs by several levels: we match the CPU path.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kspam/core/error.hpp"
#include "kspam/image/rgb_image.hpp"

namespace kspam::image {

namespace detail {

inline double keys_cubic(double x) {
  constexpr double a = -0.5;
  if (x < 0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

// For each output sample along one axis: the first input index, the number of taps, and the
// int16 fixed-point weights (taps_max per sample, zero-padded) at `precision` fraction bits.
struct AxisFilter {
  int precision = 0;
  int taps_max = 0;
  std::vector<int> first;
  std::vector<int> count;
  std::vector<std::int16_t> weights;
};

inline AxisFilter make_axis_filter(int in_size, int out_size) {
  const double scale = static_cast<double>(in_size) / static_cast<double>(out_size);
  const double support = scale >= 1.0 ? 2.0 * scale : 2.0;  // bicubic reaches 2 input pixels, widened when shrinking
  const double invscale = scale >= 1.0 ? 1.0 / scale : 1.0;
  AxisFilter filter;
  filter.taps_max = static_cast<int>(std::ceil(support)) * 2 + 1;
  filter.first.resize(static_cast<std::size_t>(out_size));
  filter.count.resize(static_cast<std::size_t>(out_size));
  std::vector<double> weights(static_cast<std::size_t>(out_size) * static_cast<std::size_t>(filter.taps_max), 0.0);
  double w_max = 0.0;
  bool have_max = false;
  for (int i = 0; i < out_size; ++i) {
    const double center = scale * (i + 0.5);
    // int64 casts truncate toward zero, as torch does before clamping.
    const auto lo = std::max<std::int64_t>(static_cast<std::int64_t>(center - support + 0.5), 0);
    const auto hi = std::min<std::int64_t>(static_cast<std::int64_t>(center + support + 0.5), in_size);
    const int n = static_cast<int>(std::min<std::int64_t>(hi - lo, filter.taps_max));
    filter.first[static_cast<std::size_t>(i)] = static_cast<int>(lo);
    filter.count[static_cast<std::size_t>(i)] = n;
    double* w = weights.data() + static_cast<std::size_t>(i) * static_cast<std::size_t>(filter.taps_max);
    double total = 0.0;
    for (int j = 0; j < n; ++j) {
      w[j] = keys_cubic((static_cast<double>(j + lo) - center + 0.5) * invscale);
      total += w[j];
    }
    if (total != 0.0)
      for (int j = 0; j < n; ++j) w[j] /= total;
    for (int j = 0; j < filter.taps_max; ++j) {  // torch takes the max over the padded table, zeros included
      if (!have_max || w[j] > w_max) w_max = w[j];
      have_max = true;
    }
  }
  // The largest precision (at most 22 bits) whose scaled maximum weight still fits in int16.
  int precision = 0;
  for (precision = 0; precision < 22; ++precision) {
    const int next = static_cast<int>(0.5 + w_max * static_cast<double>(1 << (precision + 1)));
    if (next >= (1 << 15)) break;
  }
  filter.precision = precision;
  filter.weights.resize(weights.size());
  for (std::size_t k = 0; k < weights.size(); ++k) {
    const double v = weights[k] * static_cast<double>(1 << precision);
    filter.weights[k] = static_cast<std::int16_t>(v < 0 ? static_cast<int>(-0.5 + v) : static_cast<int>(0.5 + v));
  }
  return filter;
}

inline std::uint8_t clamp_u8(std::int32_t v) { return static_cast<std::uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v)); }

}  // namespace detail

// Resizes `src` to out_width x out_height. Returns a copy when the size is unchanged (torchvision
// does not resample then).
inline RgbImage resize_bicubic(const RgbImage& src, int out_width, int out_height) {
  if (src.width <= 0 || src.height <= 0) throw Error("resize_bicubic: empty source image");
  if (out_width <= 0 || out_height <= 0) throw Error("resize_bicubic: empty target size");
  RgbImage current = src;
  if (out_width != src.width) {
    const auto f = detail::make_axis_filter(src.width, out_width);
    RgbImage next(out_width, src.height);
    const std::int32_t rounding = f.precision > 0 ? (1 << (f.precision - 1)) : 0;
    for (int y = 0; y < src.height; ++y) {
      const std::uint8_t* row = current.pixels.data() + static_cast<std::size_t>(y) * static_cast<std::size_t>(src.width) * 3;
      std::uint8_t* out = next.pixels.data() + static_cast<std::size_t>(y) * static_cast<std::size_t>(out_width) * 3;
      for (int x = 0; x < out_width; ++x) {
        const std::int16_t* w = f.weights.data() + static_cast<std::size_t>(x) * static_cast<std::size_t>(f.taps_max);
        const std::uint8_t* in = row + static_cast<std::size_t>(f.first[static_cast<std::size_t>(x)]) * 3;
        std::int32_t r = rounding, g = rounding, b = rounding;
        for (int j = 0, n = f.count[static_cast<std::size_t>(x)]; j < n; ++j) {
          r += w[j] * in[j * 3 + 0];
          g += w[j] * in[j * 3 + 1];
          b += w[j] * in[j * 3 + 2];
        }
        out[x * 3 + 0] = detail::clamp_u8(r >> f.precision);
        out[x * 3 + 1] = detail::clamp_u8(g >> f.precision);
        out[x * 3 + 2] = detail::clamp_u8(b >> f.precision);
      }
    }
    current = std::move(next);
  }
  if (out_height != src.height) {
    const auto f = detail::make_axis_filter(src.height, out_height);
    RgbImage next(current.width, out_height);
    const std::int32_t rounding = f.precision > 0 ? (1 << (f.precision - 1)) : 0;
    const std::size_t stride = static_cast<std::size_t>(current.width) * 3;
    std::vector<std::int32_t> acc(stride);
    for (int y = 0; y < out_height; ++y) {
      const std::int16_t* w = f.weights.data() + static_cast<std::size_t>(y) * static_cast<std::size_t>(f.taps_max);
      std::fill(acc.begin(), acc.end(), rounding);
      const int first = f.first[static_cast<std::size_t>(y)];
      for (int j = 0, n = f.count[static_cast<std::size_t>(y)]; j < n; ++j) {
        const std::uint8_t* in = current.pixels.data() + static_cast<std::size_t>(first + j) * stride;
        const std::int32_t wj = w[j];
        for (std::size_t k = 0; k < stride; ++k) acc[k] += wj * in[k];
      }
      std::uint8_t* out = next.pixels.data() + static_cast<std::size_t>(y) * stride;
      for (std::size_t k = 0; k < stride; ++k) out[k] = detail::clamp_u8(acc[k] >> f.precision);
    }
    current = std::move(next);
  }
  return current;
}

}  // namespace kspam::image

#pragma once
// bitsandbytes' signed 8-bit "dynamic" code (dynamic exponent + fraction, Dettmers 2015), the map that
// double quantization uses for the per-block absmax values, and nearest-value encoding against it.
//
// Source: bitsandbytes-foundation/bitsandbytes @ 01327aa0119fa503ea16322dd72f69f202e4502e,
//   bitsandbytes/functional.py create_dynamic_map(signed=True, max_exponent_bits=7, total_bits=8).
// The values are built with the same float32 arithmetic PyTorch performs there (torch.linspace in
// float32 with its symmetric two-halves formula, float32 midpoints, the power of ten cast to float32),
// so the 256 floats equal bitsandbytes' map bit for bit (checked against a PyTorch dump in
// tests/quant/test_nf4.cpp). Checkpoints carry their own map (weight.nested_quant_map); this one is
// used when we quantize.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

namespace kspam::quant {

namespace detail {
// torch.linspace(start, end, steps) for float32 on the CPU: step in float, first half counted up from
// start, second half counted down from end, each as one fused multiply-add (PyTorch's CPU kernel is
// compiled with FMA contraction; plain multiply-then-add differs in the last bit for 42 of the 256 values).
inline std::vector<float> torch_linspace_f32(float start, float end, int steps) {
  std::vector<float> out(static_cast<std::size_t>(steps));
  if (steps == 1) {
    out[0] = start;
    return out;
  }
  const float step = (end - start) / static_cast<float>(steps - 1);
  const int halfway = steps / 2;
  for (int i = 0; i < steps; ++i) {
    out[static_cast<std::size_t>(i)] = i < halfway ? std::fma(step, static_cast<float>(i), start)
                                                   : std::fma(-step, static_cast<float>(steps - i - 1), end);
  }
  return out;
}
}  // namespace detail

inline std::array<float, 256> make_dynamic_map_signed() {
  constexpr int kMaxExponentBits = 7;
  constexpr int kNonSignBits = 7;
  std::vector<float> data;
  data.reserve(256);
  for (int i = 0; i < kMaxExponentBits; ++i) {
    const int fraction_items = (1 << (i + kNonSignBits - kMaxExponentBits)) + 1;
    const std::vector<float> bounds = detail::torch_linspace_f32(0.1f, 1.0f, fraction_items);
    const auto scale = static_cast<float>(std::pow(10.0, -(kMaxExponentBits - 1) + i));
    for (std::size_t k = 0; k + 1 < bounds.size(); ++k) {
      const float mean = (bounds[k] + bounds[k + 1]) / 2.0f;
      data.push_back(scale * mean);
      data.push_back(-scale * mean);
    }
  }
  data.push_back(0.0f);
  data.push_back(1.0f);
  std::sort(data.begin(), data.end());
  std::array<float, 256> map{};
  std::copy(data.begin(), data.end(), map.begin());
  return map;
}

inline const std::array<float, 256>& dynamic_map_signed() {
  static const std::array<float, 256> map = make_dynamic_map_signed();
  return map;
}

// Index of the map value nearest to x (ties to the lower index, as torch.argmin in bitsandbytes'
// reference quantize_blockwise); NaN maps to 0. The map must be sorted ascending.
inline std::uint8_t encode_nearest(const std::array<float, 256>& map, float x) {
  if (std::isnan(x)) return 0;
  const auto it = std::lower_bound(map.begin(), map.end(), x);
  if (it == map.begin()) return 0;
  if (it == map.end()) return 255;
  const auto hi = static_cast<std::size_t>(it - map.begin());
  const std::size_t lo = hi - 1;
  return static_cast<std::uint8_t>(std::fabs(x - map[lo]) <= std::fabs(map[hi] - x) ? lo : hi);
}

}  // namespace kspam::quant

#pragma once
// An NF4-quantized tensor in bitsandbytes' layout, and block quantization / dequantization on the host.
//
// Layout (bitsandbytes' Params4bit + QuantState, see nf4_codebook.hpp and bnb_checkpoint.hpp):
//   the tensor is flattened row-major and cut into blocks of `blocksize` elements (the last block may be
//   partial); each block stores absmax = max |x| and each element the NF4 code of x / absmax; codes are
//   packed two per byte, the first element in the high nibble.
//   With double quantization the per-block absmax values are themselves quantized: offset = mean(absmax),
//   then (absmax - offset) is cut into blocks of 256, each with its own fp32 absmax ("nested_absmax"),
//   and encoded with the 8-bit dynamic map. The fp32 scale of block b is then
//   map[q_b] * nested_absmax[b / 256] + offset, in that float order (bitsandbytes' dequantize_blockwise
//   followed by "+= offset").
// Dequantization computes code_value * scale in fp32 and rounds once to the output type, as
// bitsandbytes' kernels do.
#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <limits>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "kspam/core/error.hpp"
#include "kspam/core/thread_pool.hpp"
#include "kspam/quant/dynamic_map.hpp"
#include "kspam/quant/nf4_codebook.hpp"
#include "kspam/tensor/half.hpp"

namespace kspam::quant {

struct Nf4Options {
  int blocksize = 64;          // bitsandbytes accepts 32..4096 (powers of two); QLoRA uses 64
  bool double_quant = true;    // quantize the absmax values too (QLoRA's default, saves ~0.37 bit/param)
  int nested_blocksize = 256;  // fixed by bitsandbytes for the absmax quantization
};

struct Nf4Tensor {
  std::vector<std::int64_t> shape;  // logical shape, e.g. {out_features, in_features}
  std::size_t numel = 0;
  int blocksize = 64;
  std::vector<std::uint8_t> packed;  // (numel + 1) / 2 bytes
  std::array<float, 16> quant_map = kNf4Codebook;

  // Without double quantization: one fp32 absmax per block.
  std::vector<float> absmax;
  // With double quantization: 8-bit codes per block, fp32 absmax per 256 codes, the mean offset, the map.
  bool double_quant = false;
  std::vector<std::uint8_t> absmax_codes;
  std::vector<float> nested_absmax;
  float nested_offset = 0.0f;
  int nested_blocksize = 256;
  std::array<float, 256> nested_map{};

  std::size_t blocks() const { return (numel + static_cast<std::size_t>(blocksize) - 1) / static_cast<std::size_t>(blocksize); }
  std::int64_t rows() const { return shape.empty() ? 0 : shape.front(); }
  std::int64_t cols() const { return shape.empty() ? 0 : static_cast<std::int64_t>(numel) / std::max<std::int64_t>(shape.front(), 1); }
  std::size_t storage_bytes() const {
    return packed.size() + (double_quant ? absmax_codes.size() + nested_absmax.size() * 4 + 4 : absmax.size() * 4);
  }

  // The fp32 scale of every block (decoding the double quantization when present).
  std::vector<float> block_scales() const {
    if (!double_quant) return absmax;
    std::vector<float> scales(absmax_codes.size());
    for (std::size_t b = 0; b < scales.size(); ++b) {
      const float q = nested_map[absmax_codes[b]] * nested_absmax[b / static_cast<std::size_t>(nested_blocksize)];
      scales[b] = q + nested_offset;
    }
    return scales;
  }

  std::uint8_t code(std::size_t i) const {
    const std::uint8_t byte = packed[i / 2];
    return (i % 2 == 0) ? nf4_high(byte) : nf4_low(byte);
  }
};

inline void check_nf4_options(const Nf4Options& options) {
  const int bs = options.blocksize;
  if (bs < 32 || bs > 4096 || (bs & (bs - 1)) != 0) {
    throw InputError("", 0, "blocksize", std::to_string(bs), "NF4 block size must be a power of two in 32..4096");
  }
}

namespace detail {
inline std::vector<float> blockwise_absmax(std::span<const float> values, std::size_t blocksize) {
  const std::size_t blocks = (values.size() + blocksize - 1) / blocksize;
  std::vector<float> absmax(blocks, 0.0f);
  for (std::size_t b = 0; b < blocks; ++b) {
    const std::size_t end = std::min(values.size(), (b + 1) * blocksize);
    float m = 0.0f;
    for (std::size_t i = b * blocksize; i < end; ++i) m = std::fmax(m, std::fabs(values[i]));
    absmax[b] = m;
  }
  return absmax;
}
}  // namespace detail

// Quantizes fp32 values (bf16 weights widen exactly) to NF4. Non-finite inputs are rejected: a NaN or inf
// would poison a whole block's scale.
inline Nf4Tensor quantize_nf4(std::span<const float> values, std::vector<std::int64_t> shape,
                              const Nf4Options& options = {}) {
  check_nf4_options(options);
  std::size_t numel = 1;
  for (auto d : shape) {
    if (d < 0) throw InputError("", 0, "shape", std::to_string(d), "tensor dimensions must be non-negative");
    numel *= static_cast<std::size_t>(d);
  }
  if (numel != values.size()) {
    throw InputError("", 0, "shape", std::to_string(numel), "shape does not match the number of values (" +
                                                                 std::to_string(values.size()) + ")");
  }
  Nf4Tensor t;
  t.shape = std::move(shape);
  t.numel = numel;
  t.blocksize = options.blocksize;
  const auto bs = static_cast<std::size_t>(options.blocksize);
  const std::size_t nblocks = (numel + bs - 1) / bs;
  std::vector<float> absmax(nblocks, 0.0f);
  t.packed.assign((numel + 1) / 2, 0);
  // Blocks are independent (and even-sized, so no byte straddles two), so they are coded in parallel; each
  // block's codes go through a small buffer first so the comparison loop vectorizes. Non-finite inputs are
  // rejected (a NaN or inf would poison the block's scale): a block that has one is noted and rescanned below
  // for the exact element.
  std::atomic<std::size_t> first_bad_block{nblocks};
  parallel_for(0, (nblocks + 255) / 256, [&](std::size_t chunk) {
    std::vector<std::uint8_t> codes(bs);
    for (std::size_t b = chunk * 256; b < std::min(nblocks, (chunk + 1) * 256); ++b) {
      const std::size_t begin = b * bs, count = std::min(numel, begin + bs) - begin;
      const float* v = values.data() + begin;
      float m = 0.0f;
      bool finite = true;
      for (std::size_t k = 0; k < count; ++k) {
        const float a = std::fabs(v[k]);
        finite = finite && (a <= std::numeric_limits<float>::max());  // false for NaN and inf
        m = a > m ? a : m;
      }
      if (!finite) {
        std::size_t cur = first_bad_block.load();
        while (b < cur && !first_bad_block.compare_exchange_weak(cur, b)) {
        }
        continue;
      }
      absmax[b] = m;
      // bitsandbytes multiplies by the reciprocal (an all-zero block gives NaN -> code 0, value -0).
      const float inv = 1.0f / m;
      for (std::size_t k = 0; k < count; ++k) codes[k] = nf4_code(v[k] * inv);
      if (count % 2) codes[count] = 0;
      std::uint8_t* out = t.packed.data() + begin / 2;
      for (std::size_t k = 0; k < count; k += 2) out[k / 2] = nf4_pack(codes[k], codes[k + 1]);
    }
  }, 0, 1);
  if (const std::size_t bad = first_bad_block.load(); bad < nblocks) {
    for (std::size_t i = bad * bs; i < numel; ++i) {
      if (!std::isfinite(values[i])) {
        throw InputError("", 0, "element " + std::to_string(i), std::to_string(values[i]), "cannot quantize a non-finite weight");
      }
    }
  }
  if (!options.double_quant) {
    t.absmax = std::move(absmax);
    return t;
  }
  t.double_quant = true;
  t.nested_blocksize = options.nested_blocksize;
  t.nested_map = dynamic_map_signed();
  double sum = 0.0;
  for (float a : absmax) sum += a;
  t.nested_offset = absmax.empty() ? 0.0f : static_cast<float>(sum / static_cast<double>(absmax.size()));
  std::vector<float> centered(absmax.size());
  for (std::size_t b = 0; b < absmax.size(); ++b) centered[b] = absmax[b] - t.nested_offset;
  const auto nbs = static_cast<std::size_t>(t.nested_blocksize);
  t.nested_absmax = detail::blockwise_absmax(centered, nbs);
  t.absmax_codes.resize(absmax.size());
  for (std::size_t b = 0; b < centered.size(); ++b) {
    const float inv = 1.0f / t.nested_absmax[b / nbs];
    float s = centered[b] * inv;
    s = std::isnan(s) ? s : std::fmin(1.0f, std::fmax(-1.0f, s));
    t.absmax_codes[b] = encode_nearest(t.nested_map, s);
  }
  return t;
}

inline Nf4Tensor quantize_nf4_bf16(std::span<const std::uint16_t> bf16, std::vector<std::int64_t> shape,
                                   const Nf4Options& options = {}) {
  std::vector<float> widened(bf16.size());
  for (std::size_t i = 0; i < bf16.size(); ++i) widened[i] = tensor::bf16_to_f32(bf16[i]);
  return quantize_nf4(widened, std::move(shape), options);
}

// Dequantized values in fp32 (code value * block scale, one fp32 rounding).
inline void dequantize_nf4(const Nf4Tensor& t, std::span<float> out) {
  if (out.size() != t.numel) throw Error("dequantize_nf4: output has " + std::to_string(out.size()) +
                                         " elements, tensor has " + std::to_string(t.numel));
  const std::vector<float> scales = t.block_scales();
  const auto bs = static_cast<std::size_t>(t.blocksize);
  parallel_for(0, (scales.size() + 255) / 256, [&](std::size_t chunk) {
    for (std::size_t b = chunk * 256; b < std::min(scales.size(), (chunk + 1) * 256); ++b) {
      const std::size_t begin = b * bs, end = std::min(t.numel, begin + bs);
      for (std::size_t i = begin; i < end; i += 2) {
        const std::uint8_t byte = t.packed[i / 2];
        out[i] = t.quant_map[nf4_high(byte)] * scales[b];
        if (i + 1 < end) out[i + 1] = t.quant_map[nf4_low(byte)] * scales[b];
      }
    }
  }, 0, 1);
}

inline std::vector<float> dequantize_nf4(const Nf4Tensor& t) {
  std::vector<float> out(t.numel);
  dequantize_nf4(t, out);
  return out;
}

// Dequantized values as bf16 bit patterns (what bitsandbytes' dequantize_4bit returns for a bf16 weight).
inline std::vector<std::uint16_t> dequantize_nf4_bf16(const Nf4Tensor& t) {
  std::vector<float> f = dequantize_nf4(t);
  std::vector<std::uint16_t> out(f.size());
  for (std::size_t i = 0; i < f.size(); ++i) out[i] = tensor::f32_to_bf16(f[i]);
  return out;
}

// Largest |x - dequantized(x)| / absmax for exact scales: half the widest gap between adjacent codes
// (between -1 and -0.6961928: (1 - 0.6961928) / 2). With double quantization add the scale error.
inline constexpr float kNf4MaxRelativeError = (1.0f - 0.6961928009986877f) / 2.0f;
// Half the widest gap of the dynamic map in its top decade ([0.1, 1] split into 64 steps, then the
// gap from the highest midpoint to 1.0): bounds |absmax - decoded absmax| / nested_absmax.
inline constexpr float kDynamicMapMaxRelativeError = 0.9f / 64.0f / 2.0f;

}  // namespace kspam::quant

#pragma once
// An NF4 tensor on the GPU (bitsandbytes layout, see quant/nf4_tensor.hpp) and the device-side decoding
// of its block scales, shared by the dequantize, GEMV and GEMM kernels.
#include <cstdint>

#include <cuda_bf16.h>

#include "kspam/cuda/device_memory.cuh"
#include "kspam/quant/nf4_tensor.hpp"

namespace kspam::cuda {

// Plain pointers for kernels (a copy is passed by value).
struct Nf4View {
  const std::uint8_t* packed = nullptr;        // (numel + 1) / 2 bytes, first element in the high nibble
  const float* absmax = nullptr;               // fp32 scales (no double quantization)
  const std::uint8_t* absmax_codes = nullptr;  // 8-bit scale codes (double quantization)
  const float* nested_absmax = nullptr;
  const float* nested_map = nullptr;           // 256 floats
  const float* quant_map = nullptr;            // 16 floats
  float nested_offset = 0.0f;
  int blocksize = 64;
  int nested_blocksize = 256;
  int blocksize_shift = 6;          // log2(blocksize): block index by shift, not 64-bit division
  int nested_shift = 8;             // log2(nested_blocksize)
  bool double_quant = false;
  std::int64_t rows = 0, cols = 0;
};

// The tables the GEMM kernels dequantize with, filled by the block's first 256 threads (a barrier must follow):
// pair[b * kRowWords + c] = (bf16 of code b >> 4 in the low half, bf16 of code b & 15 in the high half) for each
// packed byte b, in kCopies copies (a power of two up to 32) so that lane l reading copy l % kCopies meets few or
// no other lanes in its bank; copies are written rotated so a warp's stores hit distinct banks. Rows longer than
// kCopies words (kRowWords) leave the rest unused: a 256-byte row lets one byte permute form an address.
// nested_map gets the 256-entry double-quantization map (zeros without double quantization).
template <int kCopies, int kRowWords = kCopies>
__device__ __forceinline__ void nf4_fill_pair_table(const Nf4View& w, std::uint32_t* pair, float* nested_map) {
  static_assert(kCopies >= 1 && kCopies <= 32 && (kCopies & (kCopies - 1)) == 0, "kCopies: a power of two up to 32");
  static_assert(kRowWords >= kCopies, "a row holds its copies");
  const int b = threadIdx.x;
  if (b >= 256) return;
  const __nv_bfloat162 v = __floats2bfloat162_rn(__ldg(w.quant_map + (b >> 4)), __ldg(w.quant_map + (b & 15)));
  const std::uint32_t word = *reinterpret_cast<const std::uint32_t*>(&v);
#pragma unroll 8
  for (int l = 0; l < kCopies; ++l) pair[b * kRowWords + ((l + b) & (kCopies - 1))] = word;
  nested_map[b] = w.double_quant ? __ldg(w.nested_map + b) : 0.0f;
}

// The fp32 scale of quantization block b in two halves, for kernels that issue the global loads a step before
// they need the value (the loads' latency then hides behind the current step): nf4_scale_parts reads the raw
// parts, nf4_scale_value finishes them with the same float operations as the host (Nf4Tensor::block_scales):
// explicit _rn intrinsics keep nvcc from contracting them into an FMA, so the dequantized values are
// bit-identical to the CPU's.
struct Nf4ScaleParts {
  std::uint32_t code = 0;  // 8-bit scale code (double quantization only)
  float base = 0.0f;       // the nested absmax, or without double quantization the fp32 scale itself
};

__device__ __forceinline__ Nf4ScaleParts nf4_scale_parts(const Nf4View& w, std::int64_t b) {
  if (!w.double_quant) return {0, __ldg(w.absmax + b)};
  return {__ldg(w.absmax_codes + b), __ldg(w.nested_absmax + (b >> w.nested_shift))};
}

__device__ __forceinline__ float nf4_scale_value(const Nf4View& w, const Nf4ScaleParts& p, const float* nested_map_smem) {
  return w.double_quant ? __fadd_rn(__fmul_rn(nested_map_smem[p.code], p.base), w.nested_offset) : p.base;
}

// Both halves at once.
__device__ __forceinline__ float nf4_block_scale(const Nf4View& w, std::int64_t b, const float* nested_map_smem) {
  return nf4_scale_value(w, nf4_scale_parts(w, b), nested_map_smem);
}

// Owns the device copies of an Nf4Tensor.
class Nf4DeviceWeight {
 public:
  Nf4DeviceWeight() = default;
  explicit Nf4DeviceWeight(const quant::Nf4Tensor& t)
      : packed_(std::span<const std::uint8_t>(t.packed)),
        quant_map_(std::span<const float>(t.quant_map)),
        nested_map_(std::span<const float>(t.nested_map)) {
    view_.rows = t.rows();
    view_.cols = t.cols();
    view_.blocksize = t.blocksize;
    view_.double_quant = t.double_quant;
    view_.nested_blocksize = t.nested_blocksize;
    view_.nested_offset = t.nested_offset;
    view_.blocksize_shift = log2_exact(t.blocksize, "blocksize");
    if (t.double_quant) view_.nested_shift = log2_exact(t.nested_blocksize, "nested_blocksize");
    if (t.double_quant) {
      absmax_codes_ = DeviceBuffer<std::uint8_t>(std::span<const std::uint8_t>(t.absmax_codes));
      nested_absmax_ = DeviceBuffer<float>(std::span<const float>(t.nested_absmax));
    } else {
      absmax_ = DeviceBuffer<float>(std::span<const float>(t.absmax));
    }
    view_.packed = packed_.data();
    view_.absmax = absmax_.data();
    view_.absmax_codes = absmax_codes_.data();
    view_.nested_absmax = nested_absmax_.data();
    view_.nested_map = nested_map_.data();
    view_.quant_map = quant_map_.data();
    bytes_ = packed_.bytes() + absmax_.bytes() + absmax_codes_.bytes() + nested_absmax_.bytes();
  }
  const Nf4View& view() const { return view_; }
  // Bytes a kernel must read to use the whole weight (codes + scales).
  std::size_t bytes() const { return bytes_; }

 private:
  static int log2_exact(int v, const char* what) {
    int s = 0;
    while ((1 << s) < v) ++s;
    if (v <= 0 || (1 << s) != v) throw Error(std::string("NF4 on the GPU needs a power-of-two ") + what + ", got " + std::to_string(v));
    return s;
  }

  DeviceBuffer<std::uint8_t> packed_;
  DeviceBuffer<float> quant_map_;
  DeviceBuffer<float> nested_map_;
  DeviceBuffer<float> absmax_;
  DeviceBuffer<std::uint8_t> absmax_codes_;
  DeviceBuffer<float> nested_absmax_;
  Nf4View view_;
  std::size_t bytes_ = 0;
};

}  // namespace kspam::cuda

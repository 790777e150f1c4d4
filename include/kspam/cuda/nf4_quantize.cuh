#pragma once
// NF4 quantization and dequantization kernels. Quantization produces the codes and fp32 absmax per block
// exactly as the host quantizer does (same max, same reciprocal-multiply, same thresholds: bit-identical
// codes); double quantization of the absmax values then runs on the host (one float per 64 weights), so
// both paths share one definition of the mean offset. Dequantization writes bf16 = round(code * scale),
// bitsandbytes' dequantize_4bit, optionally into a wider row (ld_out > cols) for fused layouts.
#include <cstdint>

#include "kspam/cuda/device_memory.cuh"
#include "kspam/cuda/launch.cuh"
#include "kspam/cuda/nf4_weight.cuh"
#include "kspam/quant/nf4_codebook.hpp"

namespace kspam::cuda {

namespace kernels {

// One thread block per quantization block: max |x| by warp shuffles, then codes for pairs of elements.
__global__ void nf4_quantize_bf16(const __nv_bfloat16* __restrict__ x, std::int64_t n, int blocksize,
                                  std::uint8_t* __restrict__ packed, float* __restrict__ absmax) {
  const std::int64_t b = blockIdx.x;
  const std::int64_t begin = b * blocksize;
  const std::int64_t end = min(n, begin + blocksize);
  float m = 0.0f;
  for (std::int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) m = fmaxf(m, fabsf(__bfloat162float(x[i])));
  for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
  __shared__ float warp_max[32];
  if ((threadIdx.x & 31) == 0) warp_max[threadIdx.x >> 5] = m;
  __syncthreads();
  if (threadIdx.x < 32) {
    m = threadIdx.x < (blockDim.x + 31) / 32 ? warp_max[threadIdx.x] : 0.0f;
    for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
    if (threadIdx.x == 0) warp_max[0] = m;
  }
  __syncthreads();
  m = warp_max[0];
  if (threadIdx.x == 0) absmax[b] = m;
  const float inv = __frcp_rn(m);  // 1.0f / m, correctly rounded, as on the host
  // blocksize is even (a power of two >= 32), so pairs never straddle blocks.
  for (std::int64_t i = begin + 2 * threadIdx.x; i < end; i += 2 * blockDim.x) {
    const std::uint8_t hi = quant::nf4_code(__fmul_rn(__bfloat162float(x[i]), inv));
    const std::uint8_t lo = i + 1 < n ? quant::nf4_code(__fmul_rn(__bfloat162float(x[i + 1]), inv)) : 0;
    packed[i / 2] = quant::nf4_pack(hi, lo);
  }
}

// Dequantization in groups of 8 weights (4 packed bytes in, 16 bytes of bf16 out). A warp takes 128
// consecutive groups and each lane 4 of them, 32 apart, so every load and store instruction of the warp
// covers one contiguous span (128 and 512 bytes) and each lane has all four loads in flight before it
// computes. The first step's loads are issued before pdl_wait(), so under programmatic dependent launch they
// overlap the end of the previous kernel; nothing is written before it (the previous kernel may still be
// reading `out`). Requires cols % 8 == 0.
__global__ void nf4_dequantize_bf16(Nf4View w, __nv_bfloat16* __restrict__ out, std::int64_t ld_out) {
  constexpr int kGroupsPerLane = 4;
  __shared__ float nested_map[256];
  __shared__ float lut[16];
  const std::int64_t groups_per_row = w.cols / 8;
  const std::int64_t total = w.rows * groups_per_row;
  const bool small = total <= 0xffffffffLL;  // 32-bit division then (every real weight): 64-bit costs ~100 instructions
  const int lane = threadIdx.x & 31;
  const std::int64_t step = static_cast<std::int64_t>(gridDim.x) * (blockDim.x >> 5) * 32 * kGroupsPerLane;
  std::uint32_t bytes[kGroupsPerLane];
  Nf4ScaleParts parts[kGroupsPerLane];
  auto load = [&](std::int64_t base) {
#pragma unroll
    for (int k = 0; k < kGroupsPerLane; ++k) {
      const std::int64_t g = base + 32 * k + lane;
      if (g < total) {
        bytes[k] = __ldg(reinterpret_cast<const std::uint32_t*>(w.packed) + g);  // elements 8g .. 8g + 7
        parts[k] = nf4_scale_parts(w, (8 * g) >> w.blocksize_shift);
      }
    }
  };
  std::int64_t base = (static_cast<std::int64_t>(blockIdx.x) * (blockDim.x >> 5) + (threadIdx.x >> 5)) * 32 * kGroupsPerLane;
  if (base < total) load(base);
  for (int i = threadIdx.x; i < 256; i += blockDim.x) nested_map[i] = w.double_quant ? w.nested_map[i] : 0.0f;
  if (threadIdx.x < 16) lut[threadIdx.x] = w.quant_map[threadIdx.x];
  __syncthreads();
  pdl_wait();
  for (; base < total; base += step) {
#pragma unroll
    for (int k = 0; k < kGroupsPerLane; ++k) {
      const std::int64_t g = base + 32 * k + lane;
      if (g >= total) break;
      const float scale = nf4_scale_value(w, parts[k], nested_map);
      const std::int64_t row = small ? static_cast<std::uint32_t>(g) / static_cast<std::uint32_t>(groups_per_row) : g / groups_per_row;
      const std::int64_t col = (g - row * groups_per_row) * 8;
      __align__(16) __nv_bfloat16 v[8];
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const std::uint32_t byte = (bytes[k] >> (8 * j)) & 0xffu;
        v[2 * j] = __float2bfloat16_rn(__fmul_rn(lut[byte >> 4], scale));
        v[2 * j + 1] = __float2bfloat16_rn(__fmul_rn(lut[byte & 15u], scale));
      }
      *reinterpret_cast<uint4*>(out + row * ld_out + col) = *reinterpret_cast<const uint4*>(v);
    }
    if (base + step < total) load(base + step);
  }
}

}  // namespace kernels

// Codes and fp32 absmax for a bf16 tensor already on the device.
inline void nf4_quantize(const __nv_bfloat16* x, std::int64_t n, int blocksize, std::uint8_t* packed, float* absmax,
                         cudaStream_t stream = nullptr) {
  const std::int64_t blocks = (n + blocksize - 1) / blocksize;
  if (blocks == 0) return;
  const int threads = blocksize >= 256 ? 128 : 32;
  kernels::nf4_quantize_bf16<<<static_cast<unsigned>(blocks), threads, 0, stream>>>(x, n, blocksize, packed, absmax);
  KSPAM_CUDA_LAUNCH_CHECK();
}

// bf16 [rows, cols] into out with row stride ld_out (>= cols, multiple of 8). With pdl, launched by programmatic
// dependent launch: its loads of the NF4 weight then start while the previous kernel in the stream is still
// finishing, which is right only if that kernel does not write the weight (it may read or write `out`).
inline void nf4_dequantize(const Nf4View& w, __nv_bfloat16* out, std::int64_t ld_out, cudaStream_t stream = nullptr, bool pdl = false) {
  if (w.cols % 8 != 0 || ld_out % 8 != 0 || ld_out < w.cols) throw Error("nf4_dequantize: columns and row stride must be multiples of 8");
  const std::int64_t groups = w.rows * (w.cols / 8);
  if (groups == 0) return;
  const int threads = 256;  // 8 warps, each 128 groups per step
  const auto blocks = static_cast<unsigned>(std::min<std::int64_t>((groups + 1023) / 1024, std::int64_t{sm_count()} * 8));
  launch_kernel(kernels::nf4_dequantize_bf16, dim3(blocks), dim3(threads), 0, stream, pdl, w, out, ld_out);
}

}  // namespace kspam::cuda

#pragma once
// Fused NF4 matrix-vector product for decoding: y[b, :] = x[b, :] W^T for a batch of 1..8 vectors,
// reading each 4-bit weight exactly once and never materialising the dequantized matrix.
//
// One warp computes two output rows. Each lane takes 16 packed bytes (32 weights) of each row per step with
// 16-byte loads, expands them through the 16-entry codebook in shared memory (16 floats in 16 distinct
// banks: lookups never conflict), sums lut[code] * x in fp32 and applies the block scale once per 32
// weights. Two rows per warp halve the x traffic and conversions and put two weight loads in flight per
// lane. Block indices use shifts (block sizes are powers of two). Requires cols % 32 == 0 and
// blocksize >= 32 (32 consecutive weights share one scale).
// (Measured alternatives that were slower on the H100, see bench/RESULTS.md: one row per warp with all
// of a row's loads issued first, and a 256-entry byte -> value-pair table.)
#include <cstdint>

#include "kspam/cuda/device_memory.cuh"
#include "kspam/cuda/nf4_weight.cuh"

namespace kspam::cuda {

namespace kernels {

template <int Batch>
__global__ void __launch_bounds__(256) nf4_gemv(Nf4View w, const __nv_bfloat16* __restrict__ x,
                                                __nv_bfloat16* __restrict__ y) {
  constexpr int R = 2;
  __shared__ float nested_map[256];
  __shared__ float lut[16];
  for (int i = threadIdx.x; i < 256; i += blockDim.x) nested_map[i] = w.double_quant ? w.nested_map[i] : 0.0f;
  if (threadIdx.x < 16) lut[threadIdx.x] = w.quant_map[threadIdx.x];
  __syncthreads();
  const int lane = threadIdx.x & 31;
  const int warps = blockDim.x >> 5;
  const int chunks = static_cast<int>(w.cols / 32);
  for (std::int64_t row0 = (static_cast<std::int64_t>(blockIdx.x) * warps + (threadIdx.x >> 5)) * R; row0 < w.rows;
       row0 += static_cast<std::int64_t>(gridDim.x) * warps * R) {
    float acc[R][Batch];
#pragma unroll
    for (int r = 0; r < R; ++r)
#pragma unroll
      for (int b = 0; b < Batch; ++b) acc[r][b] = 0.0f;
    const bool second = row0 + 1 < w.rows;
    for (int c = lane; c < chunks; c += 32) {
      uint4 q[R];
      float scale[R];
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const std::int64_t i = (row0 + (r == 1 && second ? 1 : 0)) * w.cols + static_cast<std::int64_t>(c) * 32;
        q[r] = __ldg(reinterpret_cast<const uint4*>(w.packed + (i >> 1)));
        scale[r] = nf4_block_scale(w, i >> w.blocksize_shift, nested_map);
      }
      float wv[R][32];
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const std::uint32_t words[4] = {q[r].x, q[r].y, q[r].z, q[r].w};
#pragma unroll
        for (int k = 0; k < 4; ++k) {
#pragma unroll
          for (int j = 0; j < 4; ++j) {
            const std::uint32_t byte = (words[k] >> (8 * j)) & 0xffu;
            wv[r][8 * k + 2 * j] = lut[byte >> 4];
            wv[r][8 * k + 2 * j + 1] = lut[byte & 15u];
          }
        }
      }
#pragma unroll
      for (int b = 0; b < Batch; ++b) {
        const uint4* xp = reinterpret_cast<const uint4*>(x + static_cast<std::int64_t>(b) * w.cols + static_cast<std::int64_t>(c) * 32);
        float s[R] = {};
#pragma unroll
        for (int v = 0; v < 4; ++v) {
          const uint4 xv = __ldg(xp + v);
          const std::uint32_t xw[4] = {xv.x, xv.y, xv.z, xv.w};
#pragma unroll
          for (int j = 0; j < 4; ++j) {
            const float2 f = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&xw[j]));
#pragma unroll
            for (int r = 0; r < R; ++r) {
              s[r] = fmaf(wv[r][8 * v + 2 * j], f.x, s[r]);
              s[r] = fmaf(wv[r][8 * v + 2 * j + 1], f.y, s[r]);
            }
          }
        }
#pragma unroll
        for (int r = 0; r < R; ++r) acc[r][b] = fmaf(s[r], scale[r], acc[r][b]);
      }
    }
#pragma unroll
    for (int r = 0; r < R; ++r) {
#pragma unroll
      for (int b = 0; b < Batch; ++b) {
        float v = acc[r][b];
        for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
        if (lane == 0 && (r == 0 || second)) y[static_cast<std::int64_t>(b) * w.rows + row0 + r] = __float2bfloat16_rn(v);
      }
    }
  }
}

// Variant: no shared memory and no barrier, so a warp's first weight loads issue at launch; the codebook
// value for code c sits in lane c's register and is fetched with a warp shuffle; the next step's weight
// loads are issued before the current step's math (register double buffering), so a lane never waits on
// one load at a time. All lanes run the same trip count (shuffles need the full warp).
template <int Batch>
__global__ void __launch_bounds__(256) nf4_gemv_prefetch(Nf4View w, const __nv_bfloat16* __restrict__ x,
                                                         __nv_bfloat16* __restrict__ y) {
  constexpr int R = 2;
  const int lane = threadIdx.x & 31;
  const float lut_reg = __ldg(w.quant_map + (lane & 15));
  const int warps = blockDim.x >> 5;
  const int chunks = static_cast<int>(w.cols / 32);
  const int steps = (chunks + 31) / 32;
  for (std::int64_t row0 = (static_cast<std::int64_t>(blockIdx.x) * warps + (threadIdx.x >> 5)) * R; row0 < w.rows;
       row0 += static_cast<std::int64_t>(gridDim.x) * warps * R) {
    const bool second = row0 + 1 < w.rows;
    float acc[R][Batch];
#pragma unroll
    for (int r = 0; r < R; ++r)
#pragma unroll
      for (int b = 0; b < Batch; ++b) acc[r][b] = 0.0f;
    auto load = [&](int c, uint4 (&q)[R], float (&scale)[R]) {
#pragma unroll
      for (int r = 0; r < R; ++r) {
        if (c < chunks) {
          const std::int64_t i = (row0 + (r == 1 && second ? 1 : 0)) * w.cols + static_cast<std::int64_t>(c) * 32;
          q[r] = __ldg(reinterpret_cast<const uint4*>(w.packed + (i >> 1)));
          scale[r] = nf4_block_scale_ldg(w, i >> w.blocksize_shift);
        } else {
          q[r] = make_uint4(0, 0, 0, 0);
          scale[r] = 0.0f;
        }
      }
    };
    uint4 q[R];
    float scale[R];
    load(lane, q, scale);
    for (int t = 0; t < steps; ++t) {
      const int c = lane + 32 * t;
      uint4 qn[R];
      float scale_n[R];
      load(c + 32, qn, scale_n);
      float wv[R][32];
#pragma unroll
      for (int r = 0; r < R; ++r) {
        const std::uint32_t words[4] = {q[r].x, q[r].y, q[r].z, q[r].w};
#pragma unroll
        for (int k = 0; k < 4; ++k) {
#pragma unroll
          for (int j = 0; j < 4; ++j) {
            const int byte = static_cast<int>((words[k] >> (8 * j)) & 0xffu);
            wv[r][8 * k + 2 * j] = __shfl_sync(0xffffffffu, lut_reg, byte >> 4);
            wv[r][8 * k + 2 * j + 1] = __shfl_sync(0xffffffffu, lut_reg, byte & 15);
          }
        }
      }
      if (c < chunks) {
#pragma unroll
        for (int b = 0; b < Batch; ++b) {
          const uint4* xp = reinterpret_cast<const uint4*>(x + static_cast<std::int64_t>(b) * w.cols + static_cast<std::int64_t>(c) * 32);
          float s[R] = {};
#pragma unroll
          for (int v = 0; v < 4; ++v) {
            const uint4 xv = __ldg(xp + v);
            const std::uint32_t xw[4] = {xv.x, xv.y, xv.z, xv.w};
#pragma unroll
            for (int j = 0; j < 4; ++j) {
              const float2 f = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&xw[j]));
#pragma unroll
              for (int r = 0; r < R; ++r) {
                s[r] = fmaf(wv[r][8 * v + 2 * j], f.x, s[r]);
                s[r] = fmaf(wv[r][8 * v + 2 * j + 1], f.y, s[r]);
              }
            }
          }
#pragma unroll
          for (int r = 0; r < R; ++r) acc[r][b] = fmaf(s[r], scale[r], acc[r][b]);
        }
      }
#pragma unroll
      for (int r = 0; r < R; ++r) {
        q[r] = qn[r];
        scale[r] = scale_n[r];
      }
    }
#pragma unroll
    for (int r = 0; r < R; ++r) {
#pragma unroll
      for (int b = 0; b < Batch; ++b) {
        float v = acc[r][b];
        for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
        if (lane == 0 && (r == 0 || second)) y[static_cast<std::int64_t>(b) * w.rows + row0 + r] = __float2bfloat16_rn(v);
      }
    }
  }
}

}  // namespace kernels

enum class GemvKernel { shared_lut, prefetch_shuffle };

// y [batch, rows] = x [batch, cols] W^T, batch 1..8, bf16 in and out, fp32 accumulation.
inline void nf4_gemv(const Nf4View& w, const __nv_bfloat16* x, __nv_bfloat16* y, int batch, cudaStream_t stream = nullptr,
                     GemvKernel kernel = GemvKernel::shared_lut) {
  if (w.cols % 32 != 0 || w.blocksize < 32) throw Error("nf4_gemv: needs cols % 32 == 0 and blocksize >= 32");
  constexpr int kThreads = 256, kRowsPerBlock = kThreads / 32 * 2;
  const auto blocks = static_cast<unsigned>((w.rows + kRowsPerBlock - 1) / kRowsPerBlock);
  if (blocks == 0) return;
  const bool pf = kernel == GemvKernel::prefetch_shuffle;
#define KSPAM_GEMV_CASE(B)                                                                 \
  case B:                                                                                  \
    if (pf) {                                                                              \
      kernels::nf4_gemv_prefetch<B><<<blocks, kThreads, 0, stream>>>(w, x, y);             \
    } else {                                                                               \
      kernels::nf4_gemv<B><<<blocks, kThreads, 0, stream>>>(w, x, y);                      \
    }                                                                                      \
    break;
  switch (batch) {
    KSPAM_GEMV_CASE(1)
    KSPAM_GEMV_CASE(2)
    KSPAM_GEMV_CASE(3)
    KSPAM_GEMV_CASE(4)
    KSPAM_GEMV_CASE(5)
    KSPAM_GEMV_CASE(6)
    KSPAM_GEMV_CASE(7)
    KSPAM_GEMV_CASE(8)
    default: throw Error("nf4_gemv: batch must be 1..8 (use nf4_gemm for more rows), got " + std::to_string(batch));
  }
#undef KSPAM_GEMV_CASE
  KSPAM_CUDA_LAUNCH_CHECK();
}

}  // namespace kspam::cuda

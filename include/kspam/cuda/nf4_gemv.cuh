#pragma once
// Fused NF4 matrix-vector product for decoding: y[b, :] = x[b, :] W^T for a batch of 1..8 vectors,
// reading each 4-bit weight exactly once and never materialising the dequantized matrix.
//
// Default (GemvKernel::automatic): the tensor-core kernel nf4_gemv_mma (see its comment below), except batch 1
// on a tall matrix of <= 2048 columns, where the older two-rows-per-warp kernel measured faster.
//
// nf4_gemv (GemvKernel::shared_lut, the previous default): one warp computes two output rows. Each lane takes
// 16 packed bytes (32 weights) of each row per step with 16-byte loads, expands them through the 16-entry
// codebook in shared memory (16 floats in 16 distinct banks: lookups never conflict), sums lut[code] * x in
// fp32 and applies the block scale once per 32 weights. Requires cols % 32 == 0 and blocksize >= 32 (32
// consecutive weights share one scale). The tensor-core kernel also needs cols % 128 == 0 (else shared_lut runs).
// (Measured alternatives that were slower on the H100, see bench/RESULTS.md: one row per warp with all
// of a row's loads issued first, a 256-entry byte -> value-pair table in fp32, and a CUDA-core kernel with
// R rows per warp and R * U loads in flight per lane, R x U in {1, 2, 4, 8} x {1, 2, 4}.)
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

// Tensor-core kernel (GemvKernel::tensor_core): a block of 8 warps owns 16 output rows; the input dim is
// split over the warps in 128-weight spans (each warp a consecutive run of spans; GemvKernel::
// tensor_core_interleaved gives warp w spans w, w + 8, ..., measured the same), so even the 2048-row shapes
// put 1024 warps on the 132 SMs and every lane has all of a step's 16-byte loads in flight at once. In a
// span, lane (g, t) (g = lane / 4, t = lane % 4) loads the 32 weights [32t, 32t + 32) of rows g and g + 8
// (one 16-byte load each) and the same 32 x values of vector g; the span is then eight mma.m16n8k16
// (bf16 in, fp32 accumulate) whose k order is permuted consistently for A and B, so no data moves between
// lanes. Dequantization is one shared-memory load per two weights from a 256-entry byte -> bf16 pair table
// (32 copies, one per bank, so lookups never conflict) and one bf16x2 multiply by the block scale (codebook
// value, scale and product each rounded to bf16: max rel err vs the CPU 0.0056 in the GPU test, against
// 0.0021 for the fp32 path of shared_lut; the test's bound is 0.01). The
// batch (1..8) is the MMA's n = 8; unused columns are zero. The 8 warps' partial sums meet in shared memory.
// All weight, scale-code and x loads of the first step are issued before the block's barrier. Needs cols % 128 == 0.
template <int Batch, int S>
__global__ void __launch_bounds__(256, S == 2 ? 3 : 2) nf4_gemv_mma(Nf4View w, const __nv_bfloat16* __restrict__ x,
                                                    __nv_bfloat16* __restrict__ y, bool contiguous_k) {
  constexpr int kWarps = 8;
  __shared__ std::uint32_t pair[256 * 32];
  __shared__ float nested_map[256];
  __shared__ float red[kWarps][16][8];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int g = lane >> 2, t = lane & 3;
  const std::int64_t row0 = static_cast<std::int64_t>(blockIdx.x) * 16;
  const std::int64_t ra = row0 + g < w.rows ? row0 + g : w.rows - 1;
  const std::int64_t rb = row0 + g + 8 < w.rows ? row0 + g + 8 : w.rows - 1;
  const int spans = static_cast<int>(w.cols / 128);
  // contiguous_k: warp w takes the consecutive spans [w * spw, (w + 1) * spw) (whole 128-byte lines of a
  // row per warp); otherwise spans w, w + 8, ... (interleaved).
  const int spw = (spans + kWarps - 1) / kWarps;
  const int mine = contiguous_k ? max(0, min(spw, spans - warp * spw)) : (warp < spans ? (spans - warp + kWarps - 1) / kWarps : 0);
  auto span_of = [&](int i) { return contiguous_k ? warp * spw + i : warp + kWarps * i; };
  float c[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  uint4 qa[S], qb[S], xv[S][4];
  float sa[S], sb[S];
  std::uint32_t ca[S], cb[S];
  auto load = [&](int i0) {
#pragma unroll
    for (int s = 0; s < S; ++s) {
      const int sp = span_of(i0 + s);
      if (i0 + s < mine) {
        const std::int64_t k0 = static_cast<std::int64_t>(sp) * 128 + 32 * t;
        const std::int64_t ia = ra * w.cols + k0, ib = rb * w.cols + k0;
        qa[s] = __ldg(reinterpret_cast<const uint4*>(w.packed + (ia >> 1)));
        qb[s] = __ldg(reinterpret_cast<const uint4*>(w.packed + (ib >> 1)));
        const std::int64_t ba = ia >> w.blocksize_shift, bb = ib >> w.blocksize_shift;
        if (w.double_quant) {
          ca[s] = __ldg(w.absmax_codes + ba);
          cb[s] = __ldg(w.absmax_codes + bb);
          sa[s] = __ldg(w.nested_absmax + (ba >> w.nested_shift));
          sb[s] = __ldg(w.nested_absmax + (bb >> w.nested_shift));
        } else {
          ca[s] = cb[s] = 0;
          sa[s] = __ldg(w.absmax + ba);
          sb[s] = __ldg(w.absmax + bb);
        }
#pragma unroll
        for (int v = 0; v < 4; ++v)
          xv[s][v] = g < Batch ? __ldg(reinterpret_cast<const uint4*>(x + static_cast<std::int64_t>(g) * w.cols + k0) + v) : make_uint4(0, 0, 0, 0);
      } else {
        qa[s] = qb[s] = make_uint4(0, 0, 0, 0);
        ca[s] = cb[s] = 0;
        sa[s] = sb[s] = 0.0f;
#pragma unroll
        for (int v = 0; v < 4; ++v) xv[s][v] = make_uint4(0, 0, 0, 0);
      }
    }
  };
  load(0);
  {
    // Byte b -> (bf16 of code b >> 4 in the low half, bf16 of code b & 15 in the high half), 32 copies.
    const int b = threadIdx.x;
    const __nv_bfloat162 v = __floats2bfloat162_rn(__ldg(w.quant_map + (b >> 4)), __ldg(w.quant_map + (b & 15)));
    const std::uint32_t bits = *reinterpret_cast<const std::uint32_t*>(&v);
#pragma unroll 8
    for (int i = 0; i < 32; ++i) pair[b * 32 + i] = bits;
    if (w.double_quant) nested_map[b] = __ldg(w.nested_map + b);
  }
  __syncthreads();
  for (int i0 = 0; i0 < mine; i0 += S) {
#pragma unroll
    for (int s = 0; s < S; ++s) {
      if (i0 + s >= mine) break;
      float fa = sa[s], fb = sb[s];
      if (w.double_quant) {
        fa = __fadd_rn(__fmul_rn(nested_map[ca[s]], fa), w.nested_offset);
        fb = __fadd_rn(__fmul_rn(nested_map[cb[s]], fb), w.nested_offset);
      }
      const __nv_bfloat162 s2a = __float2bfloat162_rn(fa), s2b = __float2bfloat162_rn(fb);
      const std::uint32_t wa[4] = {qa[s].x, qa[s].y, qa[s].z, qa[s].w};
      const std::uint32_t wb[4] = {qb[s].x, qb[s].y, qb[s].z, qb[s].w};
      const std::uint32_t* xw = reinterpret_cast<const std::uint32_t*>(&xv[s][0]);
#pragma unroll
      for (int m = 0; m < 8; ++m) {
        const int word = m >> 1, sh = 16 * (m & 1);
        auto deq = [&](std::uint32_t wd, int byte_shift, __nv_bfloat162 sc) {
          const std::uint32_t bits = pair[((wd >> byte_shift) & 0xffu) * 32 + lane];
          const __nv_bfloat162 p = __hmul2(*reinterpret_cast<const __nv_bfloat162*>(&bits), sc);
          return *reinterpret_cast<const std::uint32_t*>(&p);
        };
        const std::uint32_t a0 = deq(wa[word], sh, s2a), a1 = deq(wb[word], sh, s2b);
        const std::uint32_t a2 = deq(wa[word], sh + 8, s2a), a3 = deq(wb[word], sh + 8, s2b);
        const std::uint32_t b0 = xw[2 * m], b1 = xw[2 * m + 1];
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
            : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
            : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
      }
    }
    if (i0 + S < mine) load(i0 + S);
  }
  red[warp][g][2 * t] = c[0];
  red[warp][g][2 * t + 1] = c[1];
  red[warp][g + 8][2 * t] = c[2];
  red[warp][g + 8][2 * t + 1] = c[3];
  __syncthreads();
  if (threadIdx.x < 128) {
    const int r = threadIdx.x >> 3, n = threadIdx.x & 7;
    float v = 0.0f;
#pragma unroll
    for (int i = 0; i < kWarps; ++i) v += red[i][r][n];
    if (n < Batch && row0 + r < w.rows) y[static_cast<std::int64_t>(n) * w.rows + row0 + r] = __float2bfloat16_rn(v);
  }
}

}  // namespace kernels

// automatic: tensor_core, except batch 1 on a tall matrix of <= 2048 columns (the 2048 -> 6144 gate/up shape),
// where the two-rows-per-warp shared_lut kernel measured faster on the H100 (7.4 vs 9.7 us, bench/RESULTS.md).
enum class GemvKernel { automatic, tensor_core, tensor_core_interleaved, shared_lut, prefetch_shuffle };

// y [batch, rows] = x [batch, cols] W^T, batch 1..8, bf16 in and out, fp32 accumulation.
inline void nf4_gemv(const Nf4View& w, const __nv_bfloat16* x, __nv_bfloat16* y, int batch, cudaStream_t stream = nullptr,
                     GemvKernel kernel = GemvKernel::automatic) {
  if (w.cols % 32 != 0 || w.blocksize < 32) throw Error("nf4_gemv: needs cols % 32 == 0 and blocksize >= 32");
  if (kernel == GemvKernel::automatic) kernel = batch == 1 && w.rows >= 4096 && w.cols <= 2048 ? GemvKernel::shared_lut : GemvKernel::tensor_core;
  const bool tc = kernel == GemvKernel::tensor_core || kernel == GemvKernel::tensor_core_interleaved;
  const bool contiguous = kernel == GemvKernel::tensor_core;
  if (tc && w.cols % 128 == 0) {  // other widths fall back to shared_lut
    if (w.rows <= 0) return;
    const auto blocks = static_cast<unsigned>((w.rows + 15) / 16);
    // Up to 2048 columns each warp has two 128-weight spans: S = 2 loads them all at once and, at <= 85
    // registers, fits three blocks per SM (the 6144-row shapes then run in one wave); wider rows take S = 3.
    const bool narrow = w.cols <= 2048;
#define KSPAM_GEMV_MMA(B)                                                        \
  case B:                                                                        \
    if (narrow) {                                                                \
      kernels::nf4_gemv_mma<B, 2><<<blocks, 256, 0, stream>>>(w, x, y, contiguous);        \
    } else {                                                                     \
      kernels::nf4_gemv_mma<B, 3><<<blocks, 256, 0, stream>>>(w, x, y, contiguous);        \
    }                                                                            \
    break;
    switch (batch) {
      KSPAM_GEMV_MMA(1) KSPAM_GEMV_MMA(2) KSPAM_GEMV_MMA(3) KSPAM_GEMV_MMA(4)
      KSPAM_GEMV_MMA(5) KSPAM_GEMV_MMA(6) KSPAM_GEMV_MMA(7) KSPAM_GEMV_MMA(8)
      default: throw Error("nf4_gemv: batch must be 1..8 (use nf4_gemm for more rows), got " + std::to_string(batch));
    }
#undef KSPAM_GEMV_MMA
    KSPAM_CUDA_LAUNCH_CHECK();
    return;
  }
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

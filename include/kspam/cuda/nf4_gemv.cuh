#pragma once
// Fused NF4 matrix-vector product for decoding: y[b, :] = x[b, :] W^T for a batch of 1..8 vectors,
// reading each 4-bit weight exactly once and never materialising the dequantized matrix.
//
// Decoding is a chain of small GEMVs (per layer: q, k, v, o, gate, up, down; 1-6 MB of NF4 each), so the cost
// per call is latency as much as bandwidth. Two things hide it:
//  * programmatic dependent launch (cuda/launch.cuh, on by default): each GEMV loads its weights, which no
//    earlier kernel writes, while the previous kernel is still running, and waits for it only before reading x;
//  * groups: weights that share their input (q, k, v; gate, up) run as one launch (nf4_gemv_group), each
//    block finding its weight and output from its index, so a layer is four launches instead of seven.
//
// Kernels (both need cols % 32 == 0 and blocksize >= 32):
//  * tensor_core, nf4_gemv_mma (see its comment below), the default (GemvKernel::automatic); needs
//    cols % 128 == 0, else shared_lut runs;
//  * shared_lut, nf4_gemv: one warp computes two output rows. Each lane takes 16 packed bytes (32 weights) of
//    each row per step with 16-byte loads, expands them through the 16-entry codebook in shared memory (16
//    floats in 16 distinct banks: lookups never conflict), sums lut[code] * x in fp32 and applies the block
//    scale once per 32 weights. Slower than tensor_core at every measured shape and batch.
// (Measured alternatives that were slower on the H100, see bench/RESULTS.md: one row per warp with all of a
// row's loads issued first, a 256-entry byte -> value-pair table in fp32, a CUDA-core kernel with R rows per
// warp and R * U loads in flight per lane, R x U in {1, 2, 4, 8} x {1, 2, 4}, register double buffering with
// the codebook in lane registers, the tensor-core kernel with warps on interleaved instead of consecutive K
// spans, and each GEMV prefetching the next one's weights into L2.)
#include <cstdint>
#include <span>
#include <string>

#include "kspam/cuda/device_memory.cuh"
#include "kspam/cuda/launch.cuh"
#include "kspam/cuda/mma.cuh"
#include "kspam/cuda/nf4_weight.cuh"

namespace kspam::cuda {

// Up to three weights with the same input width, one output each: blocks [first_block[s], first_block[s + 1])
// compute weight s. Built by nf4_gemv_group.
constexpr int kMaxGemvGroup = 3;
struct Nf4GemvGroup {
  Nf4View w[kMaxGemvGroup];
  __nv_bfloat16* y[kMaxGemvGroup] = {};
  int first_block[kMaxGemvGroup + 1] = {};
  int count = 0;
};

namespace kernels {

// This block's weight (segment) of the group. Constant indices only: a kernel parameter indexed at run time
// would be copied to local memory.
struct GemvSegment {
  Nf4View w;
  __nv_bfloat16* y;
  std::int64_t block;  // block index within the segment
};
__device__ __forceinline__ GemvSegment gemv_segment(const Nf4GemvGroup& g) {
  const int b = static_cast<int>(blockIdx.x);
  if (g.count > 2 && b >= g.first_block[2]) return {g.w[2], g.y[2], b - g.first_block[2]};
  if (g.count > 1 && b >= g.first_block[1]) return {g.w[1], g.y[1], b - g.first_block[1]};
  return {g.w[0], g.y[0], b};
}

// Prefetches rows [row, row + n) of w's packed codes into L2, one 128-byte line per lane and step.
__device__ __forceinline__ void prefetch_rows_l2(const Nf4View& w, std::int64_t row, int n, int lane) {
  const std::int64_t begin = row * w.cols / 2, end = min(w.rows, row + n) * w.cols / 2;
  for (std::int64_t b = (begin & ~std::int64_t{127}) + 128 * lane; b < end; b += 128 * 32) prefetch_l2(w.packed + b);
}

template <int Batch>
__global__ void __launch_bounds__(256) nf4_gemv(Nf4GemvGroup group, const __nv_bfloat16* __restrict__ x) {
  constexpr int R = 2;
  pdl_launch_dependents();
  const GemvSegment seg = gemv_segment(group);
  const Nf4View& w = seg.w;
  __nv_bfloat16* __restrict__ y = seg.y;
  const int lane = threadIdx.x & 31;
  const std::int64_t row0 = (seg.block * (blockDim.x >> 5) + (threadIdx.x >> 5)) * R;
  if (row0 < w.rows) prefetch_rows_l2(w, row0, R, lane);
  __shared__ float nested_map[256];
  __shared__ float lut[16];
  for (int i = threadIdx.x; i < 256; i += blockDim.x) nested_map[i] = w.double_quant ? w.nested_map[i] : 0.0f;
  if (threadIdx.x < 16) lut[threadIdx.x] = w.quant_map[threadIdx.x];
  __syncthreads();
  pdl_wait();
  if (row0 >= w.rows) return;
  const int chunks = static_cast<int>(w.cols / 32);
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

// Tensor-core kernel (GemvKernel::tensor_core): a block of 8 warps (16 for rows over 2048 weights) owns 16
// output rows; the input dim is split over the warps in 128-weight spans (each warp a consecutive run of
// spans), so even the 2048-row shapes put 1024 warps on the 132 SMs and every lane has all of a step's 16-byte loads in flight at once.
// In a span, lane (g, t) (g = lane / 4, t = lane % 4) loads the 32 weights [32t, 32t + 32) of rows g and
// g + 8 (one 16-byte load each) and the same 32 x values of vector g; the span is then eight
// mma.m16n8k16 (bf16 in, fp32 accumulate) whose k order is permuted consistently for A and B, so no data
// moves between lanes. Dequantization is one shared-memory load per two weights from a 256-entry byte ->
// bf16 pair table (32 copies, one per bank, so lookups never conflict) and one bf16x2 multiply by the
// block scale (codebook value, scale and product each rounded to bf16: max rel err vs the CPU 0.0056 in
// the GPU test, against 0.0021 for the fp32 path of shared_lut; the test's bound is 0.01). The batch
// (1..8) is the MMA's n = 8; unused columns are zero. The warps' partial sums meet in shared memory.
// Order of work, for programmatic dependent launch: the first step's weight and scale loads, L2 prefetches
// of the later steps' weights, the table and (Early) the dequantization, all before pdl_wait(); x only after
// it. Measured in a chain of q/o GEMVs (globaltimer probe, H100): the wait returns ~0.9 us after the previous
// kernel ends, and the work after it took ~1.5 us while the dequantization still followed the wait; moving it
// ahead took the q/o GEMV from 3.1 to 2.2 us.
// Needs cols % 128 == 0.
template <int Batch, int S, bool Early, int kWarps>
__global__ void __launch_bounds__(32 * kWarps, kWarps == 16 ? 1 : S == 2 && !Early ? 3 : 2)
    nf4_gemv_mma(Nf4GemvGroup group, const __nv_bfloat16* __restrict__ x) {
  __shared__ std::uint32_t pair[256 * 32];
  __shared__ float nested_map[256];
  __shared__ float red[kWarps][16][8];
  std::uint32_t* red_words = reinterpret_cast<std::uint32_t*>(&red[0][0][0]);  // the 256 table entries, before red is used
  pdl_launch_dependents();  // first: the next kernel's blocks may then start (and load their weights) at once
  const GemvSegment seg = gemv_segment(group);
  const Nf4View& w = seg.w;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int g = lane >> 2, t = lane & 3;
  const std::int64_t row0 = seg.block * 16;
  const std::int64_t ra = row0 + g < w.rows ? row0 + g : w.rows - 1;
  const std::int64_t rb = row0 + g + 8 < w.rows ? row0 + g + 8 : w.rows - 1;
  const int spans = static_cast<int>(w.cols / 128);
  const int spw = (spans + kWarps - 1) / kWarps;  // warp w takes spans [w * spw, (w + 1) * spw)
  const int mine = max(0, min(spw, spans - warp * spw));
  auto k_of = [&](int i) { return static_cast<std::int64_t>(warp * spw + i) * 128 + 32 * t; };
  uint4 qa[S], qb[S], xv[S][4];
  Nf4ScaleParts pa[S], pb[S];
  auto load_weights = [&](int i0) {
#pragma unroll
    for (int s = 0; s < S; ++s) {
      if (i0 + s < mine) {
        const std::int64_t ia = ra * w.cols + k_of(i0 + s), ib = rb * w.cols + k_of(i0 + s);
        qa[s] = __ldg(reinterpret_cast<const uint4*>(w.packed + (ia >> 1)));
        qb[s] = __ldg(reinterpret_cast<const uint4*>(w.packed + (ib >> 1)));
        pa[s] = nf4_scale_parts(w, ia >> w.blocksize_shift);
        pb[s] = nf4_scale_parts(w, ib >> w.blocksize_shift);
      } else {
        qa[s] = qb[s] = make_uint4(0, 0, 0, 0);
        pa[s] = pb[s] = Nf4ScaleParts{};
      }
    }
  };
  auto load_x = [&](int i0) {
#pragma unroll
    for (int s = 0; s < S; ++s)
#pragma unroll
      for (int v = 0; v < 4; ++v)
        xv[s][v] = i0 + s < mine && g < Batch
                       ? __ldg(reinterpret_cast<const uint4*>(x + static_cast<std::int64_t>(g) * w.cols + k_of(i0 + s)) + v)
                       : make_uint4(0, 0, 0, 0);
  };
  load_weights(0);
  if (t == 0)
    for (int i = S; i < mine; ++i) {  // later steps' rows ra and rb: 64 bytes each per span
      prefetch_l2(w.packed + ((ra * w.cols + k_of(i)) >> 1));
      prefetch_l2(w.packed + ((rb * w.cols + k_of(i)) >> 1));
    }
  {
    // Byte b -> (bf16 of code b >> 4 in the low half, bf16 of code b & 15 in the high half), 32 copies. Thread b
    // computes entry b; the copies are then written word by word across the block (word i to bank i % 32), as a
    // thread writing its own 32 copies would serialise each of its warp's stores on one bank.
    const int b = threadIdx.x;
    if (b < 256) {
      const __nv_bfloat162 v = __floats2bfloat162_rn(__ldg(w.quant_map + (b >> 4)), __ldg(w.quant_map + (b & 15)));
      red_words[b] = *reinterpret_cast<const std::uint32_t*>(&v);
      if (w.double_quant) nested_map[b] = __ldg(w.nested_map + b);
    }
    __syncthreads();
#pragma unroll 8
    for (int i = b; i < 256 * 32; i += 32 * kWarps) pair[i] = red_words[i >> 5];
  }
  __syncthreads();
  // The block scales of span s, as bf16 pairs for rows ra and rb.
  auto span_scales = [&](int s, __nv_bfloat162& s2a, __nv_bfloat162& s2b) {
    s2a = __float2bfloat162_rn(nf4_scale_value(w, pa[s], nested_map));
    s2b = __float2bfloat162_rn(nf4_scale_value(w, pb[s], nested_map));
  };
  // MMA step m of span s as the A fragment: one table lookup and one bf16x2 multiply per two weights.
  auto fragment = [&](int s, int m, __nv_bfloat162 s2a, __nv_bfloat162 s2b, std::uint32_t (&a)[4]) {
    auto word = [](const uint4& q, int i) { return i == 0 ? q.x : i == 1 ? q.y : i == 2 ? q.z : q.w; };
    const std::uint32_t wa = word(qa[s], m >> 1), wb = word(qb[s], m >> 1);
    const int sh = 16 * (m & 1);
    auto deq = [&](std::uint32_t wd, int byte_shift, __nv_bfloat162 sc) {
      const std::uint32_t bits = pair[((wd >> byte_shift) & 0xffu) * 32 + lane];
      const __nv_bfloat162 p = __hmul2(*reinterpret_cast<const __nv_bfloat162*>(&bits), sc);
      return *reinterpret_cast<const std::uint32_t*>(&p);
    };
    a[0] = deq(wa, sh, s2a);
    a[1] = deq(wb, sh, s2b);
    a[2] = deq(wa, sh + 8, s2a);
    a[3] = deq(wb, sh + 8, s2b);
  };
  // Early (rows of <= 2048 weights, S = 2): all of a warp's spans are dequantized before the wait, so after it
  // only the x loads, the MMAs and the reduction remain on the critical path. It needs ~100 registers, so two
  // blocks per SM instead of three: the dispatcher uses it only when that still runs in one wave.
  constexpr bool kEarly = Early && S == 2;
  std::uint32_t early[kEarly ? S : 1][8][4];
  if constexpr (kEarly) {
#pragma unroll
    for (int s = 0; s < S; ++s) {
      if (s >= mine) break;
      __nv_bfloat162 s2a, s2b;
      span_scales(s, s2a, s2b);
#pragma unroll
      for (int m = 0; m < 8; ++m) fragment(s, m, s2a, s2b, early[s][m]);
    }
  }
  pdl_wait();
  load_x(0);
  // With the fragments ready, even and odd MMA steps accumulate separately so consecutive MMAs do not wait on
  // each other; otherwise the lookups between them hide the latency and the registers are needed elsewhere.
  constexpr int kAcc = kEarly ? 2 : 1;
  float c[kAcc][4] = {};
  for (int i0 = 0; i0 < mine; i0 += S) {
#pragma unroll
    for (int s = 0; s < S; ++s) {
      if (i0 + s >= mine) break;
      __nv_bfloat162 s2a, s2b;
      if constexpr (!kEarly) span_scales(s, s2a, s2b);
      const std::uint32_t* xw = reinterpret_cast<const std::uint32_t*>(&xv[s][0]);
#pragma unroll
      for (int m = 0; m < 8; ++m) {
        std::uint32_t late[4];
        if constexpr (!kEarly) fragment(s, m, s2a, s2b, late);
        const std::uint32_t(&a)[4] = kEarly ? early[kEarly ? s : 0][m] : late;
        float* acc = c[m % kAcc];
        mma_bf16_m16n8k16(acc, a[0], a[1], a[2], a[3], xw[2 * m], xw[2 * m + 1]);
      }
    }
    if (i0 + S < mine) {
      load_weights(i0 + S);
      load_x(i0 + S);
    }
  }
  if constexpr (kAcc == 2) {
#pragma unroll
    for (int j = 0; j < 4; ++j) c[0][j] += c[1][j];
  }
  red[warp][g][2 * t] = c[0][0];
  red[warp][g][2 * t + 1] = c[0][1];
  red[warp][g + 8][2 * t] = c[0][2];
  red[warp][g + 8][2 * t + 1] = c[0][3];
  __syncthreads();
  if (threadIdx.x < 128) {
    const int r = threadIdx.x >> 3, n = threadIdx.x & 7;
    float v = 0.0f;
#pragma unroll
    for (int i = 0; i < kWarps; ++i) v += red[i][r][n];  // 8 x 16 x 8 floats >= the 256 table words above
    if (n < Batch && row0 + r < w.rows) seg.y[static_cast<std::int64_t>(n) * w.rows + row0 + r] = __float2bfloat16_rn(v);
  }
}

}  // namespace kernels

enum class GemvKernel { automatic, tensor_core, shared_lut };


struct GemvOptions {
  GemvKernel kernel = GemvKernel::automatic;
  bool pdl = true;  // launch with programmatic dependent launch (see the top of this file)
};

// ys[s] [batch, ws[s].rows] = x [batch, cols] ws[s]^T for 1..3 weights of the same width in one launch,
// batch 1..8, bf16 in and out, fp32 accumulation.
inline void nf4_gemv_group(std::span<const Nf4View> ws, std::span<__nv_bfloat16* const> ys, const __nv_bfloat16* x, int batch,
                           cudaStream_t stream = nullptr, const GemvOptions& options = {}) {
  if (ws.empty() || ws.size() > static_cast<std::size_t>(kMaxGemvGroup) || ys.size() != ws.size())
    throw Error("nf4_gemv_group: needs 1 to 3 weights and one output each");
  if (batch < 1 || batch > 8) throw Error("nf4_gemv: batch must be 1..8 (use nf4_gemm for more rows), got " + std::to_string(batch));
  const std::int64_t cols = ws[0].cols;
  for (const Nf4View& w : ws) {
    if (w.cols != cols) throw Error("nf4_gemv_group: the weights must share their input width");
    if (w.cols % 32 != 0 || w.blocksize < 32) throw Error("nf4_gemv: needs cols % 32 == 0 and blocksize >= 32");
  }
  GemvKernel kernel = options.kernel == GemvKernel::automatic ? GemvKernel::tensor_core : options.kernel;
  if (kernel == GemvKernel::tensor_core && cols % 128 != 0) kernel = GemvKernel::shared_lut;
  // Both kernels give each block 16 rows of one weight.
  Nf4GemvGroup group;
  group.count = static_cast<int>(ws.size());
  for (int s = 0; s < group.count; ++s) {
    group.w[s] = ws[static_cast<std::size_t>(s)];
    group.y[s] = ys[static_cast<std::size_t>(s)];
    group.first_block[s + 1] = group.first_block[s] + static_cast<int>((ws[static_cast<std::size_t>(s)].rows + 15) / 16);
  }
  const unsigned blocks = static_cast<unsigned>(group.first_block[group.count]);
  if (blocks == 0) return;
  // Up to 2048 columns each of 8 warps has two 128-weight spans: S = 2 loads them all before the wait, and
  // dequantizes them there too (Early) when the grid fits in one wave at two blocks per SM. Wider rows get 16
  // warps of S = 3 spans (a 6144-wide row in one step).
  const bool narrow = cols <= 2048;
  const bool early = narrow && blocks <= 2u * static_cast<unsigned>(sm_count());
  auto run = [&](auto kernel_fn, int warps) { launch_kernel(kernel_fn, blocks, 32 * warps, 0, stream, options.pdl, group, x); };
#define KSPAM_GEMV_CASE(B)                                                   \
  case B:                                                                    \
    if (kernel == GemvKernel::shared_lut) run(kernels::nf4_gemv<B>, 8);      \
    else if (early) run(kernels::nf4_gemv_mma<B, 2, true, 8>, 8);            \
    else if (narrow) run(kernels::nf4_gemv_mma<B, 2, false, 8>, 8);          \
    else run(kernels::nf4_gemv_mma<B, 3, false, 16>, 16);                    \
    break;
  switch (batch) {
    KSPAM_GEMV_CASE(1) KSPAM_GEMV_CASE(2) KSPAM_GEMV_CASE(3) KSPAM_GEMV_CASE(4)
    KSPAM_GEMV_CASE(5) KSPAM_GEMV_CASE(6) KSPAM_GEMV_CASE(7) KSPAM_GEMV_CASE(8)
  }
#undef KSPAM_GEMV_CASE
}

// y [batch, rows] = x [batch, cols] W^T.
inline void nf4_gemv(const Nf4View& w, const __nv_bfloat16* x, __nv_bfloat16* y, int batch, cudaStream_t stream = nullptr,
                     const GemvOptions& options = {}) {
  nf4_gemv_group(std::span<const Nf4View>(&w, 1), std::span<__nv_bfloat16* const>(&y, 1), x, batch, stream, options);
}

}  // namespace kspam::cuda

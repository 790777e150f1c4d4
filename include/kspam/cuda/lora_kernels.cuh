#pragma once
// The kernels of the GPU LoRA layer (cuda/lora.cuh): the low-rank products that cannot ride inside the base
// GEMMs, each one pass over the activation it reads, with the dropout mask redrawn from its seed
// (nn/lora_dropout.hpp) where it is needed instead of being stored.
//
//   lora_project      out = dropout(X) L^T        u = dropout(x) A^T (forward)
//   lora_row_reduce   G += scale * V^T dropout(X)  dA = du^T dropout(x); optionally in the same pass
//                                                  dX += mask * (V A) (dropout's low-rank part of dx)
// and, for shapes outside their rules, a mask kernel and a masked low-rank add that the cuBLAS path uses.
// bf16 operands, fp32 accumulation (mma.sync m16n8k16), fp32 gradients.
#include <cuda_bf16.h>

#include <algorithm>
#include <cstdint>

#include "kspam/cuda/device_memory.cuh"
#include "kspam/cuda/mma.cuh"
#include "kspam/nn/lora_dropout.hpp"

namespace kspam::cuda::kernels {

// The AND mask that zeroes the dropped halves of a register holding two bf16 (lo, hi).
__device__ __forceinline__ std::uint32_t bf16_pair_keep_mask(bool keep_lo, bool keep_hi) {
  return (keep_lo ? 0x0000ffffU : 0U) | (keep_hi ? 0xffff0000U : 0U);
}

// out[i, n] = sum_k h[i, k] L[n, k] for n < 8 * NT (= r), h = X * dropout mask (or X). X rows have stride ldx,
// L is [r, K] dense, out rows have stride ldo. A block owns 16 rows, its 8 warps split K in 128-wide spans; lane
// (g, t) loads 32 consecutive values of rows g and g + 8 and of L rows g + 8j, and eight mma.m16n8k16 per span
// and n-tile use the same k permutation for both operands. The next span's X is loaded while the current one
// is multiplied. Needs K % 128 == 0.
template <int NT>
__global__ void __launch_bounds__(256) lora_project(const __nv_bfloat16* __restrict__ x, int ldx, int M, int K, const __nv_bfloat16* __restrict__ L,
                                                    __nv_bfloat16* __restrict__ out, int ldo, nn::DropoutMask mask) {
  constexpr int kWarps = 8;
  __shared__ float red[kWarps][16][8 * NT];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int g = lane >> 2, t = lane & 3;
  const int row0 = blockIdx.x * 16;
  const int rows[2] = {min(row0 + g, M - 1), min(row0 + g + 8, M - 1)};
  const bool drop = mask.active();
  const std::uint32_t keys[2] = {mask.row_key(static_cast<std::uint32_t>(rows[0])), mask.row_key(static_cast<std::uint32_t>(rows[1]))};
  const int spans = K / 128;
  const int spw = (spans + kWarps - 1) / kWarps;
  const int first = warp * spw, mine = max(0, min(spw, spans - first));
  float c[NT][4] = {};
  uint4 xv[2][4];
  auto load_x = [&](int span) {
#pragma unroll
    for (int a = 0; a < 2; ++a)
#pragma unroll
      for (int v = 0; v < 4; ++v)
        xv[a][v] = __ldg(reinterpret_cast<const uint4*>(x + static_cast<std::int64_t>(rows[a]) * ldx + span * 128 + 32 * t) + v);
  };
  if (mine > 0) load_x(first);
  for (int i = 0; i < mine; ++i) {
    const int k0 = (first + i) * 128 + 32 * t;
    uint4 cur[2][4];
#pragma unroll
    for (int a = 0; a < 2; ++a)
#pragma unroll
      for (int v = 0; v < 4; ++v) cur[a][v] = xv[a][v];
    if (i + 1 < mine) load_x(first + i + 1);
    uint4 lv[NT][4];
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
      for (int v = 0; v < 4; ++v) lv[j][v] = __ldg(reinterpret_cast<const uint4*>(L + static_cast<std::int64_t>(g + 8 * j) * K + k0) + v);
    if (drop) {
      // Dropped elements become zero; the 1 / (1 - p) scale is applied once to the sums.
#pragma unroll
      for (int a = 0; a < 2; ++a) {
        std::uint32_t* w = reinterpret_cast<std::uint32_t*>(&cur[a][0]);
#pragma unroll
        for (int q = 0; q < 16; ++q) {
          const std::uint32_t pair = mask.keep_pair(keys[a], static_cast<std::uint32_t>(k0 + 2 * q));
          w[q] &= bf16_pair_keep_mask(pair & 1U, pair & 2U);
        }
      }
    }
    const std::uint32_t* wa = reinterpret_cast<const std::uint32_t*>(&cur[0][0]);
    const std::uint32_t* wb = reinterpret_cast<const std::uint32_t*>(&cur[1][0]);
#pragma unroll
    for (int m = 0; m < 8; ++m) {
#pragma unroll
      for (int j = 0; j < NT; ++j) {
        const std::uint32_t* wl = reinterpret_cast<const std::uint32_t*>(&lv[j][0]);
        mma_bf16_m16n8k16(c[j], wa[2 * m], wb[2 * m], wa[2 * m + 1], wb[2 * m + 1], wl[2 * m], wl[2 * m + 1]);
      }
    }
  }
#pragma unroll
  for (int j = 0; j < NT; ++j) {
    red[warp][g][8 * j + 2 * t] = c[j][0];
    red[warp][g][8 * j + 2 * t + 1] = c[j][1];
    red[warp][g + 8][8 * j + 2 * t] = c[j][2];
    red[warp][g + 8][8 * j + 2 * t + 1] = c[j][3];
  }
  __syncthreads();
  const float scale = drop ? mask.keep_scale : 1.0f;
  for (int o = threadIdx.x; o < 16 * 8 * NT; o += blockDim.x) {
    const int r = o / (8 * NT), n = o % (8 * NT);
    float v = 0.0f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) v += red[w][r][n];
    if (row0 + r < M) out[static_cast<std::int64_t>(row0 + r) * ldo + n] = __float2bfloat16_rn(v * scale);
  }
}

inline constexpr int kRowReduceWarps = 8;  // warps per block, each on its own 16-row steps
inline constexpr int kRowReduceCols = 64;  // columns per block

// Floats of one block's partial sums in lora_row_reduce's workspace: 16 * NR rows of G by 64 columns.
template <int NR>
__host__ __device__ constexpr int row_reduce_partial_floats() {
  return 16 * NR * kRowReduceCols;
}

// G[k, c] += scale * sum_m V[m, k] h[m, c] for k < r, c in the block's 64 columns, h = X * dropout mask (or X);
// with kMaskedAdd, also DX[m, c] += mask(m, c) * keep * sum_k V[m, k] AT[c, k] in the same pass (the dropout
// case's low-rank part of dx: X and DX are read with the same layout and share the mask).
// G is [r, C] with row stride ldg (dA: [r, in]).
// Grid (C / 64, S): block (b, s) takes columns 64b.. and the s-th of S row ranges; each warp takes 16-row steps.
// The kernel is bound by instruction latency (the mask's hashes, the dx update) more than by memory, so S is
// chosen to fill every SM with as many warps as fit (launch_row_reduce). The sums are added in a fixed order,
// so the gradients are deterministic: the warps into the block's shared memory, then, when S > 1, each block
// writes its partial sums to `partials` ([C / 64][S][row_reduce_partial_floats]) and the last block of a column
// range to finish (counted in `counters`, C / 64 zeros, left zero again) adds them in split order.
// Per 16-row step, lane (g, t) holds rows 2t, 2t + 1, 2t + 8, 2t + 9 and columns 8g..8g+7 of X (and DX):
//  * V^T h: the mma's k runs over the 16 rows in order, its n over columns (tile j, n = g is column 8g + j), so
//    the lane's loads are the B fragments after one byte permute per pair; the A fragments are V's 8x8 tiles as
//    loaded (one 32-bit load each), transposed in registers (movmatrix).
//  * V A (transposed: m = columns, n = rows, k = r): tile jj maps m = g to column 8g + 2jj and m = g + 8 to
//    8g + 2jj + 1, tile q takes rows 8q..8q+7, so each lane's accumulators are exactly its own 32 elements of DX
//    (for row 8q + 2t + e, columns 8g + 2jj and + 1 are accumulators e and 2 + e of tile (q, jj): one bf16 pair);
//    the B fragments are the same V loads, untransposed, and AT's fragments are loaded once.
// The next step's X is loaded while the current one is multiplied.
// Needs C % 64 == 0 (the caller's rule), r <= 16 * NR.
template <int NR, bool kMaskedAdd>
__global__ void __launch_bounds__(kRowReduceWarps * 32, NR == 1 ? 2 : 1)
    lora_row_reduce(const __nv_bfloat16* __restrict__ X, int ldx, int M, int r, const __nv_bfloat16* __restrict__ V, int ldv, float scale,
                    float* __restrict__ G, int ldg, nn::DropoutMask mask, const __nv_bfloat16* __restrict__ AT,
                    __nv_bfloat16* __restrict__ DX, int lddx, float* __restrict__ partials, unsigned* __restrict__ counters) {
  constexpr int kOutputs = row_reduce_partial_floats<NR>();
  __shared__ float warp_sums[kRowReduceWarps][16][kRowReduceCols + 2];  // + 2: a warp's stores hit 16 banks, not 2
  __shared__ bool last_block;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int g = lane >> 2, t = lane & 3;
  const int c0 = blockIdx.x * kRowReduceCols;
  const int col = c0 + 8 * g;  // the lane's first column
  const int splits = static_cast<int>(gridDim.y);
  const int steps = (M + 15) / 16;
  const int steps_per_block = (steps + splits - 1) / splits;
  const int step_begin = blockIdx.y * steps_per_block, step_end = min(steps, step_begin + steps_per_block);
  const bool drop = mask.active();
  auto v_pair = [&](int row, int k) -> std::uint32_t {  // V[row, k..k+1] (r is even)
    return k < r ? __ldg(reinterpret_cast<const std::uint32_t*>(V + static_cast<std::int64_t>(min(row, M - 1)) * ldv + k)) : 0U;
  };
  // The lane's four rows of a step are 2t, 2t + 1, 2t + 8 and 2t + 9.
  auto lane_row = [&](int step, int i) { return step * 16 + 2 * t + (i & 1) + 8 * (i >> 1); };
  auto load_rows = [&](const __nv_bfloat16* src, int ld, int step, uint4 (&q)[4]) {
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int row = lane_row(step, i);
      q[i] = row < M ? __ldg(reinterpret_cast<const uint4*>(src + static_cast<std::int64_t>(row) * ld + col)) : make_uint4(0, 0, 0, 0);
    }
  };
  // AT fragments for V A, per column tile jj and r tile: constant over the rows.
  std::uint32_t at[kMaskedAdd ? 4 : 1][NR][4];
  if constexpr (kMaskedAdd) {
#pragma unroll
    for (int jj = 0; jj < 4; ++jj)
#pragma unroll
      for (int tr = 0; tr < NR; ++tr) {
        const int k = 16 * tr + 2 * t;
        auto at_pair = [&](int c, int kk) -> std::uint32_t {
          return kk < r ? __ldg(reinterpret_cast<const std::uint32_t*>(AT + static_cast<std::int64_t>(c) * r + kk)) : 0U;
        };
        at[jj][tr][0] = at_pair(col + 2 * jj, k);
        at[jj][tr][1] = at_pair(col + 2 * jj + 1, k);
        at[jj][tr][2] = at_pair(col + 2 * jj, k + 8);
        at[jj][tr][3] = at_pair(col + 2 * jj + 1, k + 8);
      }
  }
  float acc[NR][8][4] = {};
  uint4 next[4];
  const int first_step = step_begin + warp;
  if (first_step < step_end) load_rows(X, ldx, first_step, next);
  for (int step = first_step; step < step_end; step += kRowReduceWarps) {
    uint4 xq[4], dq[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) xq[i] = next[i];
    if (step + kRowReduceWarps < step_end) load_rows(X, ldx, step + kRowReduceWarps, next);  // in flight during this step
    if constexpr (kMaskedAdd) load_rows(DX, lddx, step, dq);
    // vp[tr][rb][cb] = V[row g + 8 rb, 16 tr + 8 cb + 2t ..+1]: the B fragments of V A as loaded, and after an 8x8
    // transpose (movmatrix) the A fragments of V^T h: lane (g, t) then holds V[rows 8 rb + 2t, +1][16 tr + 8 cb + g].
    std::uint32_t vp[NR][2][2];
#pragma unroll
    for (int tr = 0; tr < NR; ++tr)
#pragma unroll
      for (int rb = 0; rb < 2; ++rb)
#pragma unroll
        for (int cb = 0; cb < 2; ++cb) vp[tr][rb][cb] = v_pair(step * 16 + g + 8 * rb, 16 * tr + 8 * cb + 2 * t);
    // Bits 8i + 2p and 8i + 2p + 1 of `kept`: the lane's row i, columns 2p and 2p + 1 survive dropout (one hash per
    // pair). Dropped ones become zero in h; the 1 / (1 - p) scale is applied to the sums.
    std::uint32_t kept = 0xffffffffU;
    if (drop) {
      kept = 0;
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const std::uint32_t key = mask.row_key(static_cast<std::uint32_t>(lane_row(step, i)));
#pragma unroll
        for (int p = 0; p < 4; ++p) {
          const std::uint32_t pair = mask.keep_pair(key, static_cast<std::uint32_t>(col + 2 * p));
          kept |= pair << (8 * i + 2 * p);
          reinterpret_cast<std::uint32_t*>(&xq[i])[p] &= bf16_pair_keep_mask(pair & 1U, pair & 2U);
        }
      }
    }
    // V^T h
#pragma unroll
    for (int tr = 0; tr < NR; ++tr) {
      const std::uint32_t a0 = transpose8x8(vp[tr][0][0]), a1 = transpose8x8(vp[tr][0][1]);
      const std::uint32_t a2 = transpose8x8(vp[tr][1][0]), a3 = transpose8x8(vp[tr][1][1]);
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        const unsigned sel = (j & 1) ? 0x7632U : 0x5410U;
        const std::uint32_t b0 = __byte_perm(reinterpret_cast<const std::uint32_t*>(&xq[0])[j >> 1], reinterpret_cast<const std::uint32_t*>(&xq[1])[j >> 1], sel);
        const std::uint32_t b1 = __byte_perm(reinterpret_cast<const std::uint32_t*>(&xq[2])[j >> 1], reinterpret_cast<const std::uint32_t*>(&xq[3])[j >> 1], sel);
        mma_bf16_m16n8k16(acc[tr][j], a0, a1, a2, a3, b0, b1);
      }
    }
    if constexpr (kMaskedAdd) {
      // (V A)^T for the lane's 32 elements: tile q covers rows 8q + 2t, 8q + 2t + 1 (the lane's rows 2q, 2q + 1).
      float sum[2][4][4] = {};
#pragma unroll
      for (int q = 0; q < 2; ++q)
#pragma unroll
        for (int tr = 0; tr < NR; ++tr)
#pragma unroll
          for (int jj = 0; jj < 4; ++jj)
            mma_bf16_m16n8k16(sum[q][jj], at[jj][tr][0], at[jj][tr][1], at[jj][tr][2], at[jj][tr][3], vp[tr][q][0], vp[tr][q][1]);
      const float keep_scale = drop ? mask.keep_scale : 1.0f;
#pragma unroll
      for (int q = 0; q < 2; ++q)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int i = 2 * q + e;  // the lane's row
          std::uint32_t* d = reinterpret_cast<std::uint32_t*>(&dq[i]);
#pragma unroll
          for (int jj = 0; jj < 4; ++jj) {
            const float2 old = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&d[jj]));
            const float m0 = (kept >> (8 * i + 2 * jj)) & 1U ? keep_scale : 0.0f;
            const float m1 = (kept >> (8 * i + 2 * jj + 1)) & 1U ? keep_scale : 0.0f;
            const __nv_bfloat162 out = __floats2bfloat162_rn(fmaf(m0, sum[q][jj][e], old.x), fmaf(m1, sum[q][jj][2 + e], old.y));
            d[jj] = *reinterpret_cast<const std::uint32_t*>(&out);
          }
        }
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const int row = lane_row(step, i);
        if (row < M) *reinterpret_cast<uint4*>(DX + static_cast<std::int64_t>(row) * lddx + col) = dq[i];
      }
    }
  }
  // Fixed-order sums. First the warps', through shared memory: every warp stores its sums for one r tile, then each
  // thread adds the warps' values for its outputs in warp order (one barrier per r tile; adding into one buffer warp
  // by warp took eight, ~30% of the kernel's warp time waiting on them). The result goes into G when the block has
  // all the rows, else into this block's slot of the workspace, ...
  float* const range = partials + static_cast<std::int64_t>(blockIdx.x) * splits * kOutputs;
#pragma unroll
  for (int tr = 0; tr < NR; ++tr) {
#pragma unroll
    for (int j = 0; j < 8; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) warp_sums[warp][g + 8 * (e >> 1)][16 * t + 8 * (e & 1) + j] = acc[tr][j][e];
    __syncthreads();
    for (int o = static_cast<int>(threadIdx.x); o < 16 * kRowReduceCols; o += static_cast<int>(blockDim.x)) {
      const int k = o / kRowReduceCols, c = o % kRowReduceCols;
      float sum = warp_sums[0][k][c];
#pragma unroll
      for (int w = 1; w < kRowReduceWarps; ++w) sum += warp_sums[w][k][c];
      if (splits == 1) {
        if (16 * tr + k < r) G[static_cast<std::int64_t>(16 * tr + k) * ldg + c0 + c] += scale * sum;
      } else {
        range[static_cast<std::int64_t>(blockIdx.y) * kOutputs + 16 * tr * kRowReduceCols + o] = sum;
      }
    }
    __syncthreads();  // the warps' buffer is free for the next r tile
  }
  if (splits == 1) return;
  // ... then the blocks of this column range, by the last one to finish.
  __threadfence();  // the partial sums are visible device-wide before the count says so
  __syncthreads();
  if (threadIdx.x == 0) last_block = atomicAdd(&counters[blockIdx.x], 1U) == static_cast<unsigned>(splits - 1);
  __syncthreads();
  if (!last_block) return;
  __threadfence();
  for (int o = static_cast<int>(threadIdx.x); o < kOutputs; o += static_cast<int>(blockDim.x)) {
    const int k = o / kRowReduceCols, c = o % kRowReduceCols;
    float sum = 0.0f;
    for (int s = 0; s < splits; ++s) sum += __ldcg(range + static_cast<std::int64_t>(s) * kOutputs + o);  // L2: written by other SMs
    if (k < r) G[static_cast<std::int64_t>(k) * ldg + c0 + c] += scale * sum;
  }
  if (threadIdx.x == 0) counters[blockIdx.x] = 0;  // ready for the next launch
}

// lora_row_reduce's workspace for one width C and one instantiation: the per-range partial sums and the
// finished-block counts (C / 64 zeros, left zero by every launch), sized for the most row ranges the kernel takes
// there, as many blocks as fit on the GPU at once (worked out once, here, with the occupancy calculator). (More
// ranges, in several waves, measured on the H100 at 6144 columns: 11% faster at M = 8192, slower at M = 2544.)
// Launches using one workspace must follow each other on one stream.
struct RowReduceWorkspace {
  int max_splits = 1;
  DeviceBuffer<float> partials;
  DeviceBuffer<unsigned> counters;
};

template <int NR, bool kMaskedAdd>
RowReduceWorkspace make_row_reduce_workspace(int C) {
  int per_sm = 0;
  KSPAM_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, &lora_row_reduce<NR, kMaskedAdd>, kRowReduceWarps * 32, 0));
  const int ranges = C / kRowReduceCols;
  RowReduceWorkspace ws;
  ws.max_splits = std::max(1, per_sm * sm_count() / ranges);
  ws.partials = DeviceBuffer<float>(static_cast<std::size_t>(ranges) * ws.max_splits * row_reduce_partial_floats<NR>());
  ws.counters = DeviceBuffer<unsigned>(static_cast<std::size_t>(ranges));
  ws.counters.zero();
  return ws;
}

// Launches lora_row_reduce over C columns with `ws` from make_row_reduce_workspace<NR, kMaskedAdd>(C): at most
// ws.max_splits row ranges, and at most one per kRowReduceWarps steps of 16 rows, so every warp has rows.
template <int NR, bool kMaskedAdd>
void launch_row_reduce(int C, const __nv_bfloat16* X, int ldx, int M, int r, const __nv_bfloat16* V, int ldv, float scale, float* G, int ldg,
                       const nn::DropoutMask& mask, const __nv_bfloat16* AT, __nv_bfloat16* DX, int lddx, RowReduceWorkspace& ws,
                       cudaStream_t stream) {
  const int steps = M / 16 + (M % 16 != 0 ? 1 : 0);
  const int splits = std::max(1, std::min(ws.max_splits, steps / kRowReduceWarps));
  const dim3 grid(static_cast<unsigned>(C / kRowReduceCols), static_cast<unsigned>(splits));
  lora_row_reduce<NR, kMaskedAdd><<<grid, kRowReduceWarps * 32, 0, stream>>>(X, ldx, M, r, V, ldv, scale, G, ldg, mask, AT, DX, lddx,
                                                                             ws.partials.data(), ws.counters.data());
  KSPAM_CUDA_LAUNCH_CHECK();
}

// The cuBLAS path's kernels, for shapes outside the rules above.
// h[i, j] = x[i, j] * mask.multiplier(i, j).
__global__ void lora_dropout(const __nv_bfloat16* __restrict__ x, int ldx, __nv_bfloat16* __restrict__ h, int M, int cols, nn::DropoutMask mask) {
  const std::int64_t total = static_cast<std::int64_t>(M) * cols;
  for (std::int64_t e = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t i = e / cols, j = e - i * cols;
    const float m = mask.multiplier(static_cast<std::uint32_t>(i), static_cast<std::uint32_t>(j));
    h[e] = __float2bfloat16_rn(__bfloat162float(x[i * ldx + j]) * m);
  }
}

// dx[i, j] += mask.multiplier(i, j) * sum_k du[i, k] A[k, j], each thread 8 consecutive columns of one row.
__global__ void lora_masked_lowrank_add(const __nv_bfloat16* __restrict__ du, int lddu, const __nv_bfloat16* __restrict__ A, int lda,
                                        __nv_bfloat16* __restrict__ dx, int lddx, int M, int cols, int r, nn::DropoutMask mask) {
  const int groups = cols / 8;
  const std::int64_t total = static_cast<std::int64_t>(M) * groups;
  for (std::int64_t g = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; g < total;
       g += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const int i = static_cast<int>(g / groups);
    const int j0 = static_cast<int>(g - static_cast<std::int64_t>(i) * groups) * 8;
    float acc[8] = {};
    for (int k = 0; k < r; ++k) {
      const float d = __bfloat162float(du[static_cast<std::int64_t>(i) * lddu + k]);
      const uint4 av = __ldg(reinterpret_cast<const uint4*>(A + static_cast<std::int64_t>(k) * lda + j0));
      const __nv_bfloat162* a2 = reinterpret_cast<const __nv_bfloat162*>(&av);
#pragma unroll
      for (int t = 0; t < 4; ++t) {
        const float2 f = __bfloat1622float2(a2[t]);
        acc[2 * t] = fmaf(d, f.x, acc[2 * t]);
        acc[2 * t + 1] = fmaf(d, f.y, acc[2 * t + 1]);
      }
    }
    __nv_bfloat16* out = dx + static_cast<std::int64_t>(i) * lddx + j0;
    uint4 ov = *reinterpret_cast<const uint4*>(out);
    __nv_bfloat16* o = reinterpret_cast<__nv_bfloat16*>(&ov);
    const std::uint32_t key = mask.row_key(static_cast<std::uint32_t>(i));
#pragma unroll
    for (int t = 0; t < 8; ++t) {
      const float m = mask.multiplier_in_row(key, static_cast<std::uint32_t>(j0 + t));
      o[t] = __float2bfloat16_rn(__bfloat162float(o[t]) + acc[t] * m);
    }
    *reinterpret_cast<uint4*>(out) = ov;
  }
}

// The adapter in the layouts the kernels read, refreshed whenever A or B changes: when p is given (P's row stride
// ldp), P[:out, in:in + r] = s * B (the GEMMs' extra columns) and P[out:, :in] = A (its extra rows); when at is
// given, At = A^T [in, r] (lora_row_reduce's masked add). One launch, as a streamed base refills P on every call.
__global__ void lora_adapter_layouts(const float* __restrict__ B, const __nv_bfloat16* __restrict__ A, int in, int out, int r, float s,
                                     __nv_bfloat16* __restrict__ p, int ldp, __nv_bfloat16* __restrict__ at) {
  const int e = blockIdx.x * blockDim.x + threadIdx.x;
  if (p != nullptr && e < out * r) {
    const int o = e / r, k = e - o * r;
    p[static_cast<std::int64_t>(o) * ldp + in + k] = __float2bfloat16_rn(s * B[e]);
  }
  if (e < in * r) {
    const int k = e / in, c = e - k * in;  // A's own order, so its reads and P's writes are coalesced
    const __nv_bfloat16 a = A[e];
    if (p != nullptr) p[static_cast<std::int64_t>(out + k) * ldp + c] = a;
    if (at != nullptr) at[static_cast<std::int64_t>(c) * r + k] = a;
  }
}

}  // namespace kspam::cuda::kernels

#pragma once
// NF4 x bf16 matrix products for prefill and training: Y [M, N] = X [M, K] W^T with W an NF4 [N, K].
// Two ways, both measured by bench/bench_nf4.cu:
//  * nf4_gemm_dequant_cublas: dequantize W to a bf16 scratch matrix, then one cuBLAS bf16 GEMM (tensor
//    cores, fp32 accumulation). Costs an extra 2.5 bytes per weight of traffic, negligible once M is large.
//  * nf4_gemm_fused: one kernel; each 128x128 output tile loops over K in steps of 32, dequantizing the
//    W tile into shared memory on the fly (bf16, same rounding as the dequantize kernel) next to the X
//    tile, and multiplies them with warp-level tensor-core instructions (WMMA 16x16x16, fp32 accumulate).
//    The next tile's global loads are issued before the current tile's math (register double buffering).
//    It never writes the dequantized weight, which matters when memory, not time, is short.
#include <cstdint>

#include <mma.h>

#include "kspam/cuda/device_memory.cuh"
#include "kspam/cuda/nf4_quantize.cuh"
#include "kspam/cuda/nf4_weight.cuh"

namespace kspam::cuda {

namespace kernels {

constexpr int kGemmBM = 128, kGemmBN = 128, kGemmBK = 32, kGemmPad = 8, kGemmThreads = 256;

__global__ void __launch_bounds__(kGemmThreads) nf4_gemm_fused(Nf4View w, const __nv_bfloat16* __restrict__ x, int M,
                                                               __nv_bfloat16* __restrict__ y) {
  using namespace nvcuda;
  constexpr int LDS = kGemmBK + kGemmPad;
  __shared__ __align__(16) __nv_bfloat16 xs[kGemmBM * LDS];
  __shared__ __align__(16) __nv_bfloat16 ws[kGemmBN * LDS];
  __shared__ __align__(16) float stage[8][16 * 16];
  __shared__ float nested_map[256];
  __shared__ float lut[16];
  for (int i = threadIdx.x; i < 256; i += blockDim.x) nested_map[i] = w.double_quant ? w.nested_map[i] : 0.0f;
  if (threadIdx.x < 16) lut[threadIdx.x] = w.quant_map[threadIdx.x];

  const int K = static_cast<int>(w.cols);
  const int N = static_cast<int>(w.rows);
  const int m0 = blockIdx.y * kGemmBM;
  const int n0 = blockIdx.x * kGemmBN;
  const int warp = threadIdx.x >> 5;
  const int warp_m = warp >> 2;  // 0..1: 64 rows each
  const int warp_n = warp & 3;   // 0..3: 32 columns each

  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[4][2];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);

  // Per thread: 2 x 16-byte chunks of the X tile (128 rows x 4 chunks), half a W row (8 packed bytes).
  uint4 xreg[2];
  uint2 wreg;
  float wscale;
  const int w_row = threadIdx.x >> 1, w_half = threadIdx.x & 1;
  auto load_global = [&](int k0) {
#pragma unroll
    for (int t = 0; t < 2; ++t) {
      const int idx = threadIdx.x + t * kGemmThreads;  // 0..511
      const int r = idx >> 2, c = (idx & 3) * 8;
      const int gm = m0 + r;
      xreg[t] = gm < M ? __ldg(reinterpret_cast<const uint4*>(x + static_cast<std::int64_t>(gm) * K + k0 + c)) : make_uint4(0, 0, 0, 0);
    }
    const std::int64_t flat = static_cast<std::int64_t>(n0 + w_row) * K + k0 + w_half * 16;
    wreg = __ldg(reinterpret_cast<const uint2*>(w.packed + flat / 2));
    wscale = nf4_block_scale(w, flat >> w.blocksize_shift, nested_map);
  };
  auto store_shared = [&]() {
#pragma unroll
    for (int t = 0; t < 2; ++t) {
      const int idx = threadIdx.x + t * kGemmThreads;
      const int r = idx >> 2, c = (idx & 3) * 8;
      *reinterpret_cast<uint4*>(xs + r * LDS + c) = xreg[t];
    }
    __align__(16) __nv_bfloat16 v[16];
    const std::uint32_t words[2] = {wreg.x, wreg.y};
#pragma unroll
    for (int k = 0; k < 2; ++k) {
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const std::uint32_t byte = (words[k] >> (8 * j)) & 0xffu;
        v[8 * k + 2 * j] = __float2bfloat16_rn(__fmul_rn(lut[byte >> 4], wscale));
        v[8 * k + 2 * j + 1] = __float2bfloat16_rn(__fmul_rn(lut[byte & 15u], wscale));
      }
    }
    *reinterpret_cast<uint4*>(ws + w_row * LDS + w_half * 16) = *reinterpret_cast<const uint4*>(v);
    *reinterpret_cast<uint4*>(ws + w_row * LDS + w_half * 16 + 8) = *reinterpret_cast<const uint4*>(v + 8);
  };

  __syncthreads();  // lut / nested_map ready
  load_global(0);
  store_shared();
  __syncthreads();
  const int k_tiles = K / kGemmBK;
  for (int kt = 0; kt < k_tiles; ++kt) {
    if (kt + 1 < k_tiles) load_global((kt + 1) * kGemmBK);
#pragma unroll
    for (int kk = 0; kk < kGemmBK; kk += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major> a[4];
      wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major> b[2];
#pragma unroll
      for (int i = 0; i < 4; ++i) wmma::load_matrix_sync(a[i], xs + (warp_m * 64 + i * 16) * LDS + kk, LDS);
#pragma unroll
      for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(b[j], ws + (warp_n * 32 + j * 16) * LDS + kk, LDS);
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
    }
    __syncthreads();
    if (kt + 1 < k_tiles) {
      store_shared();
      __syncthreads();
    }
  }
  // Epilogue: each fragment goes through a per-warp staging tile to become bf16 with bounds checks.
  const int lane = threadIdx.x & 31;
#pragma unroll
  for (int i = 0; i < 4; ++i) {
#pragma unroll
    for (int j = 0; j < 2; ++j) {
      wmma::store_matrix_sync(stage[warp], acc[i][j], 16, wmma::mem_row_major);
      __syncwarp();
      for (int e = lane; e < 256; e += 32) {
        const int r = e >> 4, c = e & 15;
        const int gm = m0 + warp_m * 64 + i * 16 + r;
        const int gn = n0 + warp_n * 32 + j * 16 + c;
        if (gm < M) y[static_cast<std::int64_t>(gm) * N + gn] = __float2bfloat16_rn(stage[warp][e]);
      }
      __syncwarp();
    }
  }
}

}  // namespace kernels

inline void check_gemm_shape(const Nf4View& w) {
  if (w.rows % kernels::kGemmBN != 0 || w.cols % kernels::kGemmBK != 0 || w.blocksize < 16) {
    throw Error("nf4_gemm_fused: needs N % 128 == 0 and K % 32 == 0 (got N=" + std::to_string(w.rows) + ", K=" + std::to_string(w.cols) + ")");
  }
}

// Y [M, N] = X [M, K] W^T in one kernel (W dequantized tile by tile in shared memory).
inline void nf4_gemm_fused(const Nf4View& w, const __nv_bfloat16* x, int M, __nv_bfloat16* y, cudaStream_t stream = nullptr) {
  check_gemm_shape(w);
  if (M <= 0) return;
  const dim3 grid(static_cast<unsigned>(w.rows / kernels::kGemmBN), static_cast<unsigned>((M + kernels::kGemmBM - 1) / kernels::kGemmBM));
  kernels::nf4_gemm_fused<<<grid, kernels::kGemmThreads, 0, stream>>>(w, x, M, y);
  KSPAM_CUDA_LAUNCH_CHECK();
}

// Y [M, N] = X [M, K] W^T by dequantizing W into `scratch` (N * K bf16) and calling cuBLAS.
inline void nf4_gemm_dequant_cublas(cublasHandle_t h, const Nf4View& w, const __nv_bfloat16* x, int M, __nv_bfloat16* y,
                                    __nv_bfloat16* scratch, cudaStream_t stream = nullptr) {
  nf4_dequantize(w, scratch, w.cols, stream);
  KSPAM_CUBLAS_CHECK(cublasSetStream(h, stream));
  gemm_bf16_rm(h, false, true, M, static_cast<int>(w.rows), static_cast<int>(w.cols), 1.0f, x, static_cast<int>(w.cols), scratch,
               static_cast<int>(w.cols), 0.0f, y, CUDA_R_16BF, static_cast<int>(w.rows));
}

}  // namespace kspam::cuda

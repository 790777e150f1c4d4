#pragma once
// NF4 x bf16 matrix products for prefill and training: Y [M, N] = X [M, K] W^T with W an NF4 [N, K].
// Two ways, both measured by bench/bench_nf4.cu:
//  * nf4_gemm_dequant_cublas: dequantize W to a bf16 scratch matrix, then one cuBLAS bf16 GEMM (tensor
//    cores, fp32 accumulation). Costs an extra 2.5 bytes per weight of traffic, negligible once M is large.
//  * nf4_gemm_fused: one kernel that reads W as NF4 (0.5 byte per weight) and never writes it dequantized,
//    which matters when M is small (the weight's bytes dominate) or memory is short: on Hopper the wgmma kernel
//    (nf4_gemm_wgmma.cuh), elsewhere the mma.sync kernel below (nf4_gemm_mma_sync).
#include <cstdint>

#include "kspam/cuda/async_copy.cuh"
#include "kspam/cuda/device_memory.cuh"
#include "kspam/cuda/mma.cuh"
#include "kspam/cuda/nf4_gemm_wgmma.cuh"
#include "kspam/cuda/nf4_quantize.cuh"
#include "kspam/cuda/nf4_weight.cuh"

namespace kspam::cuda {

namespace kernels {

// Fused NF4 GEMM on mma.sync (any GPU from Ampere on). A block computes a kMTiles*32 x 128 tile of Y with 8 warps (2 x 4; each warp kMTiles*16 x 32)
// using mma.sync m16n8k16 (bf16 in, fp32 accumulate), over K in steps of 64 through a kStages-deep cp.async
// pipeline: each stage holds the X tile (bf16, rows of 64 in 16-byte chunks XOR-swizzled by row so ldmatrix is
// conflict-free) and the W tile still packed (128 rows x 32 bytes, rows padded to 48 bytes so the 8 rows a warp
// reads at once fall in distinct banks). W never exists in bf16 in shared memory: the B fragments are built in
// registers from the packed bytes, since an mma B fragment holds W[n][k, k+1] pairs, i.e. exactly one packed
// byte each: one lookup in a 256-entry byte -> bf16-pair table (32 copies, one per bank, conflict-free) and one
// bf16x2 multiply by the block's scale (the rounding of nf4_gemv's tensor-core kernel). The block scales of the
// next stage are loaded into registers one stage ahead. Needs N % 128 == 0, K % 64 == 0 and a block size that
// is a multiple of 64 (a 64-wide K step then never straddles two scales).
constexpr int kGemmBN = 128, kGemmBK = 64, kGemmThreads = 256;
template <int kMTiles>
constexpr int kGemmStages = kMTiles == 4 ? 3 : 4;  // two blocks per SM fit in shared memory either way (128-row
                                                   // tiles then spill ~76 bytes to stay at 128 registers: measured
                                                   // as fast as one block per SM without spills)
constexpr int kGemmWRowBytes = 48;  // 32 packed bytes + 16 of padding

template <int kMTiles>
constexpr int gemm_smem_bytes() {
  return kGemmStages<kMTiles> * (kMTiles * 32 * kGemmBK * 2 + kGemmBN * kGemmWRowBytes) + 256 * 32 * 4;
}

template <int kMTiles>
__global__ void __launch_bounds__(kGemmThreads, 2) nf4_gemm_fused(Nf4View w, const __nv_bfloat16* __restrict__ x, int M,
                                                               __nv_bfloat16* __restrict__ y) {
  constexpr int BM = kMTiles * 32, kStages = kGemmStages<kMTiles>;
  constexpr int kXStage = BM * kGemmBK * 2, kWStage = kGemmBN * kGemmWRowBytes;
  extern __shared__ __align__(128) unsigned char smem[];
  unsigned char* xs = smem;                      // [stage][BM rows][128 bytes]
  unsigned char* ws = smem + kStages * kXStage;  // [stage][128 rows][48 bytes]
  std::uint32_t* pair = reinterpret_cast<std::uint32_t*>(ws + kStages * kWStage);  // [256][32]
  __shared__ float nested_map[256];

  const int K = static_cast<int>(w.cols);
  const int N = static_cast<int>(w.rows);
  const int m0 = blockIdx.y * BM, n0 = blockIdx.x * kGemmBN;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int warp_m = warp >> 2, warp_n = warp & 3;
  const int g = lane >> 2, t = lane & 3;
  const int k_tiles = K / kGemmBK;

  // Stage loads: the X tile in 16-byte chunks (BM x 8), the packed W tile in 16-byte chunks (128 x 2).
  auto load_stage = [&](int kt, int slot) {
    const int k0 = kt * kGemmBK;
    unsigned char* xdst = xs + slot * kXStage;
#pragma unroll
    for (int i = 0; i < BM * 8 / kGemmThreads; ++i) {
      const int chunk = tid + i * kGemmThreads;
      const int r = chunk >> 3, c = chunk & 7;
      const int gm = m0 + r;
      const __nv_bfloat16* src = x + static_cast<std::int64_t>(gm < M ? gm : 0) * K + k0 + c * 8;
      cp_async_16(xdst + r * 128 + ((c ^ (r & 7)) << 4), src, gm < M);
    }
    const int r = tid >> 1, c = tid & 1;
    const std::uint8_t* src = w.packed + ((static_cast<std::int64_t>(n0 + r) * K + k0) >> 1) + c * 16;
    cp_async_16(ws + slot * kWStage + r * kGemmWRowBytes + c * 16, src, true);
  };

  // This thread's block scales for K step kt: rows n0 + warp_n * 32 + j * 8 + g, j = 0..3.
  Nf4ScaleParts parts[4];
  auto load_scales = [&](int kt) {
#pragma unroll
    for (int j = 0; j < 4; ++j)
      parts[j] = nf4_scale_parts(w, (static_cast<std::int64_t>(n0 + warp_n * 32 + j * 8 + g) * K + kt * kGemmBK) >> w.blocksize_shift);
  };

#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < k_tiles) load_stage(s, s);
    cp_async_commit();
  }
  load_scales(0);
  nf4_fill_pair_table<32>(w, pair, nested_map);  // 32 copies: lane l reads copy l, conflict-free

  float acc[kMTiles][4][4] = {};
  for (int kt = 0; kt < k_tiles; ++kt) {
    cp_async_wait<kStages - 2>();
    __syncthreads();  // stage kt visible to all; the slot of stage kt - 1 free for reuse
    if (kt + kStages - 1 < k_tiles) load_stage(kt + kStages - 1, (kt + kStages - 1) % kStages);
    cp_async_commit();

    __nv_bfloat162 scale[4];
#pragma unroll
    for (int j = 0; j < 4; ++j) scale[j] = __float2bfloat162_rn(nf4_scale_value(w, parts[j], nested_map));
    if (kt + 1 < k_tiles) load_scales(kt + 1);

    const int slot = kt % kStages;
    const unsigned char* xt = xs + slot * kXStage;
    const unsigned char* wt = ws + slot * kWStage;
#pragma unroll
    for (int kk = 0; kk < kGemmBK; kk += 16) {
      std::uint32_t a[kMTiles][4];
#pragma unroll
      for (int i = 0; i < kMTiles; ++i) {
        const int r = warp_m * kMTiles * 16 + i * 16 + (lane & 15);
        const int c = (kk >> 3) + (lane >> 4);
        const std::uint32_t addr = smem_addr(xt + r * 128 + ((c ^ (r & 7)) << 4));
        asm("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
            : "=r"(a[i][0]), "=r"(a[i][1]), "=r"(a[i][2]), "=r"(a[i][3])
            : "r"(addr)
            : "memory");  // reads what cp.async wrote: kept after the barrier
      }
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        // Bytes kk/2 .. kk/2 + 7 of row n: weights kk .. kk + 15; this lane's are bytes t and t + 4.
        const uint2 q = *reinterpret_cast<const uint2*>(wt + (warp_n * 32 + j * 8 + g) * kGemmWRowBytes + (kk >> 1));
        auto deq = [&](std::uint32_t word) {
          const std::uint32_t bits = pair[((word >> (8 * t)) & 0xffu) * 32 + lane];
          const __nv_bfloat162 p = __hmul2(*reinterpret_cast<const __nv_bfloat162*>(&bits), scale[j]);
          return *reinterpret_cast<const std::uint32_t*>(&p);
        };
        const std::uint32_t b0 = deq(q.x), b1 = deq(q.y);
#pragma unroll
        for (int i = 0; i < kMTiles; ++i) {
          mma_bf16_m16n8k16(acc[i][j], a[i][0], a[i][1], a[i][2], a[i][3], b0, b1);
        }
      }
    }
  }
  cp_async_wait<0>();

  // Epilogue: lane (g, t) holds rows g and g + 8, columns 2t and 2t + 1 of each 16 x 8 tile.
#pragma unroll
  for (int i = 0; i < kMTiles; ++i) {
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int col = n0 + warp_n * 32 + j * 8 + 2 * t;
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int row = m0 + warp_m * kMTiles * 16 + i * 16 + g + 8 * h;
        if (row < M)
          *reinterpret_cast<__nv_bfloat162*>(y + static_cast<std::int64_t>(row) * N + col) = __floats2bfloat162_rn(acc[i][j][2 * h], acc[i][j][2 * h + 1]);
      }
    }
  }
}

}  // namespace kernels

// Y [M, N] = X [M, K] W^T with the mma.sync kernel (W read as NF4, dequantized in registers). 64-row tiles when
// 128-row tiles would not give every SM two blocks.
inline void nf4_gemm_mma_sync(const Nf4View& w, const __nv_bfloat16* x, int M, __nv_bfloat16* y, cudaStream_t stream = nullptr) {
  check_fused_gemm_shape(w, "nf4_gemm_mma_sync");
  if (M <= 0) return;
  auto run = [&](auto kernel, int bm, int smem) {
    // Over 48 KB of shared memory needs the opt-in (per device and kernel; cheap to repeat).
    KSPAM_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
    const dim3 grid(static_cast<unsigned>(w.rows / kernels::kGemmBN), static_cast<unsigned>((M + bm - 1) / bm));
    kernel<<<grid, kernels::kGemmThreads, smem, stream>>>(w, x, M, y);
    KSPAM_CUDA_LAUNCH_CHECK();
  };
  const std::int64_t tiles_128 = (w.rows / kernels::kGemmBN) * ((M + 127) / 128);
  if (tiles_128 >= 2 * sm_count())
    run(kernels::nf4_gemm_fused<4>, 128, kernels::gemm_smem_bytes<4>());
  else
    run(kernels::nf4_gemm_fused<2>, 64, kernels::gemm_smem_bytes<2>());
}

// Y [M, N] = X [M, K] W^T in one kernel that reads W as NF4: wgmma on compute capability 9.0 (this project
// builds sm_90a code), mma.sync elsewhere. Needs N % 128 == 0, K % 64 == 0, block size a multiple of 64.
inline void nf4_gemm_fused(const Nf4View& w, const __nv_bfloat16* x, int M, __nv_bfloat16* y, cudaStream_t stream = nullptr) {
  if (compute_capability() == 90)
    nf4_gemm_wgmma(w, x, M, y, stream);
  else
    nf4_gemm_mma_sync(w, x, M, y, stream);
}

// Y [M, N] = X [M, K] W^T by dequantizing W into `scratch` (N * K bf16) and calling cuBLAS. The dequantization is
// launched with programmatic dependent launch, so its weight loads overlap the end of the previous kernel in the
// stream (that kernel must not be the one writing W, as when W was just quantized on this stream).
inline void nf4_gemm_dequant_cublas(cublasHandle_t h, const Nf4View& w, const __nv_bfloat16* x, int M, __nv_bfloat16* y,
                                    __nv_bfloat16* scratch, cudaStream_t stream = nullptr) {
  nf4_dequantize(w, scratch, w.cols, stream, true);
  KSPAM_CUBLAS_CHECK(cublasSetStream(h, stream));
  gemm_bf16_rm(h, false, true, M, static_cast<int>(w.rows), static_cast<int>(w.cols), 1.0f, x, static_cast<int>(w.cols), scratch,
               static_cast<int>(w.cols), 0.0f, y, CUDA_R_16BF, static_cast<int>(w.rows));
}

// Y [M, N] = X [M, K] W^T by whichever NF4 GEMM is faster at this M. Measured on the H100 for the four Qwen3-VL-2B
// projection shapes (bench/RESULTS.md): the fused kernel up to M = 512 (1.1-1.6x faster than dequantize + cuBLAS
// at M = 256 and 512), dequantize + cuBLAS above (the two within 10% of each other from M = 768 to 2048, then
// dequantize + cuBLAS 1.05-1.23x faster). Elsewhere than sm_90, and for shapes the fused kernels cannot take,
// always dequantize + cuBLAS. `scratch` (N * K bf16) is written only on that path. Both paths start by programmatic
// dependent launch, so the kernel just before in the stream must not be the one writing W.
constexpr int kNf4FusedGemmMaxRows = 512;
inline void nf4_gemm(cublasHandle_t h, const Nf4View& w, const __nv_bfloat16* x, int M, __nv_bfloat16* y, __nv_bfloat16* scratch,
                     cudaStream_t stream = nullptr) {
  if (fused_gemm_takes(w) && compute_capability() == 90 && M <= kNf4FusedGemmMaxRows) nf4_gemm_fused(w, x, M, y, stream);
  else nf4_gemm_dequant_cublas(h, w, x, M, y, scratch, stream);
}

}  // namespace kspam::cuda

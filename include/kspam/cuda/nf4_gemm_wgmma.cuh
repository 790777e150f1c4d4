#pragma once
// Hopper (sm_90a) NF4 x bf16 GEMM: Y [M, N] = X [M, K] W^T with W an NF4 [N, K], on wgmma.
//
// A block computes a 128 x 128 tile of Y with two warpgroups, each 64 rows x 128 columns as
// wgmma.m64n128k16 (bf16 in, fp32 accumulate), both operands read by the tensor cores from shared memory in
// the 128-byte-swizzled K-major layout (row r's 16-byte chunk c at chunk c ^ (r % 8); tiles 1024-byte aligned).
// K runs in steps of 64 (one 128-byte row per operand row per stage):
//   * X stages arrive by cp.async straight into that layout, kStages - 1 stages ahead;
//   * W stages arrive packed (32 bytes per row) by cp.async into a staging ring, and the same threads turn
//     them into bf16 in the swizzled layout one stage ahead of the tensor cores, while the wgmma of the current
//     stage runs asynchronously: a byte -> bf16-pair table in 8 copies (a warp's lookups meet at most a few to
//     a bank) and one bf16x2 multiply by the block scale (nf4_gemv's rounding). Each thread dequantizes the
//     bytes it copied. Two block barriers per stage order it all (a warp-specialized version with mbarriers
//     measured no faster: bench/RESULTS.md).
// So the weight crosses HBM as NF4 and exists in bf16 only in two 16 KB shared-memory slots. Needs
// N % 128 == 0, K % 64 == 0 and a block size that is a multiple of 64.
#include <cstdint>
#include <string>

#include <cuda_bf16.h>

#include "kspam/cuda/async_copy.cuh"
#include "kspam/cuda/device_memory.cuh"
#include "kspam/cuda/nf4_weight.cuh"

namespace kspam::cuda {
namespace kernels {

constexpr int kWgmmaBM = 128, kWgmmaBN = 128, kWgmmaBK = 64, kWgmmaThreads = 256;
constexpr int kWgmmaTile = 128 * 128;                       // bytes of one X or bf16 W stage (128 rows x 128 bytes)
constexpr int kWgmmaPackedStage = kWgmmaBN * 32;            // packed W bytes per stage
constexpr int kWgmmaTableCopies = 8;                        // of the byte -> bf16-pair table (see dequantize_stage)
template <int kWgmmaStages>
constexpr int kWgmmaSmemBytes = 1024 /* alignment slack */ + kWgmmaStages * kWgmmaTile + 2 * kWgmmaTile +
                                kWgmmaStages * kWgmmaPackedStage + 256 * kWgmmaTableCopies * 4;

// Shared-memory matrix descriptor (PTX ISA, "Matrix Descriptor Format"): start address, stride between
// 8-row groups (1024 bytes: 8 rows of 128 bytes), 128-byte swizzle.
__device__ __forceinline__ std::uint64_t wgmma_desc(const void* smem) {
  const auto addr = static_cast<std::uint32_t>(__cvta_generic_to_shared(smem));
  std::uint64_t d = 0;
  d |= static_cast<std::uint64_t>((addr & 0x3ffff) >> 4);
  d |= static_cast<std::uint64_t>(1) << 16;               // leading byte offset (unused for this layout)
  d |= static_cast<std::uint64_t>(1024 >> 4) << 32;       // stride byte offset
  d |= static_cast<std::uint64_t>(1) << 62;               // 128-byte swizzle
  return d;
}

template <int kWgmmaStages>
__global__ void __launch_bounds__(kWgmmaThreads, 2) nf4_gemm_wgmma(Nf4View w, const __nv_bfloat16* __restrict__ x, int M,
                                                                   __nv_bfloat16* __restrict__ y) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  extern __shared__ __align__(1024) unsigned char smem_raw[];
  // 1024-byte alignment for the swizzled tiles, by an offset from smem_raw (integer arithmetic on the pointer
  // itself would hide that it points to shared memory, and every access would become a generic load).
  const auto raw = static_cast<std::uint32_t>(__cvta_generic_to_shared(smem_raw));
  unsigned char* smem = smem_raw + ((1024 - (raw & 1023)) & 1023);
  unsigned char* xs = smem;                                         // [stage][128 rows][128 bytes], swizzled
  unsigned char* wb = xs + kWgmmaStages * kWgmmaTile;               // [2][128 rows][128 bytes], swizzled bf16
  unsigned char* wp = wb + 2 * kWgmmaTile;                          // [stage][128 rows][32 bytes], packed
  std::uint32_t* pair = reinterpret_cast<std::uint32_t*>(wp + kWgmmaStages * kWgmmaPackedStage);  // [256][copies]
  __shared__ float nested_map[256];

  const int K = static_cast<int>(w.cols);
  const int N = static_cast<int>(w.rows);
  const int m0 = blockIdx.y * kWgmmaBM, n0 = blockIdx.x * kWgmmaBN;
  const int tid = threadIdx.x, lane = tid & 31;
  const int k_tiles = K / kWgmmaBK;
  // This thread's W share: row wn, packed bytes [16 * wh, 16 * wh + 16) of each stage (weights 32 wh .. 32 wh + 31).
  const int wn = tid >> 1, wh = tid & 1;

  auto issue_stage = [&](int kt) {
    const int slot = kt % kWgmmaStages, k0 = kt * kWgmmaBK;
    unsigned char* xdst = xs + slot * kWgmmaTile;
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int chunk = tid + i * kWgmmaThreads;  // 1024 chunks: 128 rows x 8
      const int r = chunk >> 3, c = chunk & 7;
      const int gm = m0 + r;
      cp_async_16(xdst + r * 128 + ((c ^ (r & 7)) << 4), x + static_cast<std::int64_t>(gm < M ? gm : 0) * K + k0 + c * 8, gm < M);
    }
    const std::uint8_t* src = w.packed + ((static_cast<std::int64_t>(n0 + wn) * K + k0) >> 1) + wh * 16;
    cp_async_16(wp + slot * kWgmmaPackedStage + wn * 32 + wh * 16, src, true);
  };

  std::uint32_t code = 0;
  float nested = 0.0f;
  auto load_scale = [&](int kt) {
    const std::int64_t b = (static_cast<std::int64_t>(n0 + wn) * K + kt * kWgmmaBK) >> w.blocksize_shift;
    if (w.double_quant) {
      code = __ldg(w.absmax_codes + b);
      nested = __ldg(w.nested_absmax + (b >> w.nested_shift));
    } else {
      nested = __ldg(w.absmax + b);
    }
  };
  auto scale_of = [&]() {
    const float f = w.double_quant ? __fadd_rn(__fmul_rn(nested_map[code], nested), w.nested_offset) : nested;
    return __float2bfloat162_rn(f);
  };
  // Packed stage kt (this thread's 16 bytes) -> bf16 slot kt % 2, swizzled: 4 chunks of 8 weights.
  auto dequantize_stage = [&](int kt, __nv_bfloat162 scale) {
    const uint4 q = *reinterpret_cast<const uint4*>(wp + (kt % kWgmmaStages) * kWgmmaPackedStage + wn * 32 + wh * 16);
    const std::uint32_t words[4] = {q.x, q.y, q.z, q.w};
    unsigned char* dst = wb + (kt & 1) * kWgmmaTile + wn * 128;
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      std::uint32_t v[4];
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        const std::uint32_t bits = pair[((words[i] >> (8 * j)) & 0xffu) * kWgmmaTableCopies + (lane & (kWgmmaTableCopies - 1))];
        const __nv_bfloat162 p = __hmul2(*reinterpret_cast<const __nv_bfloat162*>(&bits), scale);
        v[j] = *reinterpret_cast<const std::uint32_t*>(&p);
      }
      const int c = wh * 4 + i;
      *reinterpret_cast<uint4*>(dst + ((c ^ (wn & 7)) << 4)) = make_uint4(v[0], v[1], v[2], v[3]);
    }
  };

#pragma unroll
  for (int s = 0; s < kWgmmaStages - 1; ++s) {
    if (s < k_tiles) issue_stage(s);
    cp_async_commit();
  }
  load_scale(0);
  nf4_fill_pair_table<kWgmmaTableCopies>(w, pair, nested_map);
  __syncthreads();
  __nv_bfloat162 scale = scale_of();
  if (k_tiles > 1) load_scale(1);
  cp_async_wait<kWgmmaStages - 2>();
  dequantize_stage(0, scale);
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
  __syncthreads();

  float d[64];
#pragma unroll
  for (int i = 0; i < 64; ++i) d[i] = 0.0f;
  const int wg = tid >> 7;  // warpgroup: rows 64 wg .. 64 wg + 63
  for (int kt = 0; kt < k_tiles; ++kt) {
    // The tensor cores take stage kt (asynchronously).
    asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
    const unsigned char* xa = xs + (kt % kWgmmaStages) * kWgmmaTile + wg * 64 * 128;
    const unsigned char* wbt = wb + (kt & 1) * kWgmmaTile;
#pragma unroll
    for (int ks = 0; ks < kWgmmaBK / 16; ++ks) {
      const std::uint64_t desc_a = wgmma_desc(xa + ks * 32), desc_b = wgmma_desc(wbt + ks * 32);
      const int accumulate = kt > 0 || ks > 0;
      asm volatile(
          "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
          "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 "
          "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, %64, %65, p, 1, 1, 0, 0;\n}\n"
          : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
          : "l"(desc_a), "l"(desc_b), "r"(accumulate));
    }
    asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
    // Stage kt - 1 is done in this warpgroup; after the barrier, in both: its X slot and W bf16 slot are free.
    asm volatile("wgmma.wait_group.sync.aligned 1;\n" ::: "memory");
    __syncthreads();
    if (kt + kWgmmaStages - 1 < k_tiles) issue_stage(kt + kWgmmaStages - 1);
    cp_async_commit();
    if (kt + 1 < k_tiles) {
      scale = scale_of();
      if (kt + 2 < k_tiles) load_scale(kt + 2);
      cp_async_wait<kWgmmaStages - 2>();  // stage kt + 1 has landed (own copies)
      dequantize_stage(kt + 1, scale);
      asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");      // generic writes -> tensor-core reads
      __syncthreads();
    }
  }
  asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");

  // Accumulator layout: warp (tid / 32) % 4 holds rows 16 warp .. + 15 of the warpgroup's 64; d[4j .. 4j + 3] are
  // (g, 8j + 2t), (g, 8j + 2t + 1), (g + 8, 8j + 2t), (g + 8, 8j + 2t + 1) with g = lane / 4, t = lane % 4.
  const int g = lane >> 2, t = lane & 3;
  const int row0 = m0 + wg * 64 + ((tid >> 5) & 3) * 16 + g;
#pragma unroll
  for (int j = 0; j < 16; ++j) {
    const int col = n0 + 8 * j + 2 * t;
    if (row0 < M) *reinterpret_cast<__nv_bfloat162*>(y + static_cast<std::int64_t>(row0) * N + col) = __floats2bfloat162_rn(d[4 * j], d[4 * j + 1]);
    if (row0 + 8 < M)
      *reinterpret_cast<__nv_bfloat162*>(y + static_cast<std::int64_t>(row0 + 8) * N + col) = __floats2bfloat162_rn(d[4 * j + 2], d[4 * j + 3]);
  }
#else
  __trap();  // built without sm_90a code: wgmma does not exist there (nf4_gemm_fused only picks this kernel on sm_90)
#endif
}

}  // namespace kernels

// The shapes the fused NF4 GEMM kernels (this one and nf4_gemm_mma_sync) take: 128-row W tiles and 64-wide K
// steps that never straddle two scale blocks. `who` names the caller in the error.
inline void check_fused_gemm_shape(const Nf4View& w, const char* who) {
  if (w.rows % 128 != 0 || w.cols % 64 != 0 || w.blocksize % 64 != 0)
    throw Error(std::string(who) + ": needs N % 128 == 0, K % 64 == 0 and a block size that is a multiple of 64 (got N=" +
                std::to_string(w.rows) + ", K=" + std::to_string(w.cols) + ", block size " + std::to_string(w.blocksize) + ")");
}

// Y [M, N] = X [M, K] W^T on wgmma (sm_90a; see the top of this file).
inline void nf4_gemm_wgmma(const Nf4View& w, const __nv_bfloat16* x, int M, __nv_bfloat16* y, cudaStream_t stream = nullptr) {
  check_fused_gemm_shape(w, "nf4_gemm_wgmma");
  if (M <= 0) return;
  // Three stages: with the 8-copy table that is 101 KB of shared memory, so two blocks share an SM and one's
  // prologue and epilogue overlap the other's main loop (measured faster than four stages at one block per SM).
  constexpr int kStages = 3;
  auto kernel = kernels::nf4_gemm_wgmma<kStages>;
  constexpr int smem = kernels::kWgmmaSmemBytes<kStages>;
  KSPAM_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  const dim3 grid(static_cast<unsigned>(w.rows / kernels::kWgmmaBN), static_cast<unsigned>((M + kernels::kWgmmaBM - 1) / kernels::kWgmmaBM));
  kernel<<<grid, kernels::kWgmmaThreads, smem, stream>>>(w, x, M, y);
  KSPAM_CUDA_LAUNCH_CHECK();
}

}  // namespace kspam::cuda

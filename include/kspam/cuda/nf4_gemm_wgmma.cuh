#pragma once
// Hopper (sm_90a) NF4 x bf16 GEMM: Y [M, N] = X [M, K] W^T with W an NF4 [N, K], on wgmma, with the
// dequantized weight kept in registers.
//
// wgmma can take its A operand from registers. Here A is W: a block computes a 128 x BN tile of Y^T (128
// weight rows, BN tokens; BN = 64, 128, 160, 192 or 256) with two warpgroups, or a 192 x BN tile (BN <= 128) with
// three, each warpgroup 64 weight rows x BN tokens as wgmma.m64nBNk16, and every thread dequantizes exactly the
// W fragment it feeds to the tensor cores, so the bf16 weight never touches shared memory. B is X, the only
// operand the tensor cores read from shared memory (128-byte-swizzled K-major tiles). Per 64-wide K step:
//   * one thread loads X's BN x 64 tile and W's 128 (or 192) x 32 packed bytes with the Tensor Memory
//     Accelerator (cuda/tensor_map.cuh), kStages - 2 steps ahead, completion counted in bytes on the step's mbarrier;
//     X arrives in wgmma's swizzle, W in the 32-byte swizzle that puts a warp's eight 16-byte row reads in
//     distinct banks;
//   * each thread reads its two W rows' 16-byte pieces and looks up the four bytes its fragment needs (byte t
//     of each word for lane t of a quad) in a byte -> bf16-pair table in shared memory: 32 copies in 256-byte
//     rows, so one byte permute forms the address and lane l reads copy l without bank conflicts. Then one
//     bf16x2 multiply by the block scale (nf4_gemv's rounding). Three instructions per two weights; the byte
//     permutes on a codebook in registers this replaced took about seven, and the table's reads (a quarter of
//     the X tile's) leave the tensor cores enough shared-memory bandwidth (1.07-1.27x faster, bench/RESULTS.md).
//     The block scales come decoded from shared memory: each step's are decoded once, two steps ahead, by half
//     the block;
//   * that dequantization runs while the previous step's wgmma still executes (two register sets). Its latency
//     (about 200 instructions per warp and step, mostly waiting on shared memory) is the step's critical path,
//     so three warpgroups, which spread it over 12 warps, beat two where the shape allows (bench/RESULTS.md).
// One block barrier per step. The accumulators are Y^T; the epilogue transposes them through shared memory
// so that Y is written in 16-byte row pieces. For small M, K can be split over a cluster of two blocks whose
// partial sums meet in the first block's shared memory (16-byte remote stores; remote atomic adds were 2x
// slower). A shared-memory-operand version (both operands in shared memory, W dequantized there) and a cp.async
// version of this one were measured slower (bench/RESULTS.md).
// Launched with programmatic dependent launch: the prologue (tables, scales, the first steps' W tiles) overlaps
// the end of the previous kernel in the stream, so that kernel must not be the one writing W; X is read after it.
// Needs N % 128 == 0 (N % 192 == 0 for three warpgroups), K % 64 == 0 and a block size that is a multiple of 64.
#include <cstdint>
#include <string>
#include <type_traits>

#include <cuda_bf16.h>

#include "kspam/cuda/cluster.cuh"
#include "kspam/cuda/launch.cuh"
#include "kspam/cuda/device_memory.cuh"
#include "kspam/cuda/nf4_weight.cuh"
#include "kspam/cuda/tensor_map.cuh"

namespace kspam::cuda {
namespace kernels {

// Shared-memory matrix descriptor (PTX ISA, "Matrix Descriptor Format"): start address, stride between
// 8-row groups (1024 bytes: 8 rows of 128 bytes), 128-byte swizzle.
__device__ __forceinline__ std::uint64_t wgmma_desc(const void* smem) {
  const std::uint32_t addr = smem_addr(smem);
  std::uint64_t d = 0;
  d |= static_cast<std::uint64_t>((addr & 0x3ffff) >> 4);
  d |= static_cast<std::uint64_t>(1) << 16;               // leading byte offset (unused for this layout)
  d |= static_cast<std::uint64_t>(1024 >> 4) << 32;       // stride byte offset
  d |= static_cast<std::uint64_t>(1) << 62;               // 128-byte swizzle
  return d;
}

// wgmma.m64nNk16 (bf16 in, fp32 accumulate) with A from four registers per thread (the mma.m16n8k16 A fragment
// of this warp's 16 rows) and B from a shared-memory descriptor; accumulate == 0 overwrites d. One function per
// N because inline assembly needs its N / 2 accumulator operands spelled out.
__device__ __forceinline__ void wgmma_rs_m64n64k16(float* d, const std::uint32_t* a, std::uint64_t desc_b, int accumulate) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, "
      "{%32, %33, %34, %35}, %36, p, 1, 1, 0;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b), "r"(accumulate));
}

__device__ __forceinline__ void wgmma_rs_m64n128k16(float* d, const std::uint32_t* a, std::uint64_t desc_b, int accumulate) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, "
      "{%64, %65, %66, %67}, %68, p, 1, 1, 0;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b), "r"(accumulate));
}

__device__ __forceinline__ void wgmma_rs_m64n160k16(float* d, const std::uint32_t* a, std::uint64_t desc_b, int accumulate) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %85, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n160k16.f32.bf16.bf16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79}, "
      "{%80, %81, %82, %83}, %84, p, 1, 1, 0;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]), "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b), "r"(accumulate));
}

__device__ __forceinline__ void wgmma_rs_m64n192k16(float* d, const std::uint32_t* a, std::uint64_t desc_b, int accumulate) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %101, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n192k16.f32.bf16.bf16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95}, "
      "{%96, %97, %98, %99}, %100, p, 1, 1, 0;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]), "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b), "r"(accumulate));
}

__device__ __forceinline__ void wgmma_rs_m64n256k16(float* d, const std::uint32_t* a, std::uint64_t desc_b, int accumulate) {
  asm volatile(
      "{\n.reg .pred p;\nsetp.ne.b32 p, %133, 0;\n"
      "wgmma.mma_async.sync.aligned.m64n256k16.f32.bf16.bf16 "
      "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95, %96, %97, %98, %99, %100, %101, %102, %103, %104, %105, %106, %107, %108, %109, %110, %111, %112, %113, %114, %115, %116, %117, %118, %119, %120, %121, %122, %123, %124, %125, %126, %127}, "
      "{%128, %129, %130, %131}, %132, p, 1, 1, 0;\n}\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]), "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]), "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]), "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]), "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63]), "+f"(d[64]), "+f"(d[65]), "+f"(d[66]), "+f"(d[67]), "+f"(d[68]), "+f"(d[69]), "+f"(d[70]), "+f"(d[71]), "+f"(d[72]), "+f"(d[73]), "+f"(d[74]), "+f"(d[75]), "+f"(d[76]), "+f"(d[77]), "+f"(d[78]), "+f"(d[79]), "+f"(d[80]), "+f"(d[81]), "+f"(d[82]), "+f"(d[83]), "+f"(d[84]), "+f"(d[85]), "+f"(d[86]), "+f"(d[87]), "+f"(d[88]), "+f"(d[89]), "+f"(d[90]), "+f"(d[91]), "+f"(d[92]), "+f"(d[93]), "+f"(d[94]), "+f"(d[95]), "+f"(d[96]), "+f"(d[97]), "+f"(d[98]), "+f"(d[99]), "+f"(d[100]), "+f"(d[101]), "+f"(d[102]), "+f"(d[103]), "+f"(d[104]), "+f"(d[105]), "+f"(d[106]), "+f"(d[107]), "+f"(d[108]), "+f"(d[109]), "+f"(d[110]), "+f"(d[111]), "+f"(d[112]), "+f"(d[113]), "+f"(d[114]), "+f"(d[115]), "+f"(d[116]), "+f"(d[117]), "+f"(d[118]), "+f"(d[119]), "+f"(d[120]), "+f"(d[121]), "+f"(d[122]), "+f"(d[123]), "+f"(d[124]), "+f"(d[125]), "+f"(d[126]), "+f"(d[127])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_b), "r"(accumulate));
}

template <int BN>
__device__ __forceinline__ void wgmma_rs(float* d, const std::uint32_t* a, std::uint64_t desc_b, int accumulate) {
  if constexpr (BN == 64) wgmma_rs_m64n64k16(d, a, desc_b, accumulate);
  else if constexpr (BN == 128) wgmma_rs_m64n128k16(d, a, desc_b, accumulate);
  else if constexpr (BN == 160) wgmma_rs_m64n160k16(d, a, desc_b, accumulate);
  else if constexpr (BN == 192) wgmma_rs_m64n192k16(d, a, desc_b, accumulate);
  else wgmma_rs_m64n256k16(d, a, desc_b, accumulate);
}

// Keeps a register's value alive up to this point: the tensor cores read wgmma's register operands
// after the instruction has issued, so the compiler must not reuse them before the wait that retires it.
__device__ __forceinline__ void keep_register(std::uint32_t& r) { asm volatile("" : "+r"(r)::"memory"); }

// A block has kWarpgroups (2 or 3) warpgroups of 64 weight rows each.
constexpr int kWgmmaBK = 64;
template <int kWarpgroups>
constexpr int kWgmmaThreads = 128 * kWarpgroups;
template <int kWarpgroups>
constexpr int kWgmmaRows = 64 * kWarpgroups;
constexpr int kWgmmaTableWords = 64;  // byte -> bf16-pair table rows of 256 bytes: 32 copies and 128 unused bytes
template <int kWarpgroups>
constexpr int kWgmmaWStage = kWgmmaRows<kWarpgroups> * 32;  // packed W bytes per step: a row's 32 bytes, 32-byte swizzle
template <int BN>
constexpr int kWgmmaXStage = BN * 128;  // X bytes per step: BN tokens x 64 bf16, 128-byte swizzle
template <int kWarpgroups>
constexpr int kWgmmaScaleStage = kWgmmaRows<kWarpgroups> * 2;  // the step's block scales: a bf16 per row, paired as each thread reads them
template <int BN, int kStages, int kWarpgroups>
constexpr int wgmma_smem_bytes() {
  return 1024 /* alignment slack */ + kStages * (kWgmmaXStage<BN> + kWgmmaWStage<kWarpgroups> + kWgmmaScaleStage<kWarpgroups>) +
         kStages * 8 /* barriers */;
}

template <int BN, int kStages, int kSplit, int kWarpgroups>
__global__ void __launch_bounds__(kWgmmaThreads<kWarpgroups>, 1)
    nf4_gemm_wgmma(const __grid_constant__ CUtensorMap x_map, const __grid_constant__ CUtensorMap w_map, Nf4View w, int M,
                      __nv_bfloat16* __restrict__ y) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  static_assert(kStages >= 3, "one step computing, one being dequantized ahead, one loading");
  static_assert(kWarpgroups == 2 || kWarpgroups == 3, "two or three warpgroups");
  constexpr int kThreads = kWgmmaThreads<kWarpgroups>, kRows = kWgmmaRows<kWarpgroups>;
  constexpr int kWStage = kWgmmaWStage<kWarpgroups>, kScaleStage = kWgmmaScaleStage<kWarpgroups>;
  extern __shared__ __align__(1024) unsigned char smem_raw[];
  unsigned char* smem = smem_raw + ((1024 - (smem_addr(smem_raw) & 1023)) & 1023);
  unsigned char* xs = smem;                                  // [stage][BN tokens][128 bytes]
  unsigned char* wp = xs + kStages * kWgmmaXStage<BN>;       // [stage][kRows rows][32 bytes]
  auto* scales = reinterpret_cast<std::uint32_t*>(wp + kStages * kWStage);  // [stage][kRows / 2 row pairs]
  auto* full = reinterpret_cast<std::uint64_t*>(scales + kStages * kScaleStage / 4);  // [stage]: the step's tiles have landed
  __shared__ float nested_map[256];
  __shared__ std::uint32_t pair[256 * kWgmmaTableWords];

  const int K = static_cast<int>(w.cols);
  const int N = static_cast<int>(w.rows);
  const int n0 = blockIdx.x * kRows, m0 = blockIdx.y * BN;
  const int tid = threadIdx.x, lane = tid & 31, wg = tid >> 7;
  const int g = lane >> 2, t = lane & 3;
  // Split K: the kSplit blocks of a cluster (blockIdx.z) take consecutive equal runs of the K steps.
  const int k_tiles = K / kWgmmaBK / kSplit, k_first = static_cast<int>(blockIdx.z) * k_tiles;
  // Steps run in pairs (two register sets, named at compile time); an odd count gets a last step of zeros
  // (a branch around a wgmma would make ptxas serialize every wgmma of the kernel).
  const int k_steps = (k_tiles + 1) & ~1;
  // This thread's weight rows (local): r0 and r0 + 8.
  const int r0 = wg * 64 + ((tid >> 5) & 3) * 16 + g;

  // One thread loads a whole step: X's BN x 64 box (rows past M and columns past K arrive as zeros) and the
  // packed W box, both counted in bytes on the step's barrier. The W half comes first and may be issued before
  // pdl_wait (the weight is not the previous kernel's output; X may be).
  auto issue_w = [&](int kt) {
    const int slot = kt % kStages;
    mbarrier_arrive_expect_tx(full + slot, kWgmmaXStage<BN> + kWStage);
    tma_load_2d(wp + slot * kWStage, &w_map, (k_first + kt) * (kWgmmaBK / 2), n0, full + slot);
  };
  auto issue_x = [&](int kt) {
    const int slot = kt % kStages;
    tma_load_2d(xs + slot * kWgmmaXStage<BN>, &x_map, (k_first + kt) * kWgmmaBK, m0, full + slot);
  };
  auto issue_stage = [&](int kt) {
    issue_w(kt);
    issue_x(kt);
  };

  // Block scales. Each step's kRows (one per weight row) are decoded once, two steps ahead, into that step's slot
  // of `scales` (the slot step kt - 1 or kt - 2 read before this step's barrier): thread tid decodes row
  // tid % kRows's scale for the steps of parity tid / kRows, its global loads issued two of its steps ahead. A slot
  // holds kRows / 2 words, word (row / 16) * 8 + row % 8 being the bf16 pair (row, row + 8), so the dequantizing thread
  // gets both of its rows' scales with one 4-byte load. (Every thread decoding its own two rows' scales each
  // step cost 3-5% at 256- and 160-token tiles: about 40 instructions of 64-bit address arithmetic and loads.)
  const int scale_row = tid % kRows, scale_parity = tid / kRows;
  auto* scale_slot_half = reinterpret_cast<__nv_bfloat16*>(scales) + ((scale_row >> 4) * 8 + (scale_row & 7)) * 2 + ((scale_row >> 3) & 1);
  const std::int64_t scale_row_first = static_cast<std::int64_t>(n0 + scale_row) * K + static_cast<std::int64_t>(k_first) * kWgmmaBK;
  auto scale_parts = [&](int kt) { return nf4_scale_parts(w, (scale_row_first + static_cast<std::int64_t>(kt) * kWgmmaBK) >> w.blocksize_shift); };
  auto store_scale = [&](int kt, const Nf4ScaleParts& p) {
    scale_slot_half[(kt % kStages) * (kScaleStage / 2)] = __float2bfloat16_rn(nf4_scale_value(w, p, nested_map));
  };
  Nf4ScaleParts parts;  // of step (this thread's next step to store) + 2

  // The table offset of byte t of a word: one byte permute puts the byte above lane * 4 (bits 8..15 and 0..7).
  const auto lane4 = static_cast<std::uint32_t>(lane * 4);
  const auto select = static_cast<std::uint32_t>(0x1100 | ((4 + t) << 4));
  const auto* table = reinterpret_cast<const unsigned char*>(pair);
  const int swizzle = (g >> 2) & 1;  // the 32-byte swizzle swaps the two 16-byte halves of rows 4-7 of every 8

  // Step kt's W fragments: a[ks][0..3] for the four k16 sub-steps.
  auto dequantize_stage = [&](int kt, std::uint32_t (&a)[4][4]) {
    const unsigned char* base = wp + (kt % kStages) * kWStage;
    const std::uint32_t scale_bits = scales[(kt % kStages) * (kScaleStage / 4) + (r0 >> 4) * 8 + g];
    const __nv_bfloat162 row_scales = *reinterpret_cast<const __nv_bfloat162*>(&scale_bits);  // rows r0, r0 + 8
#pragma unroll
    for (int q = 0; q < 2; ++q) {
      const __nv_bfloat162 s = q == 0 ? __low2bfloat162(row_scales) : __high2bfloat162(row_scales);
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        // Bytes 16h .. 16h + 15 of the row: sub-steps 2h and 2h + 1, 8 bytes each; lane t needs byte t of each word.
        const uint4 v = *reinterpret_cast<const uint4*>(base + (r0 + 8 * q) * 32 + ((h ^ swizzle) << 4));
        const std::uint32_t words[4] = {v.x, v.y, v.z, v.w};
        std::uint32_t o[4];
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const std::uint32_t bits = *reinterpret_cast<const std::uint32_t*>(table + __byte_perm(lane4, words[i], select));
          const __nv_bfloat162 p = __hmul2(*reinterpret_cast<const __nv_bfloat162*>(&bits), s);
          o[i] = *reinterpret_cast<const std::uint32_t*>(&p);
        }
        // Fragment registers: (row g, k 2t), (row g + 8, k 2t), (row g, k 2t + 8), (row g + 8, k 2t + 8).
        a[2 * h][q] = o[0];
        a[2 * h][2 + q] = o[1];
        a[2 * h + 1][q] = o[2];
        a[2 * h + 1][2 + q] = o[3];
      }
    }
  };

  if (tid == 0) {
    for (int s = 0; s < kStages; ++s) mbarrier_init(full + s, 1);
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  nf4_fill_pair_table<32, kWgmmaTableWords>(w, pair, nested_map);
  __syncthreads();  // barriers initialised, tables filled
  // Under programmatic dependent launch all of this prologue, the first steps' W loads included, overlaps the end
  // of the previous kernel; X is read, and Y written, only after it has finished.
  const int first_steps = min(kStages - 2, k_steps);
  if (tid == 0)
    for (int s = 0; s < first_steps; ++s) issue_w(s);
  if (scale_parity < k_tiles) store_scale(scale_parity, scale_parts(scale_parity));
  if (scale_parity + 2 < k_tiles) parts = scale_parts(scale_parity + 2);
  __syncthreads();  // the first two steps' scales stored
  pdl_wait();
  if (tid == 0)
    for (int s = 0; s < first_steps; ++s) issue_x(s);

  float d[BN / 2];
#pragma unroll
  for (int i = 0; i < BN / 2; ++i) d[i] = 0.0f;
  std::uint32_t a0[4][4], a1[4][4];
  // X's descriptors differ from the first slot's only in the start address (its low 14 bits, in 16-byte units,
  // never carry: shared memory ends below 256 KB), so each is one add.
  const std::uint64_t x_desc = wgmma_desc(xs);

  // One K step: wait for its tiles, let thread 0 start loading step kt + kStages - 2 into the slot step kt - 2
  // used (its wgmma retired before every thread passed the barrier), dequantize while step kt - 1's wgmma runs,
  // issue this step's wgmma, then retire step kt - 1's (or, after the last step, all of them).
  auto step = [&](int kt, std::uint32_t (&a)[4][4], std::uint32_t (&a_prev)[4][4], auto last) {
    mbarrier_wait(full + kt % kStages, (kt / kStages) & 1);
    __syncthreads();
    if (tid == 0 && kt + kStages - 2 < k_steps) issue_stage(kt + kStages - 2);
    if (kt < k_tiles) {
      dequantize_stage(kt, a);
    } else {
#pragma unroll
      for (int ks = 0; ks < 4; ++ks)
#pragma unroll
        for (int i = 0; i < 4; ++i) a[ks][i] = 0;
    }
    if ((kt & 1) == scale_parity && kt + 2 < k_tiles) {
      store_scale(kt + 2, parts);
      if (kt + 4 < k_tiles) parts = scale_parts(kt + 4);
    }
    asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
#pragma unroll
    for (int ks = 0; ks < 4; ++ks) wgmma_rs<BN>(d, a[ks], x_desc + static_cast<std::uint64_t>(((kt % kStages) * kWgmmaXStage<BN> + ks * 32) >> 4), kt > 0 || ks > 0);
    asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
    if constexpr (decltype(last)::value) asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
    else asm volatile("wgmma.wait_group.sync.aligned 1;\n" ::: "memory");
#pragma unroll
    for (int ks = 0; ks < 4; ++ks)
#pragma unroll
      for (int i = 0; i < 4; ++i) keep_register(a_prev[ks][i]);
  };
  // The last two steps are outside the loop and the very last waits for every wgmma: with the final wait after
  // the loop instead, ptxas (CUDA 13.0) was seen moving the accumulators' reads above it on the loop's exit path.
  const std::false_type more{};
  const std::true_type last{};
  int kt = 0;
  for (; kt + 2 < k_steps; kt += 2) {
    step(kt, a0, a1, more);
    step(kt + 1, a1, a0, more);
  }
  step(kt, a0, a1, more);
  step(kt + 1, a1, a0, last);
  pdl_launch_dependents();  // the next kernel may start its prologue as this one's blocks finish
  __syncthreads();  // every warpgroup is done with the pipeline's shared memory

  if constexpr (kSplit > 1) {
    // The cluster's partial sums meet in a tree: in each round every block whose rank has bit `level` set stores
    // its accumulators into the pipeline memory of the block `level` below it ([group of 4][thread], 16-byte
    // stores), which adds them; block 0 ends with the sum and writes Y.
    const unsigned rank = cluster_rank();
    auto* part = reinterpret_cast<float4*>(smem);
#pragma unroll
    for (unsigned level = 1; level < kSplit; level <<= 1) {
      cluster_sync();  // the receivers' pipelines (or last round's reads) are done
      const bool sender = (rank & (2 * level - 1)) == level, receiver = (rank & (2 * level - 1)) == 0;
      if (sender) {
        const std::uint32_t remote = cluster_map(smem_addr(part + tid), rank - level);
#pragma unroll
        for (int i = 0; i < BN / 8; ++i)
          cluster_store4(remote + 16u * static_cast<std::uint32_t>(i * kThreads), d[4 * i], d[4 * i + 1], d[4 * i + 2], d[4 * i + 3]);
      }
      cluster_sync();
      if (receiver) {
#pragma unroll
        for (int i = 0; i < BN / 8; ++i) {
          const float4 v = part[i * kThreads + tid];
          d[4 * i] += v.x;
          d[4 * i + 1] += v.y;
          d[4 * i + 2] += v.z;
          d[4 * i + 3] += v.w;
        }
      }
    }
    if (rank != 0) return;
    __syncthreads();  // before the epilogue reuses the memory
  }

  // Epilogue. d[4j .. 4j + 3] are Y^T (row g, token 8j + 2t), (g, 8j + 2t + 1), (g + 8, 8j + 2t), (g + 8, 8j + 2t + 1)
  // of this warp's 16 weight rows. Stage Y's tile [BN tokens][kRows columns] in shared memory (rows padded by 16
  // bytes against bank conflicts), then write it in 16-byte pieces.
  constexpr int kYRow = kRows + 8;  // bf16 per staged row
  __nv_bfloat16* ys = reinterpret_cast<__nv_bfloat16*>(smem);
#pragma unroll
  for (int j = 0; j < BN / 8; ++j) {
    const int tok = 8 * j + 2 * t;
    ys[tok * kYRow + r0] = __float2bfloat16_rn(d[4 * j]);
    ys[(tok + 1) * kYRow + r0] = __float2bfloat16_rn(d[4 * j + 1]);
    ys[tok * kYRow + r0 + 8] = __float2bfloat16_rn(d[4 * j + 2]);
    ys[(tok + 1) * kYRow + r0 + 8] = __float2bfloat16_rn(d[4 * j + 3]);
  }
  __syncthreads();
#pragma unroll
  for (int i = 0; i < BN * (kRows / 8) / kThreads; ++i) {
    const int chunk = tid + i * kThreads;  // BN rows x kRows / 8 chunks of 8 columns
    const int tok = chunk / (kRows / 8), c = chunk % (kRows / 8);
    if (m0 + tok < M)
      *reinterpret_cast<uint4*>(y + static_cast<std::int64_t>(m0 + tok) * N + n0 + c * 8) = *reinterpret_cast<const uint4*>(ys + tok * kYRow + c * 8);
  }
#else
  __trap();  // built without sm_90a code: wgmma does not exist there
#endif
}

}  // namespace kernels

// The shapes the fused NF4 GEMM kernels (this one and nf4_gemm_mma_sync) take: 128-row W tiles and 64-wide K
// steps that never straddle two scale blocks.
inline bool fused_gemm_takes(const Nf4View& w) { return w.rows % 128 == 0 && w.cols % 64 == 0 && w.blocksize % 64 == 0; }

// Throws unless fused_gemm_takes(w); `who` names the caller in the error.
inline void check_fused_gemm_shape(const Nf4View& w, const char* who) {
  if (!fused_gemm_takes(w))
    throw Error(std::string(who) + ": needs N % 128 == 0, K % 64 == 0 and a block size that is a multiple of 64 (got N=" +
                std::to_string(w.rows) + ", K=" + std::to_string(w.cols) + ", block size " + std::to_string(w.blocksize) + ")");
}

// Y [M, N] = X [M, K] W^T with tiles of BN tokens (64, 128, 160, 192 or 256) by 64 * kWarpgroups weight rows
// (128, or 192 with three warpgroups, which needs N % 192 == 0) on sm_90a; see the top of this file.
template <int BN, int kSplit = 1, int kStages = 4, int kWarpgroups = 2>
inline void nf4_gemm_wgmma_tiles(const Nf4View& w, const __nv_bfloat16* x, int M, __nv_bfloat16* y, cudaStream_t stream = nullptr) {
  static_assert(BN == 64 || BN == 128 || BN == 160 || BN == 192 || BN == 256, "BN: 64, 128, 160, 192 or 256 tokens per tile");
  static_assert(kSplit == 1 || kSplit == 2 || kSplit == 4, "K split in 1, 2 or 4 (a cluster of that many blocks)");
  static_assert(kWarpgroups == 2 || (kWarpgroups == 3 && BN <= 128 && kSplit == 1),
                "three warpgroups (BN / 2 accumulator registers per thread, at most 168 registers in all) take up to 128 tokens, unsplit");
  constexpr int kRows = kernels::kWgmmaRows<kWarpgroups>;
  check_fused_gemm_shape(w, "nf4_gemm_wgmma");
  if (w.rows % kRows != 0)
    throw Error("nf4_gemm_wgmma: " + std::to_string(kRows) + "-row tiles need N % " + std::to_string(kRows) + " == 0 (got N=" + std::to_string(w.rows) + ")");
  if ((w.cols / kernels::kWgmmaBK) % kSplit != 0)
    throw Error("nf4_gemm_wgmma: K = " + std::to_string(w.cols) + " does not split into " + std::to_string(kSplit) + " runs of 64-wide steps");
  if (M <= 0) return;
  const auto K = static_cast<std::uint64_t>(w.cols);
  const CUtensorMap x_map = make_tensor_map_2d(x, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 2, static_cast<std::uint64_t>(M), K, K * 2, BN, kernels::kWgmmaBK,
                                               CU_TENSOR_MAP_SWIZZLE_128B);
  const CUtensorMap w_map = make_tensor_map_2d(w.packed, CU_TENSOR_MAP_DATA_TYPE_UINT8, 1, static_cast<std::uint64_t>(w.rows), K / 2, K / 2,
                                               kRows, kernels::kWgmmaBK / 2, CU_TENSOR_MAP_SWIZZLE_32B);
  auto kernel = kernels::nf4_gemm_wgmma<BN, kStages, kSplit, kWarpgroups>;
  constexpr int smem = kernels::wgmma_smem_bytes<BN, kStages, kWarpgroups>();
  constexpr int threads = kernels::kWgmmaThreads<kWarpgroups>;
  static_assert(BN * (kRows + 8) * 2 <= smem - 1024, "the epilogue's staging tile fits in the pipeline's shared memory");
  static_assert(kSplit == 1 || BN / 2 * threads * 4 <= smem - 1024, "one block's partial sums fit in the pipeline's shared memory");
  KSPAM_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  // Programmatic dependent launch (see the kernel's prologue), and the split's cluster.
  const dim3 grid(static_cast<unsigned>(w.rows / kRows), static_cast<unsigned>((M + BN - 1) / BN), kSplit);
  launch_kernel_in_clusters(kernel, grid, dim3(1, 1, kSplit), dim3(threads), smem, stream, true, x_map, w_map, w, M, y);
}

// Y [M, N] = X [M, K] W^T on sm_90a, with the tile shape that should finish first. A block's time is taken as
// tokens x (its K steps + kFixedSteps) / throughput, the throughput being each width's with every SM busy (H100,
// bench_nf4 --gemm at M = 8192, corrected for that M's own waves: 64 -> ~270, 128 -> ~450, 160 -> ~520, 192 -> ~570,
// 256 -> ~630 TFLOP/s); the GEMM's time is that times the waves of blocks. So wide tiles win unless they leave many
// SMs idle in the last wave (at M = 2544 on 2048 weight rows, 160-token tiles make 256 blocks, two full waves on
// 132 SMs, where 256-token tiles make 160), and at small M two blocks splitting K (a cluster adding their partial
// sums, about kSplitSteps steps more) beat one block with half the SMs idle. Three warpgroups (192 weight rows by
// 128 tokens, ~520 TFLOP/s) fill the SMs where 128-row tiles cannot: gate/up at M = 512 makes 128 such blocks
// against 96 of 128 x 256 (each step's dequantization, the critical path, is then spread over 12 warps instead of
// 8). These constants picked the fastest measured shape at every Qwen3-VL-2B projection for M = 512, 2544 and 8192.
inline void nf4_gemm_wgmma(const Nf4View& w, const __nv_bfloat16* x, int M, __nv_bfloat16* y, cudaStream_t stream = nullptr) {
  struct Shape {
    int tokens, split, rows;
    double tflops;
    void (*run)(const Nf4View&, const __nv_bfloat16*, int, __nv_bfloat16*, cudaStream_t);
  };
  static constexpr Shape kShapes[] = {{256, 1, 128, 630, nf4_gemm_wgmma_tiles<256>},      {192, 1, 128, 570, nf4_gemm_wgmma_tiles<192>},
                                      {160, 1, 128, 520, nf4_gemm_wgmma_tiles<160>},      {128, 1, 192, 520, nf4_gemm_wgmma_tiles<128, 1, 4, 3>},
                                      {128, 1, 128, 450, nf4_gemm_wgmma_tiles<128>},      {64, 1, 128, 270, nf4_gemm_wgmma_tiles<64>},
                                      {128, 2, 128, 450, nf4_gemm_wgmma_tiles<128, 2>},   {64, 2, 128, 270, nf4_gemm_wgmma_tiles<64, 2>}};
  constexpr double kFixedSteps = 4, kSplitSteps = 6;
  const std::int64_t sms = sm_count(), k_tiles = w.cols / kernels::kWgmmaBK;
  const Shape* best = nullptr;
  double best_cost = 0;
  for (const Shape& s : kShapes) {  // in order of preference on ties
    if (k_tiles % s.split != 0 || w.rows % s.rows != 0) continue;
    const std::int64_t blocks = w.rows / s.rows * ((M + s.tokens - 1) / s.tokens) * s.split;
    const double steps = static_cast<double>(k_tiles / s.split) + kFixedSteps + (s.split > 1 ? kSplitSteps : 0);
    const double cost = static_cast<double>((blocks + sms - 1) / sms) * s.rows / 128.0 * s.tokens * steps / s.tflops;
    if (best == nullptr || cost < best_cost) {
      best = &s;
      best_cost = cost;
    }
  }
  best->run(w, x, M, y, stream);
}

}  // namespace kspam::cuda

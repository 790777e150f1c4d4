#pragma once
// Tensor maps for the Tensor Memory Accelerator (TMA, sm_90): the descriptor a kernel passes to
// cp.async.bulk.tensor so that one thread can copy a whole 2-D tile from global to shared memory, with
// out-of-bounds rows filled with zeros and, optionally, the shared-memory swizzle wgmma expects.
// cuTensorMapEncodeTiled is a driver function; it is looked up through the runtime, so nothing links libcuda.
#include <cstdint>
#include <string>

#include <cuda.h>
#include <cuda_runtime.h>

#include "kspam/cuda/cluster.cuh"
#include "kspam/cuda/device_memory.cuh"

namespace kspam::cuda {

// A row-major matrix [rows, cols] of `element_bytes`-byte elements at `base` (row stride `row_bytes`, a
// multiple of 16), read in boxes of box_rows x box_cols elements.
inline CUtensorMap make_tensor_map_2d(const void* base, CUtensorMapDataType type, int element_bytes, std::uint64_t rows, std::uint64_t cols,
                                      std::uint64_t row_bytes, std::uint32_t box_rows, std::uint32_t box_cols, CUtensorMapSwizzle swizzle) {
  using Encode = CUresult (*)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*, const cuuint64_t*, const cuuint64_t*, const cuuint32_t*,
                              const cuuint32_t*, CUtensorMapInterleave, CUtensorMapSwizzle, CUtensorMapL2promotion, CUtensorMapFloatOOBfill);
  static Encode encode = [] {
    void* fn = nullptr;
    cudaDriverEntryPointQueryResult found{};
    KSPAM_CUDA_CHECK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000, cudaEnableDefault, &found));
    if (found != cudaDriverEntryPointSuccess || fn == nullptr) throw Error("the CUDA driver has no cuTensorMapEncodeTiled (TMA needs driver 12.0 or later)");
    return reinterpret_cast<Encode>(fn);
  }();
  CUtensorMap map{};
  const cuuint64_t dims[2] = {cols, rows};
  const cuuint64_t strides[1] = {row_bytes};
  const cuuint32_t box[2] = {box_cols, box_rows};
  const cuuint32_t element_strides[2] = {1, 1};
  const CUresult r = encode(&map, type, 2, const_cast<void*>(base), dims, strides, box, element_strides, CU_TENSOR_MAP_INTERLEAVE_NONE, swizzle,
                            CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS)
    throw Error("cuTensorMapEncodeTiled failed (error " + std::to_string(static_cast<int>(r)) + ") for a " + std::to_string(rows) + " x " +
                std::to_string(cols) + " matrix of " + std::to_string(element_bytes) + "-byte elements, row stride " + std::to_string(row_bytes) +
                " bytes, box " + std::to_string(box_rows) + " x " + std::to_string(box_cols));
  return map;
}

namespace kernels {

// mbarrier and TMA primitives (PTX ISA: "Parallel Synchronization and Communication", "Tensor copy").

__device__ __forceinline__ void mbarrier_init(std::uint64_t* bar, std::uint32_t arrivals) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(smem_addr(bar)), "r"(arrivals) : "memory");
}

// One arrival that also announces `bytes` of asynchronous copies still to land on this barrier.
__device__ __forceinline__ void mbarrier_arrive_expect_tx(std::uint64_t* bar, std::uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(smem_addr(bar)), "r"(bytes) : "memory");
}

// Waits until the barrier's phase with this parity has completed.
__device__ __forceinline__ void mbarrier_wait(std::uint64_t* bar, std::uint32_t parity) {
  asm volatile(
      "{\n.reg .pred done;\nwait_%=:\n"
      "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
      "@!done bra wait_%=;\n}\n" ::"r"(smem_addr(bar)),
      "r"(parity)
      : "memory");
}

// The box of `map` at (column c, row r) into shared memory `dst`; completion is counted on `bar` in bytes.
__device__ __forceinline__ void tma_load_2d(void* dst, const CUtensorMap* map, int c, int r, std::uint64_t* bar) {
  asm volatile(
      "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n" ::"r"(smem_addr(dst)),
      "l"(reinterpret_cast<std::uint64_t>(map)), "r"(c), "r"(r), "r"(smem_addr(bar))
      : "memory");
}

}  // namespace kernels
}  // namespace kspam::cuda

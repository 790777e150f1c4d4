#pragma once
// cp.async (sm_80+): 16-byte copies from global to shared memory that run in the background, in groups a
// thread commits and later waits for. The NF4 GEMM kernels stream their tiles with them.
#include <cuda_runtime.h>

namespace kspam::cuda {

// Copies 16 bytes from global `src` to shared `dst` (both 16-byte aligned); with valid false it writes zeros
// (src must still be a mapped address).
__device__ __forceinline__ void cp_async_16(void* dst, const void* src, bool valid) {
  const auto smem = static_cast<unsigned>(__cvta_generic_to_shared(dst));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem), "l"(src), "r"(valid ? 16 : 0));
}

// Closes this thread's current group of copies.
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }

// Waits until at most `Pending` of this thread's committed groups are still in flight.
template <int Pending>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(Pending) : "memory");
}

}  // namespace kspam::cuda

#pragma once
// Thread-block cluster primitives (sm_90): rank, barrier, and stores to another block of the cluster's shared memory.
// Written in PTX rather than through cooperative_groups, whose headers declare a top-level `cuda` namespace
// that makes `kspam::cuda` ambiguous in code that says `using namespace kspam`.
#include <cstdint>

namespace kspam::cuda::kernels {

__device__ __forceinline__ std::uint32_t smem_addr(const void* p) { return static_cast<std::uint32_t>(__cvta_generic_to_shared(p)); }

__device__ __forceinline__ unsigned cluster_rank() {
  unsigned r;
  asm volatile("mov.u32 %0, %%cluster_ctarank;\n" : "=r"(r));
  return r;
}
// Every thread of every block of the cluster arrives; shared-memory writes before it are visible after it.
__device__ __forceinline__ void cluster_sync() {
  asm volatile("barrier.cluster.arrive.release.aligned;\nbarrier.cluster.wait.acquire.aligned;\n" ::: "memory");
}
// The address of this block's shared-memory address `addr` in cluster block `rank`.
__device__ __forceinline__ std::uint32_t cluster_map(std::uint32_t addr, unsigned rank) {
  std::uint32_t r;
  asm volatile("mapa.shared::cluster.u32 %0, %1, %2;\n" : "=r"(r) : "r"(addr), "r"(rank));
  return r;
}
__device__ __forceinline__ void cluster_store4(std::uint32_t addr, float a, float b, float c, float d) {
  asm volatile("st.shared::cluster.v4.f32 [%0], {%1, %2, %3, %4};\n" ::"r"(addr), "f"(a), "f"(b), "f"(c), "f"(d) : "memory");
}

}  // namespace kspam::cuda::kernels

#pragma once
// Kernel launches with programmatic dependent launch (PDL, sm_90+).
//
// A kernel launched with `pdl = true` may start while the previous kernel in its stream is still running:
// its blocks run their prologue (loading weights, which no earlier kernel writes) and then call pdl_wait(),
// which returns once the previous kernel has completed and its memory is visible. A kernel calls
// pdl_launch_dependents() to let the next PDL kernel in the stream start early. Without the launch attribute
// (or on a stream whose previous kernel is not PDL-aware) both calls are harmless no-ops, so a kernel that
// reads its inputs only after pdl_wait() is correct however it is launched. Works under CUDA graph capture.
#include <utility>

#include "kspam/cuda/device_memory.cuh"

namespace kspam::cuda {

__device__ __forceinline__ void pdl_launch_dependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

// Brings the 128-byte line holding p into L2 (no register is written, nothing waits for it).
__device__ __forceinline__ void prefetch_l2(const void* p) { asm volatile("prefetch.global.L2 [%0];" ::"l"(p)); }

// kernel<<<grid, block, smem, stream>>>(args...), with the programmatic-serialization attribute when pdl, in
// thread-block clusters of cluster.x * cluster.y * cluster.z blocks when that is more than one (sm_90+).
template <typename... Params, typename... Args>
void launch_kernel_in_clusters(void (*kernel)(Params...), dim3 grid, dim3 cluster, dim3 block, std::size_t smem, cudaStream_t stream, bool pdl,
                               Args&&... args) {
  cudaLaunchConfig_t config{};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = smem;
  config.stream = stream;
  cudaLaunchAttribute attributes[2]{};
  unsigned count = 0;
  if (pdl) {
    attributes[count].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attributes[count++].val.programmaticStreamSerializationAllowed = 1;
  }
  if (cluster.x * cluster.y * cluster.z > 1) {
    attributes[count].id = cudaLaunchAttributeClusterDimension;
    attributes[count].val.clusterDim.x = cluster.x;
    attributes[count].val.clusterDim.y = cluster.y;
    attributes[count++].val.clusterDim.z = cluster.z;
  }
  config.attrs = attributes;
  config.numAttrs = count;
  KSPAM_CUDA_CHECK(cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...));
}

// kernel<<<grid, block, smem, stream>>>(args...), with the programmatic-serialization attribute when pdl.
template <typename... Params, typename... Args>
void launch_kernel(void (*kernel)(Params...), dim3 grid, dim3 block, std::size_t smem, cudaStream_t stream, bool pdl, Args&&... args) {
  launch_kernel_in_clusters(kernel, grid, dim3(1, 1, 1), block, smem, stream, pdl, std::forward<Args>(args)...);
}

}  // namespace kspam::cuda

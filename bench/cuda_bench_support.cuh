#pragma once
// Shared by the GPU benchmarks: the Qwen3-VL-2B projection shapes, timing (stream launches, and CUDA graphs
// that take launch overhead out), random bf16 data and the device-to-device copy ceiling.
#include <cstdint>
#include <cstdio>
#include <exception>
#include <functional>
#include <vector>

#include "kspam/cuda/device_memory.cuh"
#include "kspam/tensor/random_bf16.hpp"

namespace kspam::bench {

using bf16 = __nv_bfloat16;

struct Shape {
  const char* name;
  int in, out;
};
inline constexpr Shape kShapes[] = {{"q/o 2048->2048", 2048, 2048}, {"k/v 2048->1024", 2048, 1024},
                             {"gate/up 2048->6144", 2048, 6144}, {"down 6144->2048", 6144, 2048}};
inline constexpr std::size_t kL2Bytes = 50u << 20;

// Mean milliseconds per call of fn(i) over `iters` calls after `warmup` calls (i cycles the replicas).
inline double time_ms(const std::function<void(int)>& fn, int iters, int warmup = 3) {
  for (int i = 0; i < warmup; ++i) fn(i);
  cudaEvent_t a, b;
  KSPAM_CUDA_CHECK(cudaEventCreate(&a));
  KSPAM_CUDA_CHECK(cudaEventCreate(&b));
  KSPAM_CUDA_CHECK(cudaEventRecord(a));
  for (int i = 0; i < iters; ++i) fn(i);
  KSPAM_CUDA_CHECK(cudaEventRecord(b));
  KSPAM_CUDA_CHECK(cudaEventSynchronize(b));
  float ms = 0;
  KSPAM_CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  return ms / iters;
}

// Mean milliseconds per call with launch overhead taken out: `n` calls fn(i, stream) are captured into one
// CUDA graph, which is replayed `reps` times. Returns -1 where capture fails.
inline double time_graph_ms(const std::function<void(int, cudaStream_t)>& fn, int n, int reps = 10) {
  cudaStream_t s;
  KSPAM_CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  for (int i = 0; i < 3; ++i) fn(i, s);  // warm-up outside the capture (cuBLAS picks its kernel, allocates)
  cudaGraph_t g = nullptr;
  cudaGraphExec_t ge = nullptr;
  double ms = -1;
  try {
    KSPAM_CUDA_CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
    for (int i = 0; i < n; ++i) fn(i, s);
    KSPAM_CUDA_CHECK(cudaStreamEndCapture(s, &g));
    KSPAM_CUDA_CHECK(cudaGraphInstantiate(&ge, g, 0));
    KSPAM_CUDA_CHECK(cudaGraphLaunch(ge, s));
    cudaEvent_t a, b;
    KSPAM_CUDA_CHECK(cudaEventCreate(&a));
    KSPAM_CUDA_CHECK(cudaEventCreate(&b));
    KSPAM_CUDA_CHECK(cudaEventRecord(a, s));
    for (int r = 0; r < reps; ++r) KSPAM_CUDA_CHECK(cudaGraphLaunch(ge, s));
    KSPAM_CUDA_CHECK(cudaEventRecord(b, s));
    KSPAM_CUDA_CHECK(cudaEventSynchronize(b));
    float t = 0;
    KSPAM_CUDA_CHECK(cudaEventElapsedTime(&t, a, b));
    ms = t / (static_cast<double>(reps) * n);
    cudaEventDestroy(a);
    cudaEventDestroy(b);
  } catch (const std::exception& e) {
    std::printf("(graph capture failed: %s)\n", e.what());
    cudaGraph_t dummy;
    cudaStreamEndCapture(s, &dummy);
    cudaGetLastError();
  }
  if (ge) cudaGraphExecDestroy(ge);
  if (g) cudaGraphDestroy(g);
  KSPAM_CUDA_CHECK(cudaStreamSynchronize(s));
  cudaStreamDestroy(s);
  return ms;
}

using cuda::upload_bf16;
using tensor::random_bf16;

inline double copy_ceiling_gbs() {
  const std::size_t bytes = 512u << 20;
  cuda::DeviceBuffer<std::uint8_t> src(bytes), dst(bytes);
  src.zero();
  const double ms = time_ms([&](int) { KSPAM_CUDA_CHECK(cudaMemcpyAsync(dst.data(), src.data(), bytes, cudaMemcpyDeviceToDevice)); }, 20);
  return 2.0 * bytes / (ms * 1e-3) / 1e9;
}

}  // namespace kspam::bench

#pragma once
// Dequantization ahead of use, for a sequence of NF4 x bf16 GEMMs (prefill, a training forward or backward):
// while the caller's stream multiplies with weight i (cuBLAS, compute-bound), a side stream dequantizes weight
// i + 1 (memory-bound) into the other of two bf16 buffers, so the dequantize pass of nf4_gemm_dequant_cublas
// leaves the critical path. The weights are known in advance and never written, so nothing but the buffers
// orders the two streams:
//
//     Nf4DequantPipeline pipe(max_elements);
//     pipe.prefetch(w[0], stream);
//     for (i...) {
//       if (i + 1 < n) pipe.prefetch(w[i + 1], stream);   // starts once stream is done with that buffer
//       const __nv_bfloat16* wi = pipe.acquire(stream);     // stream waits until w[i] is dequantized
//       ... GEMMs with wi on stream ...
//       pipe.release();                                     // the buffer may be overwritten after these
//     }
//
// Not for use inside CUDA graph capture (the side stream is not part of the capture).
#include <cstddef>

#include "kspam/cuda/device_memory.cuh"
#include "kspam/cuda/nf4_quantize.cuh"
#include "kspam/cuda/nf4_weight.cuh"

namespace kspam::cuda {

class Nf4DequantPipeline {
 public:
  // max_elements: the largest weight (rows * cols) that will pass through.
  explicit Nf4DequantPipeline(std::size_t max_elements) : buffers_{DeviceBuffer<__nv_bfloat16>(max_elements), DeviceBuffer<__nv_bfloat16>(max_elements)} {
    KSPAM_CUDA_CHECK(cudaStreamCreateWithFlags(&side_, cudaStreamNonBlocking));
    for (cudaEvent_t& e : ready_) KSPAM_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
    KSPAM_CUDA_CHECK(cudaEventCreateWithFlags(&queued_, cudaEventDisableTiming));
  }
  Nf4DequantPipeline(const Nf4DequantPipeline&) = delete;
  Nf4DequantPipeline& operator=(const Nf4DequantPipeline&) = delete;
  ~Nf4DequantPipeline() {
    cudaStreamSynchronize(side_);
    for (cudaEvent_t e : ready_) cudaEventDestroy(e);
    cudaEventDestroy(queued_);
    cudaStreamDestroy(side_);
  }

  // Queues the dequantization of w (row-major [rows, cols], dense rows) into the next buffer. `stream` is the
  // consumer stream: the work also waits for everything already queued there, so weights written on it
  // beforehand are seen. At most two weights may be prefetched and not yet released.
  void prefetch(const Nf4View& w, cudaStream_t stream) {
    if (static_cast<std::size_t>(w.rows * w.cols) > buffers_[0].size()) throw Error("Nf4DequantPipeline: weight larger than the buffers");
    if (filled_ - consumed_ >= 2) throw Error("Nf4DequantPipeline: prefetch before release of two outstanding weights");
    const int b = static_cast<int>(filled_ % 2);
    KSPAM_CUDA_CHECK(cudaEventRecord(queued_, stream));
    KSPAM_CUDA_CHECK(cudaStreamWaitEvent(side_, queued_, 0));
    nf4_dequantize(w, buffers_[b].data(), w.cols, side_);
    KSPAM_CUDA_CHECK(cudaEventRecord(ready_[b], side_));
    ++filled_;
  }

  // The oldest prefetched weight, dequantized; `stream` waits for it.
  const __nv_bfloat16* acquire(cudaStream_t stream) {
    if (consumed_ >= filled_) throw Error("Nf4DequantPipeline: acquire without a prefetch");
    const int b = static_cast<int>(consumed_ % 2);
    KSPAM_CUDA_CHECK(cudaStreamWaitEvent(stream, ready_[b], 0));
    return buffers_[b].data();
  }

  // The work queued so far on the consumer stream is the last to read the acquired buffer: the next
  // prefetch into it waits for that work (prefetch orders the side stream after the consumer stream).
  void release() {
    if (consumed_ >= filled_) throw Error("Nf4DequantPipeline: release without an acquire");
    ++consumed_;
  }

 private:
  DeviceBuffer<__nv_bfloat16> buffers_[2];
  cudaStream_t side_ = nullptr;
  cudaEvent_t ready_[2] = {};
  cudaEvent_t queued_ = nullptr;  // orders the side stream after the consumer's earlier work
  std::size_t filled_ = 0, consumed_ = 0;
};

}  // namespace kspam::cuda

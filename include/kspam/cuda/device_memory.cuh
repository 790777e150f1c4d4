#pragma once
// Device memory and library handles for kspam's CUDA backend: error checks that throw kspam::Error with
// the failing call and location, an owning typed buffer, a cuBLAS handle, and bf16 host/device helpers.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include "kspam/core/error.hpp"

namespace kspam::cuda {

inline void check_cuda(cudaError_t status, const char* what, const char* file, int line) {
  if (status != cudaSuccess) {
    throw Error(std::string("CUDA error in ") + what + " (" + file + ":" + std::to_string(line) + "): " + cudaGetErrorString(status));
  }
}
inline void check_cublas(cublasStatus_t status, const char* what, const char* file, int line) {
  if (status != CUBLAS_STATUS_SUCCESS) {
    throw Error(std::string("cuBLAS error in ") + what + " (" + file + ":" + std::to_string(line) + "): status " + std::to_string(static_cast<int>(status)));
  }
}
#define KSPAM_CUDA_CHECK(expr) ::kspam::cuda::check_cuda((expr), #expr, __FILE__, __LINE__)
#define KSPAM_CUBLAS_CHECK(expr) ::kspam::cuda::check_cublas((expr), #expr, __FILE__, __LINE__)
// After a kernel launch: launch-configuration errors surface here, not at the next sync.
#define KSPAM_CUDA_LAUNCH_CHECK() ::kspam::cuda::check_cuda(cudaGetLastError(), "kernel launch", __FILE__, __LINE__)

// True when a CUDA device can be used (tests print "skipped: no NVIDIA GPU" and exit 77 otherwise).
inline bool device_available() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

// Multiprocessors of the current device (read once): sizes one-wave and grid-stride launches.
inline int sm_count() {
  static const int count = [] {
    int device = 0, n = 0;
    KSPAM_CUDA_CHECK(cudaGetDevice(&device));
    KSPAM_CUDA_CHECK(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, device));
    return n;
  }();
  return count;
}

// Compute capability of the current device as major * 10 + minor (90 on an H100; read once).
inline int compute_capability() {
  static const int cc = [] {
    int device = 0, major = 0, minor = 0;
    KSPAM_CUDA_CHECK(cudaGetDevice(&device));
    KSPAM_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
    KSPAM_CUDA_CHECK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device));
    return 10 * major + minor;
  }();
  return cc;
}

template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(std::size_t n) : n_(n) {
    if (n_ > 0) KSPAM_CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&p_), n_ * sizeof(T)));
  }
  explicit DeviceBuffer(std::span<const T> host) : DeviceBuffer(host.size()) { upload(host); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
      release();
      p_ = std::exchange(o.p_, nullptr);
      n_ = std::exchange(o.n_, 0);
    }
    return *this;
  }
  ~DeviceBuffer() { release(); }

  T* data() { return p_; }
  const T* data() const { return p_; }
  std::size_t size() const { return n_; }
  std::size_t bytes() const { return n_ * sizeof(T); }

  void upload(std::span<const T> host) {
    if (host.size() != n_) throw Error("DeviceBuffer::upload: size mismatch");
    if (n_ > 0) KSPAM_CUDA_CHECK(cudaMemcpy(p_, host.data(), bytes(), cudaMemcpyHostToDevice));
  }
  std::vector<T> download() const {
    std::vector<T> out(n_);
    if (n_ > 0) KSPAM_CUDA_CHECK(cudaMemcpy(out.data(), p_, bytes(), cudaMemcpyDeviceToHost));
    return out;
  }
  void zero() {
    if (n_ > 0) KSPAM_CUDA_CHECK(cudaMemset(p_, 0, bytes()));
  }

 private:
  void release() {
    if (p_ != nullptr) cudaFree(p_);
    p_ = nullptr;
  }
  T* p_ = nullptr;
  std::size_t n_ = 0;
};

class CublasHandle {
 public:
  CublasHandle() { KSPAM_CUBLAS_CHECK(cublasCreate(&h_)); }
  CublasHandle(const CublasHandle&) = delete;
  CublasHandle& operator=(const CublasHandle&) = delete;
  ~CublasHandle() { cublasDestroy(h_); }
  cublasHandle_t get() const { return h_; }

 private:
  cublasHandle_t h_ = nullptr;
};

// Row-major GEMM through cuBLAS: C[M,N] = alpha * op(A) op(B) + beta * C, bf16 inputs, fp32 accumulation,
// C in bf16 or fp32 (c_type). op(A) is [M,K]: A is stored [M,K] (trans_a false) or [K,M] (true); likewise B.
// Row-major C is column-major C^T, so cuBLAS computes C^T = op(B)^T op(A)^T with the operands swapped.
inline void gemm_bf16_rm(cublasHandle_t h, bool trans_a, bool trans_b, int M, int N, int K, float alpha,
                         const __nv_bfloat16* A, int lda, const __nv_bfloat16* B, int ldb, float beta, void* C,
                         cudaDataType_t c_type, int ldc) {
  KSPAM_CUBLAS_CHECK(cublasGemmEx(h, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, N, M, K,
                                  &alpha, B, CUDA_R_16BF, ldb, A, CUDA_R_16BF, lda, &beta, C, c_type, ldc,
                                  CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

// bf16 values given as their bits (tensor::f32_to_bf16's output) in a new device buffer: __nv_bfloat16 has
// the same layout.
inline DeviceBuffer<__nv_bfloat16> upload_bf16(std::span<const std::uint16_t> bits) {
  return DeviceBuffer<__nv_bfloat16>(std::span<const __nv_bfloat16>(reinterpret_cast<const __nv_bfloat16*>(bits.data()), bits.size()));
}

}  // namespace kspam::cuda

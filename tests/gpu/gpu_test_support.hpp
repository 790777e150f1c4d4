#pragma once
// Shared by the GPU tests: PASS/FAIL lines, bf16 data to and from the device, and the error measure.
// Include it first: Eigen (the CPU reference) must be host-only here, or it marks its functions
// __host__ __device__ and nvcc warns about defaulted constructors.
#define EIGEN_NO_CUDA
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include "kspam/tensor/random_bf16.hpp"
#include "kspam/cuda/device_memory.cuh"
#include "kspam/nn/lora_linear.hpp"
#include "kspam/tensor/half.hpp"

namespace kspam::gpu_test {

using kspam::nn::MatrixRM;
using bf16 = __nv_bfloat16;

inline int failures = 0;

inline void check(bool ok, const std::string& what) {
  std::printf("%s  %s\n", ok ? "PASS" : "FAIL", what.c_str());
  std::fflush(stdout);
  if (!ok) ++failures;
}

using cuda::upload_bf16;  // bf16 bits to a new device buffer
using tensor::random_bf16;

inline std::vector<float> widen(const std::vector<std::uint16_t>& b) {
  std::vector<float> f(b.size());
  for (std::size_t i = 0; i < b.size(); ++i) f[i] = tensor::bf16_to_f32(b[i]);
  return f;
}

inline std::vector<float> download_bf16(const bf16* p, std::size_t n) {
  std::vector<std::uint16_t> bits(n);
  KSPAM_CUDA_CHECK(cudaMemcpy(bits.data(), p, n * 2, cudaMemcpyDeviceToHost));
  return widen(bits);
}

inline MatrixRM to_matrix(const std::vector<float>& v, Eigen::Index rows, Eigen::Index cols) {
  MatrixRM m(rows, cols);
  std::copy(v.begin(), v.end(), m.data());
  return m;
}

inline double rel_err(const MatrixRM& got, const MatrixRM& want) {
  if (!got.allFinite()) return std::numeric_limits<double>::infinity();  // e.g. read before it was written
  return (got - want).cwiseAbs().maxCoeff() / std::max(1e-30f, want.cwiseAbs().maxCoeff());
}

// rel_err of two [rows, cols] bf16 matrices on the device.
inline double rel_err_device(const bf16* got, const bf16* want, Eigen::Index rows, Eigen::Index cols) {
  const auto n = static_cast<std::size_t>(rows * cols);
  return rel_err(to_matrix(download_bf16(got, n), rows, cols), to_matrix(download_bf16(want, n), rows, cols));
}

// A GPU test program's main: exit 77 (ctest: skipped) without a GPU, else run each test, report an exception as
// a failure, print the count and exit non-zero on any failure.
inline int run_gpu_tests(std::initializer_list<void (*)()> tests) {
  if (!cuda::device_available()) {
    std::printf("skipped: no NVIDIA GPU\n");
    return 77;
  }
  try {
    for (auto test : tests) test();
  } catch (const std::exception& e) {
    std::printf("FAIL  exception: %s\n", e.what());
    return 1;
  }
  std::printf("%d failure(s)\n", failures);
  return failures == 0 ? 0 : 1;
}

}  // namespace kspam::gpu_test

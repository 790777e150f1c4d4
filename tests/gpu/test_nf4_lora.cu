// The CUDA NF4 and LoRA kernels against the CPU reference on random inputs: quantization codes and
// dequantized values bit for bit, GEMV / GEMM (fused and dequantize+cuBLAS) and the LoRA layer's forward
// and gradients within bf16 tolerance. Exits 77 (ctest: skipped) without an NVIDIA GPU.
// Eigen (the CPU reference) is host-only here: without this it marks its functions __host__ __device__ and
// nvcc warns about defaulted constructors.
#define EIGEN_NO_CUDA
// GCC 12 misreports std::string concatenation at -O3 (bug 105329); the CXX flags say -Wno-restrict, the
// host flags nvcc passes do not.
#pragma GCC diagnostic ignored "-Wrestrict"
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "kspam/core/rng.hpp"
#include "kspam/cuda/device_memory.cuh"
#include "kspam/cuda/lora.cuh"
#include "kspam/cuda/nf4_gemm.cuh"
#include "kspam/cuda/nf4_gemv.cuh"
#include "kspam/cuda/nf4_quantize.cuh"
#include "kspam/nn/lora_linear.hpp"
#include "kspam/quant/nf4_tensor.hpp"
#include "kspam/tensor/half.hpp"

using namespace kspam;
using kspam::nn::MatrixRM;
using bf16 = __nv_bfloat16;

namespace {
int failures = 0;

void check(bool ok, const std::string& what) {
  std::printf("%s  %s\n", ok ? "PASS" : "FAIL", what.c_str());
  std::fflush(stdout);
  if (!ok) ++failures;
}

std::vector<std::uint16_t> random_bf16(std::size_t n, double scale, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<std::uint16_t> v(n);
  for (auto& b : v) b = tensor::f32_to_bf16(static_cast<float>(rng.normal() * scale));
  return v;
}

std::vector<float> widen(const std::vector<std::uint16_t>& b) {
  std::vector<float> f(b.size());
  for (std::size_t i = 0; i < b.size(); ++i) f[i] = tensor::bf16_to_f32(b[i]);
  return f;
}

// bf16 bits on the device (bf16 and uint16 share the layout).
cuda::DeviceBuffer<bf16> upload_bf16(const std::vector<std::uint16_t>& bits) {
  cuda::DeviceBuffer<bf16> d(bits.size());
  KSPAM_CUDA_CHECK(cudaMemcpy(d.data(), bits.data(), bits.size() * 2, cudaMemcpyHostToDevice));
  return d;
}
std::vector<float> download_bf16(const bf16* p, std::size_t n) {
  std::vector<std::uint16_t> bits(n);
  KSPAM_CUDA_CHECK(cudaMemcpy(bits.data(), p, n * 2, cudaMemcpyDeviceToHost));
  return widen(bits);
}

MatrixRM to_matrix(const std::vector<float>& v, Eigen::Index rows, Eigen::Index cols) {
  MatrixRM m(rows, cols);
  std::copy(v.begin(), v.end(), m.data());
  return m;
}

double rel_err(const MatrixRM& got, const MatrixRM& want) {
  return (got - want).cwiseAbs().maxCoeff() / std::max(1e-30f, want.cwiseAbs().maxCoeff());
}

void test_quantize_bit_identical() {
  for (int bs : {32, 64, 256, 4096}) {
    auto bits = random_bf16(1 << 20, 0.02, 100 + bs);
    for (int i = 0; i < 2 * bs; ++i) bits[static_cast<std::size_t>(5 * bs + i)] = 0;  // whole zero blocks
    const auto values = widen(bits);
    const quant::Nf4Tensor cpu = quant::quantize_nf4(values, {1024, 1024}, {bs, false, 256});
    auto x = upload_bf16(bits);
    cuda::DeviceBuffer<std::uint8_t> packed(cpu.packed.size());
    cuda::DeviceBuffer<float> absmax(cpu.absmax.size());
    cuda::nf4_quantize(x.data(), static_cast<std::int64_t>(bits.size()), bs, packed.data(), absmax.data());
    KSPAM_CUDA_CHECK(cudaDeviceSynchronize());
    check(packed.download() == cpu.packed, "NF4 codes CUDA == CPU, bit for bit (blocksize " + std::to_string(bs) + ")");
    check(absmax.download() == cpu.absmax, "NF4 absmax CUDA == CPU (blocksize " + std::to_string(bs) + ")");
  }
}

void test_dequantize_bit_identical() {
  for (bool dq : {false, true}) {
    const auto bits = random_bf16(512 * 768, 0.05, 7);
    const quant::Nf4Tensor t = quant::quantize_nf4(widen(bits), {512, 768}, {64, dq, 256});
    const auto cpu = quant::dequantize_nf4_bf16(t);
    cuda::Nf4DeviceWeight w(t);
    const int ld = 768 + 16;  // a padded row, as the fused LoRA layout uses
    cuda::DeviceBuffer<bf16> out(static_cast<std::size_t>(512) * ld);
    cuda::nf4_dequantize(w.view(), out.data(), ld);
    std::vector<std::uint16_t> got(out.size());
    KSPAM_CUDA_CHECK(cudaMemcpy(got.data(), out.data(), got.size() * 2, cudaMemcpyDeviceToHost));
    std::size_t mismatches = 0;
    for (int r = 0; r < 512; ++r)
      for (int c = 0; c < 768; ++c) mismatches += got[static_cast<std::size_t>(r) * ld + c] != cpu[static_cast<std::size_t>(r) * 768 + c];
    check(mismatches == 0, std::string("NF4 dequantize to bf16 CUDA == CPU, bit for bit") + (dq ? " (double quant)" : ""));
  }
}

void test_gemv_and_gemm() {
  const int N = 1024, K = 2048;
  const auto wbits = random_bf16(static_cast<std::size_t>(N) * K, 0.02, 11);
  const quant::Nf4Tensor t = quant::quantize_nf4(widen(wbits), {N, K});
  const MatrixRM w = backend::cpu::nf4_dense(t);  // bf16-rounded dequantized weight
  cuda::Nf4DeviceWeight dw(t);
  for (int batch : {1, 2, 3, 4, 5, 6, 7, 8}) {
    const auto xb = random_bf16(static_cast<std::size_t>(batch) * K, 1.0, 20 + batch);
    const MatrixRM x = to_matrix(widen(xb), batch, K);
    auto dx = upload_bf16(xb);
    cuda::DeviceBuffer<bf16> y(static_cast<std::size_t>(batch) * N);
    for (auto kernel : {cuda::GemvKernel::automatic, cuda::GemvKernel::tensor_core, cuda::GemvKernel::tensor_core_interleaved, cuda::GemvKernel::shared_lut, cuda::GemvKernel::prefetch_shuffle}) {
      cuda::nf4_gemv(dw.view(), dx.data(), y.data(), batch, nullptr, kernel);
      KSPAM_CUDA_CHECK(cudaDeviceSynchronize());
      const double e = rel_err(to_matrix(download_bf16(y.data(), y.size()), batch, N), x * w.transpose());
      check(e < 1e-2, std::string("NF4 GEMV (") + (kernel == cuda::GemvKernel::automatic ? "automatic" : kernel == cuda::GemvKernel::tensor_core ? "tensor core" : kernel == cuda::GemvKernel::tensor_core_interleaved ? "tensor core, interleaved K" : kernel == cuda::GemvKernel::shared_lut ? "shared LUT" : "prefetch+shuffle") +
                          ") batch " + std::to_string(batch) + " vs CPU (max rel err " + std::to_string(e) + ")");
    }
  }
  {
    // Odd row count (the second row of the last warp is masked) and a long row (several steps per lane).
    const int n2 = 77, k2 = 6144;
    const quant::Nf4Tensor t2 = quant::quantize_nf4(widen(random_bf16(static_cast<std::size_t>(n2) * k2, 0.02, 12)), {n2, k2}, {128, true, 256});
    const MatrixRM w2 = backend::cpu::nf4_dense(t2);
    cuda::Nf4DeviceWeight dw2(t2);
    const auto xb = random_bf16(static_cast<std::size_t>(2) * k2, 1.0, 13);
    auto dx = upload_bf16(xb);
    cuda::DeviceBuffer<bf16> y(static_cast<std::size_t>(2) * n2);
    for (auto kernel : {cuda::GemvKernel::automatic, cuda::GemvKernel::tensor_core, cuda::GemvKernel::tensor_core_interleaved, cuda::GemvKernel::shared_lut, cuda::GemvKernel::prefetch_shuffle}) {
      cuda::nf4_gemv(dw2.view(), dx.data(), y.data(), 2, nullptr, kernel);
      KSPAM_CUDA_CHECK(cudaDeviceSynchronize());
      const double e = rel_err(to_matrix(download_bf16(y.data(), y.size()), 2, n2), to_matrix(widen(xb), 2, k2) * w2.transpose());
      check(e < 1e-2, std::string("NF4 GEMV (") + (kernel == cuda::GemvKernel::automatic ? "automatic" : kernel == cuda::GemvKernel::tensor_core ? "tensor core" : kernel == cuda::GemvKernel::tensor_core_interleaved ? "tensor core, interleaved K" : kernel == cuda::GemvKernel::shared_lut ? "shared LUT" : "prefetch+shuffle") +
                          ") 77 x 6144, blocksize 128, batch 2 (max rel err " + std::to_string(e) + ")");
    }
  }
  cuda::CublasHandle cublas;
  for (int M : {128, 200}) {
    const auto xb = random_bf16(static_cast<std::size_t>(M) * K, 1.0, 30 + M);
    const MatrixRM want = to_matrix(widen(xb), M, K) * w.transpose();
    auto dx = upload_bf16(xb);
    cuda::DeviceBuffer<bf16> y(static_cast<std::size_t>(M) * N), scratch(static_cast<std::size_t>(N) * K);
    cuda::nf4_gemm_fused(dw.view(), dx.data(), M, y.data());
    KSPAM_CUDA_CHECK(cudaDeviceSynchronize());
    double e = rel_err(to_matrix(download_bf16(y.data(), y.size()), M, N), want);
    check(e < 1e-2, "NF4 GEMM fused M=" + std::to_string(M) + " vs CPU (max rel err " + std::to_string(e) + ")");
    cuda::nf4_gemm_dequant_cublas(cublas.get(), dw.view(), dx.data(), M, y.data(), scratch.data());
    KSPAM_CUDA_CHECK(cudaDeviceSynchronize());
    e = rel_err(to_matrix(download_bf16(y.data(), y.size()), M, N), want);
    check(e < 1e-2, "NF4 GEMM dequantize+cuBLAS M=" + std::to_string(M) + " vs CPU (max rel err " + std::to_string(e) + ")");
  }
}

template <typename Base>
void compare_lora(const std::string& name, Base base_cpu, const std::vector<std::uint16_t>* dense_bits, const quant::Nf4Tensor* q,
                  int in, int out, int r, double dropout) {
  const int M = 96;
  const std::uint64_t seed = 2024;
  nn::LoraLinear<Base> cpu(std::move(base_cpu), {r, 2.0 * r, dropout, false}, 5);
  Rng rng(77);
  for (Eigen::Index i = 0; i < cpu.lora_B().size(); ++i) cpu.lora_B().data()[i] = static_cast<float>(rng.normal() * 0.05);
  for (Eigen::Index i = 0; i < cpu.lora_A().size(); ++i) cpu.lora_A().data()[i] = tensor::round_to_bf16(cpu.lora_A().data()[i]);
  const auto xb = random_bf16(static_cast<std::size_t>(M) * in, 1.0, 40);
  const auto gb = random_bf16(static_cast<std::size_t>(M) * out, 1.0, 41);
  const MatrixRM x = to_matrix(widen(xb), M, in), g = to_matrix(widen(gb), M, out);
  const MatrixRM y_cpu = cpu.forward(x, true, seed);
  const MatrixRM dx_cpu = cpu.backward(g);

  cuda::CublasHandle cublas;
  cuda::LoraCudaLayer gpu(in, out, r, 2.0 * r, dropout);
  std::unique_ptr<cuda::Nf4DeviceWeight> nf4;
  cuda::DeviceBuffer<bf16> wdev;
  if (dense_bits) {
    wdev = upload_bf16(*dense_bits);
    gpu.set_base_dense(wdev.data());
  } else {
    nf4 = std::make_unique<cuda::Nf4DeviceWeight>(*q);
    gpu.set_base_nf4(nf4->view());
  }
  gpu.set_adapter(std::span<const float>(cpu.lora_A().data(), static_cast<std::size_t>(cpu.lora_A().size())),
                  std::span<const float>(cpu.lora_B().data(), static_cast<std::size_t>(cpu.lora_B().size())));
  // xcat = [x | r spare columns], dycat = [dy | r spare columns]
  std::vector<std::uint16_t> xcat(static_cast<std::size_t>(M) * gpu.ldx(), 0), dycat(static_cast<std::size_t>(M) * gpu.ldy(), 0);
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < in; ++j) xcat[static_cast<std::size_t>(i) * gpu.ldx() + j] = xb[static_cast<std::size_t>(i) * in + j];
    for (int j = 0; j < out; ++j) dycat[static_cast<std::size_t>(i) * gpu.ldy() + j] = gb[static_cast<std::size_t>(i) * out + j];
  }
  auto dxcat_in = upload_bf16(xcat);
  auto ddy = upload_bf16(dycat);
  cuda::DeviceBuffer<bf16> y(static_cast<std::size_t>(M) * out), dx(static_cast<std::size_t>(M) * in), h(static_cast<std::size_t>(M) * in);
  gpu.forward(cublas.get(), dxcat_in.data(), M, y.data(), true, seed, h.data());
  gpu.backward(cublas.get(), ddy.data(), dxcat_in.data(), M, dx.data(), in, true, seed, h.data());
  KSPAM_CUDA_CHECK(cudaDeviceSynchronize());
  const MatrixRM y_gpu = to_matrix(download_bf16(y.data(), y.size()), M, out);
  const MatrixRM dx_gpu = to_matrix(download_bf16(dx.data(), dx.size()), M, in);
  const MatrixRM dA = to_matrix(gpu.grad_A().download(), r, in), dB = to_matrix(gpu.grad_B().download(), out, r);
  const double ey = rel_err(y_gpu, y_cpu), edx = rel_err(dx_gpu, dx_cpu), eA = rel_err(dA, cpu.grad_A()), eB = rel_err(dB, cpu.grad_B());
  check(ey < 2e-2 && edx < 2e-2 && eA < 2e-2 && eB < 2e-2,
        "LoRA CUDA vs CPU, " + name + ": max rel err y " + std::to_string(ey) + ", dx " + std::to_string(edx) + ", dA " +
            std::to_string(eA) + ", dB " + std::to_string(eB));
}

void test_lora() {
  const int in = 512, out = 384, r = 16;
  const auto wbits = random_bf16(static_cast<std::size_t>(out) * in, 0.05, 50);
  const MatrixRM w = to_matrix(widen(wbits), out, in);
  compare_lora("dense base, no dropout", nn::FrozenDenseWeight(w), &wbits, nullptr, in, out, r, 0.0);
  compare_lora("dense base, dropout 0.1 (same seeded mask)", nn::FrozenDenseWeight(w), &wbits, nullptr, in, out, r, 0.1);
  const quant::Nf4Tensor q = quant::quantize_nf4(widen(wbits), {out, in});
  compare_lora("NF4 base (QLoRA), dropout 0.05", nn::Nf4Weight(q), nullptr, &q, in, out, r, 0.05);
}
}  // namespace

int main() {
  if (!cuda::device_available()) {
    std::printf("skipped: no NVIDIA GPU\n");
    return 77;
  }
  try {
    test_quantize_bit_identical();
    test_dequantize_bit_identical();
    test_gemv_and_gemm();
    test_lora();
  } catch (const std::exception& e) {
    std::printf("FAIL  exception: %s\n", e.what());
    return 1;
  }
  std::printf("%d failure(s)\n", failures);
  return failures == 0 ? 0 : 1;
}

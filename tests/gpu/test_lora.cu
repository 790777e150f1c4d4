// The CUDA LoRA layer against the CPU reference (nn/lora_linear.hpp, itself checked against PyTorch + PEFT) on
// random inputs: forward, dx and the adapter gradients within bf16 tolerance, on a dense and an NF4 base, with
// and without dropout (same seeded mask), for r = 8, 16 and 32, row counts that are not a multiple of 16, and a
// shape outside the LoRA kernels' rules (the cuBLAS path). Exits 77 (ctest: skipped) without an NVIDIA GPU.
// GCC 12 misreports std::string concatenation at -O3 (bug 105329); the CXX flags say -Wno-restrict, the
// host flags nvcc passes do not.
#pragma GCC diagnostic ignored "-Wrestrict"
#include "gpu_test_support.hpp"  // first: it sets EIGEN_NO_CUDA before Eigen is seen

#include <memory>
#include <span>

#include "kspam/core/rng.hpp"
#include "kspam/cuda/lora.cuh"
#include "kspam/cuda/nf4_weight.cuh"
#include "kspam/quant/nf4_tensor.hpp"

using namespace kspam;
using namespace kspam::gpu_test;

namespace {

template <typename Base>
void compare_lora(const std::string& name, Base base_cpu, const std::vector<std::uint16_t>* dense_bits, const quant::Nf4Tensor* q,
                  int in, int out, int r, double dropout, bool streamed = false, int M = 96, bool dx_spare = false) {
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
  cuda::DeviceBuffer<bf16> wdev, workspace;
  if (dense_bits) {
    wdev = upload_bf16(*dense_bits);
    gpu.set_base_dense(wdev.data());
  } else {
    nf4 = std::make_unique<cuda::Nf4DeviceWeight>(*q);
    if (streamed) {
      workspace = cuda::DeviceBuffer<bf16>(gpu.workspace_elements());
      KSPAM_CUDA_CHECK(cudaMemset(workspace.data(), 0xff, workspace.bytes()));  // NaN where the layer writes nothing
      gpu.set_base_nf4_streamed(nf4->view(), workspace.data());
    } else {
      gpu.set_base_nf4(nf4->view());
    }
  }
  gpu.set_adapter(std::span<const float>(cpu.lora_A().data(), static_cast<std::size_t>(cpu.lora_A().size())),
                  std::span<const float>(cpu.lora_B().data(), static_cast<std::size_t>(cpu.lora_B().size())));
  // xcat = [x | r spare columns | padding], dycat = [dy | r spare columns | padding]; everything but x and dy starts
  // as NaN (bf16 0xffff), so a read of anything the layer did not write first would show in the results.
  constexpr std::uint16_t kNaN = 0xffff;
  std::vector<std::uint16_t> xcat(static_cast<std::size_t>(M) * gpu.ldx(), kNaN), dycat(static_cast<std::size_t>(M) * gpu.ldy(), kNaN);
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < in; ++j) xcat[static_cast<std::size_t>(i) * gpu.ldx() + j] = xb[static_cast<std::size_t>(i) * in + j];
    for (int j = 0; j < out; ++j) dycat[static_cast<std::size_t>(i) * gpu.ldy() + j] = gb[static_cast<std::size_t>(i) * out + j];
  }
  auto dxcat_in = upload_bf16(xcat);
  auto ddy = upload_bf16(dycat);
  // dx laid out like xcat when dx_spare (then with dropout du comes out of the dx GEMM into its spare columns).
  const int lddx = dx_spare ? gpu.ldx() : in;
  cuda::DeviceBuffer<bf16> y(static_cast<std::size_t>(M) * out), dx(static_cast<std::size_t>(M) * lddx);
  KSPAM_CUDA_CHECK(cudaMemset(dx.data(), 0xff, dx.bytes()));
  gpu.forward(cublas.get(), dxcat_in.data(), M, y.data(), true, seed);
  gpu.backward(cublas.get(), ddy.data(), dxcat_in.data(), M, dx.data(), lddx, true, seed);
  KSPAM_CUDA_CHECK(cudaDeviceSynchronize());
  const MatrixRM y_gpu = to_matrix(download_bf16(y.data(), y.size()), M, out);
  const MatrixRM dx_gpu = to_matrix(download_bf16(dx.data(), dx.size()), M, lddx).leftCols(in);
  const MatrixRM dA = to_matrix(gpu.grad_A().download(), r, in), dB = to_matrix(gpu.grad_B().download(), out, r);
  const double ey = rel_err(y_gpu, y_cpu), edx = rel_err(dx_gpu, dx_cpu), eA = rel_err(dA, cpu.grad_A()), eB = rel_err(dB, cpu.grad_B());
  check(ey < 2e-2 && edx < 2e-2 && eA < 2e-2 && eB < 2e-2,
        "LoRA CUDA vs CPU, " + name + (gpu.dropout_kernels() && dropout > 0 ? " (dropout kernels)" : " (cuBLAS only)") +
            (dx_spare ? ", dx with r spare columns" : "") + ", M = " + std::to_string(M) +
            ": max rel err y " + std::to_string(ey) + ", dx " + std::to_string(edx) + ", dA " + std::to_string(eA) + ", dB " + std::to_string(eB));
  // The gradients are sums in a fixed order: a second step from zero gives the same bits.
  const auto dA1 = gpu.grad_A().download(), dB1 = gpu.grad_B().download();
  gpu.zero_grad();
  gpu.forward(cublas.get(), dxcat_in.data(), M, y.data(), true, seed);
  gpu.backward(cublas.get(), ddy.data(), dxcat_in.data(), M, dx.data(), lddx, true, seed);
  check(gpu.grad_A().download() == dA1 && gpu.grad_B().download() == dB1, "LoRA CUDA gradients repeat bit for bit, " + name);
}

void test_lora() {
  const int in = 512, out = 384, r = 16;
  const auto wbits = random_bf16(static_cast<std::size_t>(out) * in, 0.05, 50);
  const MatrixRM w = to_matrix(widen(wbits), out, in);
  compare_lora("dense base, no dropout", nn::FrozenDenseWeight(w), &wbits, nullptr, in, out, r, 0.0);
  compare_lora("dense base, dropout 0.1 (same seeded mask)", nn::FrozenDenseWeight(w), &wbits, nullptr, in, out, r, 0.1);
  // Rows that are not a multiple of 16; at M = 83 one block per 64 columns of dA, at M = 1000 eight, whose partial
  // sums the last block to finish adds (kernels::lora_row_reduce).
  compare_lora("dense base, dropout 0.1", nn::FrozenDenseWeight(w), &wbits, nullptr, in, out, r, 0.1, false, 83);
  compare_lora("dense base, dropout 0.1", nn::FrozenDenseWeight(w), &wbits, nullptr, in, out, r, 0.1, false, 1000);
  compare_lora("dense base, dropout 0.1", nn::FrozenDenseWeight(w), &wbits, nullptr, in, out, r, 0.1, false, 1000, true);
  compare_lora("dense base, no dropout", nn::FrozenDenseWeight(w), &wbits, nullptr, in, out, r, 0.0, false, 200, true);
  compare_lora("dense base, no dropout", nn::FrozenDenseWeight(w), &wbits, nullptr, in, out, r, 0.0, false, 1000);
  for (const int rank : {8, 32}) {
    compare_lora("dense base, r = " + std::to_string(rank) + ", dropout 0.1", nn::FrozenDenseWeight(w), &wbits, nullptr, in, out, rank, 0.1, false, 200);
  }
  {
    // A width that is not a multiple of 128 takes the cuBLAS path.
    const int in2 = 264, out2 = 200;
    const auto wbits2 = random_bf16(static_cast<std::size_t>(out2) * in2, 0.05, 51);
    compare_lora("dense base 264 -> 200, dropout 0.1", nn::FrozenDenseWeight(to_matrix(widen(wbits2), out2, in2)), &wbits2,
                 nullptr, in2, out2, r, 0.1);
  }
  {
    // A wide input: fewer row ranges per 64 columns, so each warp of lora_row_reduce takes several 16-row steps.
    const int in3 = 4224, out3 = 128;
    const auto wbits3 = random_bf16(static_cast<std::size_t>(out3) * in3, 0.05, 52);
    compare_lora("dense base 4224 -> 128, dropout 0.1", nn::FrozenDenseWeight(to_matrix(widen(wbits3), out3, in3)), &wbits3, nullptr, in3, out3, r, 0.1,
                 false, 1000);
  }
  const quant::Nf4Tensor q = quant::quantize_nf4(widen(wbits), {out, in});
  compare_lora("NF4 base (QLoRA), dropout 0.05", nn::Nf4Weight(q), nullptr, &q, in, out, r, 0.05);
  compare_lora("NF4 base dequantized per call into a workspace, dropout 0.05", nn::Nf4Weight(q), nullptr, &q, in, out, r, 0.05, true);
  compare_lora("NF4 base dequantized per call into a workspace, dropout 0.05", nn::Nf4Weight(q), nullptr, &q, in, out, r, 0.05, true, 96, true);
  {
    // A dx row stride shorter than a row, or not of 16-byte rows, is refused by name before anything runs.
    cuda::CublasHandle cublas;
    cuda::LoraCudaLayer gpu(in, out, r, 2.0 * r, 0.05);
    cuda::DeviceBuffer<bf16> w(static_cast<std::size_t>(out) * in), xcat(static_cast<std::size_t>(8) * gpu.ldx()),
        dycat(static_cast<std::size_t>(8) * gpu.ldy()), dx(static_cast<std::size_t>(8) * gpu.ldx());
    w.zero();
    gpu.set_base_dense(w.data());
    for (const int lddx : {in - 8, in + 4}) {
      bool refused = false;
      try {
        gpu.backward(cublas.get(), dycat.data(), xcat.data(), 8, dx.data(), lddx, true, 1);
      } catch (const Error& e) {
        refused = std::string(e.what()).find("row stride") != std::string::npos;
      }
      check(refused, "LoRA CUDA backward refuses dx row stride " + std::to_string(lddx) + " (in = " + std::to_string(in) + ") with a clear error");
    }
  }
}
}  // namespace

int main() { return run_gpu_tests({test_lora}); }

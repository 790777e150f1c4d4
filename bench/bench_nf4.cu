// NF4 and LoRA kernels against their anchors, all measured in this run on this GPU:
//   * copy ceiling: cudaMemcpy device-to-device of 512 MiB, (read + written bytes) / time;
//   * fused NF4 GEMV (batch 1, 4, 8) vs cuBLAS bf16 GEMV on the same (dequantized) weight: GB/s of the bytes
//     each must move, % of the copy ceiling, and the speed-up;
//   * NF4 GEMM, fused kernel and dequantize+cuBLAS, vs cuBLAS bf16 GEMM on the dequantized weight: TFLOP/s;
//   * LoRA r=16 forward+backward (fused layout, and the plain form with one launch per product) vs the base matmuls alone.
// Shapes: the Qwen3-VL-2B language-model projections, in -> out: 2048->2048 (q, o), 2048->1024 (k, v),
// 2048->6144 (gate, up), 6144->2048 (down). Every operand set is replicated so one sweep exceeds the 50 MB L2:
// each timed call reads its weight from HBM, as in a real forward pass over 28 layers.
// Usage: bench_nf4 [--quick] [--gemv]   (--gemv: the GEMV table only)
#pragma GCC diagnostic ignored "-Wrestrict"  // GCC 12 bug 105329 in std::string (the CXX flags disable it too)
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kspam/core/rng.hpp"
#include "kspam/cuda/device_memory.cuh"
#include "kspam/cuda/lora.cuh"
#include "kspam/cuda/nf4_gemm.cuh"
#include "kspam/cuda/nf4_gemv.cuh"
#include "kspam/cuda/nf4_quantize.cuh"
#include "kspam/quant/nf4_tensor.hpp"
#include "kspam/tensor/half.hpp"

using namespace kspam;
using bf16 = __nv_bfloat16;

namespace {

struct Shape {
  const char* name;
  int in, out;
};
constexpr Shape kShapes[] = {{"q/o 2048->2048", 2048, 2048}, {"k/v 2048->1024", 2048, 1024},
                             {"gate/up 2048->6144", 2048, 6144}, {"down 6144->2048", 6144, 2048}};
constexpr std::size_t kL2Bytes = 50u << 20;

// Mean milliseconds per call of fn(i) over `iters` calls after `warmup` calls (i cycles the replicas).
double time_ms(const std::function<void(int)>& fn, int iters, int warmup = 3) {
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
double time_graph_ms(const std::function<void(int, cudaStream_t)>& fn, int n, int reps = 10) {
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

std::vector<std::uint16_t> random_bf16(std::size_t n, double scale, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<std::uint16_t> v(n);
  for (auto& x : v) x = tensor::f32_to_bf16(static_cast<float>(rng.normal() * scale));
  return v;
}

cuda::DeviceBuffer<bf16> upload(const std::vector<std::uint16_t>& bits) {
  cuda::DeviceBuffer<bf16> d(bits.size());
  KSPAM_CUDA_CHECK(cudaMemcpy(d.data(), bits.data(), bits.size() * 2, cudaMemcpyHostToDevice));
  return d;
}

double copy_ceiling_gbs() {
  const std::size_t bytes = 512u << 20;
  cuda::DeviceBuffer<std::uint8_t> src(bytes), dst(bytes);
  src.zero();
  const double ms = time_ms([&](int) { KSPAM_CUDA_CHECK(cudaMemcpyAsync(dst.data(), src.data(), bytes, cudaMemcpyDeviceToDevice)); }, 20);
  return 2.0 * bytes / (ms * 1e-3) / 1e9;
}

// One NF4 weight and its bf16 dequantization, replicated enough to exceed L2.
struct Replicas {
  std::vector<std::unique_ptr<cuda::Nf4DeviceWeight>> nf4;
  std::vector<cuda::DeviceBuffer<bf16>> dense;  // bf16 [out, in], the dequantized NF4 values
  std::size_t nf4_bytes = 0;
};

Replicas make_replicas(const Shape& s, int copies_nf4, int copies_dense) {
  const auto bits = random_bf16(static_cast<std::size_t>(s.in) * s.out, 0.02, 7);
  std::vector<float> f(bits.size());
  for (std::size_t i = 0; i < f.size(); ++i) f[i] = tensor::bf16_to_f32(bits[i]);
  const quant::Nf4Tensor t = quant::quantize_nf4(f, {s.out, s.in});
  Replicas r;
  for (int i = 0; i < copies_nf4; ++i) r.nf4.push_back(std::make_unique<cuda::Nf4DeviceWeight>(t));
  r.nf4_bytes = r.nf4[0]->bytes();
  for (int i = 0; i < copies_dense; ++i) {
    r.dense.emplace_back(static_cast<std::size_t>(s.in) * s.out);
    cuda::nf4_dequantize(r.nf4[0]->view(), r.dense.back().data(), s.in);
  }
  KSPAM_CUDA_CHECK(cudaDeviceSynchronize());
  return r;
}

int copies_for(std::size_t bytes) { return static_cast<int>(std::max<std::size_t>(2, (3 * kL2Bytes) / bytes + 1)); }

}  // namespace

int main(int argc, char** argv) {
  bool gemv_only = false;
  for (int a = 1; a < argc; ++a) {
    gemv_only = gemv_only || std::strcmp(argv[a], "--gemv") == 0;
  }
  if (!cuda::device_available()) {
    std::printf("skipped: no NVIDIA GPU\n");
    return 77;
  }
  bool quick = false;
  for (int a = 1; a < argc; ++a) quick = quick || std::strcmp(argv[a], "--quick") == 0;
  cudaDeviceProp prop{};
  KSPAM_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("device: %s, %d SMs, L2 %d MiB\n", prop.name, prop.multiProcessorCount, prop.l2CacheSize >> 20);
  const double ceiling = copy_ceiling_gbs();
  std::printf("copy ceiling (D2D memcpy 512 MiB, read+write): %.0f GB/s\n\n", ceiling);
  cuda::CublasHandle cublas;
  const int iters = quick ? 20 : 100;

  std::printf("== fused NF4 GEMV (decode) vs cuBLAS bf16 GEMV on the dequantized weight ==\n");
  std::printf("(new = the default dispatch (GemvKernel::automatic); tc = tensor-core kernel, each warp on consecutive K spans;\n"
              " tc-i = the same with interleaved K spans; old = shared-memory codebook kernel, the previous default;\n"
              " 'launch' = back-to-back launches on a stream, 'graph' = %d calls captured in one CUDA graph, per call, us;\n"
              " GB/s, %%ceil and speed-ups from the graph times)\n", iters);
  std::printf("%-20s %5s %9s %9s %9s %9s %9s %9s %9s %9s %8s %8s %7s %8s %8s\n", "shape", "batch", "new launch", "new graph", "tc graph", "tc-i graph", "old launch",
              "old graph", "bf16 lnch", "bf16 grph", "new GB/s", "new %ceil", "bf16%c", "new/bf16", "new/old");
  for (const Shape& s : kShapes) {
    const std::size_t dense_bytes = static_cast<std::size_t>(s.in) * s.out * 2;
    Replicas rep = make_replicas(s, copies_for(static_cast<std::size_t>(s.in) * s.out / 2), copies_for(dense_bytes));
    for (int batch : {1, 2, 4, 8}) {
      auto x = upload(random_bf16(static_cast<std::size_t>(batch) * s.in, 1.0, 3));
      cuda::DeviceBuffer<bf16> y(static_cast<std::size_t>(batch) * s.out);
      const int nn = static_cast<int>(rep.nf4.size()), nd = static_cast<int>(rep.dense.size());
      auto ours = [&](cuda::GemvKernel k) {
        return [&, k](int i, cudaStream_t st) { cuda::nf4_gemv(rep.nf4[static_cast<std::size_t>(i % nn)]->view(), x.data(), y.data(), batch, st, k); };
      };
      auto bf16_fn = [&](int i, cudaStream_t st) {
        KSPAM_CUBLAS_CHECK(cublasSetStream(cublas.get(), st));
        cuda::gemm_bf16_rm(cublas.get(), false, true, batch, s.out, s.in, 1.0f, x.data(), s.in, rep.dense[static_cast<std::size_t>(i % nd)].data(), s.in,
                           0.0f, y.data(), CUDA_R_16BF, s.out);
      };
      auto launch = [&](const std::function<void(int, cudaStream_t)>& f) { return time_ms([&](int i) { f(i, nullptr); }, iters); };
      const std::function<void(int, cudaStream_t)> fn_new = ours(cuda::GemvKernel::automatic);
      const std::function<void(int, cudaStream_t)> fn_tc = ours(cuda::GemvKernel::tensor_core);
      const std::function<void(int, cudaStream_t)> fn_tci = ours(cuda::GemvKernel::tensor_core_interleaved);
      const std::function<void(int, cudaStream_t)> fn_old = ours(cuda::GemvKernel::shared_lut);
      const double l_new = launch(fn_new), g_new = time_graph_ms(fn_new, iters);
      const double g_tc = time_graph_ms(fn_tc, iters), g_tci = time_graph_ms(fn_tci, iters);
      const double l_old = launch(fn_old), g_old = time_graph_ms(fn_old, iters);
      const double l_bf = launch(bf16_fn), g_bf = time_graph_ms(bf16_fn, iters);
      KSPAM_CUBLAS_CHECK(cublasSetStream(cublas.get(), nullptr));
      const double io = static_cast<double>(batch) * (s.in + s.out) * 2;
      const double gbs_new = (rep.nf4_bytes + io) / (g_new * 1e-3) / 1e9;
      const double gbs_bf = (dense_bytes + io) / (g_bf * 1e-3) / 1e9;
      std::printf("%-20s %5d %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f %8.0f %7.0f%% %6.0f%% %7.2fx %7.2fx\n", s.name, batch, l_new * 1e3, g_new * 1e3,
                  g_tc * 1e3, g_tci * 1e3, l_old * 1e3, g_old * 1e3, l_bf * 1e3, g_bf * 1e3, gbs_new, 100 * gbs_new / ceiling, 100 * gbs_bf / ceiling, g_bf / g_new, g_old / g_new);
    }
  }

  if (gemv_only) return 0;
  std::printf("\n== NF4 GEMM (prefill/training) vs cuBLAS bf16 GEMM on the dequantized weight ==\n");
  std::printf("%-20s %5s %12s %12s %14s %10s %10s\n", "shape", "M", "cuBLAS TF/s", "fused TF/s", "deq+cuBLAS TF/s", "fused/cuB", "deq/cuB");
  for (const Shape& s : kShapes) {
    const std::size_t dense_bytes = static_cast<std::size_t>(s.in) * s.out * 2;
    Replicas rep = make_replicas(s, copies_for(static_cast<std::size_t>(s.in) * s.out / 2), copies_for(dense_bytes));
    for (int M : {512, 2544, 8192}) {
      auto x = upload(random_bf16(static_cast<std::size_t>(M) * s.in, 1.0, 4));
      cuda::DeviceBuffer<bf16> y(static_cast<std::size_t>(M) * s.out), scratch(static_cast<std::size_t>(s.in) * s.out);
      const int nn = static_cast<int>(rep.nf4.size()), nd = static_cast<int>(rep.dense.size());
      const int it = std::max(5, iters / 5);
      const double t_cub = time_ms([&](int i) {
        cuda::gemm_bf16_rm(cublas.get(), false, true, M, s.out, s.in, 1.0f, x.data(), s.in, rep.dense[static_cast<std::size_t>(i % nd)].data(), s.in, 0.0f,
                           y.data(), CUDA_R_16BF, s.out);
      }, it);
      const double t_fused = time_ms([&](int i) { cuda::nf4_gemm_fused(rep.nf4[static_cast<std::size_t>(i % nn)]->view(), x.data(), M, y.data()); }, it);
      const double t_deq = time_ms([&](int i) {
        cuda::nf4_gemm_dequant_cublas(cublas.get(), rep.nf4[static_cast<std::size_t>(i % nn)]->view(), x.data(), M, y.data(), scratch.data());
      }, it);
      const double flop = 2.0 * M * s.in * s.out;
      auto tf = [&](double ms) { return flop / (ms * 1e-3) / 1e12; };
      std::printf("%-20s %5d %12.0f %12.0f %14.0f %9.2fx %9.2fx\n", s.name, M, tf(t_cub), tf(t_fused), tf(t_deq), t_cub / t_fused, t_cub / t_deq);
    }
  }

  std::printf("\n== LoRA r=16 forward+backward overhead over the base matmuls (bf16 dense base, M tokens) ==\n");
  std::printf("%-20s %5s %10s %12s %9s %14s %9s %12s %9s\n", "shape", "M", "base us", "fused us", "overhead", "plain us", "overhead",
              "fused+p us", "overhead");
  const int r = 16;
  for (const Shape& s : kShapes) {
    for (int M : {2544, 8192}) {
      const int ld = s.in + r, ldy = s.out + r;
      auto w = upload(random_bf16(static_cast<std::size_t>(s.out) * s.in, 0.02, 9));
      auto xcat = upload(random_bf16(static_cast<std::size_t>(M) * ld, 1.0, 10));
      auto dycat = upload(random_bf16(static_cast<std::size_t>(M) * ldy, 1.0, 11));
      cuda::DeviceBuffer<bf16> y(static_cast<std::size_t>(M) * s.out), dx(static_cast<std::size_t>(M) * s.in), h(static_cast<std::size_t>(M) * s.in);
      const int it = std::max(5, iters / 5);
      // Base: y = x W^T and dx = dy W (what a frozen linear layer costs in a training step).
      const double t_base = time_ms([&](int) {
        cuda::gemm_bf16_rm(cublas.get(), false, true, M, s.out, s.in, 1.0f, xcat.data(), ld, w.data(), s.in, 0.0f, y.data(), CUDA_R_16BF, s.out);
        cuda::gemm_bf16_rm(cublas.get(), false, false, M, s.in, s.out, 1.0f, dycat.data(), ldy, w.data(), s.in, 0.0f, dx.data(), CUDA_R_16BF, s.in);
      }, it);
      Rng rng(12);
      std::vector<float> A(static_cast<std::size_t>(r) * s.in), B(static_cast<std::size_t>(s.out) * r);
      for (auto& v : A) v = static_cast<float>(rng.uniform(-0.02, 0.02));
      for (auto& v : B) v = static_cast<float>(rng.normal() * 0.01);
      cuda::LoraCudaLayer layer(s.in, s.out, r, 32.0, 0.0);
      layer.set_base_dense(w.data());
      layer.set_adapter(A, B);
      const double t_fused = time_ms([&](int) {
        layer.forward(cublas.get(), xcat.data(), M, y.data(), true, 1);
        layer.backward(cublas.get(), dycat.data(), xcat.data(), M, dx.data(), s.in, true, 1);
      }, it);
      cuda::LoraCudaLayer layer_p(s.in, s.out, r, 32.0, 0.05);
      layer_p.set_base_dense(w.data());
      layer_p.set_adapter(A, B);
      const double t_fused_p = time_ms([&](int i) {
        layer_p.forward(cublas.get(), xcat.data(), M, y.data(), true, static_cast<std::uint64_t>(i), h.data());
        layer_p.backward(cublas.get(), dycat.data(), xcat.data(), M, dx.data(), s.in, true, static_cast<std::uint64_t>(i), h.data());
      }, it);
      // The plain form: one launch per product (PEFT's structure on top of a base linear), 8 GEMMs.
      cuda::DeviceBuffer<bf16> a16(A.size()), b16(B.size()), u(static_cast<std::size_t>(M) * r), du(static_cast<std::size_t>(M) * r);
      {
        std::vector<std::uint16_t> ab(A.size()), bb(B.size());
        for (std::size_t i = 0; i < A.size(); ++i) ab[i] = tensor::f32_to_bf16(A[i]);
        for (std::size_t i = 0; i < B.size(); ++i) bb[i] = tensor::f32_to_bf16(B[i]);
        KSPAM_CUDA_CHECK(cudaMemcpy(a16.data(), ab.data(), ab.size() * 2, cudaMemcpyHostToDevice));
        KSPAM_CUDA_CHECK(cudaMemcpy(b16.data(), bb.data(), bb.size() * 2, cudaMemcpyHostToDevice));
      }
      cuda::DeviceBuffer<float> dA(A.size()), dB(B.size());
      const double t_plain = time_ms([&](int) {
        auto* hd = cublas.get();
        cuda::gemm_bf16_rm(hd, false, true, M, s.out, s.in, 1.0f, xcat.data(), ld, w.data(), s.in, 0.0f, y.data(), CUDA_R_16BF, s.out);
        cuda::gemm_bf16_rm(hd, false, true, M, r, s.in, 1.0f, xcat.data(), ld, a16.data(), s.in, 0.0f, u.data(), CUDA_R_16BF, r);
        cuda::gemm_bf16_rm(hd, false, true, M, s.out, r, 2.0f, u.data(), r, b16.data(), r, 1.0f, y.data(), CUDA_R_16BF, s.out);
        cuda::gemm_bf16_rm(hd, false, false, M, s.in, s.out, 1.0f, dycat.data(), ldy, w.data(), s.in, 0.0f, dx.data(), CUDA_R_16BF, s.in);
        cuda::gemm_bf16_rm(hd, false, false, M, r, s.out, 2.0f, dycat.data(), ldy, b16.data(), r, 0.0f, du.data(), CUDA_R_16BF, r);
        cuda::gemm_bf16_rm(hd, false, false, M, s.in, r, 1.0f, du.data(), r, a16.data(), s.in, 1.0f, dx.data(), CUDA_R_16BF, s.in);
        cuda::gemm_bf16_rm(hd, true, false, r, s.in, M, 1.0f, du.data(), r, xcat.data(), ld, 1.0f, dA.data(), CUDA_R_32F, s.in);
        cuda::gemm_bf16_rm(hd, true, false, s.out, r, M, 2.0f, dycat.data(), ldy, u.data(), r, 1.0f, dB.data(), CUDA_R_32F, r);
      }, it);
      std::printf("%-20s %5d %10.1f %12.1f %8.1f%% %14.1f %8.1f%% %12.1f %8.1f%%\n", s.name, M, t_base * 1e3, t_fused * 1e3,
                  100 * (t_fused / t_base - 1), t_plain * 1e3, 100 * (t_plain / t_base - 1), t_fused_p * 1e3, 100 * (t_fused_p / t_base - 1));
    }
  }
  std::printf("\nfused+p = fused layout with dropout 0.05 (mask kernel on the input, masked low-rank add on dx).\n");
  return 0;
}

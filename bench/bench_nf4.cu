// NF4 kernels against their anchors, all measured in this run on this GPU:
//   * copy ceiling: cudaMemcpy device-to-device of 512 MiB, (read + written bytes) / time;
//   * gemv: fused NF4 GEMV (batch 1, 2, 4, 8) vs cuBLAS bf16 GEMV on the same (dequantized) weight: GB/s of the
//     bytes each must move, % of the copy ceiling, and the speed-up;
//   * chain: a decode step's 196 GEMVs (28 layers x 7 projections; PDL, grouped launches) vs the same chain in
//     cuBLAS bf16;
//   * gemm: NF4 GEMM, fused kernel and dequantize+cuBLAS, vs cuBLAS bf16 GEMM on the dequantized weight, one
//     shape at a time (TFLOP/s) and as a 28-layer prefill chain (dequantization in line, pipelined on a side
//     stream, or nf4_gemm's choice of path);
// Shapes: the Qwen3-VL-2B language-model projections, in -> out: 2048->2048 (q, o), 2048->1024 (k, v),
// 2048->6144 (gate, up), 6144->2048 (down). Every operand set is replicated so one sweep exceeds the 50 MB L2:
// each timed call reads its weight from HBM, as in a real forward pass over 28 layers.
// Usage: bench_nf4 [--quick] [--gemv] [--chain] [--gemm]   (sections to run; default all)
#pragma GCC diagnostic ignored "-Wrestrict"  // GCC 12 bug 105329 in std::string (the CXX flags disable it too)
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "cuda_bench_support.cuh"
#include "kspam/cuda/device_memory.cuh"
#include "kspam/cuda/launch.cuh"
#include "kspam/cuda/nf4_dequant_pipeline.cuh"
#include "kspam/cuda/nf4_gemm.cuh"
#include "kspam/cuda/nf4_gemv.cuh"
#include "kspam/cuda/nf4_quantize.cuh"
#include "kspam/quant/nf4_tensor.hpp"
#include "kspam/tensor/half.hpp"

using namespace kspam;
using namespace kspam::bench;

namespace {

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

// The least a dependent kernel costs: read one value the previous kernel wrote, write one (launch, wait, drain).
__global__ void dependent_empty_kernel(float* v) {
  cuda::pdl_launch_dependents();
  cuda::pdl_wait();
  if (threadIdx.x == 0 && blockIdx.x == 0) v[0] += 1.0f;
}

// The language model's 196 projection weights (28 layers x q, k, v, o, gate, up, down), each a distinct NF4
// copy and its bf16 dequantization: 28 x 25 MB and 28 x 100 MB, far past the L2, as in a real model.
struct DecoderWeights {
  static constexpr int kLayers = 28;
  static constexpr const Shape* kProjection[7] = {&kShapes[0], &kShapes[1], &kShapes[1], &kShapes[0], &kShapes[2], &kShapes[2], &kShapes[3]};
  std::vector<std::unique_ptr<cuda::Nf4DeviceWeight>> nf4;  // [layer * 7 + projection]
  std::vector<cuda::DeviceBuffer<bf16>> dense;
  double nf4_bytes = 0, dense_bytes = 0, io_per_batch = 0;  // io: bf16 x and y of one batch row, all projections
};

const DecoderWeights& decoder_weights() {
  static const DecoderWeights built = [] {
    DecoderWeights d;
    std::vector<quant::Nf4Tensor> host;  // one random weight per distinct shape
    for (const Shape& sp : kShapes) {
      const auto bits = random_bf16(static_cast<std::size_t>(sp.in) * sp.out, 0.02, 70 + static_cast<std::uint64_t>(sp.out));
      std::vector<float> f(bits.size());
      for (std::size_t i = 0; i < f.size(); ++i) f[i] = tensor::bf16_to_f32(bits[i]);
      host.push_back(quant::quantize_nf4(f, {sp.out, sp.in}));
    }
    for (int l = 0; l < DecoderWeights::kLayers; ++l)
      for (const Shape* sp : DecoderWeights::kProjection) {
        d.nf4.push_back(std::make_unique<cuda::Nf4DeviceWeight>(host[static_cast<std::size_t>(sp - kShapes)]));
        d.dense.emplace_back(static_cast<std::size_t>(sp->in) * sp->out);
        cuda::nf4_dequantize(d.nf4.back()->view(), d.dense.back().data(), sp->in);
        d.nf4_bytes += static_cast<double>(d.nf4.back()->bytes());
        d.dense_bytes += 2.0 * sp->in * sp->out;
        d.io_per_batch += 2.0 * (sp->in + sp->out);
      }
    KSPAM_CUDA_CHECK(cudaDeviceSynchronize());
    return d;
  }();
  return built;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  std::vector<std::string> sections;  // empty: all
  for (int a = 1; a < argc; ++a) {
    const std::string arg = argv[a];
    if (arg == "--quick") quick = true;
    else if (arg == "--gemv" || arg == "--chain" || arg == "--gemm") sections.push_back(arg.substr(2));
    else {
      std::printf("usage: bench_nf4 [--quick] [--gemv] [--chain] [--gemm]   (sections to run; default all)\n");
      return 2;
    }
  }
  auto want = [&](const char* name) { return sections.empty() || std::find(sections.begin(), sections.end(), name) != sections.end(); };
  if (!cuda::device_available()) {
    std::printf("skipped: no NVIDIA GPU\n");
    return 77;
  }
  cudaDeviceProp prop{};
  KSPAM_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("device: %s, %d SMs, L2 %d MiB\n", prop.name, prop.multiProcessorCount, prop.l2CacheSize >> 20);
  const double ceiling = copy_ceiling_gbs();
  std::printf("copy ceiling (D2D memcpy 512 MiB, read+write): %.0f GB/s\n\n", ceiling);
  cuda::CublasHandle cublas;
  const int iters = quick ? 20 : 100;

  if (want("gemv")) {
  std::printf("== fused NF4 GEMV (decode) vs cuBLAS bf16 GEMV on the dequantized weight, one shape at a time ==\n");
  std::printf("(new = the default (tensor-core) kernel with programmatic dependent launch (PDL); no-pdl = the same launched\n"
              " plainly; lut = the shared-LUT kernel (with PDL);\n"
              " 'launch' = back-to-back launches on a stream, 'graph' = %d calls captured in one CUDA graph, per call, us;\n"
              " GB/s, %%ceil and speed-ups from the graph times)\n", iters);
  std::printf("%-20s %5s %9s %9s %9s %9s %9s %9s %8s %8s %7s %8s %8s\n", "shape", "batch", "new launch", "new graph", "no-pdl grph",
              "lut graph", "bf16 lnch", "bf16 grph", "new GB/s", "new %ceil", "bf16%c", "new/bf16", "pdl gain");
  for (const Shape& s : kShapes) {
    const std::size_t dense_bytes = static_cast<std::size_t>(s.in) * s.out * 2;
    Replicas rep = make_replicas(s, copies_for(static_cast<std::size_t>(s.in) * s.out / 2), copies_for(dense_bytes));
    for (int batch : {1, 2, 4, 8}) {
      auto x = upload_bf16(random_bf16(static_cast<std::size_t>(batch) * s.in, 1.0, 3));
      cuda::DeviceBuffer<bf16> y(static_cast<std::size_t>(batch) * s.out);
      const int nn = static_cast<int>(rep.nf4.size()), nd = static_cast<int>(rep.dense.size());
      auto ours = [&](cuda::GemvKernel k, bool pdl) {
        return [&, k, pdl](int i, cudaStream_t st) {
          cuda::nf4_gemv(rep.nf4[static_cast<std::size_t>(i % nn)]->view(), x.data(), y.data(), batch, st, {k, pdl});
        };
      };
      auto bf16_fn = [&](int i, cudaStream_t st) {
        KSPAM_CUBLAS_CHECK(cublasSetStream(cublas.get(), st));
        cuda::gemm_bf16_rm(cublas.get(), false, true, batch, s.out, s.in, 1.0f, x.data(), s.in, rep.dense[static_cast<std::size_t>(i % nd)].data(), s.in,
                           0.0f, y.data(), CUDA_R_16BF, s.out);
      };
      auto launch = [&](const std::function<void(int, cudaStream_t)>& f) { return time_ms([&](int i) { f(i, nullptr); }, iters); };
      const std::function<void(int, cudaStream_t)> fn_new = ours(cuda::GemvKernel::automatic, true);
      const double l_new = launch(fn_new), g_new = time_graph_ms(fn_new, iters);
      const double g_plain = time_graph_ms(ours(cuda::GemvKernel::automatic, false), iters);
      const double g_lut = time_graph_ms(ours(cuda::GemvKernel::shared_lut, true), iters);
      const double l_bf = launch(bf16_fn), g_bf = time_graph_ms(bf16_fn, iters);
      KSPAM_CUBLAS_CHECK(cublasSetStream(cublas.get(), nullptr));
      const double io = static_cast<double>(batch) * (s.in + s.out) * 2;
      const double gbs_new = (rep.nf4_bytes + io) / (g_new * 1e-3) / 1e9;
      const double gbs_bf = (dense_bytes + io) / (g_bf * 1e-3) / 1e9;
      std::printf("%-20s %5d %9.2f %9.2f %9.2f %9.2f %9.2f %9.2f %8.0f %7.0f%% %6.0f%% %7.2fx %7.2fx\n", s.name, batch, l_new * 1e3, g_new * 1e3,
                  g_plain * 1e3, g_lut * 1e3, l_bf * 1e3, g_bf * 1e3, gbs_new, 100 * gbs_new / ceiling, 100 * gbs_bf / ceiling, g_bf / g_new,
                  g_plain / g_new);
    }
  }
  }

  if (want("chain")) {
  // A decode step's weight streaming: 28 layers x (q, k, v, o, gate, up, down), every weight distinct (28 x 25 MB
  // of NF4, 28 x 100 MB of bf16), timed as one CUDA graph per step. Each GEMV reads x only after the previous
  // kernel has finished (PDL wait, or plain stream order), as in a real step where x is the previous output.
  std::printf("\n== decode step: 28 layers x 7 projections, NF4 GEMV chain vs cuBLAS bf16 GEMV chain ==\n");
  std::printf("(grouped = q|k|v and gate|up as one launch each, 4 launches per layer, PDL; 7 = one launch per projection;\n"
              " GB/s counts every weight's bytes once plus x and y; per step = all 28 layers)\n");
  std::printf("%5s %12s %12s %12s %12s %10s %10s %8s %10s %10s\n", "batch", "grouped us", "7 pdl us", "7 plain us", "bf16 us", "grp GB/s", "grp %ceil",
              "bf16%c", "grp/bf16", "grp/7plain");
  const DecoderWeights& dw = decoder_weights();
  const int kLayers = DecoderWeights::kLayers;
  for (int batch : {1, 4, 8}) {
    auto x = upload_bf16(random_bf16(static_cast<std::size_t>(batch) * 6144, 1.0, 5));
    std::vector<cuda::DeviceBuffer<bf16>> ys;
    for (int p = 0; p < 7; ++p) ys.emplace_back(static_cast<std::size_t>(batch) * DecoderWeights::kProjection[p]->out);
    auto separate = [&](bool pdl) {
      return [&, pdl](int, cudaStream_t st) {
        for (int l = 0; l < kLayers; ++l)
          for (int p = 0; p < 7; ++p)
            cuda::nf4_gemv(dw.nf4[static_cast<std::size_t>(l * 7 + p)]->view(), x.data(), ys[static_cast<std::size_t>(p)].data(), batch, st,
                           {cuda::GemvKernel::automatic, pdl});
      };
    };
    // A layer in four launches.
    auto grouped = [&](int, cudaStream_t st) {
      auto v = [&](int l, int p) { return dw.nf4[static_cast<std::size_t>(l * 7 + p)]->view(); };
      auto o = [&](int p) { return ys[static_cast<std::size_t>(p)].data(); };
      for (int l = 0; l < kLayers; ++l) {
        const cuda::Nf4View qkv[3] = {v(l, 0), v(l, 1), v(l, 2)}, gate_up[2] = {v(l, 4), v(l, 5)};
        bf16* const qkv_out[3] = {o(0), o(1), o(2)};
        bf16* const gate_up_out[2] = {o(4), o(5)};
        cuda::nf4_gemv_group(qkv, qkv_out, x.data(), batch, st);
        cuda::nf4_gemv(v(l, 3), x.data(), o(3), batch, st);
        cuda::nf4_gemv_group(gate_up, gate_up_out, x.data(), batch, st);
        cuda::nf4_gemv(v(l, 6), x.data(), o(6), batch, st);
      }
    };
    auto cublas_chain = [&](int, cudaStream_t st) {
      KSPAM_CUBLAS_CHECK(cublasSetStream(cublas.get(), st));
      for (int l = 0; l < kLayers; ++l)
        for (int p = 0; p < 7; ++p) {
          const Shape* sp = DecoderWeights::kProjection[p];
          cuda::gemm_bf16_rm(cublas.get(), false, true, batch, sp->out, sp->in, 1.0f, x.data(), sp->in, dw.dense[static_cast<std::size_t>(l * 7 + p)].data(),
                             sp->in, 0.0f, ys[static_cast<std::size_t>(p)].data(), CUDA_R_16BF, sp->out);
        }
    };
    const double t_grp = time_graph_ms(grouped, 1, 20);
    const double t_pdl = time_graph_ms(separate(true), 1, 20);
    const double t_plain = time_graph_ms(separate(false), 1, 20), t_bf = time_graph_ms(cublas_chain, 1, 20);
    KSPAM_CUBLAS_CHECK(cublasSetStream(cublas.get(), nullptr));
    const double gbs_grp = (dw.nf4_bytes + dw.io_per_batch * batch) / (t_grp * 1e-3) / 1e9;
    const double gbs_bf = (dw.dense_bytes + dw.io_per_batch * batch) / (t_bf * 1e-3) / 1e9;
    std::printf("%5d %12.1f %12.1f %12.1f %12.1f %10.0f %9.0f%% %7.0f%% %9.2fx %9.2fx\n", batch, t_grp * 1e3, t_pdl * 1e3, t_plain * 1e3, t_bf * 1e3,
                gbs_grp, 100 * gbs_grp / ceiling, 100 * gbs_bf / ceiling, t_bf / t_grp, t_plain / t_grp);
  }
  std::printf("(NF4 bytes per step %.1f MB, bf16 %.1f MB)\n", dw.nf4_bytes / 1e6, dw.dense_bytes / 1e6);
  {
    cuda::DeviceBuffer<float> v(1);
    v.zero();
    auto empty = [&](bool pdl, unsigned blocks) {
      return [&, pdl, blocks](int, cudaStream_t st) {
        for (int i = 0; i < 4 * kLayers; ++i) cuda::launch_kernel(dependent_empty_kernel, blocks, 256, 0, st, pdl, v.data());
      };
    };
    const double per = 1e3 / (4 * kLayers);
    std::printf("floor: a chain of %d empty dependent kernels (128 / 384 blocks of 256 threads) costs %.2f / %.2f us per launch with PDL, "
                "%.2f / %.2f us without (CUDA graph)\n", 4 * kLayers, time_graph_ms(empty(true, 128), 1, 20) * per, time_graph_ms(empty(true, 384), 1, 20) * per,
                time_graph_ms(empty(false, 128), 1, 20) * per, time_graph_ms(empty(false, 384), 1, 20) * per);
  }
  }

  if (want("gemm")) {
  std::printf("\n== NF4 GEMM (prefill/training) vs cuBLAS bf16 GEMM on the dequantized weight ==\n");
  std::printf("%-20s %5s %12s %12s %12s %14s %10s %10s %10s\n", "shape", "M", "cuBLAS TF/s", "mma.sync TF/s", "wgmma TF/s", "deq+cuBLAS TF/s", "mma/cuB",
              "wgmma/cuB", "deq/cuB");
  for (const Shape& s : kShapes) {
    const std::size_t dense_bytes = static_cast<std::size_t>(s.in) * s.out * 2;
    Replicas rep = make_replicas(s, copies_for(static_cast<std::size_t>(s.in) * s.out / 2), copies_for(dense_bytes));
    {
      // The dequantize pass alone (what dequantize + cuBLAS adds), into one buffer as nf4_gemm_dequant_cublas does.
      cuda::DeviceBuffer<bf16> out(static_cast<std::size_t>(s.in) * s.out);
      const int nn = static_cast<int>(rep.nf4.size());
      auto deq = [&](int i, cudaStream_t st) { cuda::nf4_dequantize(rep.nf4[static_cast<std::size_t>(i % nn)]->view(), out.data(), s.in, st); };
      const double t_graph = time_graph_ms(deq, iters), t_launch = time_ms([&](int i) { deq(i, nullptr); }, iters);
      const double gbs = (static_cast<double>(rep.nf4_bytes) + static_cast<double>(dense_bytes)) / (t_graph * 1e-3) / 1e9;
      std::printf("%-20s dequantize to bf16: %.2f us in a graph (%.2f us launched), %.0f GB/s, %.0f%% of the copy ceiling (NF4 read + bf16 written)\n",
                  s.name, t_graph * 1e3, t_launch * 1e3, gbs, 100 * gbs / ceiling);
    }
    for (int M : {512, 2544, 8192}) {
      auto x = upload_bf16(random_bf16(static_cast<std::size_t>(M) * s.in, 1.0, 4));
      cuda::DeviceBuffer<bf16> y(static_cast<std::size_t>(M) * s.out), scratch(static_cast<std::size_t>(s.in) * s.out);
      const int nn = static_cast<int>(rep.nf4.size()), nd = static_cast<int>(rep.dense.size());
      const int it = std::max(5, iters / 5);
      const double t_cub = time_ms([&](int i) {
        cuda::gemm_bf16_rm(cublas.get(), false, true, M, s.out, s.in, 1.0f, x.data(), s.in, rep.dense[static_cast<std::size_t>(i % nd)].data(), s.in, 0.0f,
                           y.data(), CUDA_R_16BF, s.out);
      }, it);
      const double t_fused = time_ms([&](int i) { cuda::nf4_gemm_mma_sync(rep.nf4[static_cast<std::size_t>(i % nn)]->view(), x.data(), M, y.data()); }, it);
      const double t_wgmma = time_ms([&](int i) { cuda::nf4_gemm_wgmma(rep.nf4[static_cast<std::size_t>(i % nn)]->view(), x.data(), M, y.data()); }, it);
      const double t_deq = time_ms([&](int i) {
        cuda::nf4_gemm_dequant_cublas(cublas.get(), rep.nf4[static_cast<std::size_t>(i % nn)]->view(), x.data(), M, y.data(), scratch.data());
      }, it);
      const double flop = 2.0 * M * s.in * s.out;
      auto tf = [&](double ms) { return flop / (ms * 1e-3) / 1e12; };
      {
        // Each tile width alone (nf4_gemm_wgmma picks one from these throughputs).
        auto tiles = [&](auto launch) { return tf(time_ms([&](int i) { launch(rep.nf4[static_cast<std::size_t>(i % nn)]->view(), x.data(), M, y.data(), nullptr); }, it)); };
        std::printf("%-20s %5d wgmma by tile: 64 tokens %.0f, 128 tokens %.0f, 160 tokens %.0f, 192 tokens %.0f, 256 tokens %.0f; K split in 2: "
                    "64 tokens %.0f, 128 tokens %.0f TFLOP/s\n",
                    s.name, M, tiles(cuda::nf4_gemm_wgmma_tiles<64>), tiles(cuda::nf4_gemm_wgmma_tiles<128>), tiles(cuda::nf4_gemm_wgmma_tiles<160>),
                    tiles(cuda::nf4_gemm_wgmma_tiles<192>), tiles(cuda::nf4_gemm_wgmma_tiles<256>), tiles(cuda::nf4_gemm_wgmma_tiles<64, 2>),
                    tiles(cuda::nf4_gemm_wgmma_tiles<128, 2>));
        if (s.out % 192 == 0)
          std::printf("%-20s %5d wgmma by tile: three warpgroups (192 weight rows), 128 tokens %.0f TFLOP/s\n", s.name, M,
                      tiles(cuda::nf4_gemm_wgmma_tiles<128, 1, 4, 3>));
      }
      std::printf("%-20s %5d %12.0f %12.0f %12.0f %14.0f %9.2fx %9.2fx %9.2fx\n", s.name, M, tf(t_cub), tf(t_fused), tf(t_wgmma), tf(t_deq), t_cub / t_fused,
                  t_cub / t_wgmma, t_cub / t_deq);
    }
  }


  // Prefill / a training forward: the 196 projections of 28 layers at M = 512 and 2544 tokens (2544 = batch 8 x
  // 318, the anchor's training step), cuBLAS bf16 on pre-dequantized weights vs NF4 dequantize + cuBLAS, with the
  // dequantization in line or pipelined one weight ahead on a side stream (cuda/nf4_dequant_pipeline.cuh).
  {
    const DecoderWeights& dw = decoder_weights();
    for (int M : {512, 2544}) {
      auto x = upload_bf16(random_bf16(static_cast<std::size_t>(M) * 6144, 1.0, 6));
      cuda::DeviceBuffer<bf16> y(static_cast<std::size_t>(M) * 6144), scratch(static_cast<std::size_t>(6144) * 2048);
      cuda::Nf4DequantPipeline pipe(static_cast<std::size_t>(6144) * 2048);
      const std::size_t n = dw.nf4.size();
      auto gemm = [&](std::size_t i, const bf16* wt) {
        const Shape* sp = DecoderWeights::kProjection[i % 7];
        cuda::gemm_bf16_rm(cublas.get(), false, true, M, sp->out, sp->in, 1.0f, x.data(), sp->in, wt, sp->in, 0.0f, y.data(), CUDA_R_16BF, sp->out);
      };
      const int it = quick ? 2 : 5;
      const double t_cub = time_ms([&](int) { for (std::size_t i = 0; i < n; ++i) gemm(i, dw.dense[i].data()); }, it, 1);
      const double t_inline = time_ms([&](int) {
        for (std::size_t i = 0; i < n; ++i) {
          cuda::nf4_dequantize(dw.nf4[i]->view(), scratch.data(), dw.nf4[i]->view().cols);
          gemm(i, scratch.data());
        }
      }, it, 1);
      const double t_pipe = time_ms([&](int) {
        pipe.prefetch(dw.nf4[0]->view(), nullptr);
        for (std::size_t i = 0; i < n; ++i) {
          if (i + 1 < n) pipe.prefetch(dw.nf4[i + 1]->view(), nullptr);
          gemm(i, pipe.acquire(nullptr));
          pipe.release();
        }
      }, it, 1);
      const double t_auto = time_ms([&](int) {
        for (std::size_t i = 0; i < n; ++i) cuda::nf4_gemm(cublas.get(), dw.nf4[i]->view(), x.data(), M, y.data(), scratch.data());
      }, it, 1);
      double flop = 0;
      for (std::size_t i = 0; i < n; ++i) flop += 2.0 * M * DecoderWeights::kProjection[i % 7]->in * DecoderWeights::kProjection[i % 7]->out;
      auto tf = [&](double ms) { return flop / (ms * 1e-3) / 1e12; };
      std::printf("\nprefill chain, 28 layers x 7 projections, M = %d: cuBLAS bf16 %.2f ms (%.0f TFLOP/s); NF4 dequantize in line + cuBLAS %.2f ms "
                  "(%.0f, %.2fx cuBLAS); NF4 dequantize pipelined + cuBLAS %.2f ms (%.0f, %.2fx cuBLAS); nf4_gemm (fused up to M = %d) %.2f ms "
                  "(%.0f, %.2fx cuBLAS)\n",
                  M, t_cub, tf(t_cub), t_inline, tf(t_inline), t_cub / t_inline, t_pipe, tf(t_pipe), t_cub / t_pipe, cuda::kNf4FusedGemmMaxRows, t_auto,
                  tf(t_auto), t_cub / t_auto);
    }
  }
  }

  return 0;
}

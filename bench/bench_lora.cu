// LoRA r=16 forward + backward on the GPU (cuda/lora.cuh) against the base matmuls alone (y = x W^T and
// dx = dy W, cuBLAS bf16, what a frozen linear layer costs in a training step), all measured in this run:
// the fused layout (low-rank products folded into the base GEMMs), the same with dropout 0.05, the plain form
// with one launch per product (PEFT's structure), QLoRA as trained (NF4 base dequantized per call into a
// workspace, dropout 0.05), and the time of each of the fused layout's products alone.
// Shapes: the Qwen3-VL-2B language-model projections; M = 2544 tokens (the anchor's batch 8 x 318) and 8192.
// First, in its own process on the same GPU, bench/anchor_lora.py times what users would otherwise run: PyTorch
// with a PEFT LoRA layer (eager, dropout 0.05) and a frozen nn.Linear; the last table compares it with ours.
// Usage: bench_lora [--quick] [--anchor PATH]   (PATH: anchor_lora.py, default bench/anchor_lora.py under the
//        current directory; KSPAM_PYTHON names the interpreter; the anchor is skipped, saying why, without torch)
#pragma GCC diagnostic ignored "-Wrestrict"  // GCC 12 bug 105329 in std::string (the CXX flags disable it too)
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "cuda_bench_support.cuh"
#include "kspam/core/rng.hpp"
#include "kspam/cuda/device_memory.cuh"
#include "kspam/cuda/lora.cuh"
#include "kspam/cuda/nf4_weight.cuh"
#include "kspam/quant/nf4_tensor.hpp"

using namespace kspam;
using namespace kspam::bench;

namespace {

// The anchor's figures per (shape name, M): step times in us.
struct AnchorStep {
  double base, peft, peft_bf16;  // frozen nn.Linear; PEFT's LoRA layer with float32 adapters (its default), with bf16 ones
};
using AnchorTimes = std::map<std::pair<std::string, int>, AnchorStep>;

// The number after "key": in one of the anchor's JSON lines (flat objects of numbers and plain strings).
double json_number(const std::string& line, const std::string& key) {
  const auto at = line.find("\"" + key + "\": ");
  return at == std::string::npos ? -1.0 : std::strtod(line.c_str() + at + key.size() + 4, nullptr);
}
std::string json_text(const std::string& line, const std::string& key) {
  const auto at = line.find("\"" + key + "\": \"");
  if (at == std::string::npos) return "";
  const auto from = at + key.size() + 5;
  return line.substr(from, line.find('"', from) - from);
}

// Runs the PEFT anchor and collects its figures; says on stdout what it ran, or why there is no anchor.
AnchorTimes run_anchor(const std::string& script, bool quick) {
  AnchorTimes times;
  const char* python = std::getenv("KSPAM_PYTHON");
  const std::string command = std::string(python ? python : "python3") + " '" + script + "'" + (quick ? " --quick" : "") + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) {
    std::printf("PEFT anchor: cannot run %s\n", command.c_str());
    return times;
  }
  std::string line, done, error;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, pipe)) {
    line = buf;
    if (line.find("\"done\": true") != std::string::npos) done = line;
    else if (line.find("\"error\": ") != std::string::npos) error = json_text(line, "error");
    else if (line.find("\"peft_us\": ") != std::string::npos)
      times[{json_text(line, "shape"), static_cast<int>(json_number(line, "M"))}] = {json_number(line, "base_us"), json_number(line, "peft_us"),
                                                                                   json_number(line, "peft_bf16_us")};
  }
  const int status = ::pclose(pipe);
  if (!error.empty()) std::printf("PEFT anchor skipped: %s\n", error.c_str());
  else if (status != 0 || done.empty()) std::printf("PEFT anchor failed (exit status %d; last line: %s)\n", status, line.c_str());
  else
    std::printf("PEFT anchor: torch %s, peft %s on %s\n", json_text(done, "torch").c_str(),
                json_text(done, "peft").c_str(), json_text(done, "device").c_str());
  if (status != 0 || done.empty()) times.clear();
  return times;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  std::string anchor_script = "bench/anchor_lora.py";
  for (int a = 1; a < argc; ++a) {
    if (std::strcmp(argv[a], "--quick") == 0) quick = true;
    else if (std::strcmp(argv[a], "--anchor") == 0 && a + 1 < argc) anchor_script = argv[++a];
    else {
      std::printf("usage: bench_lora [--quick] [--anchor PATH]\n");
      return 2;
    }
  }
  if (!cuda::device_available()) {
    std::printf("skipped: no NVIDIA GPU\n");
    return 77;
  }
  cudaDeviceProp prop{};
  KSPAM_CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("device: %s, %d SMs\n", prop.name, prop.multiProcessorCount);
  const AnchorTimes anchor = run_anchor(anchor_script, quick);
  struct Row {
    std::string shape;
    int M;
    double base, fused_p, qlora;
  };
  std::vector<Row> rows;
  cuda::CublasHandle cublas;
  const int iters = quick ? 20 : 100;
  std::printf("\n== LoRA r=16 forward+backward overhead over the base matmuls (bf16 dense base, M tokens) ==\n");
  std::printf("%-20s %5s %10s %12s %9s %14s %9s %12s %9s %12s %9s\n", "shape", "M", "base us", "fused us", "overhead", "plain us", "overhead",
              "fused+p us", "overhead", "qlora us", "overhead");
  const int r = 16;
  for (const Shape& s : kShapes) {
    for (int M : {2544, 8192}) {
      // The layer's layout: x, dy (and dx) with r spare columns, rows padded to 128-byte lines.
      const int ld = cuda::LoraCudaLayer::activation_stride(s.in, r), ldy = cuda::LoraCudaLayer::activation_stride(s.out, r);
      const auto w_bits = random_bf16(static_cast<std::size_t>(s.out) * s.in, 0.02, 9);
      auto w = upload_bf16(w_bits);
      auto xcat = upload_bf16(random_bf16(static_cast<std::size_t>(M) * ld, 1.0, 10));
      auto dycat = upload_bf16(random_bf16(static_cast<std::size_t>(M) * ldy, 1.0, 11));
      // dx is laid out like xcat (r spare columns), as a model that chains these layers would keep it: with dropout
      // the layer then takes du out of the dx GEMM.
      cuda::DeviceBuffer<bf16> y(static_cast<std::size_t>(M) * s.out), dx(static_cast<std::size_t>(M) * ld);
      // The plain layer's activations: x, dy and dx as dense [M, width] matrices.
      auto x = upload_bf16(random_bf16(static_cast<std::size_t>(M) * s.in, 1.0, 10));
      auto dy = upload_bf16(random_bf16(static_cast<std::size_t>(M) * s.out, 1.0, 11));
      cuda::DeviceBuffer<bf16> dx_plain(static_cast<std::size_t>(M) * s.in);
      const int it = std::max(5, iters / 5);
      // Base: y = x W^T and dx = dy W (what a frozen linear layer costs in a training step).
      auto base_step = [&](cublasHandle_t hd) {
        cuda::gemm_bf16_rm(hd, false, true, M, s.out, s.in, 1.0f, x.data(), s.in, w.data(), s.in, 0.0f, y.data(), CUDA_R_16BF, s.out);
        cuda::gemm_bf16_rm(hd, false, false, M, s.in, s.out, 1.0f, dy.data(), s.out, w.data(), s.in, 0.0f, dx_plain.data(), CUDA_R_16BF, s.in);
      };
      const double t_base = time_ms([&](int) { base_step(cublas.get()); }, it);
      Rng rng(12);
      std::vector<float> A(static_cast<std::size_t>(r) * s.in), B(static_cast<std::size_t>(s.out) * r);
      for (auto& v : A) v = static_cast<float>(rng.uniform(-0.02, 0.02));
      for (auto& v : B) v = static_cast<float>(rng.normal() * 0.01);
      cuda::LoraCudaLayer layer(s.in, s.out, r, 32.0, 0.0);
      layer.set_base_dense(w.data());
      layer.set_adapter(A, B);
      const double t_fused = time_ms([&](int) {
        layer.forward(cublas.get(), xcat.data(), M, y.data(), true, 1);
        layer.backward(cublas.get(), dycat.data(), xcat.data(), M, dx.data(), ld, true, 1);
      }, it);
      cuda::LoraCudaLayer layer_p(s.in, s.out, r, 32.0, 0.05);
      layer_p.set_base_dense(w.data());
      layer_p.set_adapter(A, B);
      const double t_fused_p = time_ms([&](int i) {
        layer_p.forward(cublas.get(), xcat.data(), M, y.data(), true, static_cast<std::uint64_t>(i));
        layer_p.backward(cublas.get(), dycat.data(), xcat.data(), M, dx.data(), ld, true, static_cast<std::uint64_t>(i));
      }, it);
      // QLoRA as trained: NF4 base dequantized per call into a shared workspace (no resident bf16 copy), dropout 0.05.
      const cuda::Nf4DeviceWeight w_nf4(quant::quantize_nf4_bf16(w_bits, {s.out, s.in}));
      cuda::LoraCudaLayer layer_q(s.in, s.out, r, 32.0, 0.05);
      cuda::DeviceBuffer<bf16> workspace(layer_q.workspace_elements());
      layer_q.set_base_nf4_streamed(w_nf4.view(), workspace.data());
      layer_q.set_adapter(A, B);
      const double t_qlora = time_ms([&](int i) {
        layer_q.forward(cublas.get(), xcat.data(), M, y.data(), true, static_cast<std::uint64_t>(i));
        layer_q.backward(cublas.get(), dycat.data(), xcat.data(), M, dx.data(), ld, true, static_cast<std::uint64_t>(i));
      }, it);
      // The plain form: one launch per product (PEFT's structure on top of a base linear), 8 GEMMs.
      auto bf16_bits = [](const std::vector<float>& v) {
        std::vector<std::uint16_t> bits(v.size());
        for (std::size_t i = 0; i < v.size(); ++i) bits[i] = tensor::f32_to_bf16(v[i]);
        return bits;
      };
      auto a16 = upload_bf16(bf16_bits(A)), b16 = upload_bf16(bf16_bits(B));
      cuda::DeviceBuffer<bf16> u(static_cast<std::size_t>(M) * r), du(static_cast<std::size_t>(M) * r);
      cuda::DeviceBuffer<float> dA(A.size()), dB(B.size());
      const double t_plain = time_ms([&](int) {
        auto* hd = cublas.get();
        cuda::gemm_bf16_rm(hd, false, true, M, s.out, s.in, 1.0f, x.data(), s.in, w.data(), s.in, 0.0f, y.data(), CUDA_R_16BF, s.out);
        cuda::gemm_bf16_rm(hd, false, true, M, r, s.in, 1.0f, x.data(), s.in, a16.data(), s.in, 0.0f, u.data(), CUDA_R_16BF, r);
        cuda::gemm_bf16_rm(hd, false, true, M, s.out, r, 2.0f, u.data(), r, b16.data(), r, 1.0f, y.data(), CUDA_R_16BF, s.out);
        cuda::gemm_bf16_rm(hd, false, false, M, s.in, s.out, 1.0f, dy.data(), s.out, w.data(), s.in, 0.0f, dx_plain.data(), CUDA_R_16BF, s.in);
        cuda::gemm_bf16_rm(hd, false, false, M, r, s.out, 2.0f, dy.data(), s.out, b16.data(), r, 0.0f, du.data(), CUDA_R_16BF, r);
        cuda::gemm_bf16_rm(hd, false, false, M, s.in, r, 1.0f, du.data(), r, a16.data(), s.in, 1.0f, dx_plain.data(), CUDA_R_16BF, s.in);
        cuda::gemm_bf16_rm(hd, true, false, r, s.in, M, 1.0f, du.data(), r, x.data(), s.in, 1.0f, dA.data(), CUDA_R_32F, s.in);
        cuda::gemm_bf16_rm(hd, true, false, s.out, r, M, 2.0f, dy.data(), s.out, u.data(), r, 1.0f, dB.data(), CUDA_R_32F, r);
      }, it);
      std::printf("%-20s %5d %10.1f %12.1f %8.1f%% %14.1f %8.1f%% %12.1f %8.1f%% %12.1f %8.1f%%\n", s.name, M, t_base * 1e3, t_fused * 1e3,
                  100 * (t_fused / t_base - 1), t_plain * 1e3, 100 * (t_plain / t_base - 1), t_fused_p * 1e3, 100 * (t_fused_p / t_base - 1),
                  t_qlora * 1e3, 100 * (t_qlora / t_base - 1));
      rows.push_back({s.name, M, t_base * 1e3, t_fused_p * 1e3, t_qlora * 1e3});
      {
        // The same steps as GPU time: 10 steps captured in a CUDA graph, no host launch cost between kernels.
        auto* hd = cublas.get();
        auto g = [&](const std::function<void(int, cudaStream_t)>& f) {
          const double ms = time_graph_ms(f, 10);
          KSPAM_CUBLAS_CHECK(cublasSetStream(hd, nullptr));  // the graph's stream is gone
          return 1e3 * ms;
        };
        const double g_base = g([&](int, cudaStream_t st) {
          KSPAM_CUBLAS_CHECK(cublasSetStream(hd, st));
          base_step(hd);
        });
        auto step = [&](cuda::LoraCudaLayer& l) {
          return g([&](int i, cudaStream_t st) {
            l.forward(hd, xcat.data(), M, y.data(), true, static_cast<std::uint64_t>(i), st);
            l.backward(hd, dycat.data(), xcat.data(), M, dx.data(), ld, true, static_cast<std::uint64_t>(i), st);
          });
        };
        const double g_fused = step(layer), g_fused_p = step(layer_p), g_qlora = step(layer_q);
        std::printf("%27s as CUDA graphs, us: base %.1f | fused %.1f (%+.1f%%) | fused+p %.1f (%+.1f%%) | qlora %.1f (%+.1f%%)\n", "", g_base, g_fused,
                    100 * (g_fused / g_base - 1), g_fused_p, 100 * (g_fused_p / g_base - 1), g_qlora, 100 * (g_qlora / g_base - 1));
      }
      {
        // Where the fused layout's time goes: each of its cuBLAS products alone, same shapes and strides.
        auto pcat = upload_bf16(random_bf16(static_cast<std::size_t>(s.out + r) * ld, 0.02, 13));
        auto* hd = cublas.get();
        // GPU time per call: 20 calls captured in a CUDA graph, so host launch cost (several us per cuBLAS call)
        // does not hide how long these short kernels run.
        auto t = [&](const std::function<void(cudaStream_t)>& f) {
          const double ms = time_graph_ms([&](int, cudaStream_t st) {
            KSPAM_CUBLAS_CHECK(cublasSetStream(hd, st));
            f(st);
          }, 20);
          KSPAM_CUBLAS_CHECK(cublasSetStream(hd, nullptr));
          return 1e3 * ms;
        };
        const double t_u = t([&](cudaStream_t) { cuda::gemm_bf16_rm(hd, false, true, M, r, s.in, 1.0f, xcat.data(), ld, pcat.data(), ld, 0.0f, u.data(), CUDA_R_16BF, r); });
        const double t_y = t([&](cudaStream_t) { cuda::gemm_bf16_rm(hd, false, true, M, s.out, s.in + r, 1.0f, xcat.data(), ld, pcat.data(), ld, 0.0f, y.data(), CUDA_R_16BF, s.out); });
        const double t_y0 = t([&](cudaStream_t) { cuda::gemm_bf16_rm(hd, false, true, M, s.out, s.in, 1.0f, xcat.data(), ld, pcat.data(), ld, 0.0f, y.data(), CUDA_R_16BF, s.out); });
        const double t_du = t([&](cudaStream_t) { cuda::gemm_bf16_rm(hd, false, false, M, r, s.out, 1.0f, dycat.data(), ldy, pcat.data() + s.in, ld, 0.0f, du.data(), CUDA_R_16BF, r); });
        const double t_dx = t([&](cudaStream_t) { cuda::gemm_bf16_rm(hd, false, false, M, s.in, s.out + r, 1.0f, dycat.data(), ldy, pcat.data(), ld, 0.0f, dx.data(), CUDA_R_16BF, s.in); });
        const double t_da = t([&](cudaStream_t) { cuda::gemm_bf16_rm(hd, true, false, r, s.in, M, 1.0f, du.data(), r, xcat.data(), ld, 1.0f, dA.data(), CUDA_R_32F, s.in); });
        const double t_db = t([&](cudaStream_t) { cuda::gemm_bf16_rm(hd, true, false, s.out, r, M, 2.0f, dycat.data(), ldy, u.data(), r, 1.0f, dB.data(), CUDA_R_32F, r); });
        std::printf("%27s each alone, us: u = x A^T %.1f | y, K + r %.1f (K alone %.1f) | du = dy sB %.1f | dx, K + r %.1f | dA %.1f | dB %.1f (cuBLAS)\n", "",
                    t_u, t_y, t_y0, t_du, t_dx, t_da, t_db);
        // The layer's dropout kernels, the same kernels without dropout (the layer takes cuBLAS there: compare with
        // the line above), and a copy of x (one read, one write) as a yardstick.
        namespace k = cuda::kernels;
        const nn::DropoutMask none, mask(7, 0.05);
        const unsigned pb = static_cast<unsigned>((M + 15) / 16);
        auto ws_add = k::make_row_reduce_workspace<1, true>(s.in), ws_plain = k::make_row_reduce_workspace<1, false>(s.in);
        auto reduce = [&](bool add, const nn::DropoutMask& m, cudaStream_t st) {
          auto* launch = add ? &k::launch_row_reduce<1, true> : &k::launch_row_reduce<1, false>;
          launch(s.in, xcat.data(), ld, M, r, du.data(), r, 1.0f, dA.data(), s.in, m, a16.data(), add ? dx.data() : nullptr, add ? s.in : 0,
                 add ? ws_add : ws_plain, st);
        };
        const double k_up = t([&](cudaStream_t st) { k::lora_project<2><<<pb, 256, 0, st>>>(xcat.data(), ld, M, s.in, a16.data(), xcat.data() + s.in, ld, mask); });
        const double k_u = t([&](cudaStream_t st) { k::lora_project<2><<<pb, 256, 0, st>>>(xcat.data(), ld, M, s.in, a16.data(), xcat.data() + s.in, ld, none); });
        const double k_dap = t([&](cudaStream_t st) { reduce(true, mask, st); });
        const double k_da = t([&](cudaStream_t st) { reduce(false, none, st); });
        const double t_copy = t([&](cudaStream_t st) { KSPAM_CUDA_CHECK(cudaMemcpyAsync(dx_plain.data(), x.data(), x.size() * sizeof(bf16), cudaMemcpyDeviceToDevice, st)); });
        std::printf("%27s dropout kernels, us: u = dropout(x) A^T %.1f | dA and dx's masked part %.1f || without dropout: u %.1f, dA %.1f || copy of x %.1f\n", "",
                    k_up, k_dap, k_u, k_da, t_copy);
      }
    }
  }
  std::printf("\nfused+p = fused layout with dropout 0.05 (the mask redrawn in the u and dA kernels, dx's masked part inside the dA pass);\n"
              "qlora = the same with an NF4 base dequantized into a shared workspace on every forward and backward.\n");
  if (!anchor.empty()) {
    std::printf("\n== against PyTorch + PEFT (LoRA r=16, alpha 32, dropout 0.05; eager, stream-timed like the columns above) ==\n");
    std::printf("%-20s %5s %11s %11s %11s %12s %11s %13s %13s %13s\n", "shape", "M", "torch base", "ours base", "PEFT fp32", "PEFT bf16", "fused+p",
                "vs PEFT fp32", "vs PEFT bf16", "qlora vs bf16");
    for (const Row& row : rows) {
      const auto it = anchor.find({row.shape, row.M});
      if (it == anchor.end()) continue;
      const AnchorStep& a = it->second;
      std::printf("%-20s %5d %9.1fus %9.1fus %9.1fus %10.1fus %9.1fus %12.2fx %12.2fx %12.2fx\n", row.shape.c_str(), row.M, a.base, row.base, a.peft,
                  a.peft_bf16, row.fused_p, a.peft / row.fused_p, a.peft_bf16 / row.fused_p, a.peft_bf16 / row.qlora);
    }
    std::printf("PEFT fp32 / bf16: its adapters in float32 (PEFT's default for a bf16 base, input cast to float32) or in bf16.\n");
  }
  return 0;
}

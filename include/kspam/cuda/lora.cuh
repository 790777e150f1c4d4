#pragma once
// LoRA on the GPU: y = base(x) + s * dropout(x) A^T B^T and its backward, with the low-rank products
// folded into the base GEMMs wherever the algebra allows, so the big GEMMs simply get r more rows or
// columns of K instead of the low-rank terms costing extra passes over the activations.
//
// The GEMMs read one bf16 matrix P = [[W, s*B], [A, 0]] of shape [out + r, in + r] (row stride ldx()): either the
// layer's own copy, or (set_base_nf4_streamed, QLoRA's memory saving) a caller's workspace that each forward and
// backward refills from the NF4 weight, A and B, so only 0.5 byte per base weight stays resident.
// Activations carry r spare columns: xcat = [x | u] ([M, in + r]) and dycat = [dy | du] ([M, out + r]), their rows
// (and P's) padded to whole 128-byte lines: with rows of in + r bf16 every row but every fourth started mid-line, and
// the dropout step measured up to 10% slower (bench/RESULTS.md).
//   forward:  u = x A^T                          (GEMM into xcat's spare columns)
//             u = dropout(x) A^T                 (with dropout: kernels::lora_project, one pass over x)
//             y = [x | u] P[:out, :]^T = x W^T + s u B^T        (GEMM, K = in + r)
//   backward: du = dy (s B)                      (GEMM, into dycat's spare columns)
//             dx = [dy | du] P[:, :in] = dy W + du A           (GEMM, K = out + r; no dropout)
//             dx = dy W, then dx += (du A) * mask              (GEMM, then inside the dA pass; with dropout)
//             [dx | du] = dy P[:out, :] = [dy W | dy s B]      (with dropout, when dx has r spare columns too:
//                                                 du comes out of the dx GEMM, N = in + r, instead of a pass over dy)
//             dA += du^T x                       (GEMM; with dropout kernels::lora_row_reduce: du^T dropout(x)
//                                                 and dx's masked part in one pass over x and dx)
//             dB += s dy^T u                     (GEMM, fp32 gradients)
// The dropout mask is redrawn from its seed wherever it is needed (nn::DropoutMask, the same rule as the CPU
// LoraLinear, so both backends draw the same mask), so nothing is stored between forward and backward but u.
// Without dropout cuBLAS's skinny products measured faster than this file's kernels (bench/RESULTS.md), so only
// the dropout case uses them. They need in % 128 == 0 and r in {8, 16, 32}; for other shapes dropout(x) is
// written to a scratch buffer the layer keeps and cuBLAS does the rest. bf16 operands, fp32 accumulation; the
// CPU reference (nn/lora_linear.hpp) is fp32, and tests/gpu/test_lora.cu compares them on random inputs.
#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "kspam/cuda/device_memory.cuh"
#include "kspam/cuda/lora_kernels.cuh"
#include "kspam/cuda/nf4_quantize.cuh"
#include "kspam/nn/lora_dropout.hpp"
#include "kspam/tensor/half.hpp"

namespace kspam::cuda {

inline unsigned elementwise_blocks(std::int64_t n) {
  return static_cast<unsigned>(std::max<std::int64_t>(1, std::min<std::int64_t>((n + 255) / 256, std::int64_t{sm_count()} * 8)));
}

class LoraCudaLayer {
 public:
  LoraCudaLayer(int in, int out, int r, double alpha, double dropout)
      : in_(in), out_(out), r_(r), scale_(static_cast<float>(alpha / r)), dropout_(dropout),
        a16_(static_cast<std::size_t>(r) * in), at_(static_cast<std::size_t>(in) * r), b_(static_cast<std::size_t>(out) * r), da_(static_cast<std::size_t>(r) * in), db_(static_cast<std::size_t>(out) * r) {
    if (r <= 0 || in <= 0 || out <= 0) throw Error("LoraCudaLayer: sizes must be positive");
    if (in % 8 != 0 || r % 8 != 0 || out % 8 != 0) throw Error("LoraCudaLayer: in, out and r must be multiples of 8 (16-byte bf16 rows)");
    if (!(dropout >= 0.0 && dropout < 1.0)) throw Error("LoraCudaLayer: dropout must be in [0, 1)");
    a16_.zero();
    b_.zero();
    if (dropout > 0.0 && dropout_kernels())
      reduce_ws_ = r <= 16 ? kernels::make_row_reduce_workspace<1, true>(in) : kernels::make_row_reduce_workspace<2, true>(in);
    write_adapter(nullptr, nullptr);
    zero_grad();
  }

  int in() const { return in_; }
  int out() const { return out_; }
  int r() const { return r_; }
  // Row stride of an activation of `width` columns with r spare ones: width + r rounded up to 64 bf16.
  static int activation_stride(int width, int r) { return (width + r + 63) / 64 * 64; }
  int ldx() const { return activation_stride(in_, r_); }   // row stride of xcat (and of P)
  int ldy() const { return activation_stride(out_, r_); }  // row stride of dycat
  float scale() const { return scale_; }
  // Whether dropout runs inside this layer's kernels (else through a scratch copy of dropout(x) and cuBLAS).
  bool dropout_kernels() const { return in_ % 128 == 0 && (r_ == 8 || r_ == 16 || r_ == 32); }
  // bf16 elements of P, the size of the workspace for set_base_nf4_streamed.
  std::size_t workspace_elements() const { return static_cast<std::size_t>(out_ + r_) * ldx(); }

  // The frozen base, kept as a bf16 P owned by the layer: dense bf16 W [out, in] (device) or an NF4 weight
  // dequantized once into P.
  void set_base_dense(const __nv_bfloat16* w) {
    own_p();
    KSPAM_CUDA_CHECK(cudaMemcpy2D(p_.data(), sizeof(__nv_bfloat16) * ldx(), w, sizeof(__nv_bfloat16) * in_,
                                  sizeof(__nv_bfloat16) * in_, out_, cudaMemcpyDeviceToDevice));
  }
  void set_base_nf4(const Nf4View& w, cudaStream_t stream = nullptr) {
    own_p();
    nf4_dequantize(w, p_.data(), ldx(), stream);
  }
  // QLoRA's memory saving: only the NF4 weight stays; each forward and backward first dequantizes it, with A and
  // s*B, into `workspace` (workspace_elements() bf16, not owned), so layers run one after another on one stream
  // can share one workspace. Costs one dequantize pass (2.5 bytes per weight) per call.
  void set_base_nf4_streamed(const Nf4View& w, __nv_bfloat16* workspace) {
    if (w.rows != out_ || w.cols != in_) throw Error("LoraCudaLayer::set_base_nf4_streamed: weight shape differs from the layer's");
    p_ = DeviceBuffer<__nv_bfloat16>();
    streamed_ = w;
    workspace_ = workspace;
  }

  // A [r, in] and B [out, r] as fp32 on the host: A goes to P's bottom rows in bf16, s*B to P's right columns.
  void set_adapter(std::span<const float> A, std::span<const float> B) {
    if (A.size() != static_cast<std::size_t>(r_) * in_ || B.size() != static_cast<std::size_t>(out_) * r_) throw Error("LoraCudaLayer::set_adapter: wrong sizes");
    std::vector<std::uint16_t> a(A.size());
    for (std::size_t i = 0; i < A.size(); ++i) a[i] = tensor::f32_to_bf16(A[i]);
    a16_ = upload_bf16(a);
    b_.upload(B);
    write_adapter(p_.size() > 0 ? p_.data() : nullptr, nullptr);
    KSPAM_CUDA_CHECK(cudaDeviceSynchronize());
  }
  // After an optimizer step updates B (fp32, on the device).
  void refresh_scaled_b(cudaStream_t stream = nullptr) { write_adapter(p_.size() > 0 ? p_.data() : nullptr, stream, false); }
  void zero_grad() {
    da_.zero();
    db_.zero();
  }
  const DeviceBuffer<float>& grad_A() const { return da_; }
  const DeviceBuffer<float>& grad_B() const { return db_; }

  // xcat [M, in + r]: x in the first in columns; u is written into the rest. y: [M, out]. In training with
  // dropout the mask is drawn from `seed`; backward must get the same seed.
  void forward(cublasHandle_t hd, __nv_bfloat16* xcat, int M, __nv_bfloat16* y, bool training, std::uint64_t seed, cudaStream_t stream = nullptr) {
    KSPAM_CUBLAS_CHECK(cublasSetStream(hd, stream));
    if (M <= 0) return;
    const nn::DropoutMask mask = dropout_mask(training, seed);
    const __nv_bfloat16* p = base_matrix(stream);
    if (mask.active() && dropout_kernels()) {
      project(xcat, M, mask, stream);
    } else {
      const auto [h, ldh] = masked_input(xcat, M, mask, stream);
      gemm_bf16_rm(hd, false, true, M, r_, in_, 1.0f, h, ldh, a16_.data(), in_, 0.0f, xcat + in_, CUDA_R_16BF, ldx());
    }
    gemm_bf16_rm(hd, false, true, M, out_, in_ + r_, 1.0f, xcat, ldx(), p, ldx(), 0.0f, y, CUDA_R_16BF, out_);
  }

  // dycat [M, out + r]: dy in the first out columns; du is written into the rest. xcat as left by forward (with
  // u), `training` and `seed` as given to it. dx [M, in] with row stride lddx receives dL/dx; with dropout in the
  // layer's kernels (dropout_kernels()) and lddx >= in + r (dx laid out like xcat: lddx = ldx()) du goes to dx's
  // spare columns instead, one pass over dy fewer.
  // Gradients of A and B accumulate (fp32), so one layer's backward calls must follow each other on one stream.
  void backward(cublasHandle_t hd, __nv_bfloat16* dycat, const __nv_bfloat16* xcat, int M, __nv_bfloat16* dx, int lddx, bool training,
                std::uint64_t seed, cudaStream_t stream = nullptr) {
    if (lddx < in_ || lddx % 8 != 0)
      throw Error("LoraCudaLayer::backward: dx's row stride must be at least in = " + std::to_string(in_) +
                  " and a multiple of 8 (16-byte rows), got " + std::to_string(lddx));
    KSPAM_CUBLAS_CHECK(cublasSetStream(hd, stream));
    if (M <= 0) return;
    const nn::DropoutMask mask = dropout_mask(training, seed);
    __nv_bfloat16* du = dycat + out_;
    const __nv_bfloat16* p = base_matrix(stream);
    if (mask.active() && dropout_kernels() && lddx >= in_ + r_) {
      // [dx | du] = dy P[:out, :]: W and s*B side by side, so du lands in dx's spare columns.
      gemm_bf16_rm(hd, false, false, M, in_ + r_, out_, 1.0f, dycat, ldy(), p, ldx(), 0.0f, dx, CUDA_R_16BF, lddx);
      masked_input_grad(xcat, M, dx + in_, lddx, mask, dx, lddx, stream);  // dA += du^T dropout(x) and dx += (du A) * mask
      scaled_b_grad(hd, dycat, xcat, M);
      return;
    }
    // du = dy (s B): s*B is P[:out, in:]
    gemm_bf16_rm(hd, false, false, M, r_, out_, 1.0f, dycat, ldy(), p + in_, ldx(), 0.0f, du, CUDA_R_16BF, ldy());
    if (!mask.active()) {
      // dx = [dy | du] [W ; A]: P's first in columns, all out + r rows.
      gemm_bf16_rm(hd, false, false, M, in_, out_ + r_, 1.0f, dycat, ldy(), p, ldx(), 0.0f, dx, CUDA_R_16BF, lddx);
      // dA += du^T x  ([r, M] x [M, in])
      gemm_bf16_rm(hd, true, false, r_, in_, M, 1.0f, du, ldy(), xcat, ldx(), 1.0f, da_.data(), CUDA_R_32F, in_);
    } else {
      gemm_bf16_rm(hd, false, false, M, in_, out_, 1.0f, dycat, ldy(), p, ldx(), 0.0f, dx, CUDA_R_16BF, lddx);
      if (dropout_kernels()) {
        masked_input_grad(xcat, M, du, ldy(), mask, dx, lddx, stream);  // dA += du^T dropout(x) and dx += (du A) * mask
      } else {
        kernels::lora_masked_lowrank_add<<<elementwise_blocks(static_cast<std::int64_t>(M) * in_ / 8), 256, 0, stream>>>(
            du, ldy(), a16_.data(), in_, dx, lddx, M, in_, r_, mask);
        KSPAM_CUDA_LAUNCH_CHECK();
        const auto [h, ldh] = masked_input(xcat, M, mask, stream);
        gemm_bf16_rm(hd, true, false, r_, in_, M, 1.0f, du, ldy(), h, ldh, 1.0f, da_.data(), CUDA_R_32F, in_);
      }
    }
    scaled_b_grad(hd, dycat, xcat, M);
  }

 private:
  nn::DropoutMask dropout_mask(bool training, std::uint64_t seed) const {
    return training && dropout_ > 0.0 ? nn::DropoutMask(seed, dropout_) : nn::DropoutMask();
  }
  // u = dropout(x) A^T into xcat's spare columns (kernels::lora_project).
  void project(__nv_bfloat16* xcat, int M, const nn::DropoutMask& mask, cudaStream_t stream) {
    const auto blocks = static_cast<unsigned>((M + 15) / 16);
    auto* kernel = r_ == 8 ? &kernels::lora_project<1> : r_ == 16 ? &kernels::lora_project<2> : &kernels::lora_project<4>;
    kernel<<<blocks, 256, 0, stream>>>(xcat, ldx(), M, in_, a16_.data(), xcat + in_, ldx(), mask);
    KSPAM_CUDA_LAUNCH_CHECK();
  }
  // dA += keep * du^T (mask * x) and dx += keep * (du A) * mask in one pass (kernels::lora_row_reduce).
  void masked_input_grad(const __nv_bfloat16* xcat, int M, const __nv_bfloat16* du, int lddu, const nn::DropoutMask& mask, __nv_bfloat16* dx,
                         int lddx, cudaStream_t stream) {
    auto* launch = r_ <= 16 ? &kernels::launch_row_reduce<1, true> : &kernels::launch_row_reduce<2, true>;
    launch(in_, xcat, ldx(), M, r_, du, lddu, mask.keep_scale, da_.data(), in_, mask, at_.data(), dx, lddx, reduce_ws_, stream);
  }
  // dB += s dy^T u  ([out, M] x [M, r]; u is xcat's spare columns)
  void scaled_b_grad(cublasHandle_t hd, const __nv_bfloat16* dycat, const __nv_bfloat16* xcat, int M) {
    gemm_bf16_rm(hd, true, false, out_, r_, M, scale_, dycat, ldy(), xcat + in_, ldx(), 1.0f, db_.data(), CUDA_R_32F, r_);
  }
  // The cuBLAS path's h: x itself (xcat, row stride ldx()) or, with dropout, x * mask in the layer's scratch.
  std::pair<const __nv_bfloat16*, int> masked_input(const __nv_bfloat16* xcat, int M, const nn::DropoutMask& mask, cudaStream_t stream) {
    if (!mask.active()) return {xcat, ldx()};
    const std::size_t n = static_cast<std::size_t>(M) * in_;
    if (h_scratch_.size() < n) h_scratch_ = DeviceBuffer<__nv_bfloat16>(n);
    kernels::lora_dropout<<<elementwise_blocks(static_cast<std::int64_t>(n)), 256, 0, stream>>>(xcat, ldx(), h_scratch_.data(), M, in_, mask);
    KSPAM_CUDA_LAUNCH_CHECK();
    return {h_scratch_.data(), in_};
  }
  void own_p() {
    if (p_.size() == 0) {
      p_ = DeviceBuffer<__nv_bfloat16>(workspace_elements());
      p_.zero();
    }
    workspace_ = nullptr;
    write_adapter(p_.data(), nullptr);
  }
  // The adapter's layouts: A into P's bottom rows and s*B into its right columns (when p is given), and A^T for
  // the dropout kernels (when A may have changed).
  void write_adapter(__nv_bfloat16* p, cudaStream_t stream, bool transpose_a = true) {
    const int n = std::max(in_, out_) * r_;
    kernels::lora_adapter_layouts<<<(n + 255) / 256, 256, 0, stream>>>(b_.data(), a16_.data(), in_, out_, r_, scale_, p, ldx(),
                                                                       transpose_a ? at_.data() : nullptr);
    KSPAM_CUDA_LAUNCH_CHECK();
  }
  // P for this call: the layer's own, or (streamed NF4 base) the workspace filled now.
  const __nv_bfloat16* base_matrix(cudaStream_t stream) {
    if (workspace_ == nullptr) {
      if (p_.size() == 0) throw Error("LoraCudaLayer: no base weight set");
      return p_.data();
    }
    nf4_dequantize(streamed_, workspace_, ldx(), stream, true);  // programmatic dependent launch: the weight is never written
    write_adapter(workspace_, stream, false);  // A^T is set with A (set_adapter)
    return workspace_;
  }

  int in_, out_, r_;
  float scale_;
  double dropout_;
  DeviceBuffer<__nv_bfloat16> p_;  // [[W, s*B], [A, 0]] when the layer keeps its own bf16 base
  Nf4View streamed_;               // the NF4 base when it is dequantized per call ...
  __nv_bfloat16* workspace_ = nullptr;  // ... into this caller's P-sized buffer
  DeviceBuffer<__nv_bfloat16> a16_;     // A in bf16 [r, in]
  DeviceBuffer<__nv_bfloat16> at_;      // A^T [in, r]
  DeviceBuffer<float> b_;
  DeviceBuffer<float> da_, db_;
  DeviceBuffer<__nv_bfloat16> h_scratch_;  // the cuBLAS path's dropout(x)
  kernels::RowReduceWorkspace reduce_ws_;  // lora_row_reduce's partial sums and counts (with dropout kernels)
};

}  // namespace kspam::cuda

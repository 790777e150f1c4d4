#pragma once
// LoRA on the GPU: y = base(x) + s * dropout(x) A^T B^T and its backward, with the low-rank products
// folded into the base GEMMs wherever the algebra allows, so the big GEMMs simply get r more rows or
// columns of K instead of the low-rank terms costing extra passes over the activations.
//
// The GEMMs read one bf16 matrix P = [[W, s*B], [A, 0]] of shape [out + r, in + r] (row stride in + r): either the
// layer's own copy, or (set_base_nf4_streamed, QLoRA's memory saving) a caller's workspace that each forward and
// backward refills from the NF4 weight, A and B, so only 0.5 byte per base weight stays resident.
// Activations carry r spare columns: xcat = [x | u] ([M, in + r]) and dycat = [dy | du] ([M, out + r]).
//   forward:  u = h A^T                          (GEMM into xcat's spare columns; h = x, or with dropout
//                                                 kernels::lora_project: one pass over x, h written for backward)
//             y = [x | u] P[:out, :]^T = x W^T + s u B^T        (GEMM, K = in + r)
//   backward: du = dy (s B)                      (GEMM, into dycat's spare columns)
//             dx = [dy | du] P[:, :in] = dy W + du A           (GEMM, K = out + r; no dropout)
//             dx = dy W, then dx += (du A) * mask              (GEMM + one fused kernel; with dropout)
//             dA += du^T h,  dB += s dy^T u      (two skinny GEMMs, fp32 gradients)
// (lora_project needs in % 128 == 0 and r in {8, 16, 32}; other shapes use a mask kernel and cuBLAS.)
// h = dropout(x) uses nn::dropout_multiplier, the same rule as the CPU LoraLinear, so both backends draw
// the same mask from the same seed. bf16 operands, fp32 accumulation; the CPU reference
// (nn/lora_linear.hpp) is fp32, and tests/gpu/test_lora.cu compares them on random inputs.
#include <cstdint>
#include <span>
#include <vector>

#include "kspam/cuda/device_memory.cuh"
#include "kspam/cuda/nf4_quantize.cuh"
#include "kspam/nn/lora_dropout.hpp"
#include "kspam/tensor/half.hpp"

namespace kspam::cuda {

namespace kernels {

// h[i, j] = x[i, j] * multiplier(seed, i * cols + j): the mask index is the element's index in a dense
// [M, in] matrix, as on the CPU.
__global__ void lora_dropout(const __nv_bfloat16* __restrict__ x, int ldx, __nv_bfloat16* __restrict__ h, int M, int cols,
                             std::uint64_t seed, std::uint64_t threshold, float keep_scale) {
  const std::int64_t total = static_cast<std::int64_t>(M) * cols;
  for (std::int64_t e = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const std::int64_t i = e / cols, j = e - i * cols;
    const float m = nn::dropout_multiplier(seed, static_cast<std::uint64_t>(e), threshold, keep_scale);
    h[e] = __float2bfloat16_rn(__bfloat162float(x[i * ldx + j]) * m);
  }
}

// dx[i, j] += mask(i, j) * sum_k du[i, k] A[k, j]: the dropout-masked low-rank part of dx in one pass over
// dx (each thread: 8 consecutive columns of one row), never materialising du A.
__global__ void lora_masked_lowrank_add(const __nv_bfloat16* __restrict__ du, int lddu, const __nv_bfloat16* __restrict__ A, int lda,
                                        __nv_bfloat16* __restrict__ dx, int lddx, int M, int cols, int r, std::uint64_t seed,
                                        std::uint64_t threshold, float keep_scale) {
  const int groups = cols / 8;
  const std::int64_t total = static_cast<std::int64_t>(M) * groups;
  for (std::int64_t g = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; g < total;
       g += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const int i = static_cast<int>(g / groups);
    const int j0 = static_cast<int>(g - static_cast<std::int64_t>(i) * groups) * 8;
    float acc[8] = {};
    for (int k = 0; k < r; ++k) {
      const float d = __bfloat162float(du[static_cast<std::int64_t>(i) * lddu + k]);
      const uint4 av = __ldg(reinterpret_cast<const uint4*>(A + static_cast<std::int64_t>(k) * lda + j0));
      const __nv_bfloat162* a2 = reinterpret_cast<const __nv_bfloat162*>(&av);
#pragma unroll
      for (int t = 0; t < 4; ++t) {
        const float2 f = __bfloat1622float2(a2[t]);
        acc[2 * t] = fmaf(d, f.x, acc[2 * t]);
        acc[2 * t + 1] = fmaf(d, f.y, acc[2 * t + 1]);
      }
    }
    __nv_bfloat16* out = dx + static_cast<std::int64_t>(i) * lddx + j0;
    uint4 ov = *reinterpret_cast<const uint4*>(out);
    __nv_bfloat16* o = reinterpret_cast<__nv_bfloat16*>(&ov);
    const std::uint64_t e0 = static_cast<std::uint64_t>(i) * static_cast<std::uint64_t>(cols) + static_cast<std::uint64_t>(j0);
#pragma unroll
    for (int t = 0; t < 8; ++t) {
      const float m = nn::dropout_multiplier(seed, e0 + static_cast<std::uint64_t>(t), threshold, keep_scale);
      o[t] = __float2bfloat16_rn(__bfloat162float(o[t]) + acc[t] * m);
    }
    *reinterpret_cast<uint4*>(out) = ov;
  }
}

// out[i, n] = sum_k h[i, k] L[n, k] for n < 8 * NT (= r) with h = bf16(x * dropout mask) (the mask index is the
// element's index in a dense [M, K] matrix, as on the CPU), also written to h_out (the backward's dA reads it):
// one pass over x instead of a mask pass that writes h and a GEMM that reads it back. (Without dropout it
// measured no faster than cuBLAS, so only the dropout case uses it.) x rows have stride ldx, L is [r, K] dense, out
// rows have stride ldo. Same layout as the NF4 GEMV's tensor-core kernel: a block owns 16 rows, its 8 warps
// split K in 128-wide spans, lane (g, t) loads 32 consecutive values of rows g and g + 8 and of L rows g + 8j,
// and eight mma.m16n8k16 per span and n-tile use the same k permutation for both operands. Needs K % 128 == 0.
template <int NT>
__global__ void __launch_bounds__(256) lora_project(const __nv_bfloat16* __restrict__ x, int ldx, int M, int K,
                                                    const __nv_bfloat16* __restrict__ L, __nv_bfloat16* __restrict__ out, int ldo,
                                                    __nv_bfloat16* __restrict__ h_out, std::uint64_t seed, std::uint64_t threshold,
                                                    float keep_scale) {
  constexpr int kWarps = 8;
  __shared__ float red[kWarps][16][8 * NT];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int g = lane >> 2, t = lane & 3;
  const int row0 = blockIdx.x * 16;
  const int rows[2] = {min(row0 + g, M - 1), min(row0 + g + 8, M - 1)};
  const bool real[2] = {row0 + g < M, row0 + g + 8 < M};
  const int spans = K / 128;
  const int spw = (spans + kWarps - 1) / kWarps;
  const int mine = max(0, min(spw, spans - warp * spw));
  float c[NT][4] = {};
  for (int i = 0; i < mine; ++i) {
    const int k0 = (warp * spw + i) * 128 + 32 * t;
    uint4 xv[2][4], lv[NT][4];
#pragma unroll
    for (int a = 0; a < 2; ++a)
#pragma unroll
      for (int v = 0; v < 4; ++v) xv[a][v] = __ldg(reinterpret_cast<const uint4*>(x + static_cast<std::int64_t>(rows[a]) * ldx + k0) + v);
#pragma unroll
    for (int j = 0; j < NT; ++j)
#pragma unroll
      for (int v = 0; v < 4; ++v) lv[j][v] = __ldg(reinterpret_cast<const uint4*>(L + static_cast<std::int64_t>(g + 8 * j) * K + k0) + v);
    {
#pragma unroll
      for (int a = 0; a < 2; ++a) {
        __nv_bfloat16* e = reinterpret_cast<__nv_bfloat16*>(&xv[a][0]);
        const std::uint64_t base = static_cast<std::uint64_t>(rows[a]) * static_cast<std::uint64_t>(K) + static_cast<std::uint64_t>(k0);
#pragma unroll
        for (int q = 0; q < 32; ++q)
          e[q] = __float2bfloat16_rn(__bfloat162float(e[q]) * nn::dropout_multiplier(seed, base + q, threshold, keep_scale));
        if (real[a])
#pragma unroll
          for (int v = 0; v < 4; ++v) reinterpret_cast<uint4*>(h_out + base)[v] = xv[a][v];
      }
    }
    const std::uint32_t* wa = reinterpret_cast<const std::uint32_t*>(&xv[0][0]);
    const std::uint32_t* wb = reinterpret_cast<const std::uint32_t*>(&xv[1][0]);
#pragma unroll
    for (int m = 0; m < 8; ++m) {
#pragma unroll
      for (int j = 0; j < NT; ++j) {
        const std::uint32_t* wl = reinterpret_cast<const std::uint32_t*>(&lv[j][0]);
        asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
            : "+f"(c[j][0]), "+f"(c[j][1]), "+f"(c[j][2]), "+f"(c[j][3])
            : "r"(wa[2 * m]), "r"(wb[2 * m]), "r"(wa[2 * m + 1]), "r"(wb[2 * m + 1]), "r"(wl[2 * m]), "r"(wl[2 * m + 1]));
      }
    }
  }
#pragma unroll
  for (int j = 0; j < NT; ++j) {
    red[warp][g][8 * j + 2 * t] = c[j][0];
    red[warp][g][8 * j + 2 * t + 1] = c[j][1];
    red[warp][g + 8][8 * j + 2 * t] = c[j][2];
    red[warp][g + 8][8 * j + 2 * t + 1] = c[j][3];
  }
  __syncthreads();
  for (int o = threadIdx.x; o < 16 * 8 * NT; o += blockDim.x) {
    const int r = o / (8 * NT), n = o % (8 * NT);
    float v = 0.0f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) v += red[w][r][n];
    if (row0 + r < M) out[static_cast<std::int64_t>(row0 + r) * ldo + n] = __float2bfloat16_rn(v);
  }
}

// Wcat[:, in + k] = s * B[:, k]
__global__ void lora_scaled_b(const float* __restrict__ B, int out, int r, float s, __nv_bfloat16* __restrict__ wcat, int in) {
  const int e = blockIdx.x * blockDim.x + threadIdx.x;
  if (e < out * r) {
    const int o = e / r, k = e - o * r;
    wcat[static_cast<std::int64_t>(o) * (in + r) + in + k] = __float2bfloat16_rn(s * B[e]);
  }
}

}  // namespace kernels

inline unsigned elementwise_blocks(std::int64_t n) {
  return static_cast<unsigned>(std::max<std::int64_t>(1, std::min<std::int64_t>((n + 255) / 256, std::int64_t{sm_count()} * 8)));
}

class LoraCudaLayer {
 public:
  LoraCudaLayer(int in, int out, int r, double alpha, double dropout)
      : in_(in), out_(out), r_(r), scale_(static_cast<float>(alpha / r)), dropout_(dropout),
        a16_(static_cast<std::size_t>(r) * in), b_(static_cast<std::size_t>(out) * r),
        da_(static_cast<std::size_t>(r) * in), db_(static_cast<std::size_t>(out) * r) {
    if (r <= 0 || in <= 0 || out <= 0) throw Error("LoraCudaLayer: sizes must be positive");
    if (in % 8 != 0 || r % 8 != 0 || out % 8 != 0) throw Error("LoraCudaLayer: in, out and r must be multiples of 8 (16-byte bf16 rows)");
    a16_.zero();
    b_.zero();
    zero_grad();
  }

  int in() const { return in_; }
  int out() const { return out_; }
  int r() const { return r_; }
  int ldx() const { return in_ + r_; }   // row stride of xcat (and of P)
  int ldy() const { return out_ + r_; }  // row stride of dycat
  float scale() const { return scale_; }
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
    if (p_.size() > 0) write_adapter(p_.data(), nullptr);
    KSPAM_CUDA_CHECK(cudaDeviceSynchronize());
  }
  // After an optimizer step updates B (fp32, on the device).
  void refresh_scaled_b(cudaStream_t stream = nullptr) {
    if (p_.size() > 0) write_adapter(p_.data(), stream);
  }
  void zero_grad() {
    da_.zero();
    db_.zero();
  }
  const DeviceBuffer<float>& grad_A() const { return da_; }
  const DeviceBuffer<float>& grad_B() const { return db_; }

  // xcat [M, in + r]: x in the first in columns; u is written into the rest. y: [M, out].
  // With dropout in training, h ([M, in] scratch, kept for backward) receives dropout(x).
  void forward(cublasHandle_t hd, __nv_bfloat16* xcat, int M, __nv_bfloat16* y, bool training, std::uint64_t seed,
               __nv_bfloat16* h = nullptr, cudaStream_t stream = nullptr) {
    KSPAM_CUBLAS_CHECK(cublasSetStream(hd, stream));
    const bool drop = dropping(training);
    if (drop && h == nullptr) throw Error("LoraCudaLayer::forward: dropout needs an h buffer");
    const __nv_bfloat16* p = base_matrix(stream);
    if (drop && projectable(in_)) {
      // u = dropout(x) A^T in one pass over x, h written on the way (without dropout cuBLAS is as fast).
      project(xcat, ldx(), M, in_, a16_.data(), xcat + in_, ldx(), h, seed, stream);
    } else {
      const __nv_bfloat16* hsrc = xcat;
      int ldh = ldx();
      if (drop) {
        kernels::lora_dropout<<<elementwise_blocks(static_cast<std::int64_t>(M) * in_), 256, 0, stream>>>(
            xcat, ldx(), h, M, in_, seed, nn::dropout_threshold(dropout_), keep_scale());
        KSPAM_CUDA_LAUNCH_CHECK();
        hsrc = h;
        ldh = in_;
      }
      gemm_bf16_rm(hd, false, true, M, r_, in_, 1.0f, hsrc, ldh, a16_.data(), in_, 0.0f, xcat + in_, CUDA_R_16BF, ldx());
    }
    gemm_bf16_rm(hd, false, true, M, out_, ldx(), 1.0f, xcat, ldx(), p, ldx(), 0.0f, y, CUDA_R_16BF, out_);
  }

  // dycat [M, out + r]: dy in the first out columns; du is written into the rest. xcat / h as left by forward.
  // dx [M, in] with row stride lddx receives dL/dx. Gradients of A and B accumulate (fp32).
  void backward(cublasHandle_t hd, __nv_bfloat16* dycat, const __nv_bfloat16* xcat, int M, __nv_bfloat16* dx, int lddx,
                bool training, std::uint64_t seed, const __nv_bfloat16* h = nullptr, cudaStream_t stream = nullptr) {
    KSPAM_CUBLAS_CHECK(cublasSetStream(hd, stream));
    const bool drop = dropping(training);
    __nv_bfloat16* du = dycat + out_;
    const __nv_bfloat16* p = base_matrix(stream);
    // du = dy (s B): s*B is P[:out, in:]
    gemm_bf16_rm(hd, false, false, M, r_, out_, 1.0f, dycat, ldy(), p + in_, ldx(), 0.0f, du, CUDA_R_16BF, ldy());
    if (!drop) {
      // dx = [dy | du] [W ; A]: P's first in columns, all out + r rows.
      gemm_bf16_rm(hd, false, false, M, in_, out_ + r_, 1.0f, dycat, ldy(), p, ldx(), 0.0f, dx, CUDA_R_16BF, lddx);
    } else {
      gemm_bf16_rm(hd, false, false, M, in_, out_, 1.0f, dycat, ldy(), p, ldx(), 0.0f, dx, CUDA_R_16BF, lddx);
      kernels::lora_masked_lowrank_add<<<elementwise_blocks(static_cast<std::int64_t>(M) * in_ / 8), 256, 0, stream>>>(
          du, ldy(), a16_.data(), in_, dx, lddx, M, in_, r_, seed, nn::dropout_threshold(dropout_), keep_scale());
      KSPAM_CUDA_LAUNCH_CHECK();
      if (h == nullptr) throw Error("LoraCudaLayer::backward: dropout needs the h buffer from forward");
    }
    const __nv_bfloat16* hsrc = drop ? h : xcat;
    const int ldh = drop ? in_ : ldx();
    // dA += du^T h  ([r, M] x [M, in])
    gemm_bf16_rm(hd, true, false, r_, in_, M, 1.0f, du, ldy(), hsrc, ldh, 1.0f, da_.data(), CUDA_R_32F, in_);
    // dB += s dy^T u  ([out, M] x [M, r])
    gemm_bf16_rm(hd, true, false, out_, r_, M, scale_, dycat, ldy(), xcat + in_, ldx(), 1.0f, db_.data(), CUDA_R_32F, r_);
  }

 private:
  bool dropping(bool training) const { return training && dropout_ > 0.0; }
  // With dropout, u = dropout(x) A^T runs as kernels::lora_project when its shape rules hold.
  bool projectable(int k) const { return k % 128 == 0 && (r_ == 8 || r_ == 16 || r_ == 32); }
  void project(const __nv_bfloat16* x, int ldx_, int M, int K, const __nv_bfloat16* L, __nv_bfloat16* out, int ldo, __nv_bfloat16* h,
               std::uint64_t seed, cudaStream_t stream) {
    if (M <= 0) return;
    const auto blocks = static_cast<unsigned>((M + 15) / 16);
    const std::uint64_t threshold = nn::dropout_threshold(dropout_);
    const float keep = keep_scale();
#define KSPAM_LORA_PROJECT(NT) kernels::lora_project<NT><<<blocks, 256, 0, stream>>>(x, ldx_, M, K, L, out, ldo, h, seed, threshold, keep);
    if (r_ == 8) {
      KSPAM_LORA_PROJECT(1)
    } else if (r_ == 16) {
      KSPAM_LORA_PROJECT(2)
    } else {
      KSPAM_LORA_PROJECT(4)
    }
#undef KSPAM_LORA_PROJECT
    KSPAM_CUDA_LAUNCH_CHECK();
  }
  float keep_scale() const { return static_cast<float>(1.0 / (1.0 - dropout_)); }
  void own_p() {
    if (p_.size() == 0) {
      p_ = DeviceBuffer<__nv_bfloat16>(workspace_elements());
      p_.zero();
    }
    workspace_ = nullptr;
    write_adapter(p_.data(), nullptr);
  }
  // A into P's bottom rows, s*B into its right columns.
  void write_adapter(__nv_bfloat16* p, cudaStream_t stream) {
    KSPAM_CUDA_CHECK(cudaMemcpy2DAsync(p + static_cast<std::size_t>(out_) * ldx(), sizeof(__nv_bfloat16) * ldx(), a16_.data(),
                                       sizeof(__nv_bfloat16) * in_, sizeof(__nv_bfloat16) * in_, r_, cudaMemcpyDeviceToDevice, stream));
    kernels::lora_scaled_b<<<(out_ * r_ + 255) / 256, 256, 0, stream>>>(b_.data(), out_, r_, scale_, p, in_);
    KSPAM_CUDA_LAUNCH_CHECK();
  }
  // P for this call: the layer's own, or (streamed NF4 base) the workspace filled now.
  const __nv_bfloat16* base_matrix(cudaStream_t stream) {
    if (workspace_ == nullptr) {
      if (p_.size() == 0) throw Error("LoraCudaLayer: no base weight set");
      return p_.data();
    }
    nf4_dequantize(streamed_, workspace_, ldx(), stream);
    write_adapter(workspace_, stream);
    return workspace_;
  }

  int in_, out_, r_;
  float scale_;
  double dropout_;
  DeviceBuffer<__nv_bfloat16> p_;  // [[W, s*B], [A, 0]] when the layer keeps its own bf16 base
  Nf4View streamed_;               // the NF4 base when it is dequantized per call ...
  __nv_bfloat16* workspace_ = nullptr;  // ... into this caller's P-sized buffer
  DeviceBuffer<__nv_bfloat16> a16_;  // A in bf16 [r, in]
  DeviceBuffer<float> b_;
  DeviceBuffer<float> da_, db_;
};

}  // namespace kspam::cuda

#pragma once
// LoraLinear<Base>: a frozen base weight plus a trainable low-rank update, the layer QLoRA trains.
//
//   y = base(x) + scale * dropout(x) A^T B^T,   scale = alpha / r  (alpha / sqrt(r) with rsLoRA)
//
// Base is a weight type, not a flag: FrozenDenseWeight (fp32 values, e.g. a widened bf16 checkpoint tensor) or
// Nf4Weight (bitsandbytes NF4, dequantized to bf16 values on the fly, as Linear4bit computes). Both give
// y = x W^T and dx = dy W and never a gradient for W. Initialisation follows PEFT (LoraLayer.
// reset_lora_parameters with init_lora_weights=True): A ~ kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(in),
// 1/sqrt(in)), B = 0, so a fresh adapter leaves the base output unchanged.
// This is the CPU reference (fp32, Eigen); include/kspam/cuda/lora.cuh is the CUDA twin, tested against it.
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>

#include "kspam/backend/cpu/lora_ops.hpp"
#include "kspam/backend/cpu/nf4_matmul.hpp"
#include "kspam/core/error.hpp"
#include "kspam/core/rng.hpp"
#include "kspam/nn/lora_dropout.hpp"
#include "kspam/quant/nf4_tensor.hpp"

namespace kspam::nn {

using backend::cpu::MatrixRM;

struct LoraConfig {
  int r = 16;
  double alpha = 32.0;
  double dropout = 0.05;
  bool use_rslora = false;

  double scale() const { return use_rslora ? alpha / std::sqrt(static_cast<double>(r)) : alpha / r; }
  void validate() const {
    if (r <= 0) throw InputError("", 0, "r", std::to_string(r), "LoRA rank must be positive");
    if (!(alpha > 0.0) || !std::isfinite(alpha)) throw InputError("", 0, "lora_alpha", std::to_string(alpha), "LoRA alpha must be a positive number");
    if (!(dropout >= 0.0 && dropout < 1.0)) throw InputError("", 0, "lora_dropout", std::to_string(dropout), "LoRA dropout must be in [0, 1)");
  }
};

// A frozen dense base for LoRA (distinct from nn::DenseWeight<B>, the model's backend weight).
class FrozenDenseWeight {
 public:
  FrozenDenseWeight() = default;
  explicit FrozenDenseWeight(MatrixRM w) : w_(std::move(w)) {}
  Eigen::Index out_features() const { return w_.rows(); }
  Eigen::Index in_features() const { return w_.cols(); }
  MatrixRM forward(const MatrixRM& x) const { return x * w_.transpose(); }
  MatrixRM backward_input(const MatrixRM& dy) const { return dy * w_; }
  MatrixRM dense() const { return w_; }
  const MatrixRM& weight() const { return w_; }

 private:
  MatrixRM w_;
};

class Nf4Weight {
 public:
  Nf4Weight() = default;
  explicit Nf4Weight(quant::Nf4Tensor q) : q_(std::move(q)) {
    if (q_.shape.size() != 2) throw Error("Nf4Weight: a linear weight must be 2-D [out, in]");
  }
  Eigen::Index out_features() const { return q_.rows(); }
  Eigen::Index in_features() const { return q_.cols(); }
  MatrixRM forward(const MatrixRM& x) const { return backend::cpu::nf4_matmul_xwt(x, q_); }
  MatrixRM backward_input(const MatrixRM& dy) const { return backend::cpu::nf4_matmul_dyw(dy, q_); }
  MatrixRM dense() const { return backend::cpu::nf4_dense(q_); }
  const quant::Nf4Tensor& quantized() const { return q_; }

 private:
  quant::Nf4Tensor q_;
};

template <typename Base>
class LoraLinear {
 public:
  LoraLinear(Base base, LoraConfig config, std::uint64_t init_seed) : base_(std::move(base)), config_(config) {
    config_.validate();
    const Eigen::Index in = base_.in_features();
    A_.resize(config_.r, in);
    B_ = MatrixRM::Zero(base_.out_features(), config_.r);
    // kaiming_uniform_(a=sqrt(5)): gain = sqrt(2 / (1 + 5)), bound = gain * sqrt(3 / fan_in) = 1 / sqrt(fan_in).
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));
    Rng rng(init_seed);
    for (Eigen::Index i = 0; i < A_.size(); ++i) A_.data()[i] = static_cast<float>(rng.uniform(-bound, bound));
    zero_grad();
  }

  const Base& base() const { return base_; }
  const LoraConfig& config() const { return config_; }
  float scale() const { return static_cast<float>(config_.scale()); }
  MatrixRM& lora_A() { return A_; }
  MatrixRM& lora_B() { return B_; }
  const MatrixRM& lora_A() const { return A_; }
  const MatrixRM& lora_B() const { return B_; }
  const MatrixRM& grad_A() const { return dA_; }
  const MatrixRM& grad_B() const { return dB_; }
  void zero_grad() {
    dA_ = MatrixRM::Zero(A_.rows(), A_.cols());
    dB_ = MatrixRM::Zero(B_.rows(), B_.cols());
  }

  // Inference, or training with dropout drawn from `dropout_seed` (x[i, j] keeps or drops by
  // DropoutMask(seed, p).multiplier(i, j), the same rule the CUDA kernels use).
  MatrixRM forward(const MatrixRM& x, bool training, std::uint64_t dropout_seed = 0) {
    check_input(x);
    if (!training || config_.dropout == 0.0) return forward_with_mask(x, nullptr);
    MatrixRM mask(x.rows(), x.cols());
    const DropoutMask dropout(dropout_seed, config_.dropout);
    for (Eigen::Index i = 0; i < mask.rows(); ++i) {
      const std::uint32_t key = dropout.row_key(static_cast<std::uint32_t>(i));
      for (Eigen::Index j = 0; j < mask.cols(); ++j) mask(i, j) = dropout.multiplier_in_row(key, static_cast<std::uint32_t>(j));
    }
    return forward_with_mask(x, &mask);
  }

  // Forward with an explicit dropout multiplier per input element (0 or 1/(1-p)); null = no dropout.
  MatrixRM forward_with_mask(const MatrixRM& x, const MatrixRM* mask) {
    check_input(x);
    has_mask_ = mask != nullptr;
    if (has_mask_) {
      if (mask->rows() != x.rows() || mask->cols() != x.cols()) throw Error("LoraLinear: dropout mask shape differs from the input");
      mask_ = *mask;
      h_ = x.cwiseProduct(mask_);
    } else {
      h_ = x;
    }
    MatrixRM y = base_.forward(x);
    u_ = backend::cpu::lora_forward_add(h_, A_, B_, scale(), y);
    return y;
  }

  // Accumulates dL/dA and dL/dB for the last forward and returns dL/dx. The base weight gets no gradient.
  MatrixRM backward(const MatrixRM& dy) {
    if (dy.rows() != h_.rows() || dy.cols() != base_.out_features()) throw Error("LoraLinear: gradient shape does not match the last forward");
    MatrixRM dh;
    backend::cpu::lora_backward(dy, h_, u_, A_, B_, scale(), dA_, dB_, dh);
    MatrixRM dx = base_.backward_input(dy);
    if (has_mask_) {
      dx.noalias() += dh.cwiseProduct(mask_);
    } else {
      dx.noalias() += dh;
    }
    return dx;
  }

  // W + scale * B A as a dense fp32 matrix (the base dequantized first when it is NF4).
  MatrixRM merged_weight() const { return base_.dense() + scale() * (B_ * A_); }

 private:
  void check_input(const MatrixRM& x) const {
    if (x.cols() != base_.in_features()) {
      throw Error("LoraLinear: input has " + std::to_string(x.cols()) + " features, layer expects " + std::to_string(base_.in_features()));
    }
  }

  Base base_;
  LoraConfig config_;
  MatrixRM A_, B_, dA_, dB_;
  MatrixRM h_, u_, mask_;
  bool has_mask_ = false;
};

// Merging folds the adapter into a dense weight; unmerging takes it back out (exact up to fp32 rounding).
template <typename Base>
FrozenDenseWeight merge_lora(const LoraLinear<Base>& layer) { return FrozenDenseWeight(layer.merged_weight()); }

inline FrozenDenseWeight unmerge_lora(const FrozenDenseWeight& merged, const MatrixRM& A, const MatrixRM& B, float scale) {
  return FrozenDenseWeight(merged.weight() - scale * (B * A));
}

}  // namespace kspam::nn

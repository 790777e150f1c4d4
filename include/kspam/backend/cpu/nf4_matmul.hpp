#pragma once
// Matrix products with an NF4 weight W [out, in] on the CPU reference backend. W is dequantized one
// output row at a time into a bf16-rounded fp32 row (the values bitsandbytes' Linear4bit multiplies
// with when the compute dtype is bf16), so no full-precision copy of the weight is ever held.
#include <cstdint>
#include <vector>

#include <Eigen/Dense>

#include "kspam/backend/cpu/lora_ops.hpp"
#include "kspam/core/error.hpp"
#include "kspam/core/thread_pool.hpp"
#include "kspam/quant/nf4_tensor.hpp"
#include "kspam/tensor/half.hpp"

namespace kspam::backend::cpu {

// Row `row` of the dequantized weight, rounded to bf16 and widened back to fp32.
inline void nf4_dequantize_row(const quant::Nf4Tensor& w, const std::vector<float>& scales, std::int64_t row,
                               float* out) {
  const auto cols = static_cast<std::size_t>(w.cols());
  const std::size_t base = static_cast<std::size_t>(row) * cols;
  const auto bs = static_cast<std::size_t>(w.blocksize);
  for (std::size_t j = 0; j < cols; ++j) {
    const std::size_t i = base + j;
    out[j] = tensor::round_to_bf16(w.quant_map[w.code(i)] * scales[i / bs]);
  }
}

// The whole weight as a dense fp32 matrix of bf16-rounded values.
inline MatrixRM nf4_dense(const quant::Nf4Tensor& w) {
  MatrixRM d(w.rows(), w.cols());
  const std::vector<float> scales = w.block_scales();
  for (std::int64_t r = 0; r < w.rows(); ++r) nf4_dequantize_row(w, scales, r, d.row(r).data());
  return d;
}

// y = x W^T  ([n, in] x [in, out]).
inline MatrixRM nf4_matmul_xwt(const MatrixRM& x, const quant::Nf4Tensor& w) {
  if (x.cols() != w.cols()) throw Error("nf4_matmul: input has " + std::to_string(x.cols()) + " features, weight expects " + std::to_string(w.cols()));
  MatrixRM y(x.rows(), w.rows());
  const std::vector<float> scales = w.block_scales();
  parallel_for(0, static_cast<std::size_t>(w.rows()), [&](std::size_t r) {
    Eigen::VectorXf row(w.cols());
    nf4_dequantize_row(w, scales, static_cast<std::int64_t>(r), row.data());
    y.col(static_cast<Eigen::Index>(r)) = x * row;
  }, 0, 16);
  return y;
}

// dx = dy W  ([n, out] x [out, in]).
inline MatrixRM nf4_matmul_dyw(const MatrixRM& dy, const quant::Nf4Tensor& w) {
  if (dy.cols() != w.rows()) throw Error("nf4_matmul: gradient has " + std::to_string(dy.cols()) + " outputs, weight has " + std::to_string(w.rows()));
  MatrixRM dx = MatrixRM::Zero(dy.rows(), w.cols());
  const std::vector<float> scales = w.block_scales();
  Eigen::Matrix<float, 1, Eigen::Dynamic> row(w.cols());
  for (std::int64_t r = 0; r < w.rows(); ++r) {
    nf4_dequantize_row(w, scales, r, row.data());
    dx.noalias() += dy.col(r) * row;
  }
  return dx;
}

}  // namespace kspam::backend::cpu

#pragma once
// The CPU reference backend's LoRA math in fp32 (Eigen), written out as the equations so each line can
// be checked against PEFT's autograd (tests/nn/test_lora.cpp):
//   h  = dropout(x)                      [n, in]
//   u  = h A^T                           [n, r]
//   y  = base(x) + s * u B^T             [n, out]       s = alpha / r
// backward, given dy = dL/dy:
//   dB = s * dy^T u                      [out, r]
//   du = s * dy B                        [n, r]
//   dA = du^T h                          [r, in]
//   dx = base_backward(dy) + (du A) * mask
#include <Eigen/Dense>

namespace kspam::backend::cpu {

using MatrixRM = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// y += s * (h A^T) B^T; returns u = h A^T (kept for the backward pass).
inline MatrixRM lora_forward_add(const MatrixRM& h, const MatrixRM& A, const MatrixRM& B, float s, MatrixRM& y) {
  MatrixRM u = h * A.transpose();
  y.noalias() += s * (u * B.transpose());
  return u;
}

// Accumulates dA and dB; adds the low-rank part of dx (before the dropout mask) into dh.
inline void lora_backward(const MatrixRM& dy, const MatrixRM& h, const MatrixRM& u, const MatrixRM& A,
                          const MatrixRM& B, float s, MatrixRM& dA, MatrixRM& dB, MatrixRM& dh) {
  dB.noalias() += s * (dy.transpose() * u);
  const MatrixRM du = s * (dy * B);
  dA.noalias() += du.transpose() * h;
  dh.noalias() = du * A;
}

}  // namespace kspam::backend::cpu

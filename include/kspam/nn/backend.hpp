#pragma once
// The Backend concept: what a compute engine must provide for the layers in nn/ and the model in
// model/ to run on it. backend::cpu::Backend is the reference; a CUDA backend supplies the same static
// functions over device tensors. Activations are 2-D: rows are tokens, columns features.
#include <concepts>
#include <utility>
#include <vector>

namespace kspam::nn {

template <typename B>
concept Backend = requires(typename B::Matrix& m, const typename B::Matrix& c, const typename B::Vector& v,
                           long n, float eps, const std::vector<std::pair<long, long>>& segments) {
  typename B::Matrix;
  typename B::Vector;
  { B::matmul_nt(c, c) } -> std::convertible_to<typename B::Matrix>;
  B::add_bias(m, v);
  { B::group_rows(c, n) } -> std::convertible_to<typename B::Matrix>;
  B::rms_norm(m, v, eps, n);
  { B::layer_norm(c, v, v, eps) } -> std::convertible_to<typename B::Matrix>;
  B::gelu_tanh(m);
  B::gelu_erf(m);
  { B::swiglu(c, c) } -> std::convertible_to<typename B::Matrix>;
  B::apply_rotary(m, n, n, c, c);
  { B::attention(c, c, c, n, n, n, true, n) } -> std::convertible_to<typename B::Matrix>;
};

}  // namespace kspam::nn

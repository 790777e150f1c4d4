#pragma once
// nn::Linear<B, Weight>: y = x · Wᵀ (+ b), the projection every model layer goes through. The weight
// is a type, not a flag: DenseWeight<B> holds an fp32 [out, in] matrix; other weight types (NF4,
// a LoRA wrapper around a base Linear) provide the same `matmul(x)` / `forward(x)` and slot into the
// decoder's projection parameter (model::TextDecoder<B, Proj>).
#include "kspam/nn/backend.hpp"

namespace kspam::nn {

template <Backend B>
struct DenseWeight {
  typename B::Matrix w;  // [out_features, in_features], as torch.nn.Linear stores it

  long in_features() const { return static_cast<long>(w.cols()); }
  long out_features() const { return static_cast<long>(w.rows()); }
  typename B::Matrix matmul(const typename B::Matrix& x) const { return B::matmul_nt(x, w); }
};

template <Backend B, typename Weight = DenseWeight<B>>
struct Linear {
  Weight weight;
  typename B::Vector bias;  // empty when the layer has none
  bool has_bias = false;

  long in_features() const { return weight.in_features(); }
  long out_features() const { return weight.out_features(); }
  typename B::Matrix forward(const typename B::Matrix& x) const {
    typename B::Matrix y = weight.matmul(x);
    if (has_bias) B::add_bias(y, bias);
    return y;
  }
};

}  // namespace kspam::nn

#pragma once
// Reads named weights out of a checkpoint into backend matrices, checking each shape against what the
// config implies, so a checkpoint that does not fit its config.json fails with the tensor's name, the
// shape found and the shape expected. bf16, f16 and f32 tensors are all widened to fp32.
#include <cstdint>
#include <string>
#include <vector>

#include "kspam/core/error.hpp"
#include "kspam/nn/backend.hpp"
#include "kspam/nn/linear.hpp"
#include "kspam/tensor/safetensors.hpp"

namespace kspam::model {

class WeightReader {
 public:
  explicit WeightReader(const tensor::Checkpoint& checkpoint) : checkpoint_(checkpoint) {}

  bool contains(const std::string& name) const { return checkpoint_.contains(name); }

  // A weight whose dims multiply out to rows x cols with the leading dim = rows (a Conv3d kernel
  // [out, C, T, P, P] is read as [out, C*T*P*P]).
  template <nn::Backend B>
  typename B::Matrix matrix(const std::string& name, std::int64_t rows, std::int64_t cols,
                            bool flatten_trailing = false) const {
    const auto& t = fetch(name);
    bool ok = !t.shape.empty() && t.shape[0] == rows;
    if (ok && flatten_trailing) {
      std::int64_t rest = 1;
      for (std::size_t i = 1; i < t.shape.size(); ++i) rest *= t.shape[i];
      ok = rest == cols;
    } else if (ok) {
      ok = t.shape.size() == 2 && t.shape[1] == cols;
    }
    if (!ok) mismatch(t, "[" + std::to_string(rows) + ", " + std::to_string(cols) + "]");
    typename B::Matrix m(rows, cols);
    t.copy_f32(m.data());
    return m;
  }

  template <nn::Backend B>
  typename B::Vector vector(const std::string& name, std::int64_t n) const {
    const auto& t = fetch(name);
    if (t.shape.size() != 1 || t.shape[0] != n) mismatch(t, "[" + std::to_string(n) + "]");
    typename B::Vector v(n);
    t.copy_f32(v.data());
    return v;
  }

  template <nn::Backend B>
  nn::Linear<B> linear(const std::string& prefix, std::int64_t out, std::int64_t in, bool bias) const {
    nn::Linear<B> l;
    l.weight.w = matrix<B>(prefix + ".weight", out, in);
    if (bias) {
      l.bias = vector<B>(prefix + ".bias", out);
      l.has_bias = true;
    }
    return l;
  }

 private:
  const tensor::TensorView& fetch(const std::string& name) const {
    if (!checkpoint_.contains(name)) {
      throw InputError(checkpoint_.description(), 0, "", name, "checkpoint is missing a weight the config requires");
    }
    const auto& t = checkpoint_.get(name);
    if (!tensor::is_floating(t.dtype)) {
      throw InputError(checkpoint_.description(), 0, "", name,
                       "weight has dtype " + std::string(tensor::dtype_name(t.dtype)) + ", expected F32, BF16 or F16");
    }
    return t;
  }
  [[noreturn]] void mismatch(const tensor::TensorView& t, const std::string& expected) const {
    throw InputError(checkpoint_.description(), 0, "", t.name,
                     "weight has shape " + tensor::shape_string(t.shape) + " but config.json implies " + expected);
  }

  const tensor::Checkpoint& checkpoint_;
};

}  // namespace kspam::model

#pragma once
// Per-layer key/value cache of one sequence: K after q/k-norm and rotary, and V, one row per cached
// token ([tokens, kv_heads * head_dim]). Grows by doubling so decoding appends in amortised O(1).
#include <algorithm>
#include <vector>

#include "kspam/nn/backend.hpp"

namespace kspam::model {

template <nn::Backend B>
class KVCache {
 public:
  KVCache(long layers, long width) : keys_(static_cast<std::size_t>(layers)), values_(static_cast<std::size_t>(layers)), width_(width) {
    for (auto& k : keys_) k.resize(0, width);
    for (auto& v : values_) v.resize(0, width);
  }

  // Tokens cached so far (the same for every layer once a step completes).
  long length() const { return length_; }

  // Appends a step's rows for `layer`; returns views of all cached rows (old + new).
  void append(long layer, const typename B::Matrix& k, const typename B::Matrix& v) {
    auto& K = keys_[static_cast<std::size_t>(layer)];
    auto& V = values_[static_cast<std::size_t>(layer)];
    const long need = length_ + k.rows();
    if (K.rows() < need) {
      const long cap = std::max<long>(need, 2 * static_cast<long>(K.rows()));
      typename B::Matrix K2(cap, width_), V2(cap, width_);
      K2.topRows(length_) = K.topRows(length_);
      V2.topRows(length_) = V.topRows(length_);
      K.swap(K2);
      V.swap(V2);
    }
    K.middleRows(length_, k.rows()) = k;
    V.middleRows(length_, v.rows()) = v;
  }
  // Rows 0 .. length() + pending of a layer (pending = rows appended in the current step).
  auto keys(long layer, long rows) const { return keys_[static_cast<std::size_t>(layer)].topRows(rows); }
  auto values(long layer, long rows) const { return values_[static_cast<std::size_t>(layer)].topRows(rows); }
  // Marks the step's rows as cached (after every layer appended them).
  void commit(long rows) { length_ += rows; }

 private:
  std::vector<typename B::Matrix> keys_, values_;
  long width_;
  long length_ = 0;
};

}  // namespace kspam::model

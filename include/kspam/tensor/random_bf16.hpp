#pragma once
// Reproducible bf16 data for tests and benchmarks: n values drawn from normal(0, scale) with a seeded Rng,
// rounded to bf16 and returned as their bits (tensor::bf16_to_f32 widens them; cuda::upload_bf16 puts them on
// a GPU).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "kspam/core/rng.hpp"
#include "kspam/tensor/half.hpp"

namespace kspam::tensor {

inline std::vector<std::uint16_t> random_bf16(std::size_t n, double scale, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<std::uint16_t> v(n);
  for (auto& b : v) b = f32_to_bf16(static_cast<float>(rng.normal() * scale));
  return v;
}

}  // namespace kspam::tensor

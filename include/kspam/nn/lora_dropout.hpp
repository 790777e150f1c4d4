#pragma once
// The dropout mask LoRA applies to its input, as a pure function of (seed, element index), so the CPU
// and CUDA backends draw the same mask without sharing a generator state and a step can be replayed
// for the backward pass without storing the mask.
//
// keep(i) = splitmix64(seed ^ golden * (i + 1)) >= p * 2^64; kept elements are scaled by 1 / (1 - p)
// (inverted dropout, as torch.nn.Dropout in PEFT's LoraLayer). The statistics (keep rate 1 - p,
// independence across elements) are tested in tests/nn/test_lora.cpp; PEFT's own mask comes from
// torch's generator and cannot be reproduced, so parity with PEFT is checked by feeding PEFT's
// recorded mask through the same code path (LoraLinear::forward_with_mask).
#include <cstdint>

#include "kspam/core/host_device.hpp"

namespace kspam::nn {

KSPAM_HOST_DEVICE std::uint64_t dropout_hash(std::uint64_t seed, std::uint64_t index) {
  std::uint64_t z = seed ^ (0x9e3779b97f4a7c15ULL * (index + 1));
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// p as a 64-bit threshold, computed once on the host: values below are dropped.
inline std::uint64_t dropout_threshold(double p) {
  if (p <= 0.0) return 0;
  if (p >= 1.0) return ~std::uint64_t{0};
  return static_cast<std::uint64_t>(p * 18446744073709551616.0);
}

// The multiplier of element `index`: 0 (dropped) or 1 / (1 - p) (kept).
KSPAM_HOST_DEVICE float dropout_multiplier(std::uint64_t seed, std::uint64_t index, std::uint64_t threshold,
                                           float keep_scale) {
  if (threshold == 0) return 1.0f;
  return dropout_hash(seed, index) >= threshold ? keep_scale : 0.0f;
}

}  // namespace kspam::nn

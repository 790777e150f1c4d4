#pragma once
// The dropout mask LoRA applies to its input, as a pure function of (seed, row, column), so the CPU and
// CUDA backends draw the same mask without sharing a generator state, and the backward pass redraws the
// forward's mask instead of storing it.
//
// keep(row, col) = mix32(row_key(row) ^ col) >= p * 2^32, row_key(row) = mix32(seed_key ^ mix32(row + golden)),
// with mix32 a bijective 32-bit integer hash (two multiplies, three xor-shifts). It is 32-bit on purpose: the
// GPU draws one value per input element inside memory-bound kernels, where a 64-bit hash (emulated 64-bit
// multiplies) measured slower than the memory traffic it rides on. Kept elements are scaled by 1 / (1 - p)
// (inverted dropout, as torch.nn.Dropout in PEFT's LoraLayer). The statistics (keep rate 1 - p, independence
// across neighbours in a row and down a column) are tested in tests/nn/test_lora.cpp; PEFT's own mask comes
// from torch's generator and cannot be reproduced, so parity with PEFT is checked by feeding PEFT's recorded
// mask through the same code path (LoraLinear::forward_with_mask).
#include <cmath>
#include <cstdint>

#include "kspam/core/host_device.hpp"

namespace kspam::nn {

// A bijective 32-bit mixer ("lowbias32", constants found by Chris Wellons' hash-prospector search).
KSPAM_HOST_DEVICE std::uint32_t mix32(std::uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

struct DropoutMask {
  std::uint32_t seed_key = 0;
  std::uint32_t threshold = 0;  // an element is dropped when its hash is below this; 0 = no dropout
  float keep_scale = 1.0f;      // 1 / (1 - p)

  DropoutMask() = default;
  // p in [0, 1) (LoraConfig checks it).
  DropoutMask(std::uint64_t seed, double p)
      : seed_key(mix32(static_cast<std::uint32_t>(seed) ^ mix32(static_cast<std::uint32_t>(seed >> 32) ^ 0x85ebca6bU))),
        threshold(p <= 0.0 ? 0U : static_cast<std::uint32_t>(std::fmin(std::ceil(p * 4294967296.0), 4294967295.0))),
        keep_scale(static_cast<float>(1.0 / (1.0 - p))) {}

  KSPAM_HOST_DEVICE bool active() const { return threshold != 0; }
  KSPAM_HOST_DEVICE std::uint32_t row_key(std::uint32_t row) const { return mix32(seed_key ^ mix32(row + 0x9e3779b9U)); }
  KSPAM_HOST_DEVICE bool keep(std::uint32_t row_key, std::uint32_t col) const { return mix32(row_key ^ col) >= threshold; }
  // The multiplier of x[row, col]: 0 (dropped) or 1 / (1 - p) (kept); 1 without dropout. The first form takes the
  // row's key, for loops that walk a row.
  KSPAM_HOST_DEVICE float multiplier_in_row(std::uint32_t row_key_value, std::uint32_t col) const {
    if (!active()) return 1.0f;
    return keep(row_key_value, col) ? keep_scale : 0.0f;
  }
  KSPAM_HOST_DEVICE float multiplier(std::uint32_t row, std::uint32_t col) const { return multiplier_in_row(row_key(row), col); }
};

}  // namespace kspam::nn

#pragma once
// The dropout mask LoRA applies to its input, as a pure function of (seed, row, column), so the CPU and
// CUDA backends draw the same mask without sharing a generator state, and the backward pass redraws the
// forward's mask instead of storing it.
//
// Columns come in pairs that share one 32-bit draw, a 16-bit half each:
//   h = mix32(row_key(row) ^ (col / 2)),  keep(row, col) = (col even ? h & 0xffff : h >> 16) >= ceil(p * 2^16),
//   row_key(row) = mix32(seed_key ^ mix32(row + golden)),
// with mix32 a bijective 32-bit integer hash (two multiplies, three xor-shifts). Both choices are for the GPU,
// which draws the mask inside memory-bound kernels: a 64-bit hash (emulated 64-bit multiplies) measured slower
// than the memory traffic it rides on, and one hash per pair instead of per element halves the instructions the
// mask costs there. p is thus rounded up to a multiple of 2^-16 (0.05 drops 3277 / 65536 = 0.050003 of the
// inputs). Kept elements are scaled by 1 / (1 - p) (inverted dropout, as torch.nn.Dropout in PEFT's LoraLayer).
// The statistics (keep rate 1 - p, independence across neighbours in a row and down a column) are tested in
// tests/nn/test_lora.cpp; PEFT's own mask comes from torch's generator and cannot be reproduced, so parity with
// PEFT is checked by feeding PEFT's recorded mask through the same code path (LoraLinear::forward_with_mask).
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
  std::uint32_t threshold = 0;  // ceil(p * 2^16) << 16: a 16-bit draw d is dropped when (d << 16) < threshold; 0 = no dropout
  float keep_scale = 1.0f;      // 1 / (1 - p)

  DropoutMask() = default;
  // p in [0, 1) (LoraConfig checks it).
  DropoutMask(std::uint64_t seed, double p)
      : seed_key(mix32(static_cast<std::uint32_t>(seed) ^ mix32(static_cast<std::uint32_t>(seed >> 32) ^ 0x85ebca6bU))),
        threshold(p <= 0.0 ? 0U : static_cast<std::uint32_t>(std::fmin(std::ceil(p * 65536.0), 65535.0)) << 16),
        keep_scale(static_cast<float>(1.0 / (1.0 - p))) {}

  KSPAM_HOST_DEVICE bool active() const { return threshold != 0; }
  KSPAM_HOST_DEVICE std::uint32_t row_key(std::uint32_t row) const { return mix32(seed_key ^ mix32(row + 0x9e3779b9U)); }
  // Bit 0: column `col` (even) survives; bit 1: column col + 1 does.
  KSPAM_HOST_DEVICE std::uint32_t keep_pair(std::uint32_t row_key, std::uint32_t col) const {
    const std::uint32_t h = mix32(row_key ^ (col >> 1));
    return static_cast<std::uint32_t>((h << 16) >= threshold) | (static_cast<std::uint32_t>(h >= threshold) << 1);
  }
  KSPAM_HOST_DEVICE bool keep(std::uint32_t row_key, std::uint32_t col) const { return ((keep_pair(row_key, col & ~1U) >> (col & 1U)) & 1U) != 0; }
  // The multiplier of x[row, col]: 0 (dropped) or 1 / (1 - p) (kept); 1 without dropout. The first form takes the
  // row's key, for loops that walk a row.
  KSPAM_HOST_DEVICE float multiplier_in_row(std::uint32_t row_key_value, std::uint32_t col) const {
    if (!active()) return 1.0f;
    return keep(row_key_value, col) ? keep_scale : 0.0f;
  }
  KSPAM_HOST_DEVICE float multiplier(std::uint32_t row, std::uint32_t col) const { return multiplier_in_row(row_key(row), col); }
};

}  // namespace kspam::nn

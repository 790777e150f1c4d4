#pragma once
// The NF4 (4-bit NormalFloat) codebook exactly as bitsandbytes publishes it, and the value -> code
// rule bitsandbytes' CUDA quantizer uses, shared by host and device code.
//
// Source: bitsandbytes-foundation/bitsandbytes @ 0155ecc672fc1523ae8dfd6440060f1c404fc8c3,
//   bitsandbytes/backends/utils.py (_NF4_QUANT_TABLE) for the 16 values, and csrc/kernels.cu
//   (dQuantizeNF4, @ 0083b2b51a38eb6c345a80071d9d42993339bd94) for the 15 decision thresholds, which are
//   the midpoints of adjacent codebook values rounded to float. A code is "how many thresholds x is
//   strictly above", so ties go to the lower code and NaN maps to code 0, as in bitsandbytes' kernel
//   (an all-zero block computes 0 * (1/0) = NaN there and stores code 0, which dequantizes to -0).
// Packing: two codes per byte, the element with the lower index in the HIGH nibble
//   (backends/default/ops.py quantize_4bit: packed = q[::2] << 4 | q[1::2]).
#include <array>
#include <cstdint>

#include "kspam/core/host_device.hpp"

namespace kspam::quant {

inline constexpr std::array<float, 16> kNf4Codebook = {
    -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
    -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
    0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
    0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f};

// x is a value already divided by its block's absmax (nominally in [-1, 1]).
KSPAM_HOST_DEVICE std::uint8_t nf4_code(float x) {
  // Branch-free: the sum of 15 comparisons gives the same code as bitsandbytes' 4-level tree.
  int c = (x > -0.8480964004993439f) + (x > -0.6106329262256622f) + (x > -0.4599952697753906f) +
          (x > -0.33967943489551544f) + (x > -0.23460740596055984f) + (x > -0.13791173323988914f) +
          (x > -0.045525018125772476f) + (x > 0.03979014977812767f) + (x > 0.1202552504837513f) +
          (x > 0.2035212516784668f) + (x > 0.2920137718319893f) + (x > 0.3893125355243683f) +
          (x > 0.5016634166240692f) + (x > 0.6427869200706482f) + (x > 0.8614784181118011f);
  return static_cast<std::uint8_t>(c);
}

// Host-side lookup (device code keeps the table in registers or shared memory instead).
inline float nf4_value(std::uint8_t code) { return kNf4Codebook[code & 0x0f]; }

KSPAM_HOST_DEVICE std::uint8_t nf4_pack(std::uint8_t first, std::uint8_t second) {
  return static_cast<std::uint8_t>((first << 4) | (second & 0x0f));
}
KSPAM_HOST_DEVICE std::uint8_t nf4_high(std::uint8_t byte) { return static_cast<std::uint8_t>(byte >> 4); }
KSPAM_HOST_DEVICE std::uint8_t nf4_low(std::uint8_t byte) { return static_cast<std::uint8_t>(byte & 0x0f); }

}  // namespace kspam::quant

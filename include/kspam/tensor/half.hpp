#pragma once
// bf16 and IEEE f16 <-> f32 conversion on raw 16-bit patterns. No dependencies beyond <cstdint> and
// <cstring>, so the same code serves the host and CUDA device code (KSPAM_HOST_DEVICE).
// Rounding is round-to-nearest-even, as PyTorch's casts do; NaN stays NaN (quiet), infinities and
// subnormals are exact.
#include <cstdint>
#include <cstring>

#include "kspam/core/host_device.hpp"

namespace kspam::tensor {

KSPAM_HOST_DEVICE std::uint32_t f32_bits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

KSPAM_HOST_DEVICE float f32_from_bits(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

KSPAM_HOST_DEVICE float bf16_to_f32(std::uint16_t b) { return f32_from_bits(static_cast<std::uint32_t>(b) << 16); }

KSPAM_HOST_DEVICE std::uint16_t f32_to_bf16(float f) {
  const std::uint32_t u = f32_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x0040u);  // quiet NaN
  const std::uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);  // ties to even
  return static_cast<std::uint16_t>((u + rounding) >> 16);
}

// Rounds an f32 to the nearest bf16 value and back (what a bf16 activation would hold).
KSPAM_HOST_DEVICE float round_to_bf16(float f) { return bf16_to_f32(f32_to_bf16(f)); }

KSPAM_HOST_DEVICE float f16_to_f32(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1fu;
  std::uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0x1fu) return f32_from_bits(sign | 0x7f800000u | (mantissa << 13));  // inf / NaN
  if (exponent != 0) return f32_from_bits(sign | ((exponent + 112u) << 23) | (mantissa << 13));
  if (mantissa == 0) return f32_from_bits(sign);  // signed zero
  // Subnormal: value = mantissa * 2^-24, exact in f32.
  int e = -1;
  do {
    ++e;
    mantissa <<= 1;
  } while ((mantissa & 0x400u) == 0);
  return f32_from_bits(sign | (static_cast<std::uint32_t>(112 - e) << 23) | ((mantissa & 0x3ffu) << 13));
}

KSPAM_HOST_DEVICE std::uint16_t f32_to_f16(float f) {
  const std::uint32_t u = f32_bits(f);
  const std::uint16_t sign = static_cast<std::uint16_t>((u >> 16) & 0x8000u);
  const std::uint32_t abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return static_cast<std::uint16_t>(sign | 0x7e00u | ((abs >> 13) & 0x3ffu));  // NaN
  if (abs >= 0x477ff000u) return static_cast<std::uint16_t>(sign | 0x7c00u);  // rounds to >= 65520: inf
  if (abs >= 0x38800000u) {  // normal f16 range (>= 2^-14)
    const std::uint32_t rounded = abs + 0xfffu + ((abs >> 13) & 1u);
    return static_cast<std::uint16_t>(sign | ((rounded - 0x38000000u) >> 13));
  }
  if (abs < 0x33000000u) return sign;  // below half the smallest subnormal (2^-25): zero
  // Subnormal f16: shift the full 24-bit significand, rounding to nearest even.
  const std::uint32_t exponent = abs >> 23;
  const std::uint32_t significand = (abs & 0x7fffffu) | 0x800000u;
  const std::uint32_t shift = 126u - exponent;  // 14..24
  const std::uint32_t half = 1u << (shift - 1);
  const std::uint32_t remainder = significand & ((1u << shift) - 1u);
  std::uint32_t result = significand >> shift;
  if (remainder > half || (remainder == half && (result & 1u))) ++result;
  return static_cast<std::uint16_t>(sign | result);
}

}  // namespace kspam::tensor

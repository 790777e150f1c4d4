#pragma once
// Element types a safetensors file may hold (the subset kspam reads and writes) and their sizes.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace kspam::tensor {

enum class DType : std::uint8_t { F32, F16, BF16, I64, I32, U8 };

constexpr std::size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F16: return 2;
    case DType::BF16: return 2;
    case DType::I64: return 8;
    case DType::I32: return 4;
    case DType::U8: return 1;
  }
  return 0;
}

// The spelling used in safetensors headers.
constexpr std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::I64: return "I64";
    case DType::I32: return "I32";
    case DType::U8: return "U8";
  }
  return "?";
}

constexpr std::optional<DType> dtype_from_name(std::string_view name) {
  for (DType t : {DType::F32, DType::F16, DType::BF16, DType::I64, DType::I32, DType::U8}) {
    if (dtype_name(t) == name) return t;
  }
  return std::nullopt;
}

constexpr bool is_floating(DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16; }

}  // namespace kspam::tensor

#pragma once
// Reading and writing NF4 weights in bitsandbytes' serialised layout, and the "NF4 weight from any
// checkpoint" entry point (a pre-quantized bitsandbytes checkpoint, or bf16/fp32 quantized at load time).
// Host-only (parses the packed quant-state JSON with simdjson).
//
// bitsandbytes' Linear4bit state dict (bitsandbytes/nn/modules.py _save_to_state_dict ->
// functional.py QuantState.as_dict(packed=True), utils.py pack_dict_to_tensor), for a module prefix P:
//   P.weight                                   uint8 [ceil(numel/2), 1]  packed codes, first in the high nibble
//   P.weight.absmax                            fp32 [blocks], or uint8 [blocks] with double quantization
//   P.weight.quant_map                         fp32 [16]   the NF4 codebook
//   P.weight.nested_absmax                     fp32 [ceil(blocks/256)]          (double quantization only)
//   P.weight.nested_quant_map                  fp32 [256]  the dynamic 8-bit map  (double quantization only)
//   P.weight.quant_state.bitsandbytes__nf4     uint8 [n]   UTF-8 JSON of the non-tensor fields:
//       {"quant_type": "nf4", "blocksize": 64, "dtype": "bfloat16", "shape": [out, in],
//        "nested_blocksize": 256, "nested_dtype": "float32", "nested_offset": 0.0519...}
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "kspam/core/error.hpp"
#include "kspam/core/json_parse.hpp"
#include "kspam/quant/nf4_tensor.hpp"
#include "kspam/tensor/safetensors.hpp"

namespace kspam::quant {

inline constexpr const char* kBnbNf4StateSuffix = "weight.quant_state.bitsandbytes__nf4";

template <typename Source>
bool has_bnb_nf4(const Source& src, const std::string& prefix) {
  return src.contains(prefix + kBnbNf4StateSuffix);
}

namespace detail {
template <typename Source>
const tensor::TensorView& require(const Source& src, const std::string& origin, const std::string& name,
                                  tensor::DType dtype) {
  if (!src.contains(name)) throw InputError(origin, 0, name, "", "tensor is missing from the NF4 checkpoint");
  const tensor::TensorView& v = src.get(name);
  if (v.dtype != dtype) {
    throw InputError(origin, 0, name, std::string(tensor::dtype_name(v.dtype)),
                     "expected dtype " + std::string(tensor::dtype_name(dtype)));
  }
  return v;
}

template <typename T>
std::vector<T> copy_as(const tensor::TensorView& v) {
  std::vector<T> out(v.nbytes / sizeof(T));
  std::memcpy(out.data(), v.data, out.size() * sizeof(T));
  return out;
}

inline std::int64_t json_int(const json::Value& state, const char* key, const std::string& origin,
                             const std::string& tensor_name) {
  const json::Value* v = state.find(key);
  if (v == nullptr || !v->is_int()) throw InputError(origin, 0, tensor_name, key, "quant state lacks an integer field");
  return v->as_int();
}

// Python's json.dumps(float) writes repr(): the shortest text that reads back as the same double.
inline std::string python_float(double x) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, x);
  std::string s(buf, r.ptr);
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s;
}
}  // namespace detail

// Loads the NF4 weight stored under `prefix` (e.g. "model.layers.0.mlp.down_proj."). `origin` names the
// file in error messages. Every size is checked against the quant state before anything is used.
template <typename Source>
Nf4Tensor load_bnb_nf4(const Source& src, const std::string& prefix, const std::string& origin) {
  using tensor::DType;
  const std::string state_name = prefix + kBnbNf4StateSuffix;
  const tensor::TensorView& state_bytes = detail::require(src, origin, state_name, DType::U8);
  const std::string text(reinterpret_cast<const char*>(state_bytes.data), state_bytes.nbytes);
  const json::Value state = json::parse(text, origin + ": " + state_name);
  const json::Value* qt = state.find("quant_type");
  if (qt == nullptr || !qt->is_string() || qt->as_string() != "nf4") {
    throw InputError(origin, 0, state_name, qt && qt->is_string() ? qt->as_string() : "", "only NF4 quantization is supported");
  }
  Nf4Tensor t;
  t.blocksize = static_cast<int>(detail::json_int(state, "blocksize", origin, state_name));
  check_nf4_options({t.blocksize, false, 256});
  const json::Value* shape = state.find("shape");
  if (shape == nullptr || !shape->is_array()) throw InputError(origin, 0, state_name, "shape", "quant state lacks the shape");
  t.numel = 1;
  for (const auto& d : shape->as_array()) {
    if (!d.is_int() || d.as_int() < 0) throw InputError(origin, 0, state_name, "shape", "shape must hold non-negative integers");
    t.shape.push_back(d.as_int());
    t.numel *= static_cast<std::size_t>(d.as_int());
  }
  const std::size_t blocks = t.blocks();

  const tensor::TensorView& packed = detail::require(src, origin, prefix + "weight", DType::U8);
  if (packed.nbytes != (t.numel + 1) / 2) {
    throw InputError(origin, 0, prefix + "weight", std::to_string(packed.nbytes),
                     "packed NF4 data must hold " + std::to_string((t.numel + 1) / 2) + " bytes for shape " +
                         tensor::shape_string(t.shape));
  }
  t.packed = detail::copy_as<std::uint8_t>(packed);

  const tensor::TensorView& qmap = detail::require(src, origin, prefix + "weight.quant_map", DType::F32);
  if (qmap.numel() != 16) throw InputError(origin, 0, prefix + "weight.quant_map", std::to_string(qmap.numel()), "expected 16 values");
  const auto qm = detail::copy_as<float>(qmap);
  std::copy(qm.begin(), qm.end(), t.quant_map.begin());

  const bool nested = state.find("nested_offset") != nullptr;
  const std::string absmax_name = prefix + "weight.absmax";
  if (!nested) {
    const tensor::TensorView& a = detail::require(src, origin, absmax_name, DType::F32);
    if (a.numel() != blocks) throw InputError(origin, 0, absmax_name, std::to_string(a.numel()), "expected " + std::to_string(blocks) + " block scales");
    t.absmax = detail::copy_as<float>(a);
    return t;
  }
  t.double_quant = true;
  t.nested_blocksize = static_cast<int>(detail::json_int(state, "nested_blocksize", origin, state_name));
  if (t.nested_blocksize <= 0) throw InputError(origin, 0, state_name, std::to_string(t.nested_blocksize), "nested_blocksize must be positive");
  const json::Value* off = state.find("nested_offset");
  if (!off->is_number()) throw InputError(origin, 0, state_name, "nested_offset", "nested_offset must be a number");
  t.nested_offset = static_cast<float>(off->as_double());
  const tensor::TensorView& a = detail::require(src, origin, absmax_name, DType::U8);
  if (a.numel() != blocks) throw InputError(origin, 0, absmax_name, std::to_string(a.numel()), "expected " + std::to_string(blocks) + " block scale codes");
  t.absmax_codes = detail::copy_as<std::uint8_t>(a);
  const std::string nested_name = prefix + "weight.nested_absmax";
  const tensor::TensorView& na = detail::require(src, origin, nested_name, DType::F32);
  const std::size_t nested_blocks = (blocks + static_cast<std::size_t>(t.nested_blocksize) - 1) / static_cast<std::size_t>(t.nested_blocksize);
  if (na.numel() != nested_blocks) throw InputError(origin, 0, nested_name, std::to_string(na.numel()), "expected " + std::to_string(nested_blocks) + " values");
  t.nested_absmax = detail::copy_as<float>(na);
  const tensor::TensorView& nm = detail::require(src, origin, prefix + "weight.nested_quant_map", DType::F32);
  if (nm.numel() != 256) throw InputError(origin, 0, prefix + "weight.nested_quant_map", std::to_string(nm.numel()), "expected 256 values");
  const auto nmv = detail::copy_as<float>(nm);
  std::copy(nmv.begin(), nmv.end(), t.nested_map.begin());
  return t;
}

// Adds the tensors bitsandbytes would save for this weight under `prefix`.
inline void add_bnb_nf4(tensor::SafetensorsWriter& out, const std::string& prefix, const Nf4Tensor& t,
                        const std::string& dtype_name = "bfloat16") {
  using tensor::DType;
  out.add(prefix + "weight", DType::U8, {static_cast<std::int64_t>(t.packed.size()), 1},
          std::as_bytes(std::span<const std::uint8_t>(t.packed)));
  if (t.double_quant) {
    out.add(prefix + "weight.absmax", DType::U8, {static_cast<std::int64_t>(t.absmax_codes.size())},
            std::as_bytes(std::span<const std::uint8_t>(t.absmax_codes)));
  } else {
    out.add_f32(prefix + "weight.absmax", {static_cast<std::int64_t>(t.absmax.size())}, t.absmax);
  }
  out.add_f32(prefix + "weight.quant_map", {16}, t.quant_map);
  std::string json = "{\"quant_type\": \"nf4\", \"blocksize\": " + std::to_string(t.blocksize) + ", \"dtype\": \"" +
                     dtype_name + "\", \"shape\": [";
  for (std::size_t i = 0; i < t.shape.size(); ++i) json += (i ? ", " : "") + std::to_string(t.shape[i]);
  json += "]";
  if (t.double_quant) {
    out.add_f32(prefix + "weight.nested_absmax", {static_cast<std::int64_t>(t.nested_absmax.size())}, t.nested_absmax);
    out.add_f32(prefix + "weight.nested_quant_map", {256}, t.nested_map);
    json += ", \"nested_blocksize\": " + std::to_string(t.nested_blocksize) +
            ", \"nested_dtype\": \"float32\", \"nested_offset\": " + detail::python_float(t.nested_offset);
  }
  json += "}";
  out.add(prefix + kBnbNf4StateSuffix, DType::U8, {static_cast<std::int64_t>(json.size())},
          std::as_bytes(std::span<const char>(json.data(), json.size())));
}

// The NF4 weight for a linear layer under `prefix`: loaded as is from a bitsandbytes checkpoint, or
// quantized now from a bf16/f16/fp32 "weight" tensor (the QLoRA path from a plain Hugging Face checkpoint).
template <typename Source>
Nf4Tensor load_or_quantize_nf4(const Source& src, const std::string& prefix, const std::string& origin,
                               const Nf4Options& options = {}) {
  if (has_bnb_nf4(src, prefix)) return load_bnb_nf4(src, prefix, origin);
  const std::string name = prefix + "weight";
  if (!src.contains(name)) throw InputError(origin, 0, name, "", "weight tensor is missing from the checkpoint");
  const tensor::TensorView& w = src.get(name);
  if (w.dtype != tensor::DType::BF16 && w.dtype != tensor::DType::F16 && w.dtype != tensor::DType::F32) {
    throw InputError(origin, 0, name, std::string(tensor::dtype_name(w.dtype)), "expected a bf16, f16 or f32 weight to quantize");
  }
  try {
    return quantize_nf4(w.to_f32(), w.shape, options);
  } catch (const InputError& e) {
    throw InputError(origin, 0, name, e.value(), e.problem());
  }
}

}  // namespace kspam::quant

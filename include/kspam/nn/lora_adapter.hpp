#pragma once
// LoRA adapters in PEFT's on-disk format, so an adapter trained here loads with
// PeftModel.from_pretrained(base, dir) in Python and a PEFT adapter loads here. Host-only.
//
//   dir/adapter_model.safetensors   "base_model.model.<module path>.lora_A.weight"  [r, in]
//                                   "base_model.model.<module path>.lora_B.weight"  [out, r]
//   dir/adapter_config.json         {"peft_type": "LORA", "r": 16, "lora_alpha": 32, "lora_dropout": 0.05,
//                                    "target_modules": [...], "bias": "none", ...}
// (PEFT 0.21 save_pretrained: the adapter name "default" is dropped from the tensor names; checked
// against a real PEFT save in tests/reference/fixtures/lora/peft_adapter.)
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "kspam/core/atomic_file.hpp"
#include "kspam/core/error.hpp"
#include "kspam/core/json.hpp"
#include "kspam/core/json_parse.hpp"
#include "kspam/nn/lora_linear.hpp"
#include "kspam/tensor/safetensors.hpp"

namespace kspam::nn {

struct LoraModuleWeights {
  MatrixRM A;  // [r, in]
  MatrixRM B;  // [out, r]
};

struct PeftAdapter {
  LoraConfig config;
  std::vector<std::string> target_modules;  // module names PEFT matched (e.g. "q_proj")
  std::string base_model_name_or_path;
  std::string task_type;                    // e.g. "CAUSAL_LM"; empty -> null
  std::map<std::string, LoraModuleWeights> modules;  // full module path -> weights
};

inline constexpr const char* kPeftPrefix = "base_model.model.";

inline void save_peft_adapter(const std::filesystem::path& dir, const PeftAdapter& adapter) {
  adapter.config.validate();
  std::filesystem::create_directories(dir);
  tensor::SafetensorsWriter w;
  for (const auto& [path, m] : adapter.modules) {
    if (m.A.rows() != adapter.config.r || m.B.cols() != adapter.config.r) {
      throw Error("save_peft_adapter: module '" + path + "' has rank " + std::to_string(m.A.rows()) + ", the config says " +
                  std::to_string(adapter.config.r));
    }
    w.add_f32(kPeftPrefix + path + ".lora_A.weight", {m.A.rows(), m.A.cols()}, std::span<const float>(m.A.data(), static_cast<std::size_t>(m.A.size())));
    w.add_f32(kPeftPrefix + path + ".lora_B.weight", {m.B.rows(), m.B.cols()}, std::span<const float>(m.B.data(), static_cast<std::size_t>(m.B.size())));
  }
  w.set_metadata("format", "pt");
  w.write(dir / "adapter_model.safetensors");

  json::Value c = json::Value::object();
  c["alpha_pattern"] = json::Value::object();
  c["base_model_name_or_path"] = adapter.base_model_name_or_path.empty() ? json::Value(nullptr) : json::Value(adapter.base_model_name_or_path);
  c["bias"] = "none";
  c["fan_in_fan_out"] = false;
  c["inference_mode"] = true;
  c["init_lora_weights"] = true;
  c["layers_pattern"] = nullptr;
  c["layers_to_transform"] = nullptr;
  c["lora_alpha"] = adapter.config.alpha;
  c["lora_dropout"] = adapter.config.dropout;
  c["modules_to_save"] = nullptr;
  c["peft_type"] = "LORA";
  c["r"] = adapter.config.r;
  c["rank_pattern"] = json::Value::object();
  c["revision"] = nullptr;
  c["target_modules"] = json::Value(adapter.target_modules);
  c["task_type"] = adapter.task_type.empty() ? json::Value(nullptr) : json::Value(adapter.task_type);
  c["use_dora"] = false;
  c["use_rslora"] = adapter.config.use_rslora;
  write_file_atomically(dir / "adapter_config.json", c.dump(2) + "\n");
}

inline PeftAdapter load_peft_adapter(const std::filesystem::path& dir) {
  const auto config_path = dir / "adapter_config.json";
  const auto weights_path = dir / "adapter_model.safetensors";
  if (!std::filesystem::exists(config_path)) throw InputError(config_path.string(), "adapter_config.json not found (is this a PEFT adapter folder?)");
  if (!std::filesystem::exists(weights_path)) throw InputError(weights_path.string(), "adapter_model.safetensors not found");
  const std::string origin = config_path.string();
  const json::Value c = json::parse(read_file(config_path), origin);
  auto field = [&](const char* key) -> const json::Value& {
    const json::Value* v = c.find(key);
    if (v == nullptr) throw InputError(origin, 0, key, "", "missing from the adapter config");
    return *v;
  };
  const json::Value& type = field("peft_type");
  if (!type.is_string() || type.as_string() != "LORA") throw InputError(origin, 0, "peft_type", type.is_string() ? type.as_string() : "", "only LoRA adapters are supported");
  auto reject_true = [&](const char* key) {
    const json::Value* v = c.find(key);
    if (v != nullptr && v->is_bool() && v->as_bool()) throw InputError(origin, 0, key, "true", "this LoRA variant is not supported");
  };
  reject_true("use_dora");
  reject_true("fan_in_fan_out");
  for (const char* key : {"rank_pattern", "alpha_pattern"}) {
    const json::Value* v = c.find(key);
    if (v != nullptr && v->is_object() && !v->as_object().empty()) throw InputError(origin, 0, key, "", "per-module ranks or alphas are not supported");
  }
  if (const json::Value* b = c.find("bias"); b != nullptr && b->is_string() && b->as_string() != "none") {
    throw InputError(origin, 0, "bias", b->as_string(), "only bias=\"none\" adapters are supported");
  }
  PeftAdapter a;
  const json::Value& r = field("r");
  if (!r.is_int()) throw InputError(origin, 0, "r", "", "r must be an integer");
  a.config.r = static_cast<int>(r.as_int());
  const json::Value& alpha = field("lora_alpha");
  if (!alpha.is_number()) throw InputError(origin, 0, "lora_alpha", "", "lora_alpha must be a number");
  a.config.alpha = alpha.as_double();
  if (const json::Value* d = c.find("lora_dropout"); d != nullptr && d->is_number()) a.config.dropout = d->as_double();
  if (const json::Value* rs = c.find("use_rslora"); rs != nullptr && rs->is_bool()) a.config.use_rslora = rs->as_bool();
  try {
    a.config.validate();
  } catch (const InputError& e) {
    throw InputError(origin, 0, e.column(), e.value(), e.problem());
  }
  if (const json::Value* t = c.find("target_modules"); t != nullptr) {
    if (t->is_string()) a.target_modules.push_back(t->as_string());
    if (t->is_array()) {
      for (const auto& m : t->as_array()) {
        if (m.is_string()) a.target_modules.push_back(m.as_string());
      }
    }
  }
  if (const json::Value* b = c.find("base_model_name_or_path"); b != nullptr && b->is_string()) a.base_model_name_or_path = b->as_string();
  if (const json::Value* t = c.find("task_type"); t != nullptr && t->is_string()) a.task_type = t->as_string();

  tensor::SafetensorsFile f(weights_path);
  const std::string prefix = kPeftPrefix;
  auto to_matrix = [&](const tensor::TensorView& v) {
    if (v.shape.size() != 2) throw InputError(f.path(), 0, v.name, tensor::shape_string(v.shape), "LoRA weights must be 2-D");
    if (v.dtype != tensor::DType::F32 && v.dtype != tensor::DType::BF16 && v.dtype != tensor::DType::F16) {
      throw InputError(f.path(), 0, v.name, std::string(tensor::dtype_name(v.dtype)), "LoRA weights must be floating point");
    }
    MatrixRM m(v.shape[0], v.shape[1]);
    v.copy_f32(m.data());
    return m;
  };
  std::set<std::string> seen_a, seen_b;
  for (const auto& name : f.names()) {
    const bool is_a = name.ends_with(".lora_A.weight");
    const bool is_b = name.ends_with(".lora_B.weight");
    if (!is_a && !is_b) throw InputError(f.path(), 0, name, "", "unexpected tensor in a LoRA adapter (only lora_A/lora_B weights are supported)");
    if (!name.starts_with(prefix)) throw InputError(f.path(), 0, name, "", "LoRA tensor names must start with '" + prefix + "'");
    const std::string path = name.substr(prefix.size(), name.size() - prefix.size() - std::string(".lora_A.weight").size());
    MatrixRM m = to_matrix(f.get(name));
    if (is_a) {
      if (m.rows() != a.config.r) throw InputError(f.path(), 0, name, tensor::shape_string(f.get(name).shape), "lora_A must have r = " + std::to_string(a.config.r) + " rows");
      a.modules[path].A = std::move(m);
      seen_a.insert(path);
    } else {
      if (m.cols() != a.config.r) throw InputError(f.path(), 0, name, tensor::shape_string(f.get(name).shape), "lora_B must have r = " + std::to_string(a.config.r) + " columns");
      a.modules[path].B = std::move(m);
      seen_b.insert(path);
    }
  }
  for (const auto& [path, m] : a.modules) {
    if (!seen_a.count(path) || !seen_b.count(path)) throw InputError(f.path(), 0, path, "", "module has only one of lora_A / lora_B");
  }
  return a;
}

}  // namespace kspam::nn

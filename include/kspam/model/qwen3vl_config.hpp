#pragma once
// Qwen3VLConfig: the architecture settings of a Qwen3-VL checkpoint, read from its config.json.
//
// Accepts both spellings of the text rotary settings: transformers 5.x writes
// text_config.rope_parameters = {rope_theta, rope_type, mrope_section, mrope_interleaved}; checkpoints
// written by 4.57 (the published Qwen3-VL-2B-Instruct) carry text_config.rope_scaling + rope_theta.
// Settings this implementation does not compute (attention biases, another activation, scaled RoPE)
// are refused with an InputError naming the field, rather than silently giving wrong logits.
// Host-only (reads JSON through simdjson).
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "kspam/core/atomic_file.hpp"
#include "kspam/core/error.hpp"
#include "kspam/core/json.hpp"
#include "kspam/core/json_parse.hpp"

namespace kspam::model {

struct Qwen3VLTextConfig {
  int vocab_size = 151936;
  int hidden_size = 2048;
  int intermediate_size = 6144;
  int num_hidden_layers = 28;
  int num_attention_heads = 16;
  int num_key_value_heads = 8;
  int head_dim = 128;
  double rms_norm_eps = 1e-6;
  double rope_theta = 5000000.0;
  std::vector<int> mrope_section = {24, 20, 20};  // T, H, W frequency slots; sums to head_dim / 2
};

struct Qwen3VLVisionConfig {
  int depth = 24;
  int hidden_size = 1024;
  int intermediate_size = 4096;
  int num_heads = 16;
  int in_channels = 3;
  int patch_size = 16;
  int temporal_patch_size = 2;
  int spatial_merge_size = 2;
  int out_hidden_size = 2048;
  int num_position_embeddings = 2304;
  std::vector<int> deepstack_visual_indexes = {5, 11, 17};
  double rope_theta = 10000.0;  // hard-coded upstream; 5.x configs spell it out
  double layer_norm_eps = 1e-6;  // hard-coded upstream

  int head_dim() const { return hidden_size / num_heads; }
  int patch_dim() const { return in_channels * temporal_patch_size * patch_size * patch_size; }
  int position_grid() const { return static_cast<int>(std::lround(std::sqrt(num_position_embeddings))); }
};

struct Qwen3VLConfig {
  Qwen3VLTextConfig text;
  Qwen3VLVisionConfig vision;
  std::int64_t image_token_id = 151655;
  std::int64_t video_token_id = 151656;
  std::int64_t vision_start_token_id = 151652;
  std::int64_t vision_end_token_id = 151653;
  bool tie_word_embeddings = true;
  // From generation_config.json when present (else text_config.eos_token_id): greedy decoding stops on these.
  std::vector<std::int64_t> eos_token_ids;
  std::int64_t pad_token_id = 0;
};

namespace detail {

class ConfigReader {
 public:
  ConfigReader(const json::Value& object, std::string origin, std::string prefix)
      : object_(object), origin_(std::move(origin)), prefix_(std::move(prefix)) {}

  const json::Value* find(const char* key) const { return object_.find(key); }

  [[noreturn]] void fail(const std::string& key, const std::string& value, const std::string& problem) const {
    throw InputError(origin_, 0, prefix_ + key, value, problem);
  }

  int integer(const char* key, int fallback, int min_value = 1) const {
    const json::Value* v = find(key);
    if (!v || v->is_null()) return fallback;
    if (!v->is_int()) fail(key, v->dump(-1), "must be an integer");
    const auto x = v->as_int();
    if (x < min_value || x > 100'000'000) fail(key, std::to_string(x), "is out of range");
    return static_cast<int>(x);
  }
  double number(const char* key, double fallback) const {
    const json::Value* v = find(key);
    if (!v || v->is_null()) return fallback;
    if (!v->is_number()) fail(key, v->dump(-1), "must be a number");
    const double x = v->as_double();
    if (!(x > 0) || !std::isfinite(x)) fail(key, v->dump(-1), "must be a positive number");
    return x;
  }
  bool boolean(const char* key, bool fallback) const {
    const json::Value* v = find(key);
    if (!v || v->is_null()) return fallback;
    if (!v->is_bool()) fail(key, v->dump(-1), "must be true or false");
    return v->as_bool();
  }
  std::string string(const char* key, const std::string& fallback) const {
    const json::Value* v = find(key);
    if (!v || v->is_null()) return fallback;
    if (!v->is_string()) fail(key, v->dump(-1), "must be a string");
    return v->as_string();
  }
  std::vector<int> int_list(const json::Value& v, const std::string& key) const {
    if (!v.is_array()) fail(key, v.dump(-1), "must be an array of integers");
    std::vector<int> out;
    for (const auto& item : v.as_array()) {
      if (!item.is_int() || item.as_int() < 0 || item.as_int() > 1'000'000) {
        fail(key, v.dump(-1), "must be an array of non-negative integers");
      }
      out.push_back(static_cast<int>(item.as_int()));
    }
    return out;
  }
  std::vector<std::int64_t> id_list(const char* key) const {
    const json::Value* v = find(key);
    std::vector<std::int64_t> out;
    if (!v || v->is_null()) return out;
    if (v->is_int()) return {v->as_int()};
    if (!v->is_array()) fail(key, v->dump(-1), "must be a token id or a list of token ids");
    for (const auto& item : v->as_array()) {
      if (!item.is_int()) fail(key, v->dump(-1), "must be a list of token ids");
      out.push_back(item.as_int());
    }
    return out;
  }

 private:
  const json::Value& object_;
  std::string origin_;
  std::string prefix_;
};

}  // namespace detail

// Parses config.json's content. `origin` names the file in errors.
inline Qwen3VLConfig parse_qwen3vl_config(const json::Value& root, const std::string& origin) {
  if (!root.is_object()) throw InputError(origin, "config must be a JSON object");
  Qwen3VLConfig c;
  detail::ConfigReader top(root, origin, "");
  const std::string model_type = top.string("model_type", "qwen3_vl");
  if (model_type != "qwen3_vl") top.fail("model_type", model_type, "is not a Qwen3-VL checkpoint (expected qwen3_vl)");
  const json::Value* text_json = root.find("text_config");
  const json::Value* vision_json = root.find("vision_config");
  if (!text_json || !text_json->is_object()) throw InputError(origin, 0, "text_config", "", "missing object");
  if (!vision_json || !vision_json->is_object()) throw InputError(origin, 0, "vision_config", "", "missing object");
  detail::ConfigReader t(*text_json, origin, "text_config.");
  detail::ConfigReader v(*vision_json, origin, "vision_config.");

  auto& tc = c.text;
  tc.vocab_size = t.integer("vocab_size", tc.vocab_size);
  tc.hidden_size = t.integer("hidden_size", tc.hidden_size);
  tc.intermediate_size = t.integer("intermediate_size", tc.intermediate_size);
  tc.num_hidden_layers = t.integer("num_hidden_layers", tc.num_hidden_layers);
  tc.num_attention_heads = t.integer("num_attention_heads", tc.num_attention_heads);
  tc.num_key_value_heads = t.integer("num_key_value_heads", tc.num_attention_heads);
  tc.head_dim = t.integer("head_dim", tc.hidden_size / tc.num_attention_heads);
  tc.rms_norm_eps = t.number("rms_norm_eps", tc.rms_norm_eps);
  if (t.string("hidden_act", "silu") != "silu") t.fail("hidden_act", t.string("hidden_act", ""), "only silu is supported");
  if (t.boolean("attention_bias", false)) t.fail("attention_bias", "true", "attention biases are not supported");
  if (tc.num_attention_heads % tc.num_key_value_heads != 0) {
    t.fail("num_key_value_heads", std::to_string(tc.num_key_value_heads),
           "must divide num_attention_heads (" + std::to_string(tc.num_attention_heads) + ")");
  }
  if (tc.head_dim % 2 != 0) t.fail("head_dim", std::to_string(tc.head_dim), "must be even for rotary embeddings");

  // Rotary settings: rope_parameters (5.x) or rope_scaling + rope_theta (4.57).
  const json::Value* rope = text_json->find("rope_parameters");
  std::string rope_key = "rope_parameters";
  if (!rope || rope->is_null()) {
    rope = text_json->find("rope_scaling");
    rope_key = "rope_scaling";
  }
  tc.rope_theta = t.number("rope_theta", 500000.0);  // the class default when a checkpoint omits it
  if (rope && !rope->is_null()) {
    if (!rope->is_object()) t.fail(rope_key, rope->dump(-1), "must be an object");
    detail::ConfigReader r(*rope, origin, "text_config." + rope_key + ".");
    const std::string type = r.string("rope_type", r.string("type", "default"));
    if (type != "default" && type != "mrope") {
      r.fail("rope_type", type, "only the default (unscaled) rotary embedding is supported");
    }
    tc.rope_theta = r.number("rope_theta", tc.rope_theta);
    if (const json::Value* s = rope->find("mrope_section")) tc.mrope_section = r.int_list(*s, "mrope_section");
    // mrope_interleaved is read but not needed: Qwen3-VL applies the interleaved layout unconditionally.
  }
  if (tc.mrope_section.size() != 3) {
    t.fail(rope_key + ".mrope_section", json::Value(tc.mrope_section).dump(-1), "must have three entries (T, H, W)");
  }
  if (tc.mrope_section[0] + tc.mrope_section[1] + tc.mrope_section[2] != tc.head_dim / 2) {
    t.fail(rope_key + ".mrope_section", json::Value(tc.mrope_section).dump(-1),
           "must sum to head_dim / 2 = " + std::to_string(tc.head_dim / 2));
  }

  auto& vc = c.vision;
  vc.depth = v.integer("depth", vc.depth);
  vc.hidden_size = v.integer("hidden_size", vc.hidden_size);
  vc.intermediate_size = v.integer("intermediate_size", vc.intermediate_size);
  vc.num_heads = v.integer("num_heads", vc.num_heads);
  vc.in_channels = v.integer("in_channels", vc.in_channels);
  vc.patch_size = v.integer("patch_size", vc.patch_size);
  vc.temporal_patch_size = v.integer("temporal_patch_size", vc.temporal_patch_size);
  vc.spatial_merge_size = v.integer("spatial_merge_size", vc.spatial_merge_size);
  vc.out_hidden_size = v.integer("out_hidden_size", vc.out_hidden_size);
  vc.num_position_embeddings = v.integer("num_position_embeddings", vc.num_position_embeddings);
  if (const json::Value* d = vision_json->find("deepstack_visual_indexes")) {
    vc.deepstack_visual_indexes = v.int_list(*d, "deepstack_visual_indexes");
  }
  if (const json::Value* vr = vision_json->find("rope_parameters"); vr && vr->is_object()) {
    vc.rope_theta = detail::ConfigReader(*vr, origin, "vision_config.rope_parameters.").number("rope_theta", 10000.0);
  }
  if (v.string("hidden_act", "gelu_pytorch_tanh") != "gelu_pytorch_tanh") {
    v.fail("hidden_act", v.string("hidden_act", ""), "only gelu_pytorch_tanh is supported");
  }
  if (vc.hidden_size % vc.num_heads != 0 || vc.head_dim() % 4 != 0) {
    v.fail("num_heads", std::to_string(vc.num_heads), "hidden_size / num_heads must be a multiple of 4 (2-D rotary)");
  }
  if (vc.spatial_merge_size != 2) {
    v.fail("spatial_merge_size", std::to_string(vc.spatial_merge_size), "only 2 (Qwen3-VL's value) is supported");
  }
  const int g = vc.position_grid();
  if (g * g != vc.num_position_embeddings) {
    v.fail("num_position_embeddings", std::to_string(vc.num_position_embeddings), "must be a square number");
  }
  for (int idx : vc.deepstack_visual_indexes) {
    if (idx >= vc.depth) v.fail("deepstack_visual_indexes", std::to_string(idx), "refers past the last vision block");
  }
  if (static_cast<int>(vc.deepstack_visual_indexes.size()) > tc.num_hidden_layers) {
    v.fail("deepstack_visual_indexes", "", "has more entries than the text model has layers");
  }
  if (vc.out_hidden_size != tc.hidden_size) {
    v.fail("out_hidden_size", std::to_string(vc.out_hidden_size),
           "must equal text_config.hidden_size (" + std::to_string(tc.hidden_size) + ")");
  }

  auto id = [&](const char* key, std::int64_t fallback) {
    const json::Value* x = root.find(key);
    if (!x || x->is_null()) return fallback;
    if (!x->is_int() || x->as_int() < 0 || x->as_int() >= tc.vocab_size) {
      top.fail(key, x->dump(-1), "must be a token id below vocab_size");
    }
    return x->as_int();
  };
  c.image_token_id = id("image_token_id", c.image_token_id);
  c.video_token_id = id("video_token_id", c.video_token_id);
  c.vision_start_token_id = id("vision_start_token_id", c.vision_start_token_id);
  c.vision_end_token_id = id("vision_end_token_id", c.vision_end_token_id);
  // The top-level flag governs Qwen3VLForConditionalGeneration; older files only set it in text_config.
  c.tie_word_embeddings = top.boolean("tie_word_embeddings", t.boolean("tie_word_embeddings", false));
  c.eos_token_ids = t.id_list("eos_token_id");
  if (const json::Value* p = text_json->find("pad_token_id"); p && p->is_int()) c.pad_token_id = p->as_int();
  return c;
}

// Reads DIR/config.json (and DIR/generation_config.json for the stop tokens when present).
inline Qwen3VLConfig load_qwen3vl_config(const std::filesystem::path& dir) {
  const auto config_path = dir / "config.json";
  if (!std::filesystem::exists(config_path)) throw InputError(config_path.string(), "model directory has no config.json");
  Qwen3VLConfig c = parse_qwen3vl_config(json::parse(read_file(config_path), config_path.string()), config_path.string());
  const auto gen_path = dir / "generation_config.json";
  if (std::filesystem::exists(gen_path)) {
    const json::Value gen = json::parse(read_file(gen_path), gen_path.string());
    if (!gen.is_object()) throw InputError(gen_path.string(), "must be a JSON object");
    detail::ConfigReader g(gen, gen_path.string(), "");
    auto eos = g.id_list("eos_token_id");
    if (!eos.empty()) c.eos_token_ids = eos;
    if (const json::Value* p = gen.find("pad_token_id"); p && p->is_int()) c.pad_token_id = p->as_int();
  }
  return c;
}

}  // namespace kspam::model

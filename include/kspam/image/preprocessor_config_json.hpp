#pragma once
// Reads a checkpoint's preprocessor_config.json into PreprocessorConfig (host-only: simdjson).
#include <array>
#include <cstdint>
#include <filesystem>
#include <string>

#include "kspam/core/atomic_file.hpp"
#include "kspam/core/error.hpp"
#include "kspam/core/json.hpp"
#include "kspam/core/json_parse.hpp"
#include "kspam/image/preprocessor_config.hpp"

namespace kspam::image {

namespace detail {
inline std::int64_t config_int(const json::Value& v, const std::string& origin, const char* field) {
  if (v.is_int()) return v.as_int();
  if (v.is_number() && v.as_double() == static_cast<double>(static_cast<std::int64_t>(v.as_double())))
    return static_cast<std::int64_t>(v.as_double());
  throw InputError(origin, 0, field, v.dump(-1), "expected an integer");
}
inline std::array<double, 3> config_triple(const json::Value& v, const std::string& origin, const char* field) {
  if (v.is_number()) return {v.as_double(), v.as_double(), v.as_double()};
  if (!v.is_array() || v.as_array().size() != 3) throw InputError(origin, 0, field, v.dump(-1), "expected 3 numbers");
  std::array<double, 3> out{};
  for (std::size_t i = 0; i < 3; ++i) {
    if (!v.as_array()[i].is_number()) throw InputError(origin, 0, field, v.dump(-1), "expected 3 numbers");
    out[i] = v.as_array()[i].as_double();
  }
  return out;
}
}  // namespace detail

// Parses preprocessor_config.json text; fields it does not name keep the Qwen3-VL defaults.
inline PreprocessorConfig parse_preprocessor_config(std::string_view text, const std::string& origin) {
  const json::Value root = json::parse(text, origin);
  if (!root.is_object()) throw InputError(origin, "preprocessor config is not a JSON object");
  PreprocessorConfig c;
  auto get_int = [&](const char* key, std::int64_t& out) {
    if (const auto* v = root.find(key); v && !v->is_null()) out = detail::config_int(*v, origin, key);
  };
  auto get_bool = [&](const char* key, bool& out) {
    if (const auto* v = root.find(key); v && !v->is_null()) {
      if (!v->is_bool()) throw InputError(origin, 0, key, v->dump(-1), "expected true or false");
      out = v->as_bool();
    }
  };
  get_int("patch_size", c.patch_size);
  get_int("merge_size", c.merge_size);
  get_int("temporal_patch_size", c.temporal_patch_size);
  if (const auto* size = root.find("size"); size && size->is_object()) {
    if (const auto* v = size->find("shortest_edge")) c.min_pixels = detail::config_int(*v, origin, "size.shortest_edge");
    if (const auto* v = size->find("longest_edge")) c.max_pixels = detail::config_int(*v, origin, "size.longest_edge");
    if (const auto* v = size->find("min_pixels")) c.min_pixels = detail::config_int(*v, origin, "size.min_pixels");
    if (const auto* v = size->find("max_pixels")) c.max_pixels = detail::config_int(*v, origin, "size.max_pixels");
  }
  get_int("min_pixels", c.min_pixels);
  get_int("max_pixels", c.max_pixels);
  if (const auto* v = root.find("image_mean"); v && !v->is_null()) c.image_mean = detail::config_triple(*v, origin, "image_mean");
  if (const auto* v = root.find("image_std"); v && !v->is_null()) c.image_std = detail::config_triple(*v, origin, "image_std");
  if (const auto* v = root.find("rescale_factor"); v && !v->is_null()) {
    if (!v->is_number()) throw InputError(origin, 0, "rescale_factor", v->dump(-1), "expected a number");
    c.rescale_factor = v->as_double();
  }
  get_bool("do_resize", c.do_resize);
  get_bool("do_rescale", c.do_rescale);
  get_bool("do_normalize", c.do_normalize);
  c.validate(origin);
  return c;
}

// Reads `path` (a preprocessor_config.json, or a checkpoint directory holding one).
inline PreprocessorConfig load_preprocessor_config(const std::filesystem::path& path) {
  auto file = std::filesystem::is_directory(path) ? path / "preprocessor_config.json" : path;
  return parse_preprocessor_config(read_file(file), file.string());
}

}  // namespace kspam::image

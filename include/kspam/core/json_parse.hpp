#pragma once
// Parses JSON text into kspam::json::Value with simdjson. Host-only: nvcc cannot compile simdjson.
#include <string>
#include <string_view>

#include <simdjson.h>

#include "kspam/core/error.hpp"
#include "kspam/core/json.hpp"

namespace kspam::json {

namespace detail {
inline Value from_simdjson(simdjson::dom::element e) {
  using simdjson::dom::element_type;
  switch (e.type()) {
    case element_type::NULL_VALUE: return Value(nullptr);
    case element_type::BOOL: return Value(bool(e.get_bool().value()));
    case element_type::INT64: return Value(e.get_int64().value());
    case element_type::UINT64: return Value(static_cast<double>(e.get_uint64().value()));
    case element_type::DOUBLE: return Value(e.get_double().value());
    case element_type::STRING: return Value(std::string(e.get_string().value()));
    case element_type::ARRAY: {
      Array a;
      // Keep the array in a named variable: iterating over get_array().value() would dangle.
      const simdjson::dom::array items = e.get_array().value();
      for (auto item : items) a.push_back(from_simdjson(item));
      return Value(std::move(a));
    }
    case element_type::OBJECT: {
      Value v = Value::object();
      const simdjson::dom::object fields = e.get_object().value();
      for (auto field : fields) v[field.key] = from_simdjson(field.value);
      return v;
    }
  }
  return Value();
}
}  // namespace detail

// `origin` names the source (a file path) in error messages.
inline Value parse(std::string_view text, const std::string& origin = "<json>") {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(text);
  simdjson::dom::element root;
  if (auto error = parser.parse(padded).get(root)) {
    throw InputError(origin, std::string("invalid JSON: ") + simdjson::error_message(error));
  }
  return detail::from_simdjson(root);
}

}  // namespace kspam::json

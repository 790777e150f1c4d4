#pragma once
// A small JSON value for what kspam writes (metrics, metadata, manifests): objects keep insertion
// order so files read in the order they were built. Parsing lives in json_parse.hpp (simdjson),
// kept apart so this header stays usable from CUDA translation units.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <type_traits>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "kspam/core/error.hpp"

namespace kspam::json {

class Value;
using Array = std::vector<Value>;

// Ordered object: a vector of members; lookups are linear, which is right for the small objects
// kspam writes.
class Object {
 public:
  Value& operator[](std::string_view key);
  const Value* find(std::string_view key) const;
  Value* find(std::string_view key);
  bool contains(std::string_view key) const { return find(key) != nullptr; }
  auto begin() const { return members_.begin(); }
  auto end() const { return members_.end(); }
  std::size_t size() const { return members_.size(); }
  bool empty() const { return members_.empty(); }

 private:
  std::vector<std::pair<std::string, Value>> members_;
};

class Value {
 public:
  using Storage = std::variant<std::nullptr_t, bool, std::int64_t, double, std::string, Array,
                               std::shared_ptr<Object>>;

  Value() : v_(nullptr) {}
  Value(std::nullptr_t) : v_(nullptr) {}
  Value(bool b) : v_(b) {}
  template <typename T>
    requires(std::is_integral_v<T> && !std::is_same_v<T, bool>)
  Value(T i) : v_(static_cast<std::int64_t>(i)) {}
  Value(double d) : v_(d) {}
  Value(float f) : v_(static_cast<double>(f)) {}
  Value(std::string s) : v_(std::move(s)) {}
  Value(std::string_view s) : v_(std::string(s)) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(Array a) : v_(std::move(a)) {}
  Value(Object o) : v_(std::make_shared<Object>(std::move(o))) {}
  template <typename T>
  Value(const std::vector<T>& items) : v_(Array(items.begin(), items.end())) {}

  static Value object() { return Value(Object{}); }
  static Value array() { return Value(Array{}); }

  bool is_null() const { return std::holds_alternative<std::nullptr_t>(v_); }
  bool is_bool() const { return std::holds_alternative<bool>(v_); }
  bool is_int() const { return std::holds_alternative<std::int64_t>(v_); }
  bool is_number() const { return is_int() || std::holds_alternative<double>(v_); }
  bool is_string() const { return std::holds_alternative<std::string>(v_); }
  bool is_array() const { return std::holds_alternative<Array>(v_); }
  bool is_object() const { return std::holds_alternative<std::shared_ptr<Object>>(v_); }

  bool as_bool() const { return get<bool>("boolean"); }
  std::int64_t as_int() const { return get<std::int64_t>("integer"); }
  double as_double() const {
    if (is_int()) return static_cast<double>(std::get<std::int64_t>(v_));
    return get<double>("number");
  }
  const std::string& as_string() const { return get<std::string>("string"); }
  const Array& as_array() const { return get<Array>("array"); }
  Array& as_array() { return get<Array>("array"); }
  const Object& as_object() const { return *get<std::shared_ptr<Object>>("object"); }
  Object& as_object() {
    if (is_null()) *this = object();
    auto& ptr = get<std::shared_ptr<Object>>("object");
    if (ptr.use_count() > 1) ptr = std::make_shared<Object>(*ptr);  // copy on write
    return *ptr;
  }

  // Object access; a null value becomes an object on first write, like nlohmann::json.
  Value& operator[](std::string_view key) { return as_object()[key]; }
  const Value* find(std::string_view key) const { return is_object() ? as_object().find(key) : nullptr; }
  void push_back(Value v) {
    if (is_null()) *this = array();
    as_array().push_back(std::move(v));
  }

  // Compact when indent < 0, else pretty-printed. Non-finite numbers become null (JSON has none).
  std::string dump(int indent = 2) const {
    std::string out;
    write(out, indent, 0);
    if (indent >= 0) out += '\n';
    return out;
  }

 private:
  template <typename T>
  const T& get(const char* what) const {
    if (auto* p = std::get_if<T>(&v_)) return *p;
    throw Error(std::string("JSON value is not a ") + what);
  }
  template <typename T>
  T& get(const char* what) {
    if (auto* p = std::get_if<T>(&v_)) return *p;
    throw Error(std::string("JSON value is not a ") + what);
  }

  static void newline(std::string& out, int indent, int depth) {
    if (indent < 0) return;
    out += '\n';
    out.append(static_cast<std::size_t>(indent * depth), ' ');
  }

 public:
  static void write_string(std::string& out, std::string_view s) {
    out += '"';
    for (unsigned char c : s) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
          } else {
            out += static_cast<char>(c);
          }
      }
    }
    out += '"';
  }

  // Shortest representation that reads back to the same double.
  static void write_number(std::string& out, double d) {
    if (!std::isfinite(d)) {
      out += "null";
      return;
    }
    char buf[32];
    for (int precision = 15; precision <= 17; ++precision) {
      std::snprintf(buf, sizeof buf, "%.*g", precision, d);
      if (std::strtod(buf, nullptr) == d) break;
    }
    out += buf;
  }

 private:
  void write(std::string& out, int indent, int depth) const {
    if (is_null()) {
      out += "null";
    } else if (is_bool()) {
      out += std::get<bool>(v_) ? "true" : "false";
    } else if (is_int()) {
      out += std::to_string(std::get<std::int64_t>(v_));
    } else if (std::holds_alternative<double>(v_)) {
      write_number(out, std::get<double>(v_));
    } else if (is_string()) {
      write_string(out, std::get<std::string>(v_));
    } else if (is_array()) {
      const auto& a = std::get<Array>(v_);
      if (a.empty()) {
        out += "[]";
        return;
      }
      // Arrays of scalars stay on one line: confusion matrices and histograms read better that way.
      bool scalars = true;
      for (const auto& item : a) scalars = scalars && !item.is_array() && !item.is_object();
      out += '[';
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (i) out += scalars && indent >= 0 ? ", " : ",";
        if (!scalars) newline(out, indent, depth + 1);
        a[i].write(out, indent, depth + 1);
      }
      if (!scalars) newline(out, indent, depth);
      out += ']';
    } else {
      const auto& o = *std::get<std::shared_ptr<Object>>(v_);
      if (o.empty()) {
        out += "{}";
        return;
      }
      out += '{';
      bool first = true;
      for (const auto& [key, value] : o) {
        if (!first) out += ',';
        first = false;
        newline(out, indent, depth + 1);
        write_string(out, key);
        out += indent >= 0 ? ": " : ":";
        value.write(out, indent, depth + 1);
      }
      newline(out, indent, depth);
      out += '}';
    }
  }

  Storage v_;
};

inline Value& Object::operator[](std::string_view key) {
  for (auto& [k, v] : members_)
    if (k == key) return v;
  members_.emplace_back(std::string(key), Value());
  return members_.back().second;
}
inline const Value* Object::find(std::string_view key) const {
  for (const auto& [k, v] : members_)
    if (k == key) return &v;
  return nullptr;
}
inline Value* Object::find(std::string_view key) {
  for (auto& [k, v] : members_)
    if (k == key) return &v;
  return nullptr;
}

}  // namespace kspam::json

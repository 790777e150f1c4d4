#pragma once
// CSV output (RFC 4180): fields quoted only when they hold a comma, quote or line break, the way
// Python's csv module and pandas write them, so those read our files back unchanged.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace kspam {

inline std::string csv_escape(std::string_view field, char separator = ',') {
  const bool needs_quotes = field.find_first_of(std::string{separator, '"', '\n', '\r'}) != std::string_view::npos;
  if (!needs_quotes) return std::string(field);
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

// Shortest round-trip text for a double; empty for NaN (pandas reads an empty field as NaN).
inline std::string csv_number(double value) {
  if (std::isnan(value)) return "";
  char buf[32];
  for (int precision = 15; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, value);
    if (std::strtod(buf, nullptr) == value) break;
  }
  return buf;
}

inline void write_csv_row(std::ostream& out, const std::vector<std::string>& fields, char separator = ',') {
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i) out << separator;
    out << csv_escape(fields[i], separator);
  }
  out << '\n';
}

}  // namespace kspam

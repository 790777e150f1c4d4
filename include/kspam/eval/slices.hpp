#pragma once
// Slices: every metric and the policy's outcome, separately for each value of a boolean column
// (image present vs missing, seller verified or not, ...). A slice with no labeled rows is
// reported as empty ({"rows": 0, "empty": true}), never as 0 or NaN.
#include <optional>
#include <string>
#include <vector>

#include "kspam/core/error.hpp"
#include "kspam/core/json.hpp"
#include "kspam/eval/metrics.hpp"
#include "kspam/eval/policy.hpp"

namespace kspam::eval {

// Reads a boolean cell as pandas and people write them; empty is "unknown" (nullopt); anything
// else is an error naming the column and value.
inline std::optional<bool> parse_bool_cell(const std::string& origin, std::size_t line, const std::string& column,
                                           const std::string& raw) {
  std::string s;
  for (char c : raw)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') s += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  if (s.empty() || s == "nan" || s == "none" || s == "null") return std::nullopt;
  if (s == "1" || s == "1.0" || s == "true" || s == "yes" || s == "y" || s == "t") return true;
  if (s == "0" || s == "0.0" || s == "false" || s == "no" || s == "n" || s == "f") return false;
  throw InputError(origin, line, column, raw, "a slice column must hold booleans (true/false, 1/0, yes/no) or nothing");
}

struct SliceGroup {
  std::string value;  // "true", "false" or "unknown"
  BinaryMetrics metrics;
  PolicyOutcome policy;
};

struct Slice {
  std::string column;
  std::vector<SliceGroup> groups;  // true, false, then unknown when any row lacks a value

  json::Value to_json() const {
    json::Value v = json::Value::object();
    for (const auto& g : groups) {
      json::Value j = json::Value::object();
      j["metrics"] = g.metrics.to_json();
      j["policy"] = g.policy.to_json();
      v[g.value] = j;
    }
    return v;
  }
};

// `flags[i]` is the column's value for rows[i]. True and false groups are always reported (empty
// when no row has that value); "unknown" only when some row has no value.
inline Slice compute_slice(const std::string& column, const std::vector<Prediction>& rows,
                           const std::vector<std::optional<bool>>& flags, const PolicyThresholds& thresholds,
                           const CostMatrix& costs) {
  if (flags.size() != rows.size()) throw Error("compute_slice: one flag per row needed");
  Slice slice;
  slice.column = column;
  const bool any_unknown = std::any_of(flags.begin(), flags.end(), [](const auto& f) { return !f.has_value(); });
  for (int which = 0; which < (any_unknown ? 3 : 2); ++which) {
    std::vector<Prediction> members;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const bool in = which == 2 ? !flags[i].has_value() : (flags[i].has_value() && *flags[i] == (which == 0));
      if (in) members.push_back(rows[i]);
    }
    SliceGroup g;
    g.value = which == 0 ? "true" : which == 1 ? "false" : "unknown";
    g.metrics = compute_metrics(members);
    g.policy = evaluate_policy(members, thresholds, costs);
    slice.groups.push_back(std::move(g));
  }
  return slice;
}

}  // namespace kspam::eval

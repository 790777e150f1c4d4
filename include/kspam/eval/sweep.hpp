#pragma once
// Threshold sweep: every (review, demote) pair of a grid with review <= demote, scored by the
// policy's macro F1 (maximised) or its expected cost per listing (minimised); see policy.hpp for
// both definitions. Ties are broken by the other objective, then by the higher demote threshold,
// then the higher review threshold (the more cautious policy), so the choice is deterministic.
#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "kspam/core/atomic_file.hpp"
#include "kspam/core/csv_writer.hpp"
#include "kspam/core/error.hpp"
#include "kspam/eval/policy.hpp"

namespace kspam::eval {

enum class SweepObjective { MacroF1, Cost };

inline SweepObjective parse_objective(const std::string& s) {
  if (s == "macro_f1" || s == "f1") return SweepObjective::MacroF1;
  if (s == "cost" || s == "utility") return SweepObjective::Cost;
  throw InputError("--objective", 0, "", s, "objective must be macro_f1 or cost");
}
inline const char* to_string(SweepObjective o) { return o == SweepObjective::MacroF1 ? "macro_f1" : "cost"; }

struct SweepGrid {
  double start = 0.0, stop = 1.0, step = 0.05;

  // Grid values computed as start + i * step (not by repeated addition) and rounded to 1e-9 so
  // that 0.7 in the grid is the 0.7 a user types.
  std::vector<double> values() const {
    if (!(step > 0) || !(stop >= start) || start < 0 || stop > 1)
      throw InputError("--grid", 0, "", std::to_string(start) + ":" + std::to_string(stop) + ":" + std::to_string(step),
                       "grid must satisfy 0 <= start <= stop <= 1 and step > 0");
    std::vector<double> out;
    for (long i = 0;; ++i) {
      double v = start + double(i) * step;
      if (v > stop + 1e-9) break;
      v = std::round(v * 1e9) / 1e9;
      out.push_back(std::min(v, 1.0));
    }
    return out;
  }
};

struct SweepResult {
  SweepObjective objective = SweepObjective::MacroF1;
  std::vector<PolicyOutcome> grid;  // every evaluated pair, review-major order
  std::size_t best = 0;             // index into grid

  const PolicyOutcome& chosen() const { return grid.at(best); }

  json::Value to_json() const {
    json::Value v = json::Value::object();
    v["objective"] = to_string(objective);
    v["pairs_evaluated"] = grid.size();
    v["chosen"] = chosen().to_json();
    return v;
  }

  // threshold_sweep.csv: one row per pair.
  void write_csv(const std::filesystem::path& path) const {
    AtomicFileWriter writer(path);
    write_csv_row(writer.stream(), {"review_threshold", "demote_threshold", "macro_f1", "expected_cost",
                                    "demote_precision", "demote_recall", "kept", "reviewed", "demoted", "chosen"});
    for (std::size_t i = 0; i < grid.size(); ++i) {
      const auto& o = grid[i];
      const auto& spam = o.demote_metrics.per_class[1];
      write_csv_row(writer.stream(),
                    {csv_number(o.thresholds.review), csv_number(o.thresholds.demote),
                     o.macro_f1() ? csv_number(*o.macro_f1()) : "", o.expected_cost ? csv_number(*o.expected_cost) : "",
                     spam.precision ? csv_number(*spam.precision) : "", spam.recall ? csv_number(*spam.recall) : "",
                     std::to_string(o.count(Decision::Keep)), std::to_string(o.count(Decision::Review)),
                     std::to_string(o.count(Decision::Demote)), i == best ? "1" : "0"});
    }
    writer.commit();
  }
};

// True when a is strictly better than b under the objective and the tie-breaks above.
inline bool better_policy(const PolicyOutcome& a, const PolicyOutcome& b, SweepObjective objective) {
  const double fa = a.macro_f1().value_or(0), fb = b.macro_f1().value_or(0);
  const double ca = a.expected_cost.value_or(0), cb = b.expected_cost.value_or(0);
  // Differences below 1e-12 are float noise from summation order, not a better policy.
  auto cmp = [](double x, double y) { return std::abs(x - y) <= 1e-12 ? 0 : (x < y ? -1 : 1); };
  const int by_f1 = cmp(fa, fb), by_cost = -cmp(ca, cb);
  const int first = objective == SweepObjective::MacroF1 ? by_f1 : by_cost;
  const int second = objective == SweepObjective::MacroF1 ? by_cost : by_f1;
  if (first) return first > 0;
  if (second) return second > 0;
  if (a.thresholds.demote != b.thresholds.demote) return a.thresholds.demote > b.thresholds.demote;
  return a.thresholds.review > b.thresholds.review;
}

inline SweepResult sweep_thresholds(const std::vector<Prediction>& rows, const SweepGrid& grid, SweepObjective objective,
                                    const CostMatrix& costs) {
  const auto values = grid.values();
  SweepResult result;
  result.objective = objective;
  for (double review : values)
    for (double demote : values)
      if (review <= demote) result.grid.push_back(evaluate_policy(rows, {review, demote}, costs));
  for (std::size_t i = 1; i < result.grid.size(); ++i)
    if (better_policy(result.grid[i], result.grid[result.best], objective)) result.best = i;
  return result;
}

}  // namespace kspam::eval

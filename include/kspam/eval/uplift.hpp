#pragma once
// Uplift: several models (the VLM, the TF-IDF baseline, the legacy keyword heuristic, ...) judged
// on exactly the same labeled rows: those whose id every model predicted. A row whose truth differs
// between two files is an error (the files were made from different labels).
#include <string>
#include <unordered_map>
#include <vector>

#include "kspam/core/error.hpp"
#include "kspam/core/json.hpp"
#include "kspam/eval/metrics.hpp"
#include "kspam/eval/policy.hpp"

namespace kspam::eval {

struct ModelPredictions {
  std::string name;
  std::string source;  // file the predictions came from (for messages)
  const std::vector<Prediction>* rows = nullptr;
};

struct UpliftEntry {
  std::string model;
  BinaryMetrics metrics;  // the model's own verdicts and scores
  PolicyOutcome policy;   // the policy at the shared thresholds
};

struct Uplift {
  std::size_t common_rows = 0;
  std::vector<UpliftEntry> entries;  // in the order given; the first is the model under evaluation

  json::Value to_json() const {
    json::Value v = json::Value::object();
    v["common_labeled_rows"] = common_rows;
    json::Value models = json::Value::array();
    for (const auto& e : entries) {
      json::Value j = json::Value::object();
      j["model"] = e.model;
      j["metrics"] = e.metrics.to_json();
      j["policy"] = e.policy.to_json();
      models.push_back(j);
    }
    v["models"] = models;
    return v;
  }
};

inline Uplift compare_models(const std::vector<ModelPredictions>& models, const PolicyThresholds& thresholds,
                             const CostMatrix& costs) {
  Uplift out;
  if (models.empty()) return out;
  // Ids labeled in the first model, then kept only while every other model has them too.
  std::unordered_map<std::string, int> truth_of;
  for (const auto& p : *models[0].rows)
    if (p.truth) truth_of.emplace(p.product_id, *p.truth);
  for (std::size_t m = 1; m < models.size(); ++m) {
    std::unordered_map<std::string, int> next;
    for (const auto& p : *models[m].rows) {
      auto it = truth_of.find(p.product_id);
      if (it == truth_of.end()) continue;
      if (p.truth && *p.truth != it->second)
        throw InputError(models[m].source, 0, "label", p.product_id,
                         "truth for this product differs from " + models[0].source + " (" + std::to_string(it->second) +
                             " there)");
      next.emplace(p.product_id, it->second);
    }
    truth_of = std::move(next);
  }
  out.common_rows = truth_of.size();
  for (const auto& model : models) {
    std::vector<Prediction> rows;
    for (const auto& p : *model.rows) {
      auto it = truth_of.find(p.product_id);
      if (it == truth_of.end()) continue;
      Prediction q = p;
      q.truth = it->second;
      rows.push_back(std::move(q));
    }
    out.entries.push_back({model.name, compute_metrics(rows), evaluate_policy(rows, thresholds, costs)});
  }
  return out;
}

}  // namespace kspam::eval

#pragma once
// The one record every model produces (legacy heuristic, TF-IDF baseline, the VLM), so that
// metrics, the policy, sweeps, calibration, slices, the gallery and uplift tables work on any of
// them without special cases.
#include <cmath>
#include <limits>
#include <optional>
#include <string>

namespace kspam::eval {

enum class Decision { Keep, Review, Demote };

inline const char* to_string(Decision d) {
  switch (d) {
    case Decision::Keep: return "keep";
    case Decision::Review: return "review";
    case Decision::Demote: return "demote";
  }
  return "keep";
}

struct Prediction {
  std::string product_id;
  std::optional<int> truth;  // ground-truth label when known (1 = spam)
  // P(spam) in [0, 1]: what ranking metrics (AUPRC, ROC-AUC), calibration and sweeps use.
  double score = std::numeric_limits<double>::quiet_NaN();
  int predicted = 0;  // the model's verdict: 1 = spam
  // The model's confidence in its own verdict, in [0, 1]. For a probabilistic model that is
  // max(score, 1 - score); a VLM states it in its JSON answer.
  double confidence = std::numeric_limits<double>::quiet_NaN();
  std::string reason;                 // short explanation (VLM, heuristic); may be empty
  Decision decision = Decision::Keep; // set by the keep/review/demote policy
  bool image_present = false;         // whether the model saw a photo
  std::string raw_output;             // the model's raw text (VLM), for malformed-answer analysis

  // Fills predicted and confidence from a probability, the way a probabilistic model answers.
  static Prediction from_probability(std::string id, std::optional<int> truth, double p_spam) {
    Prediction out;
    out.product_id = std::move(id);
    out.truth = truth;
    out.score = p_spam;
    out.predicted = p_spam >= 0.5 ? 1 : 0;
    out.confidence = out.predicted ? p_spam : 1.0 - p_spam;
    return out;
  }
};

}  // namespace kspam::eval

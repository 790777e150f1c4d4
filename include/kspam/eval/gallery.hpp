#pragma once
// The curated gallery: a few true positives, true negatives, false positives and false negatives,
// chosen for what they teach rather than at random:
//   mistakes (FP, FN)   the most confident ones first, then the one closest to the decision line;
//   right calls (TP, TN) first those the legacy keyword heuristic got wrong (its known failures,
//                        when its predictions are given), then the most borderline one, then the
//                        clearest.
// Among equals, rows with a photo come first, then by product id, so the choice is reproducible.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <unordered_map>
#include <vector>

#include "kspam/eval/prediction.hpp"

namespace kspam::eval {

enum class Outcome { TruePositive, TrueNegative, FalsePositive, FalseNegative };

inline const char* to_string(Outcome o) {
  switch (o) {
    case Outcome::TruePositive: return "true positive";
    case Outcome::TrueNegative: return "true negative";
    case Outcome::FalsePositive: return "false positive";
    case Outcome::FalseNegative: return "false negative";
  }
  return "";
}

inline Outcome outcome_of(int truth, int predicted) {
  if (truth) return predicted ? Outcome::TruePositive : Outcome::FalseNegative;
  return predicted ? Outcome::FalsePositive : Outcome::TrueNegative;
}

struct GalleryPick {
  std::size_t row;  // index into the rows given
  Outcome outcome;
  std::string why;  // one line: why this example is in the gallery
};

// `legacy_predicted`: the legacy heuristic's verdict by product id (may be empty). `decision_line`:
// the demote threshold, against which a spam verdict is borderline.
inline std::vector<GalleryPick> select_gallery(const std::vector<Prediction>& rows,
                                               const std::unordered_map<std::string, int>& legacy_predicted,
                                               double decision_line, std::size_t per_outcome = 4) {
  std::vector<GalleryPick> picks;
  for (Outcome o : {Outcome::TruePositive, Outcome::TrueNegative, Outcome::FalsePositive, Outcome::FalseNegative}) {
    std::vector<std::size_t> members;
    for (std::size_t i = 0; i < rows.size(); ++i)
      if (rows[i].truth && outcome_of(*rows[i].truth, rows[i].predicted) == o) members.push_back(i);
    auto tie_break = [&](std::size_t a, std::size_t b) {
      if (rows[a].image_present != rows[b].image_present) return rows[a].image_present;
      return rows[a].product_id < rows[b].product_id;
    };
    auto by_confidence_desc = [&](std::size_t a, std::size_t b) {
      if (rows[a].confidence != rows[b].confidence) return rows[a].confidence > rows[b].confidence;
      return tie_break(a, b);
    };
    // A verdict of spam is borderline near the demote line; a verdict of clean near 0.5 (it nearly flipped).
    auto line_for = [&](std::size_t i) { return rows[i].predicted ? decision_line : 0.5; };
    auto by_closeness = [&](std::size_t a, std::size_t b) {
      const double da = std::abs(rows[a].confidence - line_for(a)), db = std::abs(rows[b].confidence - line_for(b));
      if (da != db) return da < db;
      return tie_break(a, b);
    };
    std::vector<bool> taken(rows.size(), false);
    std::size_t count = 0;
    auto take = [&](std::size_t i, std::string why) {
      if (taken[i] || count >= per_outcome) return;
      taken[i] = true;
      ++count;
      picks.push_back({i, o, std::move(why)});
    };
    char buf[160];
    const bool mistake = o == Outcome::FalsePositive || o == Outcome::FalseNegative;
    if (mistake) {
      std::sort(members.begin(), members.end(), by_confidence_desc);
      for (std::size_t k = 0; k < members.size() && count + 1 < per_outcome; ++k) {
        std::snprintf(buf, sizeof buf, "confident mistake: %.0f%% sure of the wrong verdict",
                      100 * rows[members[k]].confidence);
        take(members[k], buf);
      }
      std::sort(members.begin(), members.end(), by_closeness);
      for (std::size_t i : members) {
        if (taken[i]) continue;
        std::snprintf(buf, sizeof buf, "borderline call: confidence %.2f, next to the decision line %.2f",
                      rows[i].confidence, line_for(i));
        take(i, buf);
        break;
      }
    } else {
      const int legacy_wrong_verdict = o == Outcome::TruePositive ? 0 : 1;
      std::vector<std::size_t> legacy_failures;
      for (std::size_t i : members) {
        auto it = legacy_predicted.find(rows[i].product_id);
        if (it != legacy_predicted.end() && it->second == legacy_wrong_verdict) legacy_failures.push_back(i);
      }
      std::sort(legacy_failures.begin(), legacy_failures.end(), by_confidence_desc);
      for (std::size_t k = 0; k < legacy_failures.size() && k < 2; ++k)
        take(legacy_failures[k], o == Outcome::TruePositive ? "the legacy keyword heuristic missed this spam"
                                                             : "the legacy keyword heuristic wrongly flagged this listing");
      std::sort(members.begin(), members.end(), by_closeness);
      for (std::size_t i : members) {
        if (taken[i]) continue;
        std::snprintf(buf, sizeof buf, "borderline call: right, with confidence only %.2f", rows[i].confidence);
        take(i, buf);
        break;
      }
      std::sort(members.begin(), members.end(), by_confidence_desc);
      for (std::size_t i : members) take(i, "clear case");
    }
    if (!mistake) continue;
    // Fill any remaining places (fewer borderline candidates than places) with confident ones.
    std::sort(members.begin(), members.end(), by_confidence_desc);
    for (std::size_t i : members) take(i, "confident mistake");
  }
  return picks;
}

}  // namespace kspam::eval

#pragma once
// Stratified, seeded fold assignment for cross-fitting (calibration) and cross-validated threshold
// choice: each class is shuffled with kspam::Rng and dealt round-robin, so every fold holds about
// the same share of spam, and the same seed gives the same folds on every platform.
#include <cstdint>
#include <span>
#include <vector>

#include "kspam/core/rng.hpp"

namespace kspam::eval {

// fold id in [0, folds) for each row; `truth` holds 0/1.
inline std::vector<int> stratified_folds(std::span<const int> truth, int folds, std::uint64_t seed) {
  std::vector<int> fold_of(truth.size(), 0);
  if (folds < 1) folds = 1;
  Rng rng(seed);
  for (int cls = 0; cls < 2; ++cls) {
    std::vector<std::size_t> members;
    for (std::size_t i = 0; i < truth.size(); ++i)
      if (truth[i] == cls) members.push_back(i);
    rng.shuffle(members);
    for (std::size_t k = 0; k < members.size(); ++k) fold_of[members[k]] = int(k % std::size_t(folds));
  }
  return fold_of;
}

}  // namespace kspam::eval

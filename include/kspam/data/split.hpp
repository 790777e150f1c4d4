#pragma once
// Stratified train/validation split: each class is shuffled with kspam::Rng (identical on every
// platform) and the first round(n_class * fraction) rows go to validation. Both parts keep the
// file order of their rows. Unlabeled rows are not split (they are for prediction only).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kspam/core/error.hpp"
#include "kspam/core/rng.hpp"
#include "kspam/data/listing.hpp"

namespace kspam::data {

struct SplitIndices {
  std::vector<std::size_t> train;  // indices into the input rows, ascending
  std::vector<std::size_t> val;
};

inline SplitIndices stratified_split(const std::vector<Listing>& rows, double val_fraction, std::uint64_t seed) {
  if (!(val_fraction > 0.0 && val_fraction < 1.0))
    throw InputError("--val-fraction", 0, "", std::to_string(val_fraction), "must be strictly between 0 and 1");
  std::vector<std::size_t> by_class[2];
  for (std::size_t i = 0; i < rows.size(); ++i)
    if (rows[i].label) by_class[*rows[i].label].push_back(i);

  Rng rng(seed);
  SplitIndices out;
  for (auto& members : by_class) {
    rng.shuffle(members);
    const auto n = members.size();
    // Round half up, but leave at least one row of the class in training.
    auto n_val = static_cast<std::size_t>(std::floor(static_cast<double>(n) * val_fraction + 0.5));
    if (n_val >= n && n > 0) n_val = n - 1;
    out.val.insert(out.val.end(), members.begin(), members.begin() + static_cast<std::ptrdiff_t>(n_val));
    out.train.insert(out.train.end(), members.begin() + static_cast<std::ptrdiff_t>(n_val), members.end());
  }
  std::sort(out.train.begin(), out.train.end());
  std::sort(out.val.begin(), out.val.end());
  return out;
}

}  // namespace kspam::data

#pragma once
// The data stages shared by `kspam validate`, `kspam split` and `kspam run`.
#include <filesystem>
#include <string>

#include "kspam/core/json.hpp"
#include "kspam/data/label_quality.hpp"
#include "kspam/data/read_listings.hpp"

namespace kspam::cli {

struct SplitOptions {
  std::uint64_t seed = 42;
  double val_fraction = 0.1;
  std::string label_quality = "all";
};

// Validates `data` and prints its summary; returns the summary as JSON.
json::Value validate_file(const std::filesystem::path& data, const data::ReadOptions& options);

// Splits the labeled rows of `data` into out/train.tsv and out/val.tsv (stratified), writes
// unlabeled rows to out/unlabeled.tsv when there are any, and out/split_summary.json.
json::Value split_file(const std::filesystem::path& data, const std::filesystem::path& out, const SplitOptions& options);

}  // namespace kspam::cli

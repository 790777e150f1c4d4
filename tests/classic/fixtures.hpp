#pragma once
// Loading the scikit-learn fixtures of tests/reference/fixtures/classic/ and the committed corpora.
#include <filesystem>
#include <string>
#include <vector>

#include "kspam/core/atomic_file.hpp"
#include "kspam/core/json_parse.hpp"
#include "kspam/data/read_listings.hpp"

namespace kspam::test {

inline std::filesystem::path classic_fixture_dir() {
  return std::filesystem::path(KSPAM_SOURCE_DIR) / "tests" / "reference" / "fixtures" / "classic";
}
inline std::filesystem::path corpus_path(const std::string& name) {
  return std::filesystem::path(KSPAM_SOURCE_DIR) / "tests" / "reference" / "corpora" / name;
}

inline json::Value load_classic_fixture(const std::string& name) {
  const auto path = classic_fixture_dir() / name;
  return json::parse(read_file(path), path.string());
}

inline std::vector<double> doubles(const json::Value& array) {
  std::vector<double> out;
  for (const auto& v : array.as_array()) out.push_back(v.as_double());
  return out;
}

// A corpus split as the fixture script splits it: the `part` column when present (train / eval),
// else every document is both fitted and evaluated.
struct Corpus {
  std::vector<std::string> fit_docs, eval_docs, eval_ids;
  std::vector<int> fit_labels, eval_labels;
};

inline Corpus load_corpus(const std::string& name) {
  const auto table = data::read_listings(corpus_path(name).string());
  const int part = table.extra_index("part");
  Corpus c;
  for (const auto& row : table.rows) {
    const bool is_eval = part >= 0 && row.extra[static_cast<std::size_t>(part)] == "eval";
    const bool is_fit = part < 0 || !is_eval;
    if (is_fit) {
      c.fit_docs.push_back(row.description);
      c.fit_labels.push_back(row.label.value_or(0));
    }
    if (is_eval || part < 0) {
      c.eval_docs.push_back(row.description);
      c.eval_ids.push_back(row.product_id);
      c.eval_labels.push_back(row.label.value_or(0));
    }
  }
  return c;
}

}  // namespace kspam::test

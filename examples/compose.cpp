// Composing kspam in your own program: read listings, split, train the TF-IDF + logistic-regression
// baseline, predict, apply the keep/review/demote policy and score it.
// Usage: example_compose [listings.tsv]   (default: the bundled sample data)
#include <cstdio>
#include <string>

#include <kspam/classic/baseline.hpp>
#include <kspam/data/read_listings.hpp>
#include <kspam/data/split.hpp>
#include <kspam/eval/metrics.hpp>
#include <kspam/eval/policy.hpp>

int main(int argc, char** argv) try {
  const std::string path = argc > 1 ? argv[1] : KSPAM_SOURCE_DIR "/data/sample/listings.tsv";
  const auto table = kspam::data::read_listings(path);                       // validated rows
  const auto parts = kspam::data::stratified_split(table.rows, 0.1, /*seed=*/42);
  std::vector<kspam::data::Listing> train, val;
  for (auto i : parts.train) train.push_back(table.rows[i]);
  for (auto i : parts.val) val.push_back(table.rows[i]);

  kspam::classic::TfidfLogisticBaseline baseline;                            // sklearn-parity defaults
  baseline.fit(train);
  auto predictions = baseline.predict(val);                                  // eval::Prediction records
  const kspam::eval::PolicyThresholds policy{.review = 0.5, .demote = 0.7};
  for (auto& p : predictions) p.decision = kspam::eval::decide(p, policy);

  const auto m = kspam::eval::compute_metrics(predictions);
  std::printf("macro F1 %.3f  AUPRC %.3f  on %zu validation listings\n", m.macro_f1.value_or(0),
              m.average_precision.value_or(0), m.rows);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 2;
}

// The baseline run over files (what `kspam baseline` and the run stage do): outputs, columns,
// no leakage from evaluation text, and bad input.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>

#include "fixtures.hpp"
#include "kspam/classic/baseline_run.hpp"
#include "kspam/eval/predictions_csv.hpp"

using namespace kspam;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
  auto dir = fs::path(KSPAM_BINARY_DIR) / "test-scratch" / "classic" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void write_tsv(const fs::path& path, const std::vector<std::tuple<std::string, std::string, std::string>>& rows) {
  std::ofstream out(path);
  out << "product_id\tdescription\timage_url\tlabel\tyes_count\tno_count\n";
  for (const auto& [id, text, label] : rows) out << id << '\t' << text << "\t\t" << label << "\t1\t0\n";
}

}  // namespace

TEST_CASE("baseline run: writes metrics and predictions with the promised columns", "[classic][baseline]") {
  const auto dir = scratch("run");
  classic::BaselineRunRequest request;
  request.train = test::corpus_path("debian_docs.tsv");
  request.eval = test::corpus_path("unicode_edge_cases.tsv");
  write_tsv(dir / "unlabeled.tsv", {{"u1", "cheap nike DM for discounts", ""}, {"u2", "", ""}});
  request.predict = {{"unlabeled", dir / "unlabeled.tsv"}};
  request.out = dir / "out";
  const auto result = classic::run_baseline(request);

  std::ifstream csv(result.baseline_predictions);
  std::string header;
  std::getline(csv, header);
  CHECK(header == "product_id,label,score,pred");
  const auto table = eval::read_predictions_csv(result.baseline_predictions.string());
  REQUIRE(table.rows.size() == 18);
  for (const auto& p : table.rows) {
    CHECK(std::isfinite(p.score));
    CHECK(p.predicted == (p.score >= 0.5 ? 1 : 0));
  }
  const auto metrics = json::parse(read_file(request.out / "baseline_metrics.json"));
  CHECK(metrics.find("rows")->as_int() == 18);
  for (const char* key : {"accuracy", "macro_f1", "micro_f1", "macro_precision", "macro_recall", "average_precision"})
    CHECK(metrics.find(key)->is_number());
  CHECK(metrics.find("confusion_matrix")->is_object());
  CHECK(fs::exists(request.out / "legacy_metrics.json"));
  const auto legacy = eval::read_predictions_csv(result.legacy_predictions.string());
  CHECK(legacy.rows.size() == 18);
  REQUIRE(result.baseline_extra.size() == 1);
  const auto extra = eval::read_predictions_csv(result.baseline_extra[0].second.string());
  REQUIRE(extra.rows.size() == 2);
  CHECK_FALSE(extra.rows[0].truth.has_value());
}

TEST_CASE("baseline run: the vocabulary comes from training text only", "[classic][baseline]") {
  const auto dir = scratch("leak");
  write_tsv(dir / "train.tsv", {{"a", "cheap cheap replica", "1"}, {"b", "warm wool sweater", "0"},
                                {"c", "replica watch cheap", "1"}, {"d", "cotton sweater blue", "0"}});
  write_tsv(dir / "eval.tsv", {{"e", "zebra quokka", "1"}, {"f", "wool sweater", "0"}});
  classic::TfidfLogisticBaseline baseline;
  baseline.fit(data::read_listings((dir / "train.tsv").string()).rows);
  CHECK_FALSE(baseline.vectorizer().index_of("zebra"));
  const auto preds = baseline.predict(data::read_listings((dir / "eval.tsv").string()).rows);
  // Only unknown words: the score is the intercept's probability, finite.
  CHECK(preds[0].score == Approx(classic::LogisticRegression::sigmoid(baseline.model().intercept())));
}

TEST_CASE("baseline run: bad training data gives one clear error naming the file", "[classic][baseline]") {
  const auto dir = scratch("bad");
  write_tsv(dir / "one_class.tsv", {{"a", "cheap replica", "1"}, {"b", "replica cheap", "1"}});
  write_tsv(dir / "stop_only.tsv", {{"a", "the and of", "1"}, {"b", "", "0"}, {"c", "a b c", "0"}});
  write_tsv(dir / "eval.tsv", {{"e", "x", "1"}});
  classic::BaselineRunRequest request;
  request.eval = dir / "eval.tsv";
  request.out = dir / "out";
  request.train = dir / "one_class.tsv";
  CHECK_THROWS_WITH(classic::run_baseline(request),
                    Catch::Contains("one_class.tsv") && Catch::Contains("only one class"));
  request.train = dir / "stop_only.tsv";
  CHECK_THROWS_WITH(classic::run_baseline(request),
                    Catch::Contains("stop_only.tsv") && Catch::Contains("empty vocabulary"));
  CHECK_FALSE(fs::exists(request.out / "baseline_predictions.csv"));
}

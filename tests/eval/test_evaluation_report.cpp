// The whole evaluation on the mini fixture (tests/reference/make_eval_mini_run.py): numbers against
// scikit-learn, files on disk, slices, uplift, bad input; the package's zip and manifest.
#include <catch2/catch.hpp>

#include <filesystem>

#include <unistd.h>
#include <zip.h>

#include "kspam/core/atomic_file.hpp"
#include "kspam/core/hash.hpp"
#include "kspam/core/json_parse.hpp"
#include "kspam/eval/evaluation.hpp"
#include "kspam/eval/package.hpp"
#include "kspam/eval/report.hpp"

using namespace kspam;
using namespace kspam::eval;
namespace fs = std::filesystem;

namespace {

fs::path mini() { return fs::path(KSPAM_SOURCE_DIR) / "tests/reference/fixtures/eval/mini"; }

fs::path scratch(const std::string& name) {
  const auto dir = fs::temp_directory_path() / ("kspam_test_eval_" + std::to_string(::getpid())) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

EvaluationInputs mini_inputs() {
  EvaluationInputs in;
  in.model_name = "model";
  in.predictions = mini() / "model.csv";
  in.listings = {mini() / "listings.tsv"};
  in.compare = {{"legacy", mini() / "legacy.csv"}};
  return in;
}

}  // namespace

TEST_CASE("evaluate on the mini run matches scikit-learn and writes every file", "[eval][evaluation]") {
  const auto expected = json::parse(read_file(mini() / "expected.json"));
  EvaluationOptions options;
  options.slice_columns = {"seller_verified"};
  const auto r = evaluate(mini_inputs(), options);
  CHECK(r.metrics.rows == std::size_t(expected.find("labeled_rows")->as_int()));
  CHECK(r.metrics.unlabeled == 5);
  CHECK(*r.metrics.macro_f1 == Approx(expected.find("macro_f1")->as_double()).margin(1e-12));
  CHECK(*r.metrics.average_precision == Approx(expected.find("average_precision")->as_double()).margin(1e-12));
  CHECK(*r.metrics.roc_auc == Approx(expected.find("roc_auc")->as_double()).margin(1e-12));

  // image_present comes from the photos on disk: kinds 0 and 1 of every 4 rows have one, except
  // M003 whose "photo" is an HTML page.
  std::size_t with_photo = 0;
  for (const auto& p : r.rows) {
    const int i = std::stoi(p.product_id.substr(1));
    const bool expected_photo = (i % 4 == 0 || i % 4 == 1);
    CHECK(p.image_present == expected_photo);
    with_photo += p.image_present;
  }
  CHECK(r.image_present_rows == with_photo);

  // Slices: image present/missing, seller_verified true/false, each group summing to the whole.
  REQUIRE(r.slices.size() == 2);
  CHECK(r.slices[1].column == "seller_verified");
  for (const auto& slice : r.slices) {
    REQUIRE(slice.groups.size() == 2);
    CHECK(slice.groups[0].metrics.rows + slice.groups[1].metrics.rows == r.metrics.rows);
  }

  // Uplift: both models on the same 60 labeled rows; legacy's numbers equal its own evaluation.
  REQUIRE(r.uplift);
  CHECK(r.uplift->common_rows == 60);
  const auto legacy = read_predictions_csv((mini() / "legacy.csv").string());
  CHECK(*r.uplift->entries[1].metrics.macro_f1 == Approx(*compute_metrics(legacy.rows).macro_f1).margin(1e-15));

  // The chosen point is the best of the sweep, applied to every row.
  REQUIRE(r.sweep);
  for (const auto& o : r.sweep->grid) CHECK(*o.macro_f1() <= *r.sweep->chosen().macro_f1() + 1e-12);
  for (const auto& p : r.rows) CHECK(p.decision == decide(p, r.chosen));

  const auto dir = scratch("evaluate");
  write_evaluation(r, dir);
  for (const char* f : {"metrics.json", "classification_report.json", "predictions_with_decisions.csv",
                        "threshold_sweep.csv", "calibration.json"})
    CHECK(fs::exists(dir / f));
  const auto report = json::parse(read_file(dir / "classification_report.json"));
  const auto& want = expected.find("classification_report")->as_object();
  for (const auto& [key, value] : want) {
    INFO(key);
    REQUIRE(report.find(key));
    if (value.is_object())
      CHECK(report.find(key)->find("f1-score")->as_double() == Approx(value.find("f1-score")->as_double()).margin(1e-12));
  }
  const auto metrics_text = read_file(dir / "metrics.json");
  CHECK(metrics_text.find("NaN") == std::string::npos);
  CHECK(metrics_text.find("nan") == std::string::npos);
  const auto written = read_predictions_csv((dir / "predictions_with_decisions.csv").string());
  REQUIRE(written.rows.size() == 65);
  CHECK(written.extra_index("calibrated_score") >= 0);
  CHECK(written.rows[0].decision == r.rows[0].decision);
}

TEST_CASE("a slice with no labeled rows is reported as empty", "[eval][evaluation]") {
  std::vector<Prediction> rows = {Prediction::from_probability("a", 1, 0.9), Prediction::from_probability("b", 0, 0.1)};
  const auto s = compute_slice("image_present", rows, {true, true}, PolicyThresholds{}, CostMatrix{});
  REQUIRE(s.groups.size() == 2);
  CHECK(s.groups[1].metrics.empty());
  const auto j = s.to_json().dump(-1);
  CHECK(j.find(R"("false":{"metrics":{"rows":0,"empty":true})") != std::string::npos);
}

TEST_CASE("evaluate rejects unknown ids, bad slice columns and bad thresholds", "[eval][evaluation]") {
  const auto dir = scratch("bad");
  write_file_atomically(dir / "stray.csv", "product_id,label,score,pred\nM000,1,0.9,1\nNOPE,0,0.1,0\n");
  auto in = mini_inputs();
  in.compare.clear();
  in.predictions = dir / "stray.csv";
  CHECK_THROWS_WITH(evaluate(in, {}), Catch::Contains("stray.csv:3: column 'product_id': unknown product id") &&
                                          Catch::Contains("NOPE"));
  in = mini_inputs();
  EvaluationOptions options;
  options.slice_columns = {"no_such_column"};
  CHECK_THROWS_WITH(evaluate(in, options), Catch::Contains("no such column"));
  options = {};
  options.slice_columns = {"description"};  // a required column, not an extra: not a slice
  CHECK_THROWS_AS(evaluate(in, options), InputError);
  options = {};
  options.thresholds = {0.9, 0.6};
  CHECK_THROWS_WITH(evaluate(in, options), Catch::Contains("must not exceed the demote threshold"));
  write_file_atomically(dir / "unlabeled.csv", "product_id,label,score,pred\nM060,,0.9,1\n");
  in.predictions = dir / "unlabeled.csv";
  CHECK_THROWS_WITH(evaluate(in, {}), Catch::Contains("no labeled rows"));
}

TEST_CASE("validation predictions tune the thresholds and fit the calibrator", "[eval][evaluation]") {
  auto in = mini_inputs();
  in.val_predictions = mini() / "legacy.csv";  // any labeled predictions on other rows would do
  const auto r = evaluate(in, {});
  CHECK_THAT(r.tuned_on, Catch::Contains("validation predictions"));
  REQUIRE(r.calibration);
  CHECK_THAT(r.calibration->fitted_on, Catch::Contains("validation predictions"));
  // Legacy scores take two values, so the calibrator learned from them maps every score to one of
  // at most two calibrated levels plus the interpolation between them.
  CHECK(r.calibration->calibrator.knots_x().size() == 2);
}

TEST_CASE("package zips the run with a manifest whose sizes and SHA-256 match", "[eval][package]") {
  const auto dir = scratch("package");
  const auto r = evaluate(mini_inputs(), {});
  write_evaluation(r, dir);
  fs::create_directories(dir / "merged_model");
  write_file_atomically(dir / "merged_model" / "config.json", "{\"model_type\": \"qwen3_vl\"}\n");
  write_file_atomically(dir / ".metrics.json.tmp-1-2-3", "half-written file that must not ship");
  const auto s = package_run(dir);
  CHECK(s.merged_model);
  REQUIRE(fs::exists(dir / "package.zip"));

  int err = 0;
  zip_t* z = zip_open((dir / "package.zip").c_str(), ZIP_RDONLY, &err);
  REQUIRE(z);
  auto read_entry = [&](const std::string& name) {
    zip_stat_t st;
    REQUIRE(zip_stat(z, name.c_str(), 0, &st) == 0);
    std::string bytes(st.size, '\0');
    zip_file_t* f = zip_fopen(z, name.c_str(), 0);
    REQUIRE(f);
    REQUIRE(zip_fread(f, bytes.data(), st.size) == zip_int64_t(st.size));
    zip_fclose(f);
    return bytes;
  };
  const auto manifest = json::parse(read_entry("MANIFEST.json"));
  CHECK(manifest.find("merged_model")->as_bool());
  std::vector<std::string> names;
  for (const auto& f : manifest.find("files")->as_array()) {
    const std::string name = f.find("path")->as_string();
    names.push_back(name);
    const auto bytes = read_entry(name);
    CHECK(bytes.size() == std::size_t(f.find("bytes")->as_int()));
    CHECK(sha256_hex(bytes) == f.find("sha256")->as_string());
  }
  CHECK(zip_get_num_entries(z, 0) == zip_int64_t(names.size() + 1));
  zip_close(z);
  auto has = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) != names.end(); };
  CHECK(has("metrics.json"));
  CHECK(has("merged_model/config.json"));
  CHECK_FALSE(has("package.zip"));
  CHECK_FALSE(has(".metrics.json.tmp-1-2-3"));
  CHECK_THROWS_AS(package_run(dir / "no_such_run"), InputError);
}

TEST_CASE("listing photos are found in the image cache, beside the TSV, or not at all", "[eval][images]") {
  const auto dir = scratch("images");
  const std::string png = read_file(mini() / "images" / "p000.png");
  const std::string url = "https://cdn.example.com/photos/123.PNG?size=large";
  fs::create_directories(dir / "cache");
  write_file_atomically(dir / "cache" / image::cache_file_name(url), png);
  const auto found = resolve_listing_image(url, dir, dir / "cache");
  REQUIRE(found);
  CHECK(sniff_image_file(*found) == "image/png");
  CHECK_FALSE(resolve_listing_image(url, dir, {}));  // remote and no cache: no photo
  CHECK(resolve_listing_image("images/p000.png", mini(), {}));
  CHECK_FALSE(resolve_listing_image("images/p003_error.jpg", mini(), {}));  // an HTML page, not a photo
  CHECK_FALSE(resolve_listing_image("images/missing003.jpg", mini(), {}));
  CHECK_FALSE(resolve_listing_image("", mini(), dir / "cache"));
}

TEST_CASE("the gallery picks confident mistakes, borderline calls and the legacy heuristic's failures", "[eval][gallery]") {
  std::vector<Prediction> rows;
  auto add = [&](const std::string& id, int truth, int predicted, double confidence) {
    Prediction p;
    p.product_id = id;
    p.truth = truth;
    p.predicted = predicted;
    p.confidence = confidence;
    p.score = predicted ? confidence : 1 - confidence;
    rows.push_back(p);
  };
  // False positives: confidences 0.9 .. 0.55.
  add("fp1", 0, 1, 0.90);
  add("fp2", 0, 1, 0.80);
  add("fp3", 0, 1, 0.75);
  add("fp4", 0, 1, 0.60);
  add("fp5", 0, 1, 0.52);
  // True positives: two that the legacy heuristic missed, one borderline, several clear.
  add("tp1", 1, 1, 0.99);
  add("tp2", 1, 1, 0.98);
  add("tp3", 1, 1, 0.97);
  add("tp_legacy_missed", 1, 1, 0.80);
  add("tp_borderline", 1, 1, 0.71);
  const std::unordered_map<std::string, int> legacy = {{"tp_legacy_missed", 0}, {"tp1", 1}};
  const auto picks = select_gallery(rows, legacy, 0.7, 4);
  std::vector<std::string> fp, tp;
  for (const auto& p : picks) (p.outcome == Outcome::FalsePositive ? fp : tp).push_back(rows[p.row].product_id);
  // Three most confident mistakes, then the one closest to the demote line (0.60 is closer to 0.7 than 0.52).
  CHECK(fp == std::vector<std::string>{"fp1", "fp2", "fp3", "fp4"});
  CHECK(tp == std::vector<std::string>{"tp_legacy_missed", "tp_borderline", "tp1", "tp2"});
  for (const auto& p : picks) {
    const auto& id = rows[p.row].product_id;
    if (id == "tp2") CHECK(p.why == "clear case");
    if (id == "tp_legacy_missed") CHECK_THAT(p.why, Catch::Contains("legacy keyword heuristic missed"));
    if (id == "fp4") CHECK_THAT(p.why, Catch::Contains("borderline call"));
  }
}

TEST_CASE("decisions for another predictions file follow the chosen thresholds", "[eval][evaluation]") {
  const auto dir = scratch("decisions");
  const auto r = evaluate(mini_inputs(), {});
  const auto counts = write_decisions_for(r, mini() / "legacy.csv", dir / "legacy_with_decisions.csv");
  const auto back = read_predictions_csv((dir / "legacy_with_decisions.csv").string());
  const auto original = read_predictions_csv((mini() / "legacy.csv").string());
  REQUIRE(back.rows.size() == original.rows.size());
  std::array<std::size_t, 3> seen{0, 0, 0};
  for (std::size_t i = 0; i < back.rows.size(); ++i) {
    CHECK(back.rows[i].decision == decide(original.rows[i], r.chosen));
    seen[std::size_t(back.rows[i].decision)]++;
  }
  CHECK(seen == counts);
  CHECK(back.extra_index("calibrated_score") >= 0);
}

TEST_CASE("report.html needs nothing from the network", "[eval][report]") {
  const auto dir = scratch("report_offline");
  write_evaluation(evaluate(mini_inputs(), {}), dir);
  const auto s = write_report(dir);
  const auto html = read_file(s.html);
  for (const char* needle : {"src=\"http", "href=\"http", "src='http", "@import", "url(http", "<link"})
    CHECK(html.find(needle) == std::string::npos);
  CHECK(html.find("data:image/png;base64,") != std::string::npos);
  CHECK(html.find("data:image/jpeg;base64,") != std::string::npos);
  // Every section is there.
  for (const char* section : {"<h2>Summary</h2>", "<h2>Plots</h2>", "<h2>Slices</h2>", "<h2>Uplift</h2>",
                              "<h2>Gallery</h2>", "false negatives</h3>"})
    CHECK(html.find(section) != std::string::npos);
  for (const auto& p : s.plots) CHECK(html.find(read_file(p).substr(read_file(p).find("<svg"), 200)) != std::string::npos);
}

TEST_CASE("without a tuning set, the chosen policy also gets a cross-validated estimate", "[eval][evaluation]") {
  const auto r = evaluate(mini_inputs(), {});
  REQUIRE(r.cross_validated);
  CHECK(r.cross_validated->rows == r.metrics.rows);
  CHECK(r.cross_validated_thresholds.size() == 5);
  // Pooled held-out decisions: recompute them from the per-fold thresholds.
  std::size_t decided = 0;
  for (int t = 0; t < 2; ++t)
    for (int d = 0; d < 3; ++d) decided += r.cross_validated->decisions[t][d];
  CHECK(decided == r.metrics.rows);
  // In-sample choice is the best on these rows, so the honest estimate cannot beat it.
  CHECK(*r.cross_validated->macro_f1() <= *r.at_chosen.macro_f1() + 1e-12);
  const auto j = r.metrics_json();
  const auto* cv = j.find("policy")->find("cross_validated_estimate");
  REQUIRE(cv);
  CHECK(cv->find("review_threshold")->is_null());
  CHECK(cv->find("fold_thresholds")->as_array().size() == 5);
  auto in = mini_inputs();
  in.val_predictions = mini() / "legacy.csv";
  CHECK_FALSE(evaluate(in, {}).cross_validated);  // a real tuning set needs no estimate
}

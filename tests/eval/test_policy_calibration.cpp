// Policy, threshold sweep, reliability/ECE and isotonic regression against scikit-learn 1.2.1
// (fixtures: tests/reference/make_eval_metrics.py).
#include <catch2/catch.hpp>


#include "eval_fixtures.hpp"
#include "kspam/eval/calibration.hpp"
#include "kspam/eval/sweep.hpp"

using namespace kspam;
using namespace kspam::eval;

namespace {

json::Value load_fixture(const std::string& name) { return test::load_eval_fixture(name); }

std::vector<double> doubles(const json::Value& v) {
  std::vector<double> out;
  for (const auto& x : v.as_array()) out.push_back(x.as_double());
  return out;
}
std::vector<int> ints(const json::Value& v) {
  std::vector<int> out;
  for (const auto& x : v.as_array()) out.push_back(static_cast<int>(x.as_int()));
  return out;
}

}  // namespace

TEST_CASE("the policy demotes, reviews and keeps as documented", "[eval][policy]") {
  const PolicyThresholds t;  // review 0.5, demote 0.7
  CHECK(decide(1, 0.70, t) == Decision::Demote);
  CHECK(decide(1, 0.69, t) == Decision::Review);
  CHECK(decide(1, 0.50, t) == Decision::Review);
  CHECK(decide(1, 0.49, t) == Decision::Keep);
  CHECK(decide(0, 0.99, t) == Decision::Keep);  // confident it is clean: never demoted
  CHECK_THROWS_AS((PolicyThresholds{0.8, 0.7}.validate()), InputError);
  CHECK_THROWS_AS((PolicyThresholds{-0.1, 0.7}.validate()), InputError);
}

TEST_CASE("the threshold sweep matches sklearn's macro F1 and the cost formula at every grid point", "[eval][sweep]") {
  const auto fixture = load_fixture("sweep_cases.json");
  const auto& s = *fixture.find("sweep");
  const auto truth = ints(*s.find("truth")), predicted = ints(*s.find("predicted"));
  const auto confidence = doubles(*s.find("confidence"));
  std::vector<Prediction> rows(truth.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    rows[i].product_id = std::to_string(i);
    rows[i].truth = truth[i];
    rows[i].predicted = predicted[i];
    rows[i].confidence = confidence[i];
    rows[i].score = predicted[i] ? confidence[i] : 1 - confidence[i];
  }
  const auto& c = *s.find("costs");
  const CostMatrix costs{c.find("false_demote")->as_double(), c.find("review")->as_double(),
                         c.find("missed_spam")->as_double()};
  const auto result = sweep_thresholds(rows, SweepGrid{}, SweepObjective::MacroF1, costs);
  const auto& pairs = s.find("pairs")->as_array();
  REQUIRE(result.grid.size() == pairs.size());
  double best_f1 = -1, best_cost = 1e300;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    const auto& e = pairs[i];
    const auto& o = result.grid[i];
    INFO("review " << o.thresholds.review << " demote " << o.thresholds.demote);
    CHECK(o.thresholds.review == e.find("review")->as_double());
    CHECK(o.thresholds.demote == e.find("demote")->as_double());
    CHECK(*o.macro_f1() == Approx(e.find("macro_f1")->as_double()).margin(1e-12));
    CHECK(*o.expected_cost == Approx(e.find("expected_cost")->as_double()).margin(1e-12));
    CHECK(o.count(Decision::Keep) == std::size_t(e.find("kept")->as_int()));
    CHECK(o.count(Decision::Review) == std::size_t(e.find("reviewed")->as_int()));
    CHECK(o.count(Decision::Demote) == std::size_t(e.find("demoted")->as_int()));
    best_f1 = std::max(best_f1, e.find("macro_f1")->as_double());
    best_cost = std::min(best_cost, e.find("expected_cost")->as_double());
  }
  CHECK(*result.chosen().macro_f1() == Approx(best_f1).margin(1e-12));
  const auto by_cost = sweep_thresholds(rows, SweepGrid{}, SweepObjective::Cost, costs);
  CHECK(*by_cost.chosen().expected_cost == Approx(best_cost).margin(1e-12));
  // Every pair keeps review <= demote.
  for (const auto& o : result.grid) CHECK(o.thresholds.review <= o.thresholds.demote);
}

TEST_CASE("reliability bins and ECE match sklearn's calibration_curve", "[eval][calibration]") {
  const auto fixture = load_fixture("metrics_cases.json");
  for (const auto& c : fixture.find("cases")->as_array()) {
    const std::string name = c.find("name")->as_string();
    INFO(name);
    const auto truth = ints(*c.find("truth"));
    const auto score = doubles(*c.find("score"));
    const auto r = reliability(truth, score, 10);
    const auto& cal = *c.find("calibration");
    const auto frac = doubles(*cal.find("frac_positive")), mean = doubles(*cal.find("mean_score"));
    const auto counts = ints(*cal.find("counts"));
    std::size_t k = 0;
    for (const auto& bin : r.bins) {
      if (!bin.count) continue;
      REQUIRE(k < counts.size());
      CHECK(bin.count == std::size_t(counts[k]));
      CHECK(*bin.frac_positive == Approx(frac[k]).margin(1e-12));
      CHECK(*bin.mean_score == Approx(mean[k]).margin(1e-12));
      ++k;
    }
    CHECK(k == counts.size());
    CHECK(*r.ece == Approx(cal.find("ece")->as_double()).margin(1e-12));
  }
  CHECK_FALSE(reliability(std::vector<int>{}, std::vector<double>{}).ece.has_value());
}

TEST_CASE("isotonic regression matches sklearn IsotonicRegression(out_of_bounds='clip')", "[eval][calibration]") {
  const auto fixture = load_fixture("isotonic_cases.json");
  for (const auto& c : fixture.find("cases")->as_array()) {
    const std::string name = c.find("name")->as_string();
    INFO(name);
    IsotonicCalibrator model;
    const auto x_fit = doubles(*c.find("x_fit"));
    model.fit(x_fit, doubles(*c.find("y_fit")));
    const auto x_pred = doubles(*c.find("x_pred")), y_pred = doubles(*c.find("y_pred"));
    for (std::size_t i = 0; i < x_pred.size(); ++i) CHECK(model.predict(x_pred[i]) == Approx(y_pred[i]).margin(1e-12));
    const auto fitted = doubles(*c.find("fitted"));
    for (std::size_t i = 0; i < x_fit.size(); ++i) CHECK(model.predict(x_fit[i]) == Approx(fitted[i]).margin(1e-12));
    for (std::size_t i = 1; i < model.knots_y().size(); ++i) CHECK(model.knots_y()[i - 1] <= model.knots_y()[i]);
  }
}

TEST_CASE("cross-fitted isotonic scores are reproducible and never see their own row", "[eval][calibration]") {
  Rng rng(7);
  std::vector<int> truth;
  std::vector<double> score;
  for (int i = 0; i < 400; ++i) {
    const double s = rng.uniform();
    score.push_back(s);
    truth.push_back(rng.uniform() < s * s ? 1 : 0);  // over-confident scores: calibration should help
  }
  const auto a = cross_fit_isotonic(truth, score, 5, 42);
  const auto b = cross_fit_isotonic(truth, score, 5, 42);
  CHECK(a == b);
  const double before = *reliability(truth, score).ece;
  const double after = *reliability(truth, a).ece;
  CHECK(after < before);
  for (double v : a) CHECK((v >= 0.0 && v <= 1.0));
}

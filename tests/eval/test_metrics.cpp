// Metrics parity with scikit-learn 1.2.1 (fixtures: tests/reference/make_eval_metrics.py).
#include <catch2/catch.hpp>


#include "eval_fixtures.hpp"
#include "kspam/eval/metrics.hpp"

using namespace kspam;
using namespace kspam::eval;

namespace {

json::Value load_fixture(const std::string& name) { return test::load_eval_fixture(name); }

template <typename T>
std::vector<T> vec(const json::Value& v) {
  std::vector<T> out;
  for (const auto& x : v.as_array()) {
    if constexpr (std::is_same_v<T, int>) out.push_back(static_cast<int>(x.as_int()));
    else out.push_back(x.as_double());
  }
  return out;
}

void check_close(const json::Value& expected, double actual, const std::string& what) {
  INFO(what);
  CHECK(actual == Approx(expected.as_double()).margin(1e-12).epsilon(1e-12));
}

}  // namespace

TEST_CASE("metrics match scikit-learn on every fixture case", "[eval][metrics]") {
  const auto fixture = load_fixture("metrics_cases.json");
  for (const auto& c : fixture.find("cases")->as_array()) {
    const std::string name = c.find("name")->as_string();
    SECTION(name) {
      const auto truth = vec<int>(*c.find("truth"));
      const auto predicted = vec<int>(*c.find("predicted"));
      const auto score = vec<double>(*c.find("score"));
      const auto m = compute_metrics(truth, predicted, score);

      // classification_report: same keys in the same order, same numbers.
      const auto report = classification_report(m);
      const auto& expected = c.find("classification_report")->as_object();
      REQUIRE(report.as_object().size() == expected.size());
      auto it = report.as_object().begin();
      for (const auto& [key, value] : expected) {
        INFO(name << " report key " << key);
        REQUIRE(it->first == key);
        if (value.is_object()) {
          for (const auto& [field, number] : value.as_object()) {
            const auto* ours = it->second.find(field);
            REQUIRE(ours);
            check_close(number, ours->as_double(), name + " " + key + "." + field);
          }
        } else {
          check_close(value, it->second.as_double(), name + " " + key);
        }
        ++it;
      }

      check_close(*c.find("accuracy"), *m.accuracy, "accuracy");
      check_close(*c.find("f1_micro"), *m.micro_f1, "f1 micro");
      check_close(*c.find("f1_macro"), *m.macro_f1, "f1 macro");
      check_close(*c.find("f1_weighted"), *m.weighted_f1, "f1 weighted");
      const auto& cm = c.find("confusion_matrix")->as_array();
      CHECK(cm[0].as_array()[0].as_int() == static_cast<std::int64_t>(m.confusion.tn));
      CHECK(cm[0].as_array()[1].as_int() == static_cast<std::int64_t>(m.confusion.fp));
      CHECK(cm[1].as_array()[0].as_int() == static_cast<std::int64_t>(m.confusion.fn));
      CHECK(cm[1].as_array()[1].as_int() == static_cast<std::int64_t>(m.confusion.tp));

      const auto& ap = *c.find("average_precision");
      CHECK(ap.is_null() == !m.average_precision.has_value());
      if (!ap.is_null()) check_close(ap, *m.average_precision, "average precision");
      const auto& auc = *c.find("roc_auc");
      CHECK(auc.is_null() == !m.roc_auc.has_value());
      if (!auc.is_null()) check_close(auc, *m.roc_auc, "roc auc");

      const auto curve = precision_recall_curve(truth, score);
      const auto& pr = *c.find("pr_curve");
      const auto ep = vec<double>(*pr.find("precision")), er = vec<double>(*pr.find("recall")),
                 et = vec<double>(*pr.find("thresholds"));
      REQUIRE(curve.precision.size() == ep.size());
      REQUIRE(curve.thresholds.size() == et.size());
      for (std::size_t k = 0; k < ep.size(); ++k) {
        CHECK(curve.precision[k] == Approx(ep[k]).margin(1e-12));
        CHECK(curve.recall[k] == Approx(er[k]).margin(1e-12));
      }
      for (std::size_t k = 0; k < et.size(); ++k) CHECK(curve.thresholds[k] == et[k]);

      // No NaN ever reaches the JSON; undefined values are null and listed.
      const std::string text = m.to_json().dump();
      CHECK(text.find("nan") == std::string::npos);
      if (!m.roc_auc) CHECK(text.find("\"roc_auc\"") != std::string::npos);
    }
  }
}

TEST_CASE("undefined per-class values are null, not zero, in metrics.json", "[eval][metrics]") {
  const std::vector<int> truth = {0, 1, 0, 1}, predicted = {0, 0, 0, 0};
  const std::vector<double> score = {0.1, 0.4, 0.2, 0.3};
  const auto m = compute_metrics(truth, predicted, score);
  CHECK_FALSE(m.per_class[1].precision.has_value());  // spam never predicted: 0/0
  REQUIRE(m.per_class[1].recall.has_value());
  CHECK(*m.per_class[1].recall == 0.0);
  const auto j = m.to_json();
  CHECK(j.find("per_class")->find("spam")->find("precision")->is_null());
  const auto undefined = j.find("undefined")->dump(-1);
  CHECK(undefined.find("spam.precision") != std::string::npos);
  // sklearn's report (zero_division=0) still says 0 there.
  CHECK(classification_report(m).find("spam")->find("precision")->as_double() == 0.0);
}

TEST_CASE("an empty set is reported as empty, with no numbers", "[eval][metrics]") {
  const auto m = compute_metrics(std::vector<Prediction>{});
  CHECK(m.empty());
  const auto j = m.to_json();
  CHECK(j.find("empty")->as_bool());
  CHECK(j.find("macro_f1") == nullptr);
  CHECK(classification_report(m).as_object().empty());
}

TEST_CASE("rows without truth are left out of the metrics and counted", "[eval][metrics]") {
  std::vector<Prediction> rows = {Prediction::from_probability("a", 1, 0.9), Prediction::from_probability("b", 0, 0.2),
                                  Prediction::from_probability("c", std::nullopt, 0.6)};
  const auto m = compute_metrics(rows);
  CHECK(m.rows == 2);
  CHECK(m.unlabeled == 1);
  CHECK(*m.accuracy == 1.0);
  CHECK(*m.roc_auc == 1.0);
}

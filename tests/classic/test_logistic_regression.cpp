// LogisticRegression against scikit-learn 1.2's LogisticRegression solved to convergence
// (newton-cg, tol=1e-9; fixtures/classic/logistic_*.json from tests/reference/make_classic.py) on
// TF-IDF features of the Debian corpus: coefficients, intercept and probabilities within 1e-4,
// identical predictions except where P is within 1e-6 of 0.5.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "fixtures.hpp"
#include "kspam/classic/logistic_regression.hpp"
#include "kspam/classic/tfidf_vectorizer.hpp"

using namespace kspam;
using namespace kspam::classic;

namespace {

double max_abs_diff(const Eigen::VectorXd& ours, const std::vector<double>& theirs) {
  REQUIRE(static_cast<std::size_t>(ours.size()) == theirs.size());
  double worst = 0;
  for (std::size_t i = 0; i < theirs.size(); ++i) worst = std::max(worst, std::fabs(ours[static_cast<Eigen::Index>(i)] - theirs[i]));
  return worst;
}

void check_against(const std::string& name, unsigned threads = 2) {
  const auto fx = test::load_classic_fixture(name);
  const auto corpus = test::load_corpus(fx.find("corpus")->as_string());
  TfidfOptions tf;
  tf.stop_words = StopWords::English;
  tf.min_df = DocumentFrequencyBound::count(static_cast<std::size_t>(fx.find("tfidf_params")->find("min_df")->as_int()));
  TfidfVectorizer vectorizer(tf);
  const SparseMatrix X = vectorizer.fit_transform(corpus.fit_docs);
  const SparseMatrix Xe = vectorizer.transform(corpus.eval_docs);
  REQUIRE(X.cols() == fx.find("n_features")->as_int());

  const auto& params = *fx.find("params");
  LogisticOptions options;
  if (auto* c = params.find("C")) options.C = c->as_double();
  if (auto* cw = params.find("class_weight")) options.class_weight = cw->as_string() == "balanced" ? ClassWeight::Balanced : ClassWeight::None;
  options.threads = threads;
  std::vector<double> weights;
  if (fx.find("sample_weight")->is_string()) {
    for (std::size_t i = 0; i < corpus.fit_docs.size(); ++i) weights.push_back(0.25 + 0.25 * static_cast<double>(i % 4));
  }
  LogisticRegression model(options);
  model.fit(X, corpus.fit_labels, weights);
  INFO(name << ": " << model.n_iter() << " Newton iterations, max |gradient| " << model.final_gradient());
  CHECK(model.converged());

  const double coef_diff = max_abs_diff(model.coef(), test::doubles(*fx.find("coef")));
  const double intercept_diff = std::fabs(model.intercept() - fx.find("intercept")->as_double());
  const Eigen::VectorXd p_train = model.predict_proba(X);
  const Eigen::VectorXd p_eval = model.predict_proba(Xe);
  const double train_diff = max_abs_diff(p_train, test::doubles(*fx.find("train_proba")));
  const double eval_diff = max_abs_diff(p_eval, test::doubles(*fx.find("eval_proba")));
  INFO("coef " << coef_diff << ", intercept " << intercept_diff << ", train P " << train_diff << ", eval P " << eval_diff);
  CHECK(coef_diff <= 1e-4);
  CHECK(intercept_diff <= 1e-4);
  CHECK(train_diff <= 1e-4);
  CHECK(eval_diff <= 1e-4);

  const auto theirs = test::doubles(*fx.find("eval_proba"));
  const auto predicted = model.predict(Xe);
  for (std::size_t i = 0; i < theirs.size(); ++i) {
    if (std::fabs(theirs[i] - 0.5) < 1e-6) continue;
    CHECK(predicted[i] == (theirs[i] > 0.5 ? 1 : 0));
  }
}

LogisticRegression::Matrix tiny_matrix() {
  LogisticRegression::Matrix X(4, 2);
  X.insert(0, 0) = 1.0;
  X.insert(1, 0) = 0.5;
  X.insert(2, 1) = 1.0;
  X.insert(3, 1) = 0.7;
  X.makeCompressed();
  return X;
}

}  // namespace

TEST_CASE("logistic: default C=1 matches sklearn solved to convergence", "[classic][logistic]") {
  check_against("logistic_default.json");
}

TEST_CASE("logistic: class_weight='balanced' matches sklearn", "[classic][logistic]") {
  check_against("logistic_balanced.json");
}

TEST_CASE("logistic: sample weights and C=0.1 match sklearn", "[classic][logistic]") {
  check_against("logistic_weighted_c0.1.json");
}

TEST_CASE("logistic: one thread and many threads give the same bits", "[classic][logistic]") {
  check_against("logistic_default.json", 1);
  check_against("logistic_default.json", 5);
  const auto corpus = test::load_corpus("debian_docs.tsv");
  TfidfVectorizer vectorizer;
  const SparseMatrix X = vectorizer.fit_transform(corpus.fit_docs);
  LogisticRegression one(LogisticOptions{.threads = 1}), many(LogisticOptions{.threads = 6});
  one.fit(X, corpus.fit_labels);
  many.fit(X, corpus.fit_labels);
  CHECK(one.intercept() == many.intercept());
  CHECK((one.coef().array() == many.coef().array()).all());
}

TEST_CASE("logistic: single-class training data is a clear error", "[classic][logistic]") {
  LogisticRegression model;
  CHECK_THROWS_WITH(model.fit(tiny_matrix(), {1, 1, 1, 1}), Catch::Contains("only one class"));
  // A class present only with zero weight counts as absent.
  CHECK_THROWS_WITH(model.fit(tiny_matrix(), {1, 1, 0, 0}, {1, 1, 0, 0}), Catch::Contains("only one class"));
  CHECK_THROWS_AS(model.fit(tiny_matrix(), {1, 0, 2, 0}), InputError);
  CHECK_THROWS_AS(model.fit(tiny_matrix(), {1, 0, 1}), InputError);
  CHECK_THROWS_AS(model.fit(tiny_matrix(), {1, 0, 1, 0}, {1, -1, 1, 1}), InputError);
  CHECK_THROWS_AS(model.fit(tiny_matrix(), {1, 0, 1, 0}, {1, std::numeric_limits<double>::quiet_NaN(), 1, 1}), InputError);
  CHECK_THROWS(model.predict_proba(tiny_matrix()));
  CHECK_THROWS_AS(LogisticRegression(LogisticOptions{.C = 0.0}), InputError);
}

TEST_CASE("logistic: separable data and all-zero rows give finite probabilities", "[classic][logistic]") {
  LogisticRegression model;
  model.fit(tiny_matrix(), {1, 1, 0, 0});
  LogisticRegression::Matrix Z(3, 2);  // rows with no features: P = sigmoid(intercept)
  const Eigen::VectorXd p = model.predict_proba(Z);
  for (Eigen::Index i = 0; i < p.size(); ++i) {
    CHECK(std::isfinite(p[i]));
    CHECK(p[i] == Approx(LogisticRegression::sigmoid(model.intercept())));
  }
  CHECK(model.converged());
  const Eigen::VectorXd q = model.predict_proba(tiny_matrix());
  CHECK(q[0] > 0.5);
  CHECK(q[3] < 0.5);
}

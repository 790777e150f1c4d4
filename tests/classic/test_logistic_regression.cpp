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
#include "kspam/core/rng.hpp"

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

// A problem large enough for the coarse start: l2-normalised sparse rows of 5-40 features out of
// 1500, labels drawn from a planted logistic model with Zipf-like feature frequencies.
struct Planted {
  LogisticRegression::Matrix X;
  std::vector<int> y;
};

Planted planted_problem(std::size_t rows) {
  constexpr int kFeatures = 1500;
  Rng rng(77);
  std::vector<double> truth(kFeatures);
  for (auto& t : truth) t = rng.uniform(-6.0, 6.0);
  Planted p{LogisticRegression::Matrix(static_cast<Eigen::Index>(rows), kFeatures), {}};
  std::vector<Eigen::Triplet<double>> entries;
  for (std::size_t i = 0; i < rows; ++i) {
    const auto count = 5 + rng.below(36);
    std::vector<int> cols;
    for (std::uint64_t k = 0; k < count; ++k) {
      const double u = rng.uniform();
      cols.push_back(static_cast<int>(static_cast<double>(kFeatures) * u * u * u));  // frequent low columns
    }
    std::sort(cols.begin(), cols.end());
    cols.erase(std::unique(cols.begin(), cols.end()), cols.end());
    double z = -0.5, norm = 0.0;
    std::vector<double> vals(cols.size());
    for (auto& v : vals) v = rng.uniform(0.5, 2.0), norm += v * v;
    for (std::size_t k = 0; k < cols.size(); ++k) {
      vals[k] /= std::sqrt(norm);
      z += truth[static_cast<std::size_t>(cols[k])] * vals[k];
      entries.emplace_back(static_cast<int>(i), cols[k], vals[k]);
    }
    p.y.push_back(rng.uniform() < LogisticRegression::sigmoid(z) ? 1 : 0);
  }
  p.X.setFromTriplets(entries.begin(), entries.end());
  return p;
}

}  // namespace

TEST_CASE("logistic: the coarse start on large problems ends at the same optimum", "[classic][logistic]") {
  const Planted p = planted_problem(40000);
  std::vector<double> weights;
  for (std::size_t i = 0; i < p.y.size(); ++i) weights.push_back(0.25 + 0.25 * static_cast<double>(i % 4));
  for (const auto class_weight : {ClassWeight::None, ClassWeight::Balanced}) {
    for (const bool weighted : {false, true}) {
      LogisticOptions options{.class_weight = class_weight, .threads = 2, .coarse_start = false};
      LogisticRegression cold(options);
      options.coarse_start = true;
      LogisticRegression coarse(options);
      cold.fit(p.X, p.y, weighted ? weights : std::vector<double>{});
      coarse.fit(p.X, p.y, weighted ? weights : std::vector<double>{});
      INFO("balanced " << (class_weight == ClassWeight::Balanced) << ", weighted " << weighted << ": Newton iterations "
                       << cold.n_iter() << " cold, " << coarse.n_iter() << " after the coarse start");
      CHECK(coarse.started_coarse());
      CHECK(cold.converged());
      CHECK(coarse.converged());
      // Both within tol = 1e-6 of the optimum (the penalty makes the objective 1/C-strongly convex).
      CHECK((coarse.coef() - cold.coef()).cwiseAbs().maxCoeff() <= 1e-5);
      CHECK(std::fabs(coarse.intercept() - cold.intercept()) <= 1e-5);
    }
  }
  // Small problems, or coarse_start off, start from zero as before.
  LogisticRegression off(LogisticOptions{.threads = 2, .coarse_start = false});
  off.fit(p.X, p.y);
  CHECK_FALSE(off.started_coarse());
  // The coarse solve is as thread-count-independent as the full one.
  LogisticRegression one(LogisticOptions{.threads = 1}), many(LogisticOptions{.threads = 5});
  one.fit(p.X, p.y);
  many.fit(p.X, p.y);
  CHECK(one.started_coarse());
  CHECK(one.intercept() == many.intercept());
  CHECK((one.coef().array() == many.coef().array()).all());
}

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

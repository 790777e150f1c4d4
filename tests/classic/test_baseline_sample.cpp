// The baseline exactly as `kspam baseline` configures it (TfidfVectorizer(max_features=10000,
// stop_words='english') + LogisticRegression, default and class_weight='balanced') on the sample
// listings, against scikit-learn 1.2.1 (fixtures/classic/baseline_sample.json, which carries the
// documents it was made from).
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "fixtures.hpp"
#include "kspam/classic/baseline.hpp"

using namespace kspam;
using namespace kspam::classic;

namespace {

std::vector<std::string> strings(const json::Value& array) {
  std::vector<std::string> out;
  for (const auto& v : array.as_array()) out.push_back(v.as_string());
  return out;
}

std::vector<data::Listing> listings(const std::vector<std::string>& docs, const std::vector<int>& labels) {
  std::vector<data::Listing> out(docs.size());
  for (std::size_t i = 0; i < docs.size(); ++i) {
    out[i].product_id = "row" + std::to_string(i);
    out[i].description = docs[i];
    if (!labels.empty()) out[i].label = labels[i];
  }
  return out;
}

}  // namespace

TEST_CASE("baseline on the sample listings matches scikit-learn end to end", "[classic][baseline][sample]") {
  const auto fx = test::load_classic_fixture("baseline_sample.json");
  const auto train_docs = strings(*fx.find("train_docs"));
  const auto eval_docs = strings(*fx.find("eval_docs"));
  std::vector<int> labels;
  for (const auto& v : fx.find("train_labels")->as_array()) labels.push_back(static_cast<int>(v.as_int()));

  TfidfVectorizer vectorizer(TfidfOptions::baseline());
  const SparseMatrix X = vectorizer.fit_transform(train_docs);
  const SparseMatrix Xe = vectorizer.transform(eval_docs);
  const auto terms = strings(*fx.find("vocabulary"));
  REQUIRE(vectorizer.vocabulary() == terms);
  const auto idf = test::doubles(*fx.find("idf"));
  for (std::size_t i = 0; i < idf.size(); ++i) CHECK(std::fabs(vectorizer.idf()[static_cast<Eigen::Index>(i)] - idf[i]) <= 1e-12);
  const auto& m = *fx.find("eval_matrix");
  const auto data = test::doubles(*m.find("data"));
  REQUIRE(static_cast<std::size_t>(Xe.nonZeros()) == data.size());
  for (std::size_t k = 0; k < data.size(); ++k) {
    CHECK(Xe.innerIndexPtr()[k] == m.find("indices")->as_array()[k].as_int());
    CHECK(std::fabs(Xe.valuePtr()[k] - data[k]) <= 1e-12);
  }

  for (const char* variant : {"default", "balanced"}) {
    const auto& expected = *fx.find(variant);
    BaselineOptions options;
    options.logistic.class_weight = std::string(variant) == "balanced" ? ClassWeight::Balanced : ClassWeight::None;
    TfidfLogisticBaseline baseline(options);
    baseline.fit(listings(train_docs, labels));
    const auto preds = baseline.predict(listings(eval_docs, {}));
    const auto proba = test::doubles(*expected.find("eval_proba"));
    const auto coef = test::doubles(*expected.find("coef"));
    REQUIRE(preds.size() == proba.size());
    double worst_p = 0, worst_c = 0;
    for (std::size_t i = 0; i < proba.size(); ++i) {
      worst_p = std::max(worst_p, std::fabs(preds[i].score - proba[i]));
      if (std::fabs(proba[i] - 0.5) >= 1e-6) CHECK(preds[i].predicted == (proba[i] > 0.5 ? 1 : 0));
    }
    for (std::size_t j = 0; j < coef.size(); ++j)
      worst_c = std::max(worst_c, std::fabs(baseline.model().coef()[static_cast<Eigen::Index>(j)] - coef[j]));
    INFO(variant << ": max |P diff| " << worst_p << ", max |coef diff| " << worst_c);
    CHECK(worst_p <= 1e-4);
    CHECK(worst_c <= 1e-4);
    CHECK(std::fabs(baseline.model().intercept() - expected.find("intercept")->as_double()) <= 1e-4);
  }
}

// TfidfVectorizer against scikit-learn 1.2's TfidfVectorizer: vocabulary, idf (1e-12) and the
// transform() of held-out documents (same sparsity pattern, values within 1e-12), on Debian's
// documentation/man pages/translations corpus and on a corpus of Unicode edge cases
// (fixtures/classic/tfidf_*.json from tests/reference/make_classic.py).
#include <catch2/catch.hpp>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "fixtures.hpp"
#include "kspam/classic/tfidf_vectorizer.hpp"

using namespace kspam;
using namespace kspam::classic;

namespace {

DocumentFrequencyBound bound(const json::Value& v) {
  return v.is_int() ? DocumentFrequencyBound::count(static_cast<std::size_t>(v.as_int()))
                    : DocumentFrequencyBound::fraction(v.as_double());
}

TfidfOptions options_from(const json::Value& params) {
  TfidfOptions o;
  if (auto* v = params.find("max_features")) o.max_features = static_cast<std::size_t>(v->as_int());
  if (auto* v = params.find("stop_words")) {
    if (v->is_string()) {
      o.stop_words = v->as_string() == "english" ? StopWords::English : StopWords::None;
    } else {
      o.stop_words = StopWords::Custom;
      for (const auto& w : v->as_array()) o.custom_stop_words.push_back(w.as_string());
    }
  }
  if (auto* v = params.find("lowercase")) o.lowercase = v->as_bool();
  if (auto* v = params.find("smooth_idf")) o.smooth_idf = v->as_bool();
  if (auto* v = params.find("min_df")) o.min_df = bound(*v);
  if (auto* v = params.find("max_df")) o.max_df = bound(*v);
  if (auto* v = params.find("ngram_range")) {
    o.ngram_min = static_cast<int>(v->as_array()[0].as_int());
    o.ngram_max = static_cast<int>(v->as_array()[1].as_int());
  }
  if (auto* v = params.find("sublinear_tf")) o.sublinear_tf = v->as_bool();
  return o;
}

struct Fitted {
  json::Value fx;
  TfidfVectorizer vectorizer;
  SparseMatrix eval;
};

Fitted fit_like_fixture(const std::string& name, unsigned threads) {
  auto fx = test::load_classic_fixture(name);
  auto corpus = test::load_corpus(fx.find("corpus")->as_string());
  const auto& ids = fx.find("eval_ids")->as_array();
  REQUIRE(corpus.fit_docs.size() == static_cast<std::size_t>(fx.find("fit_documents")->as_int()));
  REQUIRE(corpus.eval_docs.size() >= ids.size());
  corpus.eval_docs.resize(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) REQUIRE(corpus.eval_ids[i] == ids[i].as_string());
  auto options = options_from(*fx.find("params"));
  options.threads = threads;
  TfidfVectorizer v(options);
  v.fit(corpus.fit_docs);
  auto X = v.transform(corpus.eval_docs);
  return {std::move(fx), std::move(v), std::move(X)};
}

void require_same_matrix(const SparseMatrix& X, const json::Value& expected) {
  const auto& shape = expected.find("shape")->as_array();
  REQUIRE(X.rows() == shape[0].as_int());
  REQUIRE(X.cols() == shape[1].as_int());
  const auto& indptr = expected.find("indptr")->as_array();
  const auto& indices = expected.find("indices")->as_array();
  const auto data = test::doubles(*expected.find("data"));
  REQUIRE(static_cast<std::size_t>(X.nonZeros()) == data.size());
  for (Eigen::Index r = 0; r <= X.rows(); ++r) REQUIRE(X.outerIndexPtr()[r] == indptr[static_cast<std::size_t>(r)].as_int());
  double worst = 0;
  for (std::size_t k = 0; k < data.size(); ++k) {
    REQUIRE(X.innerIndexPtr()[k] == indices[k].as_int());
    worst = std::max(worst, std::fabs(X.valuePtr()[k] - data[k]));
  }
  INFO("largest difference " << worst);
  CHECK(worst <= 1e-12);
}

void require_identical(const std::string& name, unsigned threads = 2) {
  auto [fx, v, X] = fit_like_fixture(name, threads);
  const auto& terms = fx.find("vocabulary")->as_array();
  REQUIRE(v.n_features() == terms.size());
  for (std::size_t i = 0; i < terms.size(); ++i) REQUIRE(v.vocabulary()[i] == terms[i].as_string());
  const auto idf = test::doubles(*fx.find("idf"));
  double worst = 0;
  for (std::size_t i = 0; i < idf.size(); ++i) worst = std::max(worst, std::fabs(v.idf()[static_cast<Eigen::Index>(i)] - idf[i]));
  CHECK(worst <= 1e-12);
  CHECK_FALSE(v.cut_report().tie_split());
  require_same_matrix(X, *fx.find("eval_matrix"));
}

}  // namespace

TEST_CASE("tfidf: Unicode edge cases give sklearn's vocabulary, idf and matrix", "[classic][tfidf]") {
  require_identical("tfidf_edge_cases.json");
}

TEST_CASE("tfidf: stop words and bigrams on Unicode edge cases", "[classic][tfidf]") {
  require_identical("tfidf_edge_cases_stop.json");
}

TEST_CASE("tfidf: lowercase=False, a custom stop list, 1-3-grams, unsmoothed idf", "[classic][tfidf]") {
  require_identical("tfidf_edge_cases_keep_case.json");
}

TEST_CASE("tfidf: Debian corpus, max_features cut without a tie is identical to sklearn", "[classic][tfidf]") {
  require_identical("tfidf_no_tie_cut.json");
}

TEST_CASE("tfidf: min_df/max_df fractions, bigrams, sublinear tf, max_features", "[classic][tfidf]") {
  require_identical("tfidf_options.json");
}

TEST_CASE("tfidf: integer document-frequency bounds, 2-3-grams, no stop words", "[classic][tfidf]") {
  require_identical("tfidf_int_df_no_stop.json");
}

TEST_CASE("tfidf: results do not depend on the thread count", "[classic][tfidf]") {
  require_identical("tfidf_options.json", 1);
  require_identical("tfidf_options.json", 7);
}

TEST_CASE("tfidf: a tie at max_features=10000 is reported, and everything above the tie agrees", "[classic][tfidf]") {
  // On this corpus 3898 terms share the count at the cut (2), and numpy's unstable argsort picks
  // which of them scikit-learn keeps. We keep the alphabetically first; the terms ranked strictly
  // above the cut, the vocabulary size and the idf of shared terms must still agree.
  auto [fx, v, X] = fit_like_fixture("tfidf_default_10000.json", 2);
  const auto& cut = *fx.find("cut");
  REQUIRE(cut.find("tie_at_cut")->as_bool());
  const auto& report = v.cut_report();
  CHECK(report.tie_split());
  CHECK(report.count_at_cut == cut.find("tf_at_cut")->as_double());
  CHECK(report.kept_at_cut + report.dropped_at_cut == static_cast<std::size_t>(cut.find("terms_at_cut")->as_int()));
  CHECK(report.candidates == static_cast<std::size_t>(cut.find("candidates")->as_int()));
  const auto& terms = fx.find("vocabulary")->as_array();
  REQUIRE(v.n_features() == terms.size());
  const auto idf = test::doubles(*fx.find("idf"));
  std::size_t shared = 0;
  for (std::size_t i = 0; i < terms.size(); ++i) {
    if (auto ours = v.index_of(terms[i].as_string())) {
      ++shared;
      CHECK(std::fabs(v.idf()[static_cast<Eigen::Index>(*ours)] - idf[i]) <= 1e-12);
    }
  }
  CHECK(shared >= static_cast<std::size_t>(cut.find("terms_above_cut")->as_int()));
}

TEST_CASE("tfidf: empty documents give zero rows; unknown words are ignored; no NaN", "[classic][tfidf]") {
  TfidfVectorizer v;
  auto X = v.fit_transform(std::vector<std::string>{"red shoes", "", "blue shoes"});
  REQUIRE(X.rows() == 3);
  CHECK(X.row(1).nonZeros() == 0);
  auto Y = v.transform(std::vector<std::string>{"", "green hat", "!!!", "shoes"});
  CHECK(Y.nonZeros() == 1);
  CHECK(Y.coeff(3, static_cast<Eigen::Index>(*v.index_of("shoes"))) == Approx(1.0));
  for (Eigen::Index k = 0; k < Y.nonZeros(); ++k) CHECK(std::isfinite(Y.valuePtr()[k]));
}

TEST_CASE("tfidf: an empty vocabulary is a clear error", "[classic][tfidf]") {
  TfidfVectorizer english(TfidfOptions::baseline());
  CHECK_THROWS_WITH(english.fit(std::vector<std::string>{"the and of", "a b c", ""}),
                    Catch::Contains("empty vocabulary"));
  TfidfVectorizer plain;
  CHECK_THROWS_AS(plain.fit(std::vector<std::string>{}), InputError);
  TfidfOptions strict;
  strict.min_df = DocumentFrequencyBound::count(2);
  TfidfVectorizer pruned(strict);
  CHECK_THROWS_WITH(pruned.fit(std::vector<std::string>{"one two", "three four"}), Catch::Contains("no terms remain"));
  TfidfOptions crossed;
  crossed.min_df = DocumentFrequencyBound::count(3);
  crossed.max_df = DocumentFrequencyBound::count(2);
  TfidfVectorizer bad(crossed);
  CHECK_THROWS_WITH(bad.fit(std::vector<std::string>{"one two", "three four"}), Catch::Contains("max_df"));
  TfidfVectorizer unfitted;
  CHECK_THROWS(unfitted.transform(std::vector<std::string>{"x"}));
}

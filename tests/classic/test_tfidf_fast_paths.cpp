// The vectorizer's fast paths against plain reference code (no fixtures needed):
//  * for_each_token (bulk lowercase, 64-byte run masks, non-ASCII runs decoded) against the
//    definition: runs of two or more Python word characters in python_lower(text), on random text
//    that mixes ASCII, multi-byte code points, capital sigma, U+0130 and invalid bytes, with runs
//    placed across the 64-byte block boundaries;
//  * TermTable lookups with and without the padded-buffer promise;
//  * the matrix's row assembly on a vocabulary above 65536 features (rows sorted instead of read
//    back from a bitmap) against counts taken with std::map.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "kspam/classic/python_unicode.hpp"
#include "kspam/classic/term_table.hpp"
#include "kspam/classic/tfidf_vectorizer.hpp"
#include "kspam/classic/token_pattern.hpp"
#include "kspam/core/rng.hpp"

using namespace kspam;
using namespace kspam::classic;

namespace {

// The token pattern by its definition, one code point at a time.
std::vector<std::string> reference_tokens(std::string_view text, bool lowercase) {
  std::string lowered;
  if (lowercase) {
    lowered = python_lower(text);
  } else {
    // Invalid bytes become U+FFFD, as the tokenizer decodes them.
    for (std::size_t i = 0; i < text.size();) append_utf8(lowered, decode_utf8(text, i));
  }
  std::vector<std::string> out;
  std::string token;
  std::size_t length = 0;
  auto flush = [&] {
    if (length >= 2) out.push_back(token);
    token.clear();
    length = 0;
  };
  for (std::size_t i = 0; i < lowered.size();) {
    const char32_t c = decode_utf8(lowered, i);
    if (is_python_word_char(c)) {
      append_utf8(token, c);
      ++length;
    } else {
      flush();
    }
  }
  flush();
  return out;
}

std::string random_text(Rng& rng) {
  static const std::vector<std::string> pieces = {
      "a", "Z", "_", "7", "Ab", " ", " ", ".", "'", "-", "\t", "\xce\xa3" /* capital sigma */,
      "\xce\x91" /* capital alpha */, "\xcc\x81" /* combining acute */, "\xc4\xb0" /* U+0130 */,
      "\xc3\xa9", "\xc3\x89", "\xe2\x84\xaa" /* Kelvin sign */, "\xc2\xa0" /* no-break space */,
      "\xe2\x80\x94" /* em dash */, "\xe4\xb8\xad", "\xf0\x9f\x98\x80" /* emoji */, "\xc2\xb2",
      "\xff", "\xc3", "\xe2\x82", "\x80"};
  std::string s;
  const auto length = rng.below(200);
  for (std::uint64_t k = 0; k < length; ++k) {
    if (rng.below(2)) s += static_cast<char>("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,."[rng.below(65)]);
    else s += pieces[rng.below(pieces.size())];
  }
  return s;
}

}  // namespace

TEST_CASE("for_each_token equals the token pattern's definition on random mixed text", "[classic][tfidf]") {
  Rng rng(2026);
  TokenScratch scratch;
  for (int round = 0; round < 3000; ++round) {
    const std::string text = random_text(rng);
    for (const bool lowercase : {true, false}) {
      std::vector<std::string> got;
      auto collect = [&](std::string_view t) { got.emplace_back(t); };
      if (lowercase) for_each_token<true>(text, scratch, collect);
      else for_each_token<false>(text, scratch, collect);
      const auto want = reference_tokens(text, lowercase);
      if (got != want) FAIL("text: " << text << " lowercase: " << lowercase);
    }
  }
}

TEST_CASE("for_each_token finds runs that touch the 64-byte block boundaries", "[classic][tfidf]") {
  TokenScratch scratch;
  for (std::size_t n : {1, 2, 62, 63, 64, 65, 127, 128, 129, 192}) {
    for (std::size_t gap : {0, 1, 63, 64}) {
      // `gap` separators, then a run of n letters ending the text, and the same with an accent.
      const std::string ascii = std::string(gap, ' ') + std::string(n, 'Q');
      const std::string accented = std::string(gap, ' ') + std::string(n, 'Q') + "\xc3\x89";
      for (const auto& text : {ascii, accented}) {
        std::vector<std::string> got;
        for_each_token<true>(text, scratch, [&](std::string_view t) { got.emplace_back(t); });
        CHECK(got == reference_tokens(text, true));
      }
    }
  }
}

TEST_CASE("TermTable finds padded and unpadded keys alike", "[classic][tfidf]") {
  TermTable table;
  std::vector<std::string> terms;
  for (int k = 0; k < 5000; ++k) terms.push_back(std::string(static_cast<std::size_t>(1 + k % 40), static_cast<char>('a' + k % 26)) + std::to_string(k));
  for (std::size_t k = 0; k < terms.size(); ++k) REQUIRE(table.intern(terms[k]) == k);
  for (std::size_t k = 0; k < terms.size(); ++k) {
    const std::string padded = terms[k] + std::string(TermTable::kPadding, 'x');  // junk after the term
    bool inserted = true;
    CHECK(table.intern_padded(std::string_view(padded.data(), terms[k].size()), inserted) == k);
    CHECK(!inserted);
    CHECK(table.find_padded(std::string_view(padded.data(), terms[k].size())) == k);
    CHECK(table.find(terms[k]) == k);
    CHECK(table.term(static_cast<std::uint32_t>(k)) == terms[k]);
  }
  CHECK(!table.find("not there"));
  CHECK(table.size() == terms.size());
}

TEST_CASE("rows of a vocabulary above 65536 features are sorted and exact", "[classic][tfidf]") {
  Rng rng(7);
  std::vector<std::string> docs(3000);
  for (auto& d : docs)
    for (int k = 0; k < 60; ++k) d += "t" + std::to_string(rng.below(120000)) + " ";
  for (const unsigned threads : {1u, 3u}) {
    TfidfOptions options;
    options.threads = threads;
    TfidfVectorizer vectorizer(options);
    const SparseMatrix X = vectorizer.fit_transform(docs);
    REQUIRE(vectorizer.n_features() > 65536);
    // Reference: counts with std::map, smooth idf, l2 rows.
    std::map<std::string, std::size_t> df;
    std::vector<std::map<std::string, int>> counts(docs.size());
    for (std::size_t i = 0; i < docs.size(); ++i) {
      for_each_token(docs[i], [&](std::string_view t) { counts[i][std::string(t)] += 1; });
      for (const auto& [term, c] : counts[i]) df[term] += 1;
    }
    double worst = 0;
    for (std::size_t i = 0; i < docs.size(); ++i) {
      const auto r = static_cast<Eigen::Index>(i);
      REQUIRE(static_cast<std::size_t>(X.outerIndexPtr()[r + 1] - X.outerIndexPtr()[r]) == counts[i].size());
      double norm = 0;
      for (const auto& [term, c] : counts[i]) {
        const double idf = std::log((1.0 + static_cast<double>(docs.size())) / (1.0 + static_cast<double>(df[term]))) + 1.0;
        norm += (c * idf) * (c * idf);
      }
      norm = std::sqrt(norm);
      // std::map orders terms as the feature indices do (by bytes), so entries pair up in order.
      auto k = X.outerIndexPtr()[r];
      for (const auto& [term, c] : counts[i]) {
        REQUIRE(vectorizer.vocabulary()[static_cast<std::size_t>(X.innerIndexPtr()[k])] == term);
        const double idf = std::log((1.0 + static_cast<double>(docs.size())) / (1.0 + static_cast<double>(df[term]))) + 1.0;
        worst = std::max(worst, std::fabs(X.valuePtr()[k] - c * idf / norm));
        ++k;
      }
    }
    CHECK(worst < 1e-12);
  }
}

// The English stop list against scikit-learn's ENGLISH_STOP_WORDS (fixtures/classic/stop_words.txt).
#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "fixtures.hpp"
#include "kspam/classic/stop_words.hpp"

TEST_CASE("stop words: identical to sklearn's ENGLISH_STOP_WORDS", "[classic][stop_words]") {
  std::istringstream in(kspam::read_file(kspam::test::classic_fixture_dir() / "stop_words.txt"));
  std::vector<std::string> sklearn;
  for (std::string w; std::getline(in, w);)
    if (!w.empty()) sklearn.push_back(w);
  REQUIRE(sklearn.size() == 318);
  REQUIRE(kspam::classic::kEnglishStopWords.size() == sklearn.size());
  for (std::size_t i = 0; i < sklearn.size(); ++i) CHECK(kspam::classic::kEnglishStopWords[i] == sklearn[i]);
  CHECK(kspam::classic::is_english_stop_word("the"));
  CHECK_FALSE(kspam::classic::is_english_stop_word("nike"));
  CHECK_FALSE(kspam::classic::is_english_stop_word("The"));  // the list is lowercase; lowercasing comes first
}

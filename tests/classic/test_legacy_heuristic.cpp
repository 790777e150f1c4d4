// The legacy keyword heuristic: what it catches and, on purpose, where it fails (see the header).
#include <catch2/catch.hpp>

#include "kspam/classic/legacy_heuristic.hpp"

using kspam::classic::LegacyKeywordHeuristic;

TEST_CASE("legacy: a call to action plus discount keywords is caught", "[classic][legacy]") {
  const auto v = LegacyKeywordHeuristic().score("Brand new sneakers. DM for discounts!");
  CHECK(v.spam);
  CHECK(v.calls_to_action == std::vector<std::string>{"dm for"});
  CHECK(v.keywords == std::vector<std::string>{"discount", "discounts"});
  CHECK(v.score == Approx(1.0 - std::exp(-(0.7 + 2 * 0.35))));
  CHECK(v.reason == "keywords: discount, discounts; calls to action: dm for");
}

TEST_CASE("legacy: hashtag walls and brand lists are flagged by count", "[classic][legacy]") {
  LegacyKeywordHeuristic h;
  CHECK(h.score("Cozy sweater #winter #cozy #knit #warm").spam);     // 4 hashtags
  CHECK_FALSE(h.score("Cozy sweater #winter #cozy #knit").spam);     // 3 hashtags
  CHECK(h.score("Cozy sweater #winter #cozy #knit").hashtags == 3);
  CHECK(h.score("Trainers Nike / Adidas / Puma").spam);              // 3 brands
  CHECK_FALSE(h.score("Nike Air Max 90, worn twice").spam);          // one brand is normal
  CHECK(LegacyKeywordHeuristic::count_hashtags("# not a tag, #ok, #\u00e9t\u00e9, ##x") == 3);
}

TEST_CASE("legacy: the notebook's known failure modes are reproduced", "[classic][legacy]") {
  LegacyKeywordHeuristic h;
  // Substring matching: "apple" inside "pineapple", "coach" inside "coaching", "sale" inside "wholesale".
  const auto fruit = h.score("Pineapple print dress, coaching session outfit, wholesale lot");
  CHECK(fruit.brands == std::vector<std::string>{"apple", "coach"});
  CHECK(fruit.keywords == std::vector<std::string>{"sale", "wholesale"});
  CHECK(fruit.spam);  // a false positive
  // Obfuscated calls to action slip through.
  CHECK_FALSE(h.score("dm 4 prices, msg on wa").spam);
  // A single-brand counterfeit passes: brand mismatch is counted, never understood.
  CHECK_FALSE(h.score("Gucci style bag, looks just like the real one").spam);
}

TEST_CASE("legacy: empty and non-ASCII text never give NaN", "[classic][legacy]") {
  LegacyKeywordHeuristic h;
  const auto empty = h.score("");
  CHECK(empty.score == 0.0);
  CHECK_FALSE(empty.spam);
  CHECK(empty.reason == "no rule fired");
  CHECK(h.score("\u041a\u0420\u041e\u0421\u0421\u041e\u0412\u041a\u0418 NIKE \u0418 ADIDAS \u0418 PUMA").spam);  // lowercased first
}

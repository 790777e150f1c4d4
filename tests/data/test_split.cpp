// Stratified split: proportions per class, determinism, and a seeded RNG that matches an
// independent implementation of xoshiro256**.
#include <set>

#include <catch2/catch.hpp>

#include "kspam/core/atomic_file.hpp"
#include "kspam/core/json_parse.hpp"
#include "kspam/core/rng.hpp"
#include "kspam/data/label_quality.hpp"
#include "kspam/data/split.hpp"

using namespace kspam;
using namespace kspam::data;

namespace {
std::vector<Listing> synthetic(std::size_t n, std::size_t spam_every) {
  std::vector<Listing> rows(n);
  for (std::size_t i = 0; i < n; ++i) {
    rows[i].product_id = "p" + std::to_string(i);
    rows[i].label = (i % spam_every == 0) ? 1 : 0;
  }
  return rows;
}
}  // namespace

TEST_CASE("rng: matches the reference xoshiro256** outputs") {
  const auto truth = json::parse(read_file(std::string(KSPAM_SOURCE_DIR) + "/tests/reference/fixtures/data/rng_seed42.json"));
  Rng rng(42);
  for (const auto& v : truth.find("next_u64")->as_array()) CHECK(rng.next_u64() == std::stoull(v.as_string()));
}

TEST_CASE("rng: bounded integers stay in range and cover it") {
  Rng rng(7);
  std::vector<int> seen(10, 0);
  for (int i = 0; i < 10000; ++i) {
    const auto v = rng.below(10);
    REQUIRE(v < 10);
    ++seen[v];
  }
  for (int c : seen) CHECK(c > 850);
}

TEST_CASE("split: each class keeps its share in validation") {
  auto rows = synthetic(1000, 4);  // 250 spam, 750 clean
  auto parts = stratified_split(rows, 0.1, 42);
  CHECK(parts.val.size() == 100);
  CHECK(parts.train.size() == 900);
  std::size_t val_spam = 0;
  for (auto i : parts.val) val_spam += *rows[i].label;
  CHECK(val_spam == 25);
  std::set<std::size_t> all(parts.train.begin(), parts.train.end());
  all.insert(parts.val.begin(), parts.val.end());
  CHECK(all.size() == 1000);  // a partition: nothing lost, nothing twice
  CHECK(std::is_sorted(parts.val.begin(), parts.val.end()));
}

TEST_CASE("split: same seed same split, other seed other split") {
  auto rows = synthetic(500, 3);
  auto a = stratified_split(rows, 0.1, 42);
  auto b = stratified_split(rows, 0.1, 42);
  auto c = stratified_split(rows, 0.1, 43);
  CHECK(a.val == b.val);
  CHECK(a.val != c.val);
}

TEST_CASE("split: pinned output for seed 42 matches an independent implementation") {
  const auto truth = json::parse(read_file(std::string(KSPAM_SOURCE_DIR) + "/tests/reference/fixtures/data/split_seed42.json"));
  auto rows = synthetic(40, 4);
  auto parts = stratified_split(rows, 0.25, 42);
  std::vector<std::size_t> expected;
  for (const auto& v : truth.find("val")->as_array()) expected.push_back(static_cast<std::size_t>(v.as_int()));
  CHECK(parts.val == expected);
  CHECK(parts.val.size() == 11);  // round half up: 2.5 -> 3 spam, 7.5 -> 8 clean
}

TEST_CASE("split: unlabeled rows are not split, a tiny class keeps a training row") {
  auto rows = synthetic(20, 100);  // one spam row only
  rows[5].label.reset();
  auto parts = stratified_split(rows, 0.5, 1);
  CHECK(parts.train.size() + parts.val.size() == 19);
  CHECK(std::count(parts.train.begin(), parts.train.end(), 0u) == 1);  // the only spam row trains
  CHECK_THROWS_AS(stratified_split(rows, 1.0, 1), InputError);
  CHECK_THROWS_AS(stratified_split(rows, 0.0, 1), InputError);
}

TEST_CASE("label quality: weights and exclusion follow |confidence|") {
  Listing sure, split_vote;
  sure.yes_count = 4;
  split_vote.yes_count = 2;
  split_vote.no_count = 1;
  CHECK(LabelQualityPolicy::parse("all").weight(split_vote) == 1.0);
  CHECK(LabelQualityPolicy::parse("weight").weight(split_vote) == Approx(1.0 / 3.0));
  auto exclude = LabelQualityPolicy::parse("exclude:0.5");
  CHECK(exclude.weight(split_vote) == 0.0);
  CHECK(exclude.weight(sure) == 1.0);
  CHECK_THROWS_AS(LabelQualityPolicy::parse("exclude:2"), InputError);
  CHECK_THROWS_AS(LabelQualityPolicy::parse("sometimes"), InputError);
}

// Schema validation: one bad file per error, each error naming file, line, column and value.
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "kspam/core/json_parse.hpp"
#include "kspam/core/atomic_file.hpp"
#include "kspam/data/read_listings.hpp"

using namespace kspam;
using namespace kspam::data;

namespace {
std::string bad(const std::string& name) { return std::string(KSPAM_SOURCE_DIR) + "/tests/data/bad/" + name; }

InputError read_error(const std::string& path, ReadOptions options = {}) {
  try {
    read_listings(path, options);
  } catch (const InputError& e) {
    return e;
  }
  FAIL("expected an InputError for " << path);
  throw;  // unreachable
}
}  // namespace

TEST_CASE("listings: missing required column is named") {
  auto e = read_error(bad("missing_column.tsv"));
  CHECK(e.line() == 1);
  CHECK(e.column() == "label");
  CHECK_THAT(e.what(), Catch::Contains("missing_column.tsv:1: column 'label'"));
}

TEST_CASE("listings: empty product_id") {
  auto e = read_error(bad("empty_id.tsv"));
  CHECK(e.line() == 3);
  CHECK(e.column() == "product_id");
}

TEST_CASE("listings: duplicate product_id names the first occurrence") {
  auto e = read_error(bad("duplicate_id.tsv"));
  CHECK(e.line() == 4);
  CHECK(e.value() == "a");
  CHECK_THAT(e.problem(), Catch::Contains("line 2"));
}

TEST_CASE("listings: label outside {0,1}") {
  auto e = read_error(bad("bad_label.tsv"));
  CHECK(e.line() == 3);
  CHECK(e.column() == "label");
  CHECK(e.value() == "yes");
}

TEST_CASE("listings: vote counts must be non-negative integers") {
  auto neg = read_error(bad("negative_yes.tsv"));
  CHECK(neg.column() == "yes_count");
  CHECK(neg.value() == "-1");
  auto frac = read_error(bad("fractional_no.tsv"));
  CHECK(frac.column() == "no_count");
  CHECK(frac.value() == "1.5");
}

TEST_CASE("listings: invalid UTF-8 names the column and byte") {
  auto e = read_error(bad("invalid_utf8.tsv"));
  CHECK(e.line() == 2);
  CHECK(e.column() == "description");
  CHECK_THAT(e.problem(), Catch::Contains("invalid UTF-8 at byte 4"));
}

TEST_CASE("listings: a row with the wrong number of fields") {
  auto e = read_error(bad("wrong_field_count.tsv"));
  CHECK(e.line() == 3);
}

TEST_CASE("listings: unterminated quote, empty file, repeated column") {
  CHECK(read_error(bad("unterminated_quote.tsv")).line() == 2);
  CHECK_THAT(read_error(bad("empty.tsv")).problem(), Catch::Contains("empty"));
  auto dup = read_error(bad("duplicate_column.tsv"));
  CHECK(dup.column() == "label");
  CHECK_THAT(dup.problem(), Catch::Contains("twice"));
}

TEST_CASE("listings: a missing file is an input error") {
  CHECK_THROWS_AS(read_listings(bad("no_such_file.tsv")), InputError);
}

TEST_CASE("listings: empty label means unlabeled, unless labels are required") {
  auto table = read_listings(bad("unlabeled_row.tsv"));
  REQUIRE(table.rows.size() == 2);
  CHECK_FALSE(table.rows[0].label.has_value());
  CHECK(table.rows[0].yes_count == 0);
  CHECK(table.rows[1].label == 1);
  ReadOptions strict;
  strict.require_labels = true;
  auto e = read_error(bad("unlabeled_row.tsv"), strict);
  CHECK(e.line() == 2);
  CHECK(e.column() == "label");
}

TEST_CASE("listings: collecting every error at once") {
  ReadOptions options;
  options.collect_errors = true;
  try {
    read_listings(bad("many_errors.tsv"), options);
    FAIL("expected errors");
  } catch (const ValidationErrors& e) {
    REQUIRE(e.errors().size() == 3);
    CHECK(e.errors()[0].column() == "product_id");
    CHECK(e.errors()[1].column() == "label");
    CHECK(e.errors()[2].column() == "yes_count");
    CHECK_THAT(e.what(), Catch::Contains("3 problems"));
  }
  options.max_errors = 2;
  try {
    read_listings(bad("many_errors.tsv"), options);
    FAIL("expected errors");
  } catch (const ValidationErrors& e) {
    CHECK(e.errors().size() == 2);
    CHECK_THAT(e.what(), Catch::Contains("stopped after 2"));
  }
}

TEST_CASE("listings: what pandas writes reads back as Python's csv module reads it") {
  const std::string dir = std::string(KSPAM_SOURCE_DIR) + "/tests/reference/fixtures/data/";
  const auto truth = json::parse(read_file(dir + "pandas_quoting.json"));
  const auto& records = truth.find("records")->as_array();

  TsvReader reader(dir + "pandas_quoting.tsv");
  TsvRecord record;
  std::size_t i = 0;
  while (reader.next(record)) {
    REQUIRE(i < records.size());
    const auto& expected = records[i].as_array();
    REQUIRE(record.fields.size() == expected.size());
    for (std::size_t k = 0; k < expected.size(); ++k) CHECK(record.fields[k] == expected[k].as_string());
    ++i;
  }
  CHECK(i == records.size());

  // The same file through the schema: columns in any order, names normalised, extras kept.
  auto table = read_listings(dir + "pandas_quoting.tsv");
  REQUIRE(table.rows.size() == 6);
  CHECK(table.extra_columns == std::vector<std::string>{"notes"});
  CHECK(table.rows[2].description == "line one\nline two\r\nline three");
  CHECK(table.rows[2].yes_count == 3);
  CHECK(table.rows[3].extra[0] == "Ünïcödé ✨ 日本語");
  CHECK(table.rows[5].description.empty());
}

TEST_CASE("listings: label confidence and its summary") {
  Listing l;
  CHECK(l.label_confidence() == 0.0);
  l.yes_count = 3;
  l.no_count = 1;
  CHECK(l.label_confidence() == Approx(0.5));
  l.yes_count = 0;
  CHECK(l.label_confidence() == -1.0);
}

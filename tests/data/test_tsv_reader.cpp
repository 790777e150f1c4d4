#include <sstream>

#include <catch2/catch.hpp>

#include "kspam/data/tsv_reader.hpp"

using kspam::data::TsvReader;
using kspam::data::TsvRecord;

static std::vector<std::vector<std::string>> read_all(const std::string& text) {
  std::istringstream in(text);
  TsvReader reader(in, "t.tsv");
  std::vector<std::vector<std::string>> out;
  TsvRecord r;
  while (reader.next(r)) out.push_back(r.fields);
  return out;
}

TEST_CASE("TSV: plain rows, LF and CRLF") {
  auto rows = read_all("a\tb\r\n1\t2\n3\t4");
  REQUIRE(rows.size() == 3);
  CHECK(rows[1] == std::vector<std::string>{"1", "2"});
  CHECK(rows[2] == std::vector<std::string>{"3", "4"});
}

TEST_CASE("TSV: quoted fields hold tabs, newlines and doubled quotes") {
  auto rows = read_all("a\tb\n\"x\ty\"\t\"line1\nline2 \"\"q\"\"\"\n");
  REQUIRE(rows.size() == 2);
  CHECK(rows[1][0] == "x\ty");
  CHECK(rows[1][1] == "line1\nline2 \"q\"");
}

TEST_CASE("TSV: byte-order mark is dropped and blank lines are skipped") {
  auto rows = read_all("\xEF\xBB\xBFid\tv\n\n1\t2\n\n");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0][0] == "id");
}

TEST_CASE("TSV: empty fields and a quote inside an unquoted field") {
  auto rows = read_all("a\tb\tc\n\t5 \"inch\"\t\n");
  REQUIRE(rows.size() == 2);
  CHECK(rows[1] == std::vector<std::string>{"", "5 \"inch\"", ""});
}

TEST_CASE("TSV: line numbers count physical lines") {
  std::istringstream in("h\n\"a\nb\"\nc\n");
  TsvReader reader(in, "t.tsv");
  TsvRecord r;
  REQUIRE(reader.next(r));
  CHECK(r.line == 1);
  REQUIRE(reader.next(r));
  CHECK(r.line == 2);
  REQUIRE(reader.next(r));
  CHECK(r.line == 4);
}

TEST_CASE("TSV: an unterminated quote names the line where it opened") {
  std::istringstream in("h\nok\n\"never closed\nmore\n");
  TsvReader reader(in, "bad.tsv");
  TsvRecord r;
  REQUIRE(reader.next(r));
  REQUIRE(reader.next(r));
  try {
    reader.next(r);
    FAIL("expected an error");
  } catch (const kspam::InputError& e) {
    CHECK(e.file() == "bad.tsv");
    CHECK(e.line() == 3);
  }
}

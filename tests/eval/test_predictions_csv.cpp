// The predictions CSV: round trip, defaults, and a clear InputError for every kind of bad row.
#include <catch2/catch.hpp>

#include <filesystem>

#include "kspam/core/atomic_file.hpp"
#include "kspam/eval/predictions_csv.hpp"

using namespace kspam;
using namespace kspam::eval;

namespace {

std::filesystem::path scratch(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / ("kspam_test_eval_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir / name;
}

std::string error_of(const std::string& csv) {
  const auto path = scratch("bad.csv");
  write_file_atomically(path, csv);
  try {
    read_predictions_csv(path.string());
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("predictions CSV round-trips every field, including quotes and line breaks", "[eval][csv]") {
  std::vector<Prediction> rows(2);
  rows[0] = Prediction::from_probability("p1", 1, 0.875);
  rows[0].reason = "brand list, \"hashtags\"\nand a phone number";
  rows[0].decision = Decision::Demote;
  rows[0].image_present = true;
  rows[0].raw_output = R"({"is_spam": true, "confidence": 0.875, "reason": "x, y"})";
  rows[1] = Prediction::from_probability("p2", std::nullopt, 0.1);
  const auto path = scratch("roundtrip.csv");
  write_predictions_csv(path, rows, {"region"}, {{"eu"}, {"us"}});
  const auto table = read_predictions_csv(path.string());
  REQUIRE(table.rows.size() == 2);
  CHECK(table.rows[0].product_id == "p1");
  CHECK(*table.rows[0].truth == 1);
  CHECK(table.rows[0].score == 0.875);
  CHECK(table.rows[0].predicted == 1);
  CHECK(table.rows[0].confidence == 0.875);
  CHECK(table.rows[0].reason == rows[0].reason);
  CHECK(table.rows[0].decision == Decision::Demote);
  CHECK(table.rows[0].image_present);
  CHECK(table.rows[0].raw_output == rows[0].raw_output);
  CHECK_FALSE(table.rows[1].truth.has_value());
  CHECK(table.rows[1].confidence == Approx(0.9));
  REQUIRE(table.extra_index("region") == 0);
  CHECK(table.extra[1][0] == "us");
  CHECK(table.lines[1] == 4);  // header, a three-line quoted record, then this row
}

TEST_CASE("predictions CSV with only the required columns fills confidence from the score", "[eval][csv]") {
  const auto path = scratch("minimal.csv");
  write_file_atomically(path, "product_id,label,score,pred\nx,0,0.25,0\ny,1,0.75,1\nz,1,0.4,1\n");
  const auto t = read_predictions_csv(path.string());
  REQUIRE(t.rows.size() == 3);
  CHECK(t.rows[0].confidence == 0.75);
  CHECK(t.rows[1].confidence == 0.75);
  CHECK(t.rows[2].confidence == 0.4);  // the model said spam at 0.4: its confidence in that verdict
  CHECK_FALSE(t.has_image_present);
}

TEST_CASE("bad predictions name the file, line, column and value", "[eval][csv]") {
  const std::string header = "product_id,label,score,pred\n";
  CHECK_THAT(error_of(header + "a,1,,1\n"), Catch::Contains(":2: column 'score': score is missing"));
  CHECK_THAT(error_of(header + "a,1,nan,1\n"), Catch::Contains("column 'score'"));
  CHECK_THAT(error_of(header + "a,1,nan,1\n"), Catch::Contains("nan"));
  CHECK_THAT(error_of(header + "a,1,0.5,1\nb,0,1.5,1\n"), Catch::Contains(":3: column 'score': score is outside [0, 1] (got '1.5')"));
  CHECK_THAT(error_of(header + "a,1,-0.1,1\n"), Catch::Contains("outside [0, 1]"));
  CHECK_THAT(error_of(header + "a,1,high,1\n"), Catch::Contains("must be a number"));
  CHECK_THAT(error_of(header + "a,2,0.5,1\n"), Catch::Contains("column 'label'"));
  CHECK_THAT(error_of(header + "a,1,0.5,yes please\n"), Catch::Contains("column 'pred'"));
  CHECK_THAT(error_of(header + "a,1,0.5,1\na,0,0.2,0\n"), Catch::Contains("duplicate product_id (first seen on line 2)"));
  CHECK_THAT(error_of("product_id,label,pred\na,1,1\n"), Catch::Contains("column 'score': required column is missing"));
  CHECK_THAT(error_of(header + "a,1,0.5\n"), Catch::Contains("different number of fields"));
  CHECK_THAT(error_of("product_id,label,score,pred,confidence\na,1,0.5,1,2\n"), Catch::Contains("column 'confidence'"));
  CHECK_THAT(error_of(""), Catch::Contains("file is empty"));
}

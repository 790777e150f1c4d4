// Verdict parsing: the first complete JSON object in generated text, validated strictly, with a
// typed reason for everything that is not a verdict.
#include <catch2/catch.hpp>

#include <filesystem>

#include "kspam/core/atomic_file.hpp"
#include "kspam/text/verdict_log.hpp"

using namespace kspam::text;

namespace {
VerdictProblem problem(std::string_view s) { return parse_verdict(s).problem; }
}  // namespace

TEST_CASE("verdict parses plain, fenced and surrounded JSON", "[verdict]") {
  auto r = parse_verdict(R"({"is_spam":true,"confidence":0.93,"reason":"brand stuffing"})");
  REQUIRE(r.ok());
  CHECK(r.verdict->is_spam);
  CHECK(r.verdict->confidence == Approx(0.93));
  CHECK(r.verdict->reason == "brand stuffing");

  r = parse_verdict("Sure! Here is my answer:\n```json\n{\"is_spam\": false, \"confidence\": 1, \"reason\": \"ok\"}\n```\nThanks.");
  REQUIRE(r.ok());
  CHECK_FALSE(r.verdict->is_spam);
  CHECK(r.verdict->confidence == 1.0);

  // Braces and escaped quotes inside strings do not end the object.
  r = parse_verdict(R"(x {"reason":"uses \"{brand}\" tags }}","is_spam":true,"confidence":0.5,"extra":{"a":[1,{"b":2}]}} y)");
  REQUIRE(r.ok());
  CHECK(r.verdict->reason == "uses \"{brand}\" tags }}");

  // A brace in prose before the real object: the first valid JSON object decides.
  r = parse_verdict(R"(I think {this} is spam: {"is_spam":true,"confidence":0.8,"reason":"tags"})");
  REQUIRE(r.ok());
  CHECK(r.verdict->confidence == Approx(0.8));
}

TEST_CASE("verdict gives a typed reason for each malformed answer", "[verdict]") {
  CHECK(problem("") == VerdictProblem::NoJsonObject);
  CHECK(problem("spam, clearly") == VerdictProblem::NoJsonObject);
  CHECK(problem(R"({"is_spam":true,"confidence":0.9,"reason":"cut o)") == VerdictProblem::UnterminatedObject);
  CHECK(problem(R"({is_spam: true})") == VerdictProblem::InvalidJson);
  CHECK(problem(R"({"confidence":0.9,"reason":"r"})") == VerdictProblem::MissingIsSpam);
  CHECK(problem(R"({"is_spam":"yes","confidence":0.9,"reason":"r"})") == VerdictProblem::IsSpamNotBoolean);
  CHECK(problem(R"({"is_spam":1,"confidence":0.9,"reason":"r"})") == VerdictProblem::IsSpamNotBoolean);
  CHECK(problem(R"({"is_spam":true,"reason":"r"})") == VerdictProblem::MissingConfidence);
  CHECK(problem(R"({"is_spam":true,"confidence":"high","reason":"r"})") == VerdictProblem::ConfidenceNotNumber);
  CHECK(problem(R"({"is_spam":true,"confidence":1.5,"reason":"r"})") == VerdictProblem::ConfidenceOutOfRange);
  CHECK(problem(R"({"is_spam":true,"confidence":-0.1,"reason":"r"})") == VerdictProblem::ConfidenceOutOfRange);
  CHECK(problem(R"({"is_spam":true,"confidence":0.2})") == VerdictProblem::MissingReason);
  CHECK(problem(R"({"is_spam":true,"confidence":0.2,"reason":null})") == VerdictProblem::ReasonNotString);
  CHECK(problem(R"({"is_spam":true,"is_spam":false,"confidence":0.2,"reason":"r"})") == VerdictProblem::DuplicateKey);
  const std::string long_reason = R"({"is_spam":true,"confidence":0.2,"reason":")" + std::string(501, 'x') + "\"}";
  CHECK(problem(long_reason) == VerdictProblem::ReasonTooLong);
  CHECK(problem("{\"is_spam\":true,\"confidence\":0.2,\"reason\":\"\xff\"}") == VerdictProblem::InvalidJson);
  CHECK(problem(R"([{"is_spam":true}])") == VerdictProblem::MissingConfidence);  // the object inside is the first object
}

TEST_CASE("verdict work is bounded on adversarial input", "[verdict]") {
  std::string nasty(200000, '{');
  CHECK(problem(nasty) == VerdictProblem::UnterminatedObject);
  std::string quotes = "{\"" + std::string(100000, '\\');
  CHECK(problem(quotes) == VerdictProblem::UnterminatedObject);
}

TEST_CASE("verdict log counts the malformed rate and writes samples", "[verdict]") {
  VerdictLog log(2, 1);
  const char* responses[] = {R"({"is_spam":true,"confidence":0.9,"reason":"a"})", "nope", "{bad}", "{", R"({"is_spam":false,"confidence":0.1,"reason":"b"})"};
  int i = 0;
  for (const char* r : responses) log.add("P" + std::to_string(i++), r, parse_verdict(r));
  CHECK(log.total() == 5);
  CHECK(log.malformed() == 3);
  CHECK(log.malformed_rate() == Approx(0.6));
  const auto summary = log.summary();
  CHECK(summary.find("malformed_by_reason")->find("no_json_object")->as_int() == 1);
  CHECK(summary.find("malformed_by_reason")->find("invalid_json")->as_int() == 1);
  const auto path = std::filesystem::temp_directory_path() / "kspam_test_sample_responses.jsonl";
  log.write_samples(path);
  const std::string text = kspam::read_file(path);
  CHECK(std::count(text.begin(), text.end(), '\n') == 3);  // 2 malformed + 1 ok kept
  std::filesystem::remove(path);
}

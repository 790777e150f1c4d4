// build_sft_files end to end on a small TSV: photos found in the image cache, missing and
// unreadable photos going text-only, unlabeled rows skipped, a long row shortened to fit, and every
// line of train.jsonl a conversation whose answer the verdict parser accepts.
#include <catch2/catch.hpp>

#include <filesystem>

#include <unistd.h>

#include "kspam/text/sft_dataset.hpp"
#include "kspam/text/verdict.hpp"
#include "text_test_support.hpp"

using namespace kspam;
using namespace kspam::text;
using namespace kspam::text::testing;
namespace fs = std::filesystem;

TEST_CASE("sft dataset: cache lookup, text-only fallbacks, truncation and counts", "[sft]") {
  const fs::path dir = fs::temp_directory_path() / ("kspam_test_sft_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "cache");
  const fs::path photo = fs::path(KSPAM_SOURCE_DIR) / "data" / "sample" / "images" / "fm00389.jpg";
  auto cache_name = [&](const std::string& url) {
    return dir / "cache" / image::cache_file_name(image::resolve_image_source(url, dir).key);
  };
  fs::copy_file(photo, cache_name("https://example.com/a.jpg"));
  write_file_atomically(cache_name("https://example.com/broken.jpg"), "<html>not an image</html>");
  std::string long_description;
  for (int i = 0; i < 300; ++i) long_description += "Gucci Prada Nike #sale ";
  write_file_atomically(dir / "train.tsv",
                        "product_id\tdescription\timage_url\tlabel\tyes_count\tno_count\n"
                        "A\tBlue knit sweater, warm.\thttps://example.com/a.jpg\t0\t0\t3\n"
                        "B\tSneakers Gucci / Prada / Nike\thttps://example.com/missing.jpg\t1\t2\t1\n"
                        "C\tRed dress\thttps://example.com/broken.jpg\t0\t1\t2\n"
                        "D\tUnlabeled coat\t\t\t\t\n"
                        "E\t" + long_description + "\thttps://example.com/a.jpg\t1\t3\t0\n");
  SftBuildOptions options;
  options.train = dir / "train.tsv";
  options.cache_dir = dir / "cache";
  options.out = dir / "sft";
  options.max_seq_len = 400;
  options.label_quality = data::LabelQualityPolicy::parse("weight");
  options.threads = 2;
  const json::Value summary = build_sft_files(qwen3(), options);
  const json::Value& train = *summary.find("train");
  CHECK(train.find("rows")->as_int() == 4);
  CHECK(train.find("with_image")->as_int() == 2);  // A and E
  CHECK(train.find("without_image")->as_int() == 2);
  CHECK(train.find("image_unreadable")->as_int() == 1);
  CHECK(train.find("unlabeled_skipped")->as_int() == 1);
  CHECK(train.find("shortened")->as_int() == 1);
  CHECK(train.find("tokens_max")->as_int() <= 400);

  const auto lines = read_jsonl(dir / "sft" / "train.jsonl");
  REQUIRE(lines.size() == 4);
  const auto& a = lines[0];
  CHECK(a.find("id")->as_string() == "A");
  const auto& a_user = a.find("messages")->as_array()[1].find("content")->as_array();
  REQUIRE(a_user.size() == 2);
  CHECK(a_user[0].find("type")->as_string() == "image");
  CHECK(fs::equivalent(a_user[0].find("image")->as_string(), cache_name("https://example.com/a.jpg")));
  const auto& b_user = lines[1].find("messages")->as_array()[1].find("content")->as_array();
  REQUIRE(b_user.size() == 1);
  CHECK(b_user[0].find("text")->as_string().find("image is unavailable") != std::string::npos);
  for (const auto& line : lines) {
    const auto verdict = parse_verdict(line.find("messages")->as_array()[2].find("content")->as_string());
    REQUIRE(verdict.ok());
    CHECK(verdict.verdict->is_spam == (line.find("label")->as_int() == 1));
  }
  // "weight": the answer's confidence is the annotators' agreement with the label (B: 2 of 3).
  CHECK(parse_verdict(lines[1].find("messages")->as_array()[2].find("content")->as_string()).verdict->confidence ==
        Approx(0.67));
  CHECK(lines[3].find("shortened")->as_bool());
  CHECK(fs::exists(dir / "sft" / "sft_preview.txt"));
  CHECK(fs::exists(dir / "sft" / "sft_summary.json"));
  fs::remove_all(dir);
}

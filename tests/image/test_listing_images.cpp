// fetch_listing_images over TSVs (relative paths resolved per TSV, empty and broken URLs), the
// image manifest round trip, cache export, and reading preprocessor_config.json.
#include <catch2/catch.hpp>

#include <zip.h>

#include "image_fixtures.hpp"
#include "kspam/image/cache_export.hpp"
#include "kspam/image/listing_images.hpp"
#include "kspam/image/preprocessor_config_json.hpp"

using namespace kspam;
namespace fs = std::filesystem;

TEST_CASE("listing images: per-row manifest, text-only rows, export", "[image][listing]") {
  const fs::path root = fs::temp_directory_path() / ("kspam-listing-images-" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "a" / "images");
  fs::create_directories(root / "b" / "images");
  const auto inputs = test::image_fixture_dir() / "inputs";
  fs::copy_file(inputs / "rgb_29x41.bmp", root / "a" / "images" / "1.bmp");
  fs::copy_file(inputs / "gray_70x50.png", root / "b" / "images" / "1.bmp");  // same relative name, other file
  const std::string header = "product_id\tdescription\timage_url\tlabel\tyes_count\tno_count\n";
  write_file_atomically(root / "a" / "listings.tsv",
                        header + "A1\tred shoes\timages/1.bmp\t0\t0\t2\n" + "A2\tno photo\t\t1\t2\t0\n" +
                            "A3\tbroken\thttps://img.example.invalid/x.jpg\t1\t2\t0\n" + "A4\tsame photo\timages/1.bmp\t0\t0\t1\n");
  write_file_atomically(root / "b" / "test.tsv", header + "B1\tblue shoes\timages/1.bmp\t\t\t\n");
  image::DownloadOptions options;
  options.show_progress = false;
  options.max_attempts = 2;
  options.backoff_initial_s = 0.01;
  const auto cache = root / "cache";
  auto result = image::fetch_listing_images({root / "a" / "listings.tsv", root / "b" / "test.tsv"}, cache, options);
  REQUIRE(result.rows.size() == 5);
  CHECK(result.report.records.size() == 3);  // A1/A4 share one URL; B1's is another file
  CHECK_FALSE(result.rows[0].image_path.empty());
  CHECK(result.rows[1].reason == "no_image_url");
  CHECK(result.rows[2].reason == "dns");
  CHECK(result.rows[3].image_path == result.rows[0].image_path);
  CHECK_FALSE(result.rows[4].image_path.empty());
  CHECK(result.rows[4].image_path != result.rows[0].image_path);
  CHECK(read_file(result.rows[4].image_path) == read_file(inputs / "gray_70x50.png"));
  const auto s = result.summary();
  CHECK(s.find("listings")->find("rows_with_image")->as_int() == 3);
  CHECK(s.find("listings")->find("rows_text_only")->as_int() == 2);

  result.write_manifest(root / "image_manifest.tsv");
  const auto manifest = image::read_image_manifest(root / "image_manifest.tsv");
  CHECK(manifest.at({(root / "a" / "listings.tsv").string(), "A1"}) == result.rows[0].image_path);
  CHECK(manifest.at({(root / "a" / "listings.tsv").string(), "A2"}).empty());

  write_file_atomically(cache / "download_log.jsonl", "{}\n");  // not a cache entry: left out
  CHECK(image::export_cache_zip(cache, root / "out" / "cache.zip") == 2);
  int err = 0;
  zip_t* z = zip_open((root / "out" / "cache.zip").c_str(), ZIP_RDONLY, &err);
  REQUIRE(z);
  CHECK(zip_get_num_entries(z, 0) == 2);
  zip_close(z);
  fs::remove_all(root);
}

TEST_CASE("preprocessor_config.json: Qwen3-VL and Qwen2-VL spellings, bad values", "[image][config]") {
  // The shape of Qwen3-VL-2B-Instruct's preprocessor_config.json.
  const auto qwen3 = image::parse_preprocessor_config(R"({
    "size": {"longest_edge": 16777216, "shortest_edge": 65536},
    "patch_size": 16, "temporal_patch_size": 2, "merge_size": 2,
    "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5],
    "processor_class": "Qwen3VLProcessor", "image_processor_type": "Qwen2VLImageProcessorFast"})",
                                                      "qwen3.json");
  CHECK(qwen3.min_pixels == 65536);
  CHECK(qwen3.max_pixels == 16777216);
  CHECK(qwen3.patch_dim() == 1536);
  CHECK(qwen3.factor() == 32);
  const auto qwen2 = image::parse_preprocessor_config(
      R"({"min_pixels": 3136, "max_pixels": 12845056, "patch_size": 14, "image_mean": [0.48145466, 0.4578275, 0.40821073]})",
      "qwen2.json");
  CHECK(qwen2.min_pixels == 3136);
  CHECK(qwen2.patch_size == 14);
  CHECK(qwen2.patch_dim() == 1176);
  CHECK(qwen2.image_mean[0] == 0.48145466);
  CHECK_THROWS_WITH(image::parse_preprocessor_config(R"({"patch_size": "16"})", "c.json"),
                    Catch::Contains("c.json") && Catch::Contains("patch_size"));
  CHECK_THROWS_WITH(image::parse_preprocessor_config(R"({"min_pixels": 100000, "max_pixels": 10000})", "c.json"),
                    Catch::Contains("min_pixels"));
  CHECK_THROWS_AS(image::parse_preprocessor_config(R"({"image_std": [0.5, 0, 0.5]})", "c.json"), InputError);
  CHECK_THROWS_AS(image::parse_preprocessor_config("[1,2]", "c.json"), InputError);
  CHECK_THROWS_AS(image::parse_preprocessor_config("{not json", "c.json"), InputError);
}

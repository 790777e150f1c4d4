// `kspam run` stage 30: fetch every image_url of the labeled data and the test file into
// <run>/image_cache. A missing photo never stops the run: that listing goes on text-only.
#include "cli.hpp"
#include "kspam/core/run_metadata.hpp"
#include "kspam/core/timer.hpp"
#include "kspam/image/listing_images.hpp"

namespace kspam::cli {
namespace {

unsigned image_workers = 8;
double image_timeout = 30.0;

const StageRegistrar images_stage{{
    30, "images", "download and cache listing photos",
    [](CLI::App& app) {
      app.add_option("--image-workers", image_workers, "Parallel image downloads")->capture_default_str()
          ->check(CLI::Range(1u, 256u));
      app.add_option("--image-timeout", image_timeout, "Read timeout per image request, seconds")
          ->capture_default_str()->check(CLI::Range(0.1, 600.0));
    },
    [](RunContext& context) {
      Stopwatch watch;
      image::DownloadOptions options;
      options.workers = image_workers;
      options.http.read_timeout_s = image_timeout;
      std::vector<std::filesystem::path> tsvs{context.data};
      if (!context.test.empty()) tsvs.push_back(context.test);
      const auto cache = context.out / "image_cache";
      std::filesystem::create_directories(cache);
      auto result = image::fetch_listing_images(tsvs, cache, options);
      result.report.write_log(context.out / "image_download_log.jsonl");
      result.write_manifest(context.out / "image_manifest.tsv");
      const json::Value summary = result.summary();
      write_file_atomically(context.out / "image_summary.json", summary.dump());
      context.artifacts["image_cache"] = cache;
      context.artifacts["image_manifest"] = context.out / "image_manifest.tsv";
      const auto& listing = *summary.find("listings");
      say("images", std::to_string(listing.find("rows_with_image")->as_int()) + " of " +
                        std::to_string(listing.find("rows")->as_int()) + " listings have a photo (" +
                        std::to_string(summary.find("missing")->as_int()) + " URLs missing; see image_download_log.jsonl)");
      json::Value record = json::Value::object();
      record["config"]["workers"] = static_cast<std::int64_t>(image_workers);
      record["config"]["timeout_s"] = image_timeout;
      record["sizes"] = summary;
      record["seconds"] = watch.seconds();
      record_stage(context.out, "images", record);
    }}};

}  // namespace
}  // namespace kspam::cli

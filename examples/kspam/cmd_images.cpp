// kspam images: fetch the photos of a listings TSV into an image cache (parallel, retried, cached),
// with a per-URL log, a per-row manifest and a summary; optionally pack the cache into a zip.
#include <memory>

#include "cli.hpp"
#include "kspam/core/run_metadata.hpp"
#include "kspam/core/timer.hpp"
#include "kspam/image/cache_export.hpp"
#include "kspam/image/listing_images.hpp"

namespace kspam::cli {
namespace {

struct ImagesArgs {
  std::vector<std::string> data;
  std::string cache_dir;
  std::string log_dir;
  std::string export_zip;
  unsigned workers = 8;
  int attempts = 4;
  double timeout = 30.0;
  double max_mb = 20.0;
  std::uint64_t max_pixels = image::DownloadOptions{}.decode.max_pixels;
};

const CommandRegistrar registrar{{
    "images",
    "Download listing photos into an image cache (retries, size and type checks, atomic writes)",
    [](CLI::App& app) {
      auto args = std::make_shared<ImagesArgs>();
      app.add_option("--data", args->data, "Listings TSV(s); relative image paths are relative to each TSV")
          ->required()->check(CLI::ExistingFile);
      app.add_option("--cache-dir", args->cache_dir, "Image cache folder (created if needed)")->required();
      app.add_option("--log-dir", args->log_dir,
                     "Where download_log.jsonl, image_manifest.tsv and download_summary.json go (default: the cache "
                     "folder's parent)");
      app.add_option("--workers", args->workers, "Parallel downloads")->capture_default_str()->check(CLI::Range(1u, 256u));
      app.add_option("--attempts", args->attempts, "Tries per URL (connection errors, timeouts, 429, 5xx are retried)")
          ->capture_default_str()->check(CLI::Range(1, 20));
      app.add_option("--timeout", args->timeout, "Read timeout per request, seconds")->capture_default_str()
          ->check(CLI::Range(0.1, 600.0));
      app.add_option("--max-mb", args->max_mb, "Largest image accepted, MB")->capture_default_str()
          ->check(CLI::Range(0.01, 1024.0));
      app.add_option("--max-pixels", args->max_pixels, "Largest image accepted, pixels")->capture_default_str();
      app.add_option("--export", args->export_zip, "Also pack the cache into this zip file");
      app.callback([args] {
        Stopwatch watch;
        image::DownloadOptions options;
        options.workers = args->workers;
        options.max_attempts = args->attempts;
        options.http.read_timeout_s = args->timeout;
        options.http.max_bytes = static_cast<std::uint64_t>(args->max_mb * 1024 * 1024);
        options.decode.max_pixels = args->max_pixels;
        const std::filesystem::path cache = args->cache_dir;
        const std::filesystem::path logs =
            args->log_dir.empty() ? std::filesystem::absolute(cache).parent_path() : std::filesystem::path(args->log_dir);
        std::vector<std::filesystem::path> tsvs(args->data.begin(), args->data.end());
        auto result = image::fetch_listing_images(tsvs, cache, options);
        result.report.write_log(logs / "download_log.jsonl");
        result.write_manifest(logs / "image_manifest.tsv");
        json::Value summary = result.summary();
        if (!args->export_zip.empty()) {
          const auto n = image::export_cache_zip(cache, args->export_zip);
          summary["export"]["path"] = args->export_zip;
          summary["export"]["images"] = n;
        }
        write_file_atomically(logs / "download_summary.json", summary.dump());
        char line[256];
        std::snprintf(line, sizeof line, "%lld present (%lld downloaded, %lld cached), %lld missing of %lld URLs",
                      static_cast<long long>(summary.find("present")->as_int()),
                      static_cast<long long>(summary.find("downloaded")->as_int()),
                      static_cast<long long>(summary.find("cached")->as_int()),
                      static_cast<long long>(summary.find("missing")->as_int()),
                      static_cast<long long>(summary.find("urls")->as_int()));
        say("images", line);
        for (const auto& [why, n] : summary.find("missing_by_reason")->as_object())
          say("images", "  missing, " + why + ": " + std::to_string(n.as_int()));
        say("images", "log: " + (logs / "download_log.jsonl").string() + ", manifest: " +
                          (logs / "image_manifest.tsv").string());
        json::Value record = json::Value::object();
        record["config"]["cache_dir"] = cache.string();
        record["config"]["workers"] = static_cast<std::int64_t>(args->workers);
        record["config"]["attempts"] = args->attempts;
        record["sizes"] = summary;
        record["seconds"] = watch.seconds();
        record_stage(logs, "images", record);
      });
    }}};

}  // namespace
}  // namespace kspam::cli

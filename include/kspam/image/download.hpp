#pragma once
// Fetches listing images into a content cache: download_image for one URL, download_images for many
// on a pool of workers, with a per-URL JSONL log and a summary.
//
// Retries: connection errors, timeouts, truncated bodies, 429 and 5xx are retried with exponential
// backoff and jitter (429/503 honour Retry-After, capped); other 4xx, wrong Content-Type, bodies over
// the cap and bytes that do not decode are final. Every body is decoded before it is cached
// (decode.hpp, with its pixel budget), and written with an atomic rename, so the cache never holds a
// truncated or non-image file, and concurrent runs on the same cache at worst both fetch one URL.
// Includes httplib (through http_fetch.hpp): see the Eigen note there.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "kspam/core/atomic_file.hpp"
#include "kspam/core/json.hpp"
#include "kspam/core/progress.hpp"
#include "kspam/core/rng.hpp"
#include "kspam/core/thread_pool.hpp"
#include "kspam/core/timer.hpp"
#include "kspam/image/decode.hpp"
#include "kspam/image/http_fetch.hpp"
#include "kspam/image/image_source.hpp"

namespace kspam::image {

struct DownloadOptions {
  HttpOptions http;
  // The pixel-count cap for the validating decode: 40 MP (120 MB of RGB) per worker at most, well
  // above any listing photo; PIL's own bomb limit (89.5 MP) would allow 270 MB per worker.
  DecodeLimits decode{40'000'000};
  int max_attempts = 4;                 // tries per URL, the first included
  double backoff_initial_s = 0.5;       // before the 2nd try; doubles each time
  double backoff_max_s = 30.0;
  double retry_after_max_s = 60.0;      // a server asking for longer is not waited for that long
  unsigned workers = 8;
  std::filesystem::path base_dir;       // resolves relative image paths (the TSV's folder)
  bool show_progress = true;
  std::string progress_label = "images";
};

struct DownloadRecord {
  std::string url;
  std::optional<std::filesystem::path> path;  // the cache file, when the image is present
  std::string outcome;                        // "downloaded", "cached" or "missing"
  int attempts = 0;
  int http_status = 0;                        // 0: no HTTP exchange (local file, connection failure)
  std::uint64_t bytes = 0;                    // bytes fetched or copied (0 when cached)
  std::string reason;                         // missing: why (http_404, timeout, not_an_image, ...)
  std::string error;                          // missing: detail for humans
  double seconds = 0;

  json::Value to_json() const {
    json::Value v = json::Value::object();
    v["url"] = url;
    v["path"] = path ? json::Value(path->string()) : json::Value(nullptr);
    v["outcome"] = outcome;
    v["attempts"] = attempts;
    v["status"] = http_status ? json::Value(http_status) : json::Value(nullptr);
    v["bytes"] = static_cast<std::int64_t>(bytes);
    v["reason"] = reason.empty() ? json::Value(nullptr) : json::Value(reason);
    v["error"] = error.empty() ? json::Value(nullptr) : json::Value(error);
    v["seconds"] = seconds;
    return v;
  }
};

namespace detail {

// Delay before try `attempt` + 1: base * 2^(attempt-1), capped, times a jitter in [0.5, 1) so that
// workers that failed together do not come back together.
inline double backoff_delay(const DownloadOptions& o, int attempt, Rng& rng) {
  const double exp = o.backoff_initial_s * std::pow(2.0, attempt - 1);
  return std::min(o.backoff_max_s, exp) * (0.5 + 0.5 * rng.uniform());
}

inline std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Decodes `bytes` (the "is it really an image" check); fills reason/error on failure.
inline bool validate_image(const std::string& bytes, const std::string& origin, const DecodeLimits& limits,
                           DownloadRecord& rec) {
  try {
    (void)decode_image(bytes, origin, limits);
    return true;
  } catch (const InputError& e) {
    rec.reason = e.problem().find("more pixels than") != std::string::npos ? reason::too_many_pixels
                                                                            : reason::not_an_image;
    rec.error = e.problem();
    return false;
  }
}

inline void store(const std::filesystem::path& target, const std::string& bytes) {
  write_file_atomically(target, bytes);
}

}  // namespace detail

// Fetches (or finds in the cache) one image; the record says what happened. Never throws for a
// bad URL or a failed fetch (that is a "missing" record); throws kspam::Error only when the cache
// directory itself cannot be written.
// `base_dir` resolves a relative path (defaults to options.base_dir).
inline DownloadRecord fetch_to_cache(const std::string& image_url, const std::filesystem::path& cache_dir,
                                     const DownloadOptions& options,
                                     const std::optional<std::filesystem::path>& base_dir = std::nullopt) {
  Stopwatch watch;
  DownloadRecord rec;
  rec.url = image_url;
  rec.outcome = "missing";
  const auto src = resolve_image_source(image_url, base_dir ? *base_dir : options.base_dir);
  if (src.kind == SourceKind::invalid) {
    rec.reason = reason::invalid_url;
    rec.error = src.problem;
    rec.seconds = watch.seconds();
    return rec;
  }
  const auto target = cache_dir / cache_file_name(src.key);
  std::error_code ec;
  if (std::filesystem::is_regular_file(target, ec) && std::filesystem::file_size(target, ec) > 0) {
    rec.path = target;
    rec.outcome = "cached";
    rec.seconds = watch.seconds();
    return rec;
  }
  std::filesystem::create_directories(cache_dir, ec);
  if (ec) throw Error("cannot create the image cache " + cache_dir.string() + ": " + ec.message());

  if (src.kind == SourceKind::local) {
    rec.attempts = 1;
    if (!std::filesystem::is_regular_file(src.local_path, ec)) {
      rec.reason = reason::not_found;
      rec.error = "no such file: " + src.local_path.string();
    } else if (std::filesystem::file_size(src.local_path, ec) > options.http.max_bytes) {
      rec.reason = reason::too_large;
      rec.error = "file is larger than the cap of " + std::to_string(options.http.max_bytes) + " bytes";
    } else {
      std::string bytes;
      try {
        bytes = read_file(src.local_path);
      } catch (const InputError& e) {
        rec.reason = reason::io_error;
        rec.error = e.problem();
      }
      if (rec.reason.empty() && detail::validate_image(bytes, src.local_path.string(), options.decode, rec)) {
        detail::store(target, bytes);
        rec.path = target;
        rec.outcome = "downloaded";
        rec.bytes = bytes.size();
      }
    }
    rec.seconds = watch.seconds();
    return rec;
  }

  Rng rng(detail::fnv1a(image_url) ^ static_cast<std::uint64_t>(::getpid()));
  for (int attempt = 1; attempt <= std::max(1, options.max_attempts); ++attempt) {
    rec.attempts = attempt;
    FetchResult r = http_get_image(*src.url, options.http);
    rec.http_status = r.http_status;
    if (r.ok) {
      rec.bytes = r.body.size();
      if (detail::validate_image(r.body, image_url, options.decode, rec)) {
        detail::store(target, r.body);
        rec.path = target;
        rec.outcome = "downloaded";
        rec.reason.clear();
        rec.error.clear();
      }
      break;  // a body that does not decode will not decode next time either
    }
    rec.reason = r.reason;
    rec.error = r.error;
    if (!r.retryable || attempt == options.max_attempts) break;
    double delay = detail::backoff_delay(options, attempt, rng);
    if (r.retry_after_s) delay = std::min(options.retry_after_max_s, std::max(delay, *r.retry_after_s));
    std::this_thread::sleep_for(std::chrono::duration<double>(delay));
  }
  if (rec.outcome == "missing" && rec.attempts > 1) rec.error += " (after " + std::to_string(rec.attempts) + " attempts)";
  rec.seconds = watch.seconds();
  return rec;
}

// The single-URL form: the cached file, or nullopt with the reason printed to stderr.
inline std::optional<std::filesystem::path> download_image(const std::string& url, const std::filesystem::path& cache_dir,
                                                           const DownloadOptions& options = {}) {
  auto rec = fetch_to_cache(url, cache_dir, options);
  if (!rec.path && !std::getenv("KSPAM_QUIET"))
    std::fprintf(stderr, "image missing: %s: %s (%s)\n", url.c_str(), rec.reason.c_str(), rec.error.c_str());
  return rec.path;
}

struct DownloadReport {
  std::vector<DownloadRecord> records;  // one per unique URL, in first-seen order
  double seconds = 0;

  std::size_t count(std::string_view outcome) const {
    return static_cast<std::size_t>(std::count_if(records.begin(), records.end(),
                                                  [&](const DownloadRecord& r) { return r.outcome == outcome; }));
  }
  std::uint64_t bytes() const {
    std::uint64_t b = 0;
    for (const auto& r : records) b += r.bytes;
    return b;
  }
  json::Value summary() const {
    json::Value s = json::Value::object();
    s["urls"] = records.size();
    s["present"] = count("downloaded") + count("cached");
    s["downloaded"] = count("downloaded");
    s["cached"] = count("cached");
    s["missing"] = count("missing");
    std::map<std::string, std::int64_t> by_reason;
    for (const auto& r : records)
      if (r.outcome == "missing") ++by_reason[r.reason];
    json::Value reasons = json::Value::object();
    for (const auto& [k, n] : by_reason) reasons[k] = n;
    s["missing_by_reason"] = reasons;
    s["bytes_downloaded"] = static_cast<std::int64_t>(bytes());
    s["seconds"] = seconds;
    s["urls_per_second"] = seconds > 0 ? static_cast<double>(records.size()) / seconds : 0.0;
    return s;
  }
  // One JSON object per line: url, path or null, outcome, attempts, status, bytes, reason, error.
  void write_log(const std::filesystem::path& path) const {
    std::string text;
    for (const auto& r : records) text += r.to_json().dump(-1) + "\n";
    write_file_atomically(path, text);
  }
};

// One image to fetch: the image_url as written, and the folder a relative path is relative to.
struct ImageRequest {
  std::string url;
  std::filesystem::path base_dir;
};

// Fetches every distinct non-empty request on options.workers threads.
inline DownloadReport download_images(const std::vector<ImageRequest>& requests, const std::filesystem::path& cache_dir,
                                      const DownloadOptions& options = {}) {
  Stopwatch watch;
  DownloadReport report;
  std::vector<const ImageRequest*> unique;
  std::unordered_map<std::string, std::size_t> seen;
  for (const auto& r : requests)
    if (!r.url.empty() && seen.emplace(r.url + '\n' + r.base_dir.string(), unique.size()).second) unique.push_back(&r);
  report.records.resize(unique.size());
  std::optional<Progress> progress;
  if (options.show_progress) progress.emplace(options.progress_label, unique.size(), "urls");
  parallel_for(
      0, unique.size(),
      [&](std::size_t i) {
        try {
          report.records[i] = fetch_to_cache(unique[i]->url, cache_dir, options, unique[i]->base_dir);
        } catch (const std::exception& e) {  // the cache folder itself failed: record it, keep going
          report.records[i].url = unique[i]->url;
          report.records[i].outcome = "missing";
          report.records[i].reason = reason::io_error;
          report.records[i].error = e.what();
        }
        if (progress) progress->advance();
      },
      std::max(1u, options.workers));
  if (progress) progress->finish();
  report.seconds = watch.seconds();
  return report;
}

inline DownloadReport download_images(const std::vector<std::string>& urls, const std::filesystem::path& cache_dir,
                                      const DownloadOptions& options = {}) {
  std::vector<ImageRequest> requests;
  requests.reserve(urls.size());
  for (const auto& u : urls) requests.push_back({u, options.base_dir});
  return download_images(requests, cache_dir, options);
}

}  // namespace kspam::image

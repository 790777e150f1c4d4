// Image download throughput against a local cpp-httplib server (127.0.0.1, started here) with 1, 8
// and 32 workers. Ours is the whole fetch_to_cache path (GET with timeouts and caps, Content-Type
// check, full decode to validate, atomic write into the cache); the anchor is bare httplib GETs of
// the same URLs on the same number of threads (no validation, nothing written): the ratio is what
// the safety costs over the transport itself.
//
//   bench_image_download [--urls N] [--image FILE]
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "kspam/core/atomic_file.hpp"
#include "kspam/core/thread_pool.hpp"
#include "kspam/core/timer.hpp"
#include "kspam/image/download.hpp"

namespace fs = std::filesystem;
using namespace kspam;

int main(int argc, char** argv) {
  std::size_t n_urls = 600;
  std::string image_file = KSPAM_SOURCE_DIR "/tests/reference/fixtures/image/inputs/rgb_300x400_q85.jpg";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--urls" && i + 1 < argc) n_urls = std::stoul(argv[++i]);
    else if (a == "--image" && i + 1 < argc) image_file = argv[++i];
    else {
      std::fprintf(stderr, "usage: %s [--urls N] [--image FILE]\n", argv[0]);
      return 2;
    }
  }
  const std::string body = read_file(image_file);
  httplib::Server server;
  server.new_task_queue = [] { return new httplib::ThreadPool(64); };
  server.Get(R"(/img/(\d+)\.jpg)", [&](const httplib::Request&, httplib::Response& res) { res.set_content(body, "image/jpeg"); });
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread listener([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const std::string origin = "http://127.0.0.1:" + std::to_string(port);

  std::printf("%zu URLs of a %zu-byte JPEG from %s (%u hardware threads)\n", n_urls, body.size(), origin.c_str(),
              default_thread_count());
  std::printf("%-8s %14s %14s %10s %8s\n", "workers", "kspam urls/s", "httplib urls/s", "kspam MB/s", "ratio");
  int round = 0;
  for (unsigned workers : {1u, 8u, 32u}) {
    std::vector<std::string> urls;
    for (std::size_t i = 0; i < n_urls; ++i)  // fresh URLs each round: nothing is served from the cache
      urls.push_back(origin + "/img/" + std::to_string(round * 1000000 + static_cast<int>(i)) + ".jpg");
    ++round;
    const fs::path cache = fs::temp_directory_path() / ("kspam-bench-download-" + std::to_string(::getpid()));
    fs::remove_all(cache);
    image::DownloadOptions options;
    options.workers = workers;
    options.show_progress = false;
    Stopwatch ours_watch;
    const auto report = image::download_images(urls, cache, options);
    const double ours_s = ours_watch.seconds();
    if (report.count("downloaded") != n_urls) {
      std::fprintf(stderr, "only %zu of %zu downloaded\n", report.count("downloaded"), n_urls);
      return 1;
    }
    fs::remove_all(cache);

    std::atomic<std::size_t> bytes{0};
    Stopwatch anchor_watch;
    parallel_for(
        0, urls.size(),
        [&](std::size_t i) {
          httplib::Client client(origin);
          client.set_keep_alive(false);
          auto res = client.Get(urls[i].substr(origin.size()));
          if (res && res->status == 200) bytes += res->body.size();
        },
        workers);
    const double anchor_s = anchor_watch.seconds();
    if (bytes != n_urls * body.size()) {
      std::fprintf(stderr, "anchor fetched %zu bytes, expected %zu\n", bytes.load(), n_urls * body.size());
      return 1;
    }
    const double ours_rate = static_cast<double>(n_urls) / ours_s, anchor_rate = static_cast<double>(n_urls) / anchor_s;
    std::printf("%-8u %14.1f %14.1f %10.1f %7.2fx\n", workers, ours_rate, anchor_rate,
                ours_rate * static_cast<double>(body.size()) / 1e6, ours_rate / anchor_rate);
  }
  server.stop();
  listener.join();
  return 0;
}

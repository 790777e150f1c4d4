// Decode + Qwen3-VL preprocessing throughput (images/s), ours against the Hugging Face
// Qwen2VLImageProcessor (transformers, torchvision backend) on the same image files, both measured
// in this run: the anchor is tests/reference/make_image_bench_anchor.py, which this program runs.
//
//   bench_image_preprocess [--images DIR] [--repeat N] [--anchor "python3 tests/reference/make_image_bench_anchor.py"]
//
// DIR defaults to a temporary folder that the anchor script fills with 48 photo-like images
// (640x480 JPEG, 800x600 PNG, 1024x768 WebP); without Python + transformers the anchor is reported
// as unavailable and only our figures print. Ours is timed single-threaded (the anchor's per-image
// loop is one Python thread, though torch may use several for its ops) and on all cores.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "kspam/core/atomic_file.hpp"
#include "kspam/core/thread_pool.hpp"
#include "kspam/core/timer.hpp"
#include "kspam/image/decode.hpp"
#include "kspam/image/preprocess.hpp"

namespace fs = std::filesystem;
using namespace kspam;

namespace {

std::map<std::string, std::string> run_anchor(const std::string& command) {
  std::map<std::string, std::string> out;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return out;
  char line[512];
  while (std::fgets(line, sizeof line, pipe)) {
    std::string s(line);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    const auto space = s.find(' ');
    if (space != std::string::npos) out[s.substr(0, space)] = s.substr(space + 1);
    else out[s] = "";
  }
  const int rc = ::pclose(pipe);
  if (rc != 0) out["__failed"] = std::to_string(rc);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir, anchor = "python3 " KSPAM_SOURCE_DIR "/tests/reference/make_image_bench_anchor.py";
  int repeat = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--images" && i + 1 < argc) dir = argv[++i];
    else if (a == "--repeat" && i + 1 < argc) repeat = std::max(1, std::atoi(argv[++i]));
    else if (a == "--anchor" && i + 1 < argc) anchor = argv[++i];
    else {
      std::fprintf(stderr, "usage: %s [--images DIR] [--repeat N] [--anchor COMMAND]\n", argv[0]);
      return 2;
    }
  }
  if (dir.empty()) {
    dir = (fs::temp_directory_path() / "kspam-bench-images").string();
    if (!fs::exists(dir)) {
      auto made = run_anchor(anchor + " --make " + dir);
      if (made.count("__failed")) {
        std::fprintf(stderr, "could not make benchmark images with '%s'; pass --images DIR\n", anchor.c_str());
        return 1;
      }
    }
  }
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    const auto ext = e.path().extension().string();
    if (ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".webp" || ext == ".gif" || ext == ".bmp")
      files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    std::fprintf(stderr, "no images in %s\n", dir.c_str());
    return 1;
  }
  const image::PreprocessorConfig config;  // Qwen3-VL checkpoint defaults
  auto one = [&](const fs::path& f) {
    const auto pv = image::preprocess(image::decode_image_file(f), config, f.string());
    return pv.rows;
  };
  for (std::size_t i = 0; i < std::min<std::size_t>(4, files.size()); ++i) one(files[i]);  // warm-up

  std::int64_t rows = 0;
  Stopwatch single;
  for (int r = 0; r < repeat; ++r)
    for (const auto& f : files) rows += one(f);
  const double single_s = single.seconds();
  const double n = static_cast<double>(files.size()) * repeat;

  Stopwatch multi;
  for (int r = 0; r < repeat; ++r) parallel_for(0, files.size(), [&](std::size_t i) { one(files[i]); });
  const double multi_s = multi.seconds();

  auto hf = run_anchor(anchor + " --time " + dir + " --repeat " + std::to_string(repeat));
  std::printf("images: %zu files x %d repeats from %s (%lld patch rows per pass)\n", files.size(), repeat, dir.c_str(),
              static_cast<long long>(rows / repeat));
  std::printf("%-52s %10s\n", "decode + preprocess", "images/s");
  std::printf("%-52s %10.1f\n", "kspam, 1 thread", n / single_s);
  std::printf("%-52s %10.1f\n", ("kspam, " + std::to_string(default_thread_count()) + " threads").c_str(), n / multi_s);
  if (hf.count("hf_per_image_images_per_second") && !hf.count("__failed")) {
    const double per_image = std::stod(hf["hf_per_image_images_per_second"]);
    const double batched = std::stod(hf["hf_batched_images_per_second"]);
    std::printf("%-52s %10.1f\n", ("HF processor per image (torch threads " + hf["torch_threads"] + ")").c_str(), per_image);
    std::printf("%-52s %10.1f\n", "HF processor, one batched call", batched);
    std::printf("ratio kspam 1 thread / HF per image: %.2fx\n", n / single_s / per_image);
    std::printf("ratio kspam all threads / HF batched: %.2fx\n", n / multi_s / batched);
    std::printf("anchor: transformers %s, torch %s\n", hf["transformers"].c_str(), hf["torch"].c_str());
  } else {
    std::printf("anchor unavailable (needs python3 with transformers + torch + Pillow): %s\n",
                hf.count("__failed") ? ("exit " + hf["__failed"]).c_str() : "no output");
  }
  return 0;
}

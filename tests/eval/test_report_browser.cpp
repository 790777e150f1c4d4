// report.html in a real headless Chromium (Debian's chromium; scripts/setup.sh installs it): the
// page's own check script counts the inline plots and the photos that decoded (naturalWidth > 0),
// and a screenshot must show the plots (the sweep's red chosen-point marker among them). Without
// chromium this test fails and says how to install it: a report nobody has seen render is not tested.
#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <regex>

#include <stb_image.h>
#include <unistd.h>

#include "kspam/core/atomic_file.hpp"
#include "kspam/eval/evaluation.hpp"
#include "kspam/eval/report.hpp"

using namespace kspam;
using namespace kspam::eval;
namespace fs = std::filesystem;

namespace {

std::string find_chromium() {
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    const std::string cmd = std::string("command -v ") + name + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return name;
  }
  return {};
}

std::string run_capture(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return out;
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  ::pclose(pipe);
  return out;
}

}  // namespace

TEST_CASE("report.html renders in headless Chromium with its plots and photos", "[eval][report][browser]") {
  const std::string chromium = find_chromium();
  if (chromium.empty())
    FAIL("chromium is not installed: run scripts/setup.sh (it installs Debian's chromium) to test the report");

  const fs::path mini = fs::path(KSPAM_SOURCE_DIR) / "tests/reference/fixtures/eval/mini";
  const auto dir = fs::temp_directory_path() / ("kspam_test_eval_browser_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  EvaluationInputs in;
  in.predictions = mini / "model.csv";
  in.listings = {mini / "listings.tsv"};
  in.compare = {{"legacy", mini / "legacy.csv"}};
  write_evaluation(evaluate(in, {}), dir);
  const auto summary = write_report(dir);
  REQUIRE(summary.gallery_images > 0);
  REQUIRE(summary.plots.size() == 4);
  for (const auto& p : summary.plots) CHECK(read_file(p).find("<svg") != std::string::npos);

  const std::string flags = " --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
                            "--disable-background-networking --disable-component-update --disable-sync "
                            "--user-data-dir=" + (dir / "chromium-profile").string() + " ";
  const std::string url = "file://" + fs::absolute(summary.html).string();

  // The DOM after the load event: the page's check script has written its counts.
  const auto dom = run_capture(chromium + flags + "--dump-dom '" + url + "' 2>/dev/null");
  std::smatch m;
  const std::regex check(R"re(id="render-check"[^>]*data-images-total="(\d+)"[^>]*data-images-ok="(\d+)"[^>]*data-svgs="(\d+)")re");
  INFO("chromium --dump-dom returned " << dom.size() << " bytes");
  REQUIRE(std::regex_search(dom, m, check));
  CHECK(std::stoul(m[1]) == summary.gallery_images);
  CHECK(std::stoul(m[2]) == summary.gallery_images);  // every embedded photo decoded
  CHECK(std::stoul(m[3]) == 4);                       // sweep, reliability, confusion matrix, PR curve

  // A screenshot: the page is drawn, with the sweep's chosen-point marker (#e4002b) on it.
  const auto png = dir / "screenshot.png";
  run_capture(chromium + flags + "--screenshot=" + png.string() + " --window-size=1280,2400 '" + url + "' 2>&1");
  REQUIRE(fs::exists(png));
  int w = 0, h = 0, channels = 0;
  unsigned char* pixels = stbi_load(png.c_str(), &w, &h, &channels, 3);
  REQUIRE(pixels);
  CHECK(w == 1280);
  CHECK(h == 2400);
  std::size_t marker = 0, inked = 0;
  for (std::size_t i = 0; i < std::size_t(w) * std::size_t(h); ++i) {
    const unsigned char r = pixels[3 * i], g = pixels[3 * i + 1], b = pixels[3 * i + 2];
    if (std::abs(r - 0xe4) < 20 && g < 40 && std::abs(b - 0x2b) < 30) ++marker;
    if (r < 200 || g < 200 || b < 200) ++inked;
  }
  stbi_image_free(pixels);
  CHECK(marker > 30);
  CHECK(inked > std::size_t(w) * std::size_t(h) / 20);  // more than 5% of the page is drawn on
  fs::remove_all(dir);
}

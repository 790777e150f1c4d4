// Qwen3-VL preprocessing against the Hugging Face Qwen2VLImageProcessor (transformers 5.17,
// torchvision backend on CPU) on the committed fixture images: exact image_grid_thw, pixel_values
// bit-exact when fed PIL's decoded pixels, and within 2/255 end to end with our own decoders.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>

#include "image_fixtures.hpp"
#include "kspam/image/decode.hpp"
#include "kspam/image/preprocess.hpp"

using namespace kspam;

namespace {
image::PreprocessorConfig config_for(const test::ImageCase& c) {
  image::PreprocessorConfig config;
  config.min_pixels = c.min_pixels;
  config.max_pixels = c.max_pixels;
  return config;
}

image::RgbImage pil_decoded(const test::ImageCase& c) {
  image::RgbImage img(c.width, c.height);
  const auto& fx = test::image_fixtures();
  std::copy_n(fx.decoded_rgb.begin() + static_cast<std::ptrdiff_t>(c.rgb_offset), img.pixels.size(), img.pixels.begin());
  return img;
}

// De-normalised distance to the reference in levels (x = pv*127.5 + 127.5).
struct Diff {
  double max_levels = 0, mean_levels = 0;
  std::size_t exact_mismatches = 0;
};
Diff compare(const image::PixelPatches& ours, const test::ImageCase& c) {
  const auto& ref = test::image_fixtures().pixel_values_u8;
  Diff d;
  double sum = 0;
  for (std::size_t i = 0; i < ours.values.size(); ++i) {
    const auto level = static_cast<unsigned char>(ref[c.pv_offset + i]);
    const float expected = (static_cast<float>(level) - 127.5f) / 127.5f;  // exact, asserted by the generator
    if (ours.values[i] != expected) ++d.exact_mismatches;
    const double diff = std::abs(static_cast<double>(ours.values[i]) * 127.5 + 127.5 - level);
    d.max_levels = std::max(d.max_levels, diff);
    sum += diff;
  }
  d.mean_levels = ours.values.empty() ? 0 : sum / static_cast<double>(ours.values.size());
  return d;
}
}  // namespace

TEST_CASE("preprocess of PIL-decoded pixels equals Hugging Face bit for bit", "[image][preprocess][parity]") {
  const auto& fx = test::image_fixtures();
  REQUIRE(fx.cases.size() >= 19);
  for (const auto& c : fx.cases) {
    INFO(c.name);
    const auto pv = image::preprocess(pil_decoded(c), config_for(c), c.name);
    REQUIRE(pv.grid_thw[0] == c.grid[0]);
    REQUIRE(pv.grid_thw[1] == c.grid[1]);
    REQUIRE(pv.grid_thw[2] == c.grid[2]);
    REQUIRE(pv.cols == 1536);
    REQUIRE(static_cast<std::size_t>(pv.rows) == c.pv_rows);
    const auto d = compare(pv, c);
    CHECK(d.exact_mismatches == 0);
  }
}

TEST_CASE("decode + preprocess end to end is within 2/255 of Hugging Face", "[image][preprocess][parity]") {
  const auto& fx = test::image_fixtures();
  double worst = 0, mean_sum = 0;
  std::size_t n = 0;
  for (const auto& c : fx.cases) {
    INFO(c.name);
    const auto img = image::decode_image_file(fx.dir / "inputs" / c.file);
    const auto pv = image::preprocess(img, config_for(c), c.name);
    REQUIRE(pv.grid_thw[1] == c.grid[1]);
    REQUIRE(pv.grid_thw[2] == c.grid[2]);
    const auto d = compare(pv, c);
    std::printf("parity %-40s max %.3f/255 mean %.4f/255 exact-mismatch %zu of %zu\n", c.name.c_str(), d.max_levels,
                d.mean_levels, d.exact_mismatches, pv.values.size());
#if defined(KSPAM_HAVE_LIBJPEG)
    CHECK(d.exact_mismatches == 0);  // every format decodes to PIL's bytes, so the whole pipeline is exact
#else
    // Without libjpeg-turbo, JPEG decodes through stb_image (up to 3 levels off PIL before resizing);
    // every other format is exact.
    if (c.file.ends_with(".jpg")) CHECK(d.max_levels <= 3.0 + 1e-4);
    else CHECK(d.exact_mismatches == 0);
#endif
    CHECK((c.file.ends_with(".jpg") || d.max_levels <= 2.0 + 1e-4));
    worst = std::max(worst, d.max_levels);
    mean_sum += d.mean_levels;
    ++n;
  }
  std::printf("parity overall: max %.3f/255, mean of per-image means %.4f/255 over %zu cases\n", worst,
              mean_sum / static_cast<double>(n), n);
}

TEST_CASE("patch layout: rows in merge-window order, identical temporal frames", "[image][preprocess]") {
  // A 64x32 image whose pixel values encode their coordinates: the row/column of every value can be
  // checked against the layout of docs §5.4 independently of the reference tensors.
  image::RgbImage img(64, 32);
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 64; ++x) {
      img.pixels[(static_cast<std::size_t>(y) * 64 + static_cast<std::size_t>(x)) * 3 + 0] = static_cast<std::uint8_t>(y);
      img.pixels[(static_cast<std::size_t>(y) * 64 + static_cast<std::size_t>(x)) * 3 + 1] = static_cast<std::uint8_t>(x);
      img.pixels[(static_cast<std::size_t>(y) * 64 + static_cast<std::size_t>(x)) * 3 + 2] = 7;
    }
  image::PreprocessorConfig config;
  config.min_pixels = 0;
  const auto pv = image::patchify(img, config);
  REQUIRE(pv.grid_thw == std::array<std::int64_t, 3>{1, 2, 4});
  REQUIRE(pv.rows == 8);
  auto level = [&](std::int64_t row, std::int64_t col) {
    return static_cast<int>(std::lround(pv.values[static_cast<std::size_t>(row * pv.cols + col)] * 127.5f + 127.5f));
  };
  for (std::int64_t row = 0; row < 8; ++row) {
    const std::int64_t window = row / 4, i = (row / 2) % 2, j = row % 2;  // one 2x2 window spans 32x32
    const std::int64_t y0 = i * 16, x0 = window * 32 + j * 16;
    for (std::int64_t t = 0; t < 2; ++t)
      for (std::int64_t py = 0; py < 16; ++py)
        for (std::int64_t px = 0; px < 16; ++px) {
          CHECK(level(row, 0 * 512 + t * 256 + py * 16 + px) == y0 + py);
          CHECK(level(row, 1 * 512 + t * 256 + py * 16 + px) == x0 + px);
          CHECK(level(row, 2 * 512 + t * 256 + py * 16 + px) == 7);
        }
  }
}

// smart_resize against transformers 5.17's own function on 140 sizes and limits (fixtures from
// tests/reference/make_image_fixtures.py), and the worked examples of the architecture notes.
#include <catch2/catch.hpp>

#include "image_fixtures.hpp"
#include "kspam/image/smart_resize.hpp"

using namespace kspam;

TEST_CASE("smart_resize equals transformers on every fixture size, errors included", "[image][smart_resize]") {
  const auto cases = json::parse(read_file(test::image_fixture_dir() / "smart_resize.json"));
  std::size_t checked = 0, errors = 0;
  for (const auto& c : cases.as_array()) {
    const auto h = c.find("height")->as_int(), w = c.find("width")->as_int();
    const auto mn = c.find("min_pixels")->as_int(), mx = c.find("max_pixels")->as_int();
    INFO(h << "x" << w << " limits " << mn << "/" << mx);
    if (c.find("error")) {
      CHECK_THROWS_AS(image::smart_resize(h, w, 32, mn, mx), InputError);
      ++errors;
    } else {
      const auto r = image::smart_resize(h, w, 32, mn, mx);
      CHECK(r.height == c.find("resized")->as_array()[0].as_int());
      CHECK(r.width == c.find("resized")->as_array()[1].as_int());
    }
    ++checked;
  }
  CHECK(checked == 140);
  CHECK(errors >= 1);  // 32 x 6401 exceeds the aspect-ratio limit
}

TEST_CASE("smart_resize worked examples (ties round to even)", "[image][smart_resize]") {
  const std::int64_t mn = 65536, mx = 16777216;
  CHECK(image::smart_resize(480, 640, 32, mn, mx) == image::ResizedSize{480, 640});
  CHECK(image::smart_resize(720, 1280, 32, mn, mx) == image::ResizedSize{704, 1280});
  CHECK(image::smart_resize(224, 224, 32, mn, mx) == image::ResizedSize{256, 256});
  CHECK(image::smart_resize(100000, 600, 32, mn, mx) == image::ResizedSize{52864, 288});
  CHECK_THROWS_WITH(image::smart_resize(32, 6401, 32, mn, mx, "x.jpg"), Catch::Contains("aspect ratio"));
  CHECK_THROWS_AS(image::smart_resize(0, 10, 32, mn, mx), InputError);
}

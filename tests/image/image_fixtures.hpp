#pragma once
// Loader for tests/reference/fixtures/image (made by tests/reference/make_image_fixtures.py with
// transformers 5.17 on the GPU machine).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "kspam/core/atomic_file.hpp"
#include "kspam/core/json_parse.hpp"

namespace kspam::test {

struct ImageCase {
  std::string name, file, mode;
  int height = 0, width = 0;
  std::int64_t min_pixels = 0, max_pixels = 0;
  std::int64_t grid[3]{};
  std::size_t rgb_offset = 0, pv_offset = 0, pv_rows = 0;
};

struct ImageFixtures {
  std::filesystem::path dir;
  std::vector<ImageCase> cases;
  std::string decoded_rgb;     // PIL convert("RGB") bytes of each input
  std::string pixel_values_u8; // HF pixel_values de-normalised to uint8
};

inline std::filesystem::path image_fixture_dir() {
  return std::filesystem::path(KSPAM_SOURCE_DIR) / "tests" / "reference" / "fixtures" / "image";
}

inline const ImageFixtures& image_fixtures() {
  static const ImageFixtures fx = [] {
    ImageFixtures f;
    f.dir = image_fixture_dir();
    const auto meta = json::parse(read_file(f.dir / "cases.json"));
    for (const auto& c : meta.find("cases")->as_array()) {
      ImageCase ic;
      ic.name = c.find("name")->as_string();
      ic.file = c.find("file")->as_string();
      ic.mode = c.find("mode")->as_string();
      ic.height = static_cast<int>(c.find("height")->as_int());
      ic.width = static_cast<int>(c.find("width")->as_int());
      ic.min_pixels = c.find("min_pixels")->as_int();
      ic.max_pixels = c.find("max_pixels")->as_int();
      for (std::size_t k = 0; k < 3; ++k) ic.grid[k] = c.find("grid_thw")->as_array()[k].as_int();
      ic.rgb_offset = static_cast<std::size_t>(c.find("rgb_offset")->as_int());
      ic.pv_offset = static_cast<std::size_t>(c.find("pv_offset")->as_int());
      ic.pv_rows = static_cast<std::size_t>(c.find("pv_rows")->as_int());
      f.cases.push_back(ic);
    }
    f.decoded_rgb = read_file(f.dir / "decoded_rgb.bin");
    f.pixel_values_u8 = read_file(f.dir / "pixel_values_u8.bin");
    return f;
  }();
  return fx;
}

}  // namespace kspam::test

#pragma once
// An 8-bit RGB image in row-major, channels-last order (the layout decoders produce and PIL's
// np.asarray(img.convert("RGB")) shows): pixel (y, x) channel c is at (y * width + x) * 3 + c.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace kspam::image {

struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;  // height * width * 3 bytes

  RgbImage() = default;
  RgbImage(int w, int h) : width(w), height(h), pixels(static_cast<std::size_t>(w) * static_cast<std::size_t>(h) * 3) {}

  std::size_t pixel_count() const { return static_cast<std::size_t>(width) * static_cast<std::size_t>(height); }
  std::uint8_t at(int y, int x, int c) const {
    return pixels[(static_cast<std::size_t>(y) * static_cast<std::size_t>(width) + static_cast<std::size_t>(x)) * 3 +
                  static_cast<std::size_t>(c)];
  }
};

}  // namespace kspam::image

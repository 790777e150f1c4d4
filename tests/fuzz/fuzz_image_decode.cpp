// libFuzzer target for the image decoder entry point: any bytes must give an image of the declared
// size or a kspam::InputError; crashes, leaks, overflows and UB are bugs (ASan + UBSan).
//   cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 -DKSPAM_BUILD_FUZZERS=ON
//   cmake --build build-fuzz --target fuzz_image_decode
//   build-fuzz/bin/fuzz_image_decode -max_total_time=60 -max_len=65536 corpus/ tests/reference/fixtures/image/inputs
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kspam/image/decode.hpp"
#include "kspam/image/preprocess.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  kspam::image::DecodeLimits limits;
  limits.max_pixels = 4'000'000;  // keep each run fast; the limit check itself is what matters
  try {
    const auto img = kspam::image::decode_image(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz", limits);
    if (img.pixels.size() != img.pixel_count() * 3) __builtin_trap();
    // Small images also go through preprocessing (resize + patchify) with small limits.
    if (img.pixel_count() <= 65536) {
      kspam::image::PreprocessorConfig config;
      config.min_pixels = 1024;
      config.max_pixels = 16384;
      try {
        (void)kspam::image::preprocess(img, config, "fuzz");
      } catch (const kspam::InputError&) {  // aspect ratio above 200
      }
    }
  } catch (const kspam::InputError&) {
  }
  return 0;
}

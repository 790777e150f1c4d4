// libFuzzer target for the safetensors reader: any byte string must either parse into views that lie
// inside the buffer or raise kspam::InputError; never crash, hang or read out of bounds.
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -I include -I /usr/include/eigen3 \
//     tests/fuzz/fuzz_safetensors.cpp $(pkg-config --cflags --libs simdjson) -o fuzz_safetensors
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "kspam/tensor/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  try {
    auto file = kspam::tensor::SafetensorsFile::from_bytes(bytes, "<fuzz>");
    for (const auto& t : file.tensors()) {
      if (t.nbytes > 0 && (t.data < bytes.data() || t.data + t.nbytes > bytes.data() + bytes.size())) std::abort();
      if (kspam::tensor::is_floating(t.dtype)) {
        volatile float sink = 0;
        for (float v : t.to_f32()) sink = sink + v;
      } else {
        volatile std::int64_t sink = 0;
        for (auto v : t.to_i64()) sink = sink + v;
      }
    }
  } catch (const kspam::InputError&) {
  }
  return 0;
}

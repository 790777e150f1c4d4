// NF4 against bitsandbytes: the published codebook, thresholds and nibble order, the dynamic 8-bit map,
// and whole tensors quantized by bitsandbytes' reference algorithm (tests/reference/make_nf4_fixtures.py).
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "kspam/core/rng.hpp"
#include "kspam/quant/bnb_checkpoint.hpp"
#include "kspam/quant/nf4_tensor.hpp"
#include "kspam/tensor/safetensors.hpp"

using namespace kspam;
using namespace kspam::quant;

namespace {
const std::filesystem::path kFixtures = std::filesystem::path(KSPAM_SOURCE_DIR) / "tests/reference/fixtures/nf4";

std::vector<std::uint16_t> bf16_bits(const tensor::TensorView& v) {
  REQUIRE(v.dtype == tensor::DType::BF16);
  std::vector<std::uint16_t> out(v.numel());
  std::memcpy(out.data(), v.data, v.nbytes);
  return out;
}

std::vector<float> random_normal(std::size_t n, double scale, std::uint64_t seed) {
  Rng rng(seed);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(rng.normal() * scale);
  return v;
}
}  // namespace

TEST_CASE("NF4 codebook equals bitsandbytes' published table", "[nf4]") {
  tensor::SafetensorsFile ref(kFixtures / "reference.safetensors");
  const auto table = ref.get("nf4_codebook").to_f32();
  REQUIRE(table.size() == 16);
  for (std::size_t i = 0; i < 16; ++i) CHECK(kNf4Codebook[i] == table[i]);
  // Each code value quantizes to its own code, and each threshold is the midpoint of its neighbours.
  for (std::uint8_t c = 0; c < 16; ++c) CHECK(nf4_code(kNf4Codebook[c]) == c);
  for (int c = 0; c < 15; ++c) {
    const double mid = (static_cast<double>(kNf4Codebook[c]) + kNf4Codebook[c + 1]) / 2.0;
    const double eps = 1e-6 * std::max(std::fabs(mid), 1e-3);
    CHECK(nf4_code(static_cast<float>(mid + eps)) == c + 1);
    CHECK(nf4_code(static_cast<float>(mid - eps)) == c);
  }
  CHECK(nf4_code(std::nanf("")) == 0);
  CHECK(nf4_code(1.5f) == 15);
  CHECK(nf4_code(-1.5f) == 0);
}

TEST_CASE("NF4 packs the first element into the high nibble", "[nf4]") {
  // -1 -> code 0, 1 -> code 15, 0 -> code 7, 0.5626 * 1 -> code 13.
  const std::vector<float> v = {-1.0f, 1.0f, 0.0f, 0.5626170039176941f};
  Nf4Tensor t = quantize_nf4(v, {4}, {32, false, 256});
  REQUIRE(t.packed.size() == 2);
  CHECK(t.packed[0] == 0x0F);
  CHECK(t.packed[1] == 0x7D);
  CHECK(t.absmax == std::vector<float>{1.0f});
}

TEST_CASE("dynamic 8-bit map equals bitsandbytes' create_dynamic_map bit for bit", "[nf4]") {
  tensor::SafetensorsFile ref(kFixtures / "reference.safetensors");
  const auto expected = ref.get("dynamic_map").to_f32();
  REQUIRE(expected.size() == 256);
  const auto& ours = dynamic_map_signed();
  int mismatches = 0;
  for (std::size_t i = 0; i < 256; ++i) mismatches += (tensor::f32_bits(ours[i]) != tensor::f32_bits(expected[i]));
  CHECK(mismatches == 0);
  CHECK(ours.back() == 1.0f);
}

TEST_CASE("NF4 quantization matches bitsandbytes on whole tensors", "[nf4]") {
  tensor::SafetensorsFile ref(kFixtures / "reference.safetensors");
  tensor::SafetensorsFile ckpt(kFixtures / "bnb_checkpoint.safetensors");
  for (const std::string prefix : {"layer.", "odd.", "plain."}) {
    INFO(prefix);
    const tensor::TensorView& input = ref.get(prefix + "input");
    const Nf4Tensor theirs = load_bnb_nf4(ckpt, prefix, ckpt.path());
    Nf4Options opt;
    opt.blocksize = theirs.blocksize;
    opt.double_quant = theirs.double_quant;
    const Nf4Tensor ours = quantize_nf4_bf16(bf16_bits(input), input.shape, opt);

    // Codes: identical bytes.
    CHECK(ours.packed == theirs.packed);
    const auto codes = ref.get(prefix + "codes").to_i64();
    int code_mismatch = 0;
    for (std::size_t i = 0; i < codes.size(); ++i) code_mismatch += ours.code(i) != codes[i];
    CHECK(code_mismatch == 0);
    // Block statistics.
    const auto absmax_fp32 = ref.get(prefix + "absmax_fp32").to_f32();
    if (!theirs.double_quant) {
      CHECK(ours.absmax == absmax_fp32);
    } else {
      CHECK(ours.nested_offset == Approx(theirs.nested_offset).epsilon(1e-6));
      CHECK(ours.nested_absmax.size() == theirs.nested_absmax.size());
      for (std::size_t b = 0; b < ours.nested_absmax.size(); ++b) {
        CHECK(ours.nested_absmax[b] == Approx(theirs.nested_absmax[b]).epsilon(1e-6));
      }
      int absmax_code_mismatch = 0;
      for (std::size_t b = 0; b < ours.absmax_codes.size(); ++b) absmax_code_mismatch += ours.absmax_codes[b] != theirs.absmax_codes[b];
      CHECK(absmax_code_mismatch == 0);
    }
    // Dequantizing bitsandbytes' own stored state reproduces its bf16 output exactly.
    const auto expected = bf16_bits(ref.get(prefix + "dequantized"));
    CHECK(dequantize_nf4_bf16(theirs) == expected);
    const auto used = ref.get(prefix + "absmax_used").to_f32();
    CHECK(theirs.block_scales() == used);
  }
}

TEST_CASE("bitsandbytes checkpoint layout round-trips byte for byte", "[nf4]") {
  tensor::SafetensorsFile ckpt(kFixtures / "bnb_checkpoint.safetensors");
  tensor::SafetensorsWriter out;
  for (const std::string prefix : {"layer.", "odd.", "plain."}) add_bnb_nf4(out, prefix, load_bnb_nf4(ckpt, prefix, ckpt.path()));
  const auto path = std::filesystem::temp_directory_path() / "kspam_test_nf4_roundtrip.safetensors";
  out.write(path);
  tensor::SafetensorsFile back(path);
  CHECK(back.names().size() == ckpt.names().size());
  for (const auto& name : ckpt.names()) {
    INFO(name);
    REQUIRE(back.contains(name));
    const auto& a = ckpt.get(name);
    const auto& b = back.get(name);
    CHECK(a.dtype == b.dtype);
    CHECK(a.shape == b.shape);
    REQUIRE(a.nbytes == b.nbytes);
    CHECK(std::memcmp(a.data, b.data, a.nbytes) == 0);  // includes the quant-state JSON text
  }
  std::filesystem::remove(path);
}

TEST_CASE("NF4 round-trip error stays within the codebook bound for every block size", "[nf4]") {
  const auto values = random_normal(64 * 1024 + 37, 0.02, 99);
  for (int bs : {32, 64, 128, 256, 1024, 4096}) {
    INFO("blocksize " << bs);
    const Nf4Tensor t = quantize_nf4(values, {static_cast<std::int64_t>(values.size())}, {bs, false, 256});
    const auto back = dequantize_nf4(t);
    double worst = 0.0, sq = 0.0;
    for (std::size_t i = 0; i < values.size(); ++i) {
      const float scale = t.absmax[i / static_cast<std::size_t>(bs)];
      const double err = std::fabs(values[i] - back[i]);
      worst = std::max(worst, err / scale);
      sq += err * err;
      // Nearest code: the error never exceeds half the gap around the value.
      const std::uint8_t c = t.code(i);
      const double lo = c > 0 ? (kNf4Codebook[c] - kNf4Codebook[c - 1]) / 2.0 : 0.0;
      const double hi = c < 15 ? (kNf4Codebook[c + 1] - kNf4Codebook[c]) / 2.0 : 0.0;
      REQUIRE(err <= std::max(lo, hi) * scale * (1 + 1e-5) + 1e-12);
    }
    CHECK(worst <= kNf4MaxRelativeError * (1 + 1e-5));
    // For Gaussian weights the RMS error is about 10% of sigma at block size 64 (QLoRA paper, Table 2 order).
    CHECK(std::sqrt(sq / static_cast<double>(values.size())) < 0.2 * 0.02);
  }
}

TEST_CASE("double quantization reconstructs absmax within the dynamic map's bound", "[nf4]") {
  const auto values = random_normal(256 * 64 * 5 + 100, 0.03, 5);
  const Nf4Tensor plain = quantize_nf4(values, {static_cast<std::int64_t>(values.size())}, {64, false, 256});
  const Nf4Tensor dq = quantize_nf4(values, {static_cast<std::int64_t>(values.size())}, {64, true, 256});
  CHECK(dq.packed == plain.packed);  // codes do not depend on how the scales are stored
  const auto scales = dq.block_scales();
  REQUIRE(scales.size() == plain.absmax.size());
  for (std::size_t b = 0; b < scales.size(); ++b) {
    const float nested = dq.nested_absmax[b / 256];
    REQUIRE(std::fabs(scales[b] - plain.absmax[b]) <= kDynamicMapMaxRelativeError * nested * 1.0001f + 1e-9f);
  }
  CHECK(dq.storage_bytes() < plain.storage_bytes());
}

TEST_CASE("NF4 rejects bad input with a clear error", "[nf4]") {
  std::vector<float> v(64, 0.5f);
  v[10] = std::nanf("");
  CHECK_THROWS_WITH(quantize_nf4(v, {64}), Catch::Contains("non-finite") && Catch::Contains("element 10"));
  v[10] = 0.0f;
  CHECK_THROWS_WITH(quantize_nf4(v, {64}, {48, true, 256}), Catch::Contains("power of two"));
  CHECK_THROWS_WITH(quantize_nf4(v, {65}), Catch::Contains("does not match"));
  // A checkpoint missing one of bitsandbytes' tensors names the tensor and the file.
  tensor::SafetensorsFile ckpt(kFixtures / "bnb_checkpoint.safetensors");
  tensor::SafetensorsWriter partial;
  for (const auto& name : ckpt.names()) {
    if (name == "layer.weight.nested_absmax") continue;
    const auto& t = ckpt.get(name);
    partial.add(name, t.dtype, t.shape, std::span<const std::byte>(t.data, t.nbytes));
  }
  const auto path = std::filesystem::temp_directory_path() / "kspam_test_nf4_partial.safetensors";
  partial.write(path);
  tensor::SafetensorsFile broken(path);
  CHECK_THROWS_WITH(load_bnb_nf4(broken, "layer.", broken.path()),
                    Catch::Contains("layer.weight.nested_absmax") && Catch::Contains("missing"));
  CHECK_NOTHROW(load_bnb_nf4(broken, "odd.", broken.path()));
  std::filesystem::remove(path);
}

TEST_CASE("a bf16 checkpoint is quantized at load time", "[nf4]") {
  tensor::SafetensorsFile ref(kFixtures / "reference.safetensors");
  tensor::SafetensorsWriter w;
  const auto& in = ref.get("layer.input");
  w.add("proj.weight", in.dtype, in.shape, std::span<const std::byte>(in.data, in.nbytes));
  const auto path = std::filesystem::temp_directory_path() / "kspam_test_nf4_bf16.safetensors";
  w.write(path);
  tensor::SafetensorsFile plain(path);
  tensor::SafetensorsFile ckpt(kFixtures / "bnb_checkpoint.safetensors");
  const Nf4Tensor q = load_or_quantize_nf4(plain, "proj.", plain.path());
  const Nf4Tensor b = load_or_quantize_nf4(ckpt, "layer.", ckpt.path());
  CHECK(q.packed == b.packed);
  CHECK(q.shape == b.shape);
  std::filesystem::remove(path);
}

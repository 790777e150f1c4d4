#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "kspam/core/atomic_file.hpp"
#include "kspam/tensor/safetensors.hpp"

using namespace kspam;
using namespace kspam::tensor;

namespace {

std::filesystem::path scratch_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("kspam_test_tensor_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// Builds raw safetensors bytes from a header text and a data area.
std::vector<std::byte> raw_file(const std::string& header, std::size_t data_bytes, std::uint64_t claimed_len = 0) {
  std::uint64_t n = claimed_len ? claimed_len : header.size();
  std::vector<std::byte> out(8 + header.size() + data_bytes, std::byte{0});
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::byte>((n >> (8 * i)) & 0xff);
  std::memcpy(out.data() + 8, header.data(), header.size());
  return out;
}

std::string error_of(const std::string& header, std::size_t data_bytes, std::uint64_t claimed_len = 0) {
  auto bytes = raw_file(header, data_bytes, claimed_len);
  try {
    (void)SafetensorsFile::from_bytes(bytes, "bad.safetensors");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("bf16 conversion rounds to nearest even and keeps specials", "[tensor]") {
  CHECK(f32_to_bf16(1.0f) == 0x3f80);
  CHECK(bf16_to_f32(0x3f80) == 1.0f);
  // 1 + 2^-8 is exactly halfway between bf16 1.0 and 1.0078125: ties go to even (1.0).
  CHECK(f32_to_bf16(1.00390625f) == 0x3f80);
  // 1.0078125 + 2^-8 is halfway to the next value; even mantissa there is 0x3f82.
  CHECK(f32_to_bf16(1.01171875f) == 0x3f82);
  CHECK(f32_to_bf16(-2.5f) == 0xc020);
  CHECK(std::isinf(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::infinity()))));
  CHECK(std::isnan(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  // Largest finite float rounds up to infinity in bf16, as PyTorch does.
  CHECK(std::isinf(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::max()))));
}

TEST_CASE("f16 conversion covers normals, subnormals, overflow and round trips every pattern", "[tensor]") {
  CHECK(f32_to_f16(1.0f) == 0x3c00);
  CHECK(f32_to_f16(-2.0f) == 0xc000);
  CHECK(f32_to_f16(65504.0f) == 0x7bff);
  CHECK(f32_to_f16(65520.0f) == 0x7c00);        // rounds to infinity
  CHECK(f32_to_f16(std::ldexp(1.0f, -24)) == 0x0001);  // smallest subnormal
  CHECK(f32_to_f16(std::ldexp(1.0f, -25)) == 0x0000);  // halfway to zero: ties to even
  CHECK(f32_to_f16(std::ldexp(1.5f, -25)) == 0x0001);
  CHECK(f16_to_f32(0x0001) == std::ldexp(1.0f, -24));
  CHECK(f16_to_f32(0x03ff) == std::ldexp(1023.0f, -24));
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    const auto bits = static_cast<std::uint16_t>(h);
    const float f = f16_to_f32(bits);
    if (std::isnan(f)) continue;
    REQUIRE(f32_to_f16(f) == bits);
  }
}

TEST_CASE("safetensors writer and reader round trip every dtype", "[tensor]") {
  auto dir = scratch_dir("roundtrip");
  std::vector<float> f = {1.5f, -2.25f, 3.0f, 0.0f, 1e-3f, 7.0f};
  std::vector<std::int64_t> i64 = {-5, 1LL << 40, 3};
  std::vector<std::int32_t> i32 = {-7, 8};
  SafetensorsWriter w;
  w.add_f32("a.weight", {2, 3}, f);
  w.add_bf16("b", {6}, f);
  w.add_i64("ids", {3}, i64);
  w.add_i32("grid", {1, 2}, i32);
  std::vector<std::uint16_t> half = {f32_to_f16(0.5f), f32_to_f16(-1.0f)};
  w.add("h", DType::F16, {2}, std::as_bytes(std::span<const std::uint16_t>(half)));
  std::vector<std::uint8_t> bytes = {0, 255, 7};
  w.add("u", DType::U8, {3}, std::as_bytes(std::span<const std::uint8_t>(bytes)));
  w.add_f32("empty", {0, 4}, {});
  w.set_metadata("format", "pt");
  w.add_f32("odd \"name\"\n\\", {1}, std::vector<float>{2.0f});
  CHECK(w.header().size() % 8 == 0);
  w.write(dir / "t.safetensors");

  SafetensorsFile r(dir / "t.safetensors");
  CHECK(r.names() == std::vector<std::string>{"a.weight", "b", "ids", "grid", "h", "u", "empty", "odd \"name\"\n\\"});
  CHECK(r.get("odd \"name\"\n\\").to_f32() == std::vector<float>{2.0f});
  CHECK(r.metadata().at("format") == "pt");
  CHECK(r.get("a.weight").shape == std::vector<std::int64_t>{2, 3});
  CHECK(r.get("a.weight").to_f32() == f);
  auto b = r.get("b").to_f32();
  for (std::size_t i = 0; i < f.size(); ++i) CHECK(b[i] == round_to_bf16(f[i]));
  CHECK(r.get("ids").to_i64() == i64);
  CHECK(r.get("grid").to_i64() == std::vector<std::int64_t>{-7, 8});
  CHECK(r.get("h").to_f32() == std::vector<float>{0.5f, -1.0f});
  CHECK(r.get("u").to_i64() == std::vector<std::int64_t>{0, 255, 7});
  CHECK(r.get("empty").numel() == 0);
  CHECK_THROWS_AS(r.get("nope"), InputError);
  CHECK_THROWS_AS(r.get("a.weight").to_i64(), InputError);
  // The writer refuses inconsistent input instead of writing a file readers would reject.
  CHECK_THROWS_AS(w.add_f32("a.weight", {1}, std::vector<float>{1.f}), Error);
  CHECK_THROWS_AS(w.add_f32("c", {4}, std::vector<float>{1.f}), Error);
}

TEST_CASE("safetensors reader rejects malformed headers with a clear error", "[tensor]") {
  const std::string good = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  CHECK(error_of(good, 8).empty());

  CHECK_THAT(error_of("", 0), Catch::Contains("not valid JSON"));
  {
    std::vector<std::byte> tiny(4);
    CHECK_THROWS_WITH(SafetensorsFile::from_bytes(tiny, "bad.safetensors"), Catch::Contains("8-byte"));
  }
  CHECK_THAT(error_of(good, 8, 1000), Catch::Contains("runs past the end"));
  CHECK_THAT(error_of(good, 8, 1ULL << 40), Catch::Contains("too large"));
  CHECK_THAT(error_of("{\"x\":", 0), Catch::Contains("not valid JSON"));
  CHECK_THAT(error_of("[1,2]", 0), Catch::Contains("not a JSON object"));
  CHECK_THAT(error_of(R"({"x":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})", 8), Catch::Contains("unsupported dtype"));
  CHECK_THAT(error_of(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8), Catch::Contains("needs 3 elements"));
  CHECK_THAT(error_of(R"({"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,8]}})", 8), Catch::Contains("non-negative"));
  CHECK_THAT(error_of(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,16]}})", 8), Catch::Contains("run past"));
  CHECK_THAT(error_of(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", 8), Catch::Contains("begin after"));
  CHECK_THAT(error_of(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", 8), Catch::Contains("two integers"));
  CHECK_THAT(error_of(R"({"x":{"shape":[2],"data_offsets":[0,8]}})", 8), Catch::Contains("dtype"));
  CHECK_THAT(error_of(R"({"x":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}})", 8),
             Catch::Contains("overflows"));
  CHECK_THAT(error_of(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12),
             Catch::Contains("overlaps"));
  CHECK_THAT(error_of(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"x":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}})", 16),
             Catch::Contains("appears twice"));
  CHECK_THAT(error_of(R"({"__metadata__":{"a":1}})", 0), Catch::Contains("must be strings"));
  // Error messages name the file and the tensor.
  CHECK_THAT(error_of(R"({"w.q":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8),
             Catch::Contains("bad.safetensors") && Catch::Contains("w.q"));
}

TEST_CASE("sharded checkpoints resolve names through model.safetensors.index.json", "[tensor]") {
  auto dir = scratch_dir("sharded");
  std::vector<float> a = {1, 2}, b = {3, 4, 5};
  {
    SafetensorsWriter w;
    w.add_f32("a", {2}, a);
    w.write(dir / "model-00001-of-00002.safetensors");
  }
  {
    SafetensorsWriter w;
    w.add_f32("b", {3}, b);
    w.write(dir / "model-00002-of-00002.safetensors");
  }
  write_file_atomically(dir / "model.safetensors.index.json",
                        R"({"metadata":{"total_size":20},"weight_map":{"a":"model-00001-of-00002.safetensors",)"
                        R"("b":"model-00002-of-00002.safetensors"}})");
  Checkpoint c(dir);
  CHECK(c.shards().size() == 2);
  CHECK(c.get("a").to_f32() == a);
  CHECK(c.get("b").to_f32() == b);
  CHECK(c.names() == std::vector<std::string>{"a", "b"});
  CHECK_THROWS_AS(c.get("c"), InputError);

  write_file_atomically(dir / "model.safetensors.index.json",
                        R"({"weight_map":{"a":"model-00002-of-00002.safetensors"}})");
  CHECK_THROWS_WITH(Checkpoint(dir), Catch::Contains("missing from this shard"));
  write_file_atomically(dir / "model.safetensors.index.json", R"({"weight_map":{"a":"../x.safetensors"}})");
  CHECK_THROWS_WITH(Checkpoint(dir), Catch::Contains("plain file name"));
  CHECK_THROWS_AS(Checkpoint(dir / "missing"), InputError);
}

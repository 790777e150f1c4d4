// LoraLinear against PyTorch autograd + PEFT 0.21 (tests/reference/make_lora_fixtures.py): outputs,
// gradients for A, B and the input, merged weights, QLoRA over an NF4 base, PEFT's adapter format.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <set>
#include <string>

#include "kspam/nn/lora_adapter.hpp"
#include "kspam/nn/lora_linear.hpp"
#include "kspam/quant/nf4_tensor.hpp"
#include "kspam/tensor/safetensors.hpp"

using namespace kspam;
using namespace kspam::nn;

namespace {
const std::filesystem::path kFixtures = std::filesystem::path(KSPAM_SOURCE_DIR) / "tests/reference/fixtures/lora";

MatrixRM matrix(const tensor::SafetensorsFile& f, const std::string& name) {
  const auto& v = f.get(name);
  REQUIRE(v.shape.size() == 2);
  MatrixRM m(v.shape[0], v.shape[1]);
  v.copy_f32(m.data());
  return m;
}

// Max |a - b| relative to max |b| (the fixture's scale).
double rel_err(const MatrixRM& a, const MatrixRM& b) {
  REQUIRE(a.rows() == b.rows());
  REQUIRE(a.cols() == b.cols());
  return (a - b).cwiseAbs().maxCoeff() / std::max(1e-30f, b.cwiseAbs().maxCoeff());
}

LoraConfig config_of(const tensor::SafetensorsFile& f) {
  LoraConfig c;
  c.r = std::stoi(f.metadata().at("r"));
  c.alpha = std::stod(f.metadata().at("alpha"));
  c.dropout = std::stod(f.metadata().at("dropout"));
  return c;
}

template <typename Base>
void check_against_fixture(LoraLinear<Base>& layer, const tensor::SafetensorsFile& f, const MatrixRM* mask) {
  layer.lora_A() = matrix(f, "A");
  layer.lora_B() = matrix(f, "B");
  layer.zero_grad();
  const MatrixRM y = layer.forward_with_mask(matrix(f, "x"), mask);
  CHECK(rel_err(y, matrix(f, "y")) < 1e-5);
  const MatrixRM dx = layer.backward(matrix(f, "g"));
  CHECK(rel_err(layer.grad_A(), matrix(f, "dA")) < 1e-5);
  CHECK(rel_err(layer.grad_B(), matrix(f, "dB")) < 1e-5);
  CHECK(rel_err(dx, matrix(f, "dx")) < 1e-5);
  CHECK(rel_err(layer.merged_weight(), matrix(f, "merged_W")) < 1e-6);
}
}  // namespace

TEST_CASE("LoRA forward and gradients match PEFT (dense base, no dropout)", "[lora]") {
  tensor::SafetensorsFile f(kFixtures / "grad_fixture.safetensors");
  LoraLinear<FrozenDenseWeight> layer(FrozenDenseWeight(matrix(f, "W")), config_of(f), 1);
  check_against_fixture(layer, f, nullptr);
  // Gradients accumulate across backward calls, as autograd's .grad does.
  const MatrixRM dA = layer.grad_A();
  layer.forward_with_mask(matrix(f, "x"), nullptr);
  layer.backward(matrix(f, "g"));
  CHECK(rel_err(layer.grad_A(), 2 * dA) < 1e-6);
}

TEST_CASE("LoRA with PEFT's recorded dropout mask matches PEFT", "[lora]") {
  tensor::SafetensorsFile f(kFixtures / "dropout_fixture.safetensors");
  const LoraConfig cfg = config_of(f);
  REQUIRE(cfg.dropout == 0.25);
  MatrixRM keep = matrix(f, "mask");
  for (Eigen::Index i = 0; i < keep.size(); ++i) REQUIRE((keep.data()[i] == 0.0f || keep.data()[i] == 1.0f));
  const MatrixRM mask = keep * static_cast<float>(1.0 / (1.0 - cfg.dropout));
  LoraLinear<FrozenDenseWeight> layer(FrozenDenseWeight(matrix(f, "W")), cfg, 1);
  check_against_fixture(layer, f, &mask);
}

TEST_CASE("QLoRA: LoRA over an NF4 base matches PEFT over bitsandbytes' dequantized weight", "[lora]") {
  tensor::SafetensorsFile f(kFixtures / "qlora_fixture.safetensors");
  const MatrixRM w_in = matrix(f, "W_input_bf16");
  std::vector<float> values(w_in.data(), w_in.data() + w_in.size());
  quant::Nf4Tensor q = quant::quantize_nf4(values, {w_in.rows(), w_in.cols()}, {std::stoi(f.metadata().at("blocksize")), true, 256});
  Nf4Weight base(std::move(q));
  // Our dequantized NF4 weight is bitsandbytes' bf16 weight, exactly.
  CHECK((base.dense() - matrix(f, "W")).cwiseAbs().maxCoeff() == 0.0f);
  LoraLinear<Nf4Weight> layer(std::move(base), config_of(f), 1);
  check_against_fixture(layer, f, nullptr);
}

TEST_CASE("LoRA starts as PEFT does: A Kaiming-uniform, B zero, output = base output", "[lora]") {
  Rng rng(3);
  MatrixRM w(40, 256);
  for (Eigen::Index i = 0; i < w.size(); ++i) w.data()[i] = static_cast<float>(rng.normal());
  LoraLinear<FrozenDenseWeight> layer(FrozenDenseWeight(w), {16, 32, 0.0, false}, 77);
  const double bound = 1.0 / std::sqrt(256.0);
  CHECK(layer.lora_A().cwiseAbs().maxCoeff() <= bound);
  const double mean = layer.lora_A().mean();
  const double var = (layer.lora_A().array() - mean).square().mean();
  CHECK(std::fabs(mean) < 4 * bound / std::sqrt(3.0 * 16 * 256));
  CHECK(var == Approx(bound * bound / 3).epsilon(0.05));
  CHECK(layer.lora_B().isZero(0));
  MatrixRM x(3, 256);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(rng.normal());
  CHECK(rel_err(layer.forward(x, true, 5), x * w.transpose()) == 0.0);
  CHECK(layer.scale() == 2.0f);
  LoraLinear<FrozenDenseWeight> same(FrozenDenseWeight(w), {16, 32, 0.0, false}, 77);
  CHECK(same.lora_A() == layer.lora_A());  // the seed decides the initialisation
}

TEST_CASE("seeded LoRA dropout keeps 1 - p of the inputs, independently, reproducibly", "[lora]") {
  const double p = 0.1;
  const DropoutMask mask(42, p), other_seed(43, p);
  const float keep = static_cast<float>(1.0 / (1.0 - p));
  CHECK(mask.keep_scale == keep);
  CHECK(!DropoutMask(42, 0.0).active());
  CHECK(DropoutMask(42, 0.0).multiplier(3, 4) == 1.0f);
  // 400 rows x 500 columns: the keep rate, and independence of neighbours along a row and down a column.
  const std::uint32_t rows = 400, cols = 500;
  std::size_t kept = 0, both_row = 0, both_pair = 0, both_col = 0, differ = 0;
  for (std::uint32_t i = 0; i < rows; ++i) {
    for (std::uint32_t j = 0; j < cols; ++j) {
      const float m = mask.multiplier(i, j);
      REQUIRE((m == 0.0f || m == keep));
      REQUIRE(mask.multiplier(i, j) == m);
      kept += m != 0.0f;
      if (j > 0) both_row += (m != 0.0f && mask.multiplier(i, j - 1) != 0.0f);
      if (j % 2 == 1) both_pair += (m != 0.0f && mask.multiplier(i, j - 1) != 0.0f);  // the two halves of one hash
      if (i > 0) both_col += (m != 0.0f && mask.multiplier(i - 1, j) != 0.0f);
      differ += m != other_seed.multiplier(i, j);
    }
  }
  const double n = static_cast<double>(rows) * cols;
  CHECK(std::fabs(kept / n - (1 - p)) < 5 * std::sqrt(p * (1 - p) / n));
  const double pairs_row = static_cast<double>(rows) * (cols - 1), pairs_col = static_cast<double>(rows - 1) * cols;
  CHECK(std::fabs(both_row / pairs_row - (1 - p) * (1 - p)) < 5 * std::sqrt(0.2 / pairs_row));
  CHECK(std::fabs(both_col / pairs_col - (1 - p) * (1 - p)) < 5 * std::sqrt(0.2 / pairs_col));
  const double pairs_hash = static_cast<double>(rows) * (cols / 2);
  CHECK(std::fabs(both_pair / pairs_hash - (1 - p) * (1 - p)) < 5 * std::sqrt(0.2 / pairs_hash));
  // The documented rule: columns 2k and 2k + 1 take the low and high 16 bits of one hash, against ceil(p * 2^16).
  const std::uint32_t key = mask.row_key(5), limit = static_cast<std::uint32_t>(std::ceil(p * 65536.0));
  for (std::uint32_t j = 0; j < 64; ++j) {
    const std::uint32_t h = nn::mix32(key ^ (j / 2)), draw = j % 2 == 0 ? h & 0xffffU : h >> 16;
    CHECK(mask.keep(key, j) == (draw >= limit));
    CHECK(((mask.keep_pair(key, j & ~1U) >> (j % 2)) & 1U) == static_cast<std::uint32_t>(draw >= limit));
  }
  CHECK(std::fabs(differ / n - 2 * p * (1 - p)) < 0.01);  // another seed draws an independent mask (18% differ)
  // Seeds that differ only in their upper 32 bits draw different masks too.
  std::size_t differ_high = 0;
  const DropoutMask high(42 + (std::uint64_t{1} << 32), p);
  for (std::uint32_t j = 0; j < 10000; ++j) differ_high += mask.multiplier(7, j) != high.multiplier(7, j);
  CHECK(differ_high > 1000);

  // Through the layer: the same seed gives the same output; the gradient flows only through kept inputs.
  Rng rng(9);
  MatrixRM w = MatrixRM::Zero(8, 32), x(4, 32), g(4, 8);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(rng.normal());
  for (Eigen::Index i = 0; i < g.size(); ++i) g.data()[i] = static_cast<float>(rng.normal());
  LoraLinear<FrozenDenseWeight> layer(FrozenDenseWeight(w), {4, 8, 0.5, false}, 1);
  for (Eigen::Index i = 0; i < layer.lora_B().size(); ++i) layer.lora_B().data()[i] = static_cast<float>(rng.normal());
  const MatrixRM y1 = layer.forward(x, true, 1234);
  const MatrixRM dx = layer.backward(g);
  CHECK(layer.forward(x, true, 1234) == y1);
  CHECK(layer.forward(x, true, 1235) != y1);
  std::size_t zero_grads = 0;
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    const bool dropped = DropoutMask(1234, 0.5).multiplier(static_cast<std::uint32_t>(i / x.cols()), static_cast<std::uint32_t>(i % x.cols())) == 0.0f;
    if (dropped) {
      REQUIRE(dx.data()[i] == 0.0f);  // the base weight is zero here, so a dropped input gets no gradient
      ++zero_grads;
    }
  }
  CHECK(zero_grads > 20);
}

TEST_CASE("merged weights give the unmerged output within bf16 rounding, and unmerge inverts merge", "[lora]") {
  tensor::SafetensorsFile f(kFixtures / "qlora_fixture.safetensors");
  const MatrixRM w_in = matrix(f, "W_input_bf16");
  std::vector<float> values(w_in.data(), w_in.data() + w_in.size());
  LoraLinear<Nf4Weight> layer(Nf4Weight(quant::quantize_nf4(values, {w_in.rows(), w_in.cols()})), config_of(f), 3);
  layer.lora_B() = matrix(f, "B");
  const MatrixRM x = matrix(f, "x");
  const MatrixRM y = layer.forward(x, false);
  // Merge into a bf16 checkpoint weight: each element rounded to bf16.
  MatrixRM merged = merge_lora(layer).weight();
  const MatrixRM exact = merged;
  for (Eigen::Index i = 0; i < merged.size(); ++i) merged.data()[i] = tensor::round_to_bf16(merged.data()[i]);
  const MatrixRM y_merged = x * merged.transpose();
  const MatrixRM bound = x.cwiseAbs() * exact.cwiseAbs().transpose() * std::ldexp(1.0f, -8);
  CHECK(((y_merged - y).cwiseAbs() - bound).maxCoeff() <= 1e-6f);
  const FrozenDenseWeight back = unmerge_lora(FrozenDenseWeight(exact), layer.lora_A(), layer.lora_B(), layer.scale());
  CHECK(rel_err(back.weight(), layer.base().dense()) < 1e-6);
}

TEST_CASE("PEFT adapters load here, and ours use PEFT's names and config", "[lora]") {
  const PeftAdapter a = load_peft_adapter(kFixtures / "peft_adapter");
  CHECK(a.config.r == 4);
  CHECK(a.config.alpha == 8.0);
  CHECK(a.config.dropout == 0.05);
  CHECK(std::set<std::string>(a.target_modules.begin(), a.target_modules.end()) == std::set<std::string>{"q_proj", "v_proj", "down_proj"});
  tensor::SafetensorsFile expected(kFixtures / "peft_adapter_expected.safetensors");
  CHECK(a.modules.size() * 2 == expected.names().size());
  for (const auto& name : expected.names()) {
    INFO(name);
    REQUIRE(name.starts_with(kPeftPrefix));
    const std::string rest = name.substr(std::string(kPeftPrefix).size());
    const bool is_a = rest.ends_with(".lora_A.weight");
    const std::string path = rest.substr(0, rest.size() - std::string(".lora_A.weight").size());
    REQUIRE(a.modules.count(path) == 1);
    CHECK((is_a ? a.modules.at(path).A : a.modules.at(path).B) == matrix(expected, name));
  }
  REQUIRE(a.modules.count("model.language_model.layers.1.self_attn.v_proj") == 1);
  CHECK(a.modules.at("model.language_model.layers.1.self_attn.v_proj").B.rows() == 16);

  // Save and reload: same tensor names (byte for byte the PEFT names), same values, same config.
  const auto dir = std::filesystem::temp_directory_path() / "kspam_test_lora_adapter";
  std::filesystem::remove_all(dir);
  save_peft_adapter(dir, a);
  tensor::SafetensorsFile ours(dir / "adapter_model.safetensors");
  tensor::SafetensorsFile theirs(kFixtures / "peft_adapter/adapter_model.safetensors");
  CHECK(std::set<std::string>(ours.names().begin(), ours.names().end()) ==
        std::set<std::string>(theirs.names().begin(), theirs.names().end()));
  const PeftAdapter b = load_peft_adapter(dir);
  CHECK(b.config.r == a.config.r);
  CHECK(b.config.alpha == a.config.alpha);
  CHECK(b.target_modules == a.target_modules);
  for (const auto& [path, m] : a.modules) {
    CHECK(b.modules.at(path).A == m.A);
    CHECK(b.modules.at(path).B == m.B);
  }
  std::filesystem::remove_all(dir);
  // A copy for the Python side: tests/reference/make_lora_load_check.py loads it with PEFT on the GPU machine.
  save_peft_adapter(std::filesystem::path(KSPAM_BINARY_DIR) / "kspam_saved_peft_adapter", a);
}

TEST_CASE("LoRA rejects bad configs and adapters with clear errors", "[lora]") {
  MatrixRM w = MatrixRM::Zero(4, 8);
  CHECK_THROWS_WITH(LoraLinear<FrozenDenseWeight>(FrozenDenseWeight(w), {0, 8, 0.0, false}, 1), Catch::Contains("rank must be positive"));
  CHECK_THROWS_WITH(LoraLinear<FrozenDenseWeight>(FrozenDenseWeight(w), {4, 8, 1.0, false}, 1), Catch::Contains("dropout"));
  LoraLinear<FrozenDenseWeight> layer(FrozenDenseWeight(w), {4, 8, 0.0, false}, 1);
  CHECK_THROWS_WITH(layer.forward(MatrixRM::Zero(2, 7), false), Catch::Contains("7 features"));
  const auto dir = std::filesystem::temp_directory_path() / "kspam_test_lora_bad";
  std::filesystem::remove_all(dir);
  CHECK_THROWS_WITH(load_peft_adapter(dir), Catch::Contains("adapter_config.json not found"));
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(kFixtures / "peft_adapter/adapter_model.safetensors", dir / "adapter_model.safetensors");
  write_file_atomically(dir / "adapter_config.json", R"({"peft_type": "LORA", "r": 4, "lora_alpha": 8, "use_dora": true})");
  CHECK_THROWS_WITH(load_peft_adapter(dir), Catch::Contains("use_dora"));
  write_file_atomically(dir / "adapter_config.json", R"({"peft_type": "LORA", "r": 8, "lora_alpha": 8})");
  CHECK_THROWS_WITH(load_peft_adapter(dir), Catch::Contains("r = 8"));
  std::filesystem::remove_all(dir);
}

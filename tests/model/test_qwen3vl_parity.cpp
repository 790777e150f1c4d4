// Parity of the CPU Qwen3-VL with Hugging Face transformers 5.17 on small random checkpoints
// (tests/reference/make_model_fixtures.py): 3-D position ids and rope deltas exactly, vision merger and
// DeepStack features, logits of every prompt position, greedy tokens and every decode step's logits.
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <string>

#include "kspam/core/atomic_file.hpp"
#include "kspam/model/generate.hpp"
#include "parity_fixture.hpp"

using namespace kspam;
using namespace kspam::test;

namespace {

constexpr double kTolerance = 1e-4;  // max relative error, fp32 vs fp32 (measured: <= 2.6e-6)  // max relative error, fp32 vs fp32

const model::Qwen3VLModel<Cpu>& cached_model(const std::string& name) {
  static std::map<std::string, model::Qwen3VLModel<Cpu>> models;
  auto it = models.find(name);
  if (it == models.end()) it = models.emplace(name, model::Qwen3VLModel<Cpu>::load(model_fixtures() / name)).first;
  return it->second;
}

void check_case(const std::string& case_name, const std::string& model_name) {
  INFO("case " << case_name);
  const tensor::SafetensorsFile f(model_fixtures() / ("case_" + case_name + ".safetensors"));
  const auto& m = cached_model(model_name);
  const auto rows = fixture_rows(f, m.config().image_token_id);
  const bool has_images = f.contains("image_grid_thw");

  if (has_images) {
    std::vector<model::ImageGrid> grids;
    const auto g = f.get("image_grid_thw").to_i64();
    for (std::size_t i = 0; i + 2 < g.size(); i += 3) grids.push_back({g[i], g[i + 1], g[i + 2]});
    const auto vision = m.vision().forward(to_matrix(f.get("pixel_values")), grids);
    CHECK(max_relative_error(vision.merged, to_matrix(f.get("vision_merger"))) < kTolerance);
    CHECK(max_relative_error(vision.last_hidden, to_matrix(f.get("vision_last_hidden"))) < kTolerance);
    REQUIRE(vision.deepstack.size() == m.config().vision.deepstack_visual_indexes.size());
    for (std::size_t k = 0; k < vision.deepstack.size(); ++k) {
      INFO("deepstack " << k);
      CHECK(max_relative_error(vision.deepstack[k], to_matrix(f.get("deepstack_" + std::to_string(k)))) < kTolerance);
    }
  }

  const auto positions = f.get("position_ids").to_i64();  // [3, B, L]
  const long batch = static_cast<long>(f.get("input_ids").shape[0]);
  const long len = static_cast<long>(f.get("input_ids").shape[1]);
  const auto deltas = f.contains("rope_deltas") ? f.get("rope_deltas").to_i64() : std::vector<std::int64_t>{};
  const auto generated_t = f.get("generated");
  const auto generated = generated_t.to_i64();
  const long max_gen = static_cast<long>(generated_t.shape[1]);
  const auto& step_t = f.get("step_logits");  // [B, G, V]

  std::vector<model::Prompt<Cpu>> prompts;
  for (long b = 0; b < batch; ++b) {
    INFO("row " << b);
    const auto& row = rows[static_cast<std::size_t>(b)];
    prompts.push_back(row.prompt);
    model::PrefillState<Cpu> state;
    const Matrix logits = m.forward(row.prompt, &state);
    for (int a = 0; a < 3; ++a) {
      for (std::size_t i = 0; i < row.real.size(); ++i) {
        REQUIRE(state.positions.axis[a][i] == positions[(a * batch + b) * len + row.real[i]]);
      }
    }
    // transformers records rope deltas only when the call had images (a text-only row has delta 0).
    if (!deltas.empty()) CHECK(state.positions.delta == deltas[static_cast<std::size_t>(b)]);
    if (!has_images) CHECK(state.positions.delta == 0);
    const double err = max_relative_error(logits, batch_rows(f.get("logits"), b, row.real));
    INFO("logits max relative error " << err);
    CHECK(err < kTolerance);
  }

  model::GenerationOptions options;
  options.max_new_tokens = static_cast<int>(f.get("step_logits").shape[1]);
  std::vector<std::vector<double>> step_errors(static_cast<std::size_t>(batch));
  const Matrix steps = to_matrix(step_t);  // [B, G*V]
  const long vocab = static_cast<long>(step_t.shape[2]);
  const auto tokens = model::generate_greedy(m, prompts, options, [&](std::size_t r, int step, const Matrix& l) {
    Matrix ref = steps.row(static_cast<long>(r)).segment(step * vocab, vocab);
    step_errors[r].push_back(max_relative_error(l, ref));
  });
  for (long b = 0; b < batch; ++b) {
    std::vector<std::int64_t> expected;
    for (long i = 0; i < max_gen && generated[b * max_gen + i] >= 0; ++i) expected.push_back(generated[b * max_gen + i]);
    INFO("row " << b);
    CHECK(tokens[static_cast<std::size_t>(b)] == expected);
    for (double e : step_errors[static_cast<std::size_t>(b)]) CHECK(e < kTolerance);
  }
}

}  // namespace

TEST_CASE("Qwen3-VL matches transformers: image + text, tied head, GQA 2", "[model][parity]") {
  check_case("m1_image", "m1");
}

TEST_CASE("Qwen3-VL matches transformers: text only, stops on an end id", "[model][parity]") {
  check_case("m1_text", "m1");
}

TEST_CASE("Qwen3-VL matches transformers: two images, untied head, sharded checkpoint", "[model][parity]") {
  check_case("m2_two_images", "m2");
}

TEST_CASE("Qwen3-VL matches transformers: batch of two prompts of different lengths", "[model][parity]") {
  check_case("m2_batch", "m2");
}

TEST_CASE("Qwen3-VL matches transformers: bf16 checkpoint, deepstack [1,3], stop token reached", "[model][parity]") {
  check_case("m3_image", "m3");
}

namespace {
// A projection type other than nn::Linear, as a LoRA wrapper would be: counts its calls.
struct CountingLinear {
  nn::Linear<Cpu> base;
  std::shared_ptr<long> calls;
  Matrix forward(const Matrix& x) const {
    ++*calls;
    return base.forward(x);
  }
};
}  // namespace

TEST_CASE("decoder projections can be replaced by another linear type", "[model]") {
  const auto& m = cached_model("m1");
  auto calls = std::make_shared<long>(0);
  std::vector<std::string> names;
  const auto wrapped = m.with_projections<CountingLinear>([&](const nn::Linear<Cpu>& l, const std::string& name) {
    names.push_back(name);
    return CountingLinear{l, calls};
  });
  CHECK(names.size() == 7 * 2);
  CHECK(names.front() == "layers.0.self_attn.q_proj");
  const tensor::SafetensorsFile f(model_fixtures() / "case_m1_image.safetensors");
  const auto rows = fixture_rows(f, m.config().image_token_id);
  const Matrix a = m.forward(rows[0].prompt), b = wrapped.forward(rows[0].prompt);
  CHECK((a - b).cwiseAbs().maxCoeff() == 0.0f);
  CHECK(*calls == 7 * 2);
}

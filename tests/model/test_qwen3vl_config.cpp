// Qwen3VLConfig parsing (both rotary spellings, clear errors for what is not supported), weight loading
// errors, prompt inputs and the 3-D position rule on the architecture notes' worked example.
#include <catch2/catch.hpp>

#include <filesystem>
#include <functional>
#include <string>

#include "kspam/core/atomic_file.hpp"
#include "kspam/core/json_parse.hpp"
#include "kspam/model/prompt_inputs.hpp"
#include "parity_fixture.hpp"

using namespace kspam;
using namespace kspam::test;

namespace {

json::Value fixture_config(const std::string& model) {
  return json::parse(read_file(model_fixtures() / model / "config.json"));
}

// A scratch copy of a fixture model whose config.json is edited by `edit`.
std::filesystem::path edited_model(const std::string& model, const std::string& name,
                                   const std::function<void(json::Value&)>& edit) {
  const auto dir = std::filesystem::temp_directory_path() / ("kspam_test_model_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  for (const auto& entry : std::filesystem::directory_iterator(model_fixtures() / model)) {
    std::filesystem::copy_file(entry.path(), dir / entry.path().filename());
  }
  json::Value config = fixture_config(model);
  edit(config);
  write_file_atomically(dir / "config.json", config.dump());
  return dir;
}

std::string parse_error(const std::function<void(json::Value&)>& edit) {
  json::Value config = fixture_config("m1");
  edit(config);
  try {
    (void)model::parse_qwen3vl_config(config, "config.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("config.json written by transformers 5.17 is read completely", "[model][config]") {
  const auto c = model::load_qwen3vl_config(model_fixtures() / "m2");
  CHECK(c.text.hidden_size == 80);
  CHECK(c.text.num_attention_heads == 4);
  CHECK(c.text.num_key_value_heads == 1);
  CHECK(c.text.head_dim == 24);
  CHECK(c.text.rope_theta == 10000.0);
  CHECK(c.text.mrope_section == std::vector<int>{6, 3, 3});
  CHECK(c.vision.depth == 3);
  CHECK(c.vision.deepstack_visual_indexes == std::vector<int>{0, 2});
  CHECK(c.vision.position_grid() == 6);
  CHECK(c.vision.rope_theta == 10000.0);
  CHECK(c.image_token_id == 250);
  CHECK_FALSE(c.tie_word_embeddings);
  CHECK(c.eos_token_ids == std::vector<std::int64_t>{254, 255});  // from generation_config.json
  CHECK(model::load_qwen3vl_config(model_fixtures() / "m1").tie_word_embeddings);
}

TEST_CASE("a Qwen3-VL-2B-Instruct config.json in the 4.57 layout is read", "[model][config]") {
  // The published checkpoint's settings (architecture notes §1.1), spelled as transformers 4.57 wrote them.
  const auto c = model::parse_qwen3vl_config(json::parse(R"({
    "architectures": ["Qwen3VLForConditionalGeneration"], "model_type": "qwen3_vl",
    "image_token_id": 151655, "video_token_id": 151656, "vision_start_token_id": 151652,
    "vision_end_token_id": 151653, "tie_word_embeddings": true, "transformers_version": "4.57.0.dev0",
    "text_config": {"model_type": "qwen3_vl_text", "vocab_size": 151936, "hidden_size": 2048,
      "intermediate_size": 6144, "num_hidden_layers": 28, "num_attention_heads": 16, "num_key_value_heads": 8,
      "head_dim": 128, "hidden_act": "silu", "rms_norm_eps": 1e-06, "max_position_embeddings": 262144,
      "rope_theta": 5000000, "attention_bias": false, "attention_dropout": 0.0, "tie_word_embeddings": true,
      "rope_scaling": {"mrope_interleaved": true, "mrope_section": [24, 20, 20], "rope_type": "default"},
      "bos_token_id": 151643, "eos_token_id": 151645, "dtype": "bfloat16"},
    "vision_config": {"model_type": "qwen3_vl", "depth": 24, "hidden_size": 1024, "num_heads": 16,
      "intermediate_size": 4096, "hidden_act": "gelu_pytorch_tanh", "in_channels": 3, "patch_size": 16,
      "temporal_patch_size": 2, "spatial_merge_size": 2, "out_hidden_size": 2048,
      "num_position_embeddings": 2304, "deepstack_visual_indexes": [5, 11, 17], "initializer_range": 0.02}
  })"), "config.json");
  CHECK(c.text.rope_theta == 5000000.0);
  CHECK(c.text.mrope_section == std::vector<int>{24, 20, 20});
  CHECK(c.text.num_key_value_heads == 8);
  CHECK(c.vision.rope_theta == 10000.0);
  CHECK(c.vision.head_dim() == 64);
  CHECK(c.vision.patch_dim() == 1536);
  CHECK(c.vision.position_grid() == 48);
  CHECK(c.vision.deepstack_visual_indexes == std::vector<int>{5, 11, 17});
  CHECK(c.tie_word_embeddings);
  CHECK(c.eos_token_ids == std::vector<std::int64_t>{151645});
}

TEST_CASE("the older rope_scaling + rope_theta form gives the same model", "[model][config]") {
  const auto dir = edited_model("m1", "rope_scaling", [](json::Value& c) {
    json::Value& text = c["text_config"];
    text["rope_parameters"] = nullptr;
    json::Value scaling = json::Value::object();
    scaling["mrope_interleaved"] = true;
    scaling["mrope_section"] = json::Value(std::vector<int>{3, 3, 2});
    scaling["rope_type"] = "default";
    text["rope_scaling"] = scaling;
    text["rope_theta"] = 5000000.0;
  });
  const auto c = model::load_qwen3vl_config(dir);
  CHECK(c.text.rope_theta == 5000000.0);
  CHECK(c.text.mrope_section == std::vector<int>{3, 3, 2});

  const auto m = model::Qwen3VLModel<Cpu>::load(dir);
  const tensor::SafetensorsFile f(model_fixtures() / "case_m1_image.safetensors");
  const auto rows = fixture_rows(f, c.image_token_id);
  CHECK(max_relative_error(m.forward(rows[0].prompt), batch_rows(f.get("logits"), 0, rows[0].real)) < 1e-4);
}

TEST_CASE("unsupported or inconsistent settings are refused by name", "[model][config]") {
  CHECK_THAT(parse_error([](json::Value& c) { c["text_config"]["hidden_act"] = "gelu"; }),
             Catch::Contains("text_config.hidden_act") && Catch::Contains("only silu"));
  CHECK_THAT(parse_error([](json::Value& c) { c["text_config"]["attention_bias"] = true; }),
             Catch::Contains("attention_bias"));
  CHECK_THAT(parse_error([](json::Value& c) { c["text_config"]["rope_parameters"]["rope_type"] = "yarn"; }),
             Catch::Contains("rope_type") && Catch::Contains("yarn"));
  CHECK_THAT(parse_error([](json::Value& c) {
               c["text_config"]["rope_parameters"]["mrope_section"] = json::Value(std::vector<int>{3, 3, 3});
             }),
             Catch::Contains("mrope_section") && Catch::Contains("head_dim / 2 = 8"));
  CHECK_THAT(parse_error([](json::Value& c) { c["text_config"]["num_key_value_heads"] = 3; }),
             Catch::Contains("num_key_value_heads"));
  CHECK_THAT(parse_error([](json::Value& c) { c["text_config"]["hidden_size"] = "64"; }),
             Catch::Contains("text_config.hidden_size") && Catch::Contains("integer"));
  CHECK_THAT(parse_error([](json::Value& c) { c["vision_config"]["num_position_embeddings"] = 15; }),
             Catch::Contains("square"));
  CHECK_THAT(parse_error([](json::Value& c) { c["vision_config"]["deepstack_visual_indexes"] = json::Value(std::vector<int>{5}); }),
             Catch::Contains("deepstack_visual_indexes"));
  CHECK_THAT(parse_error([](json::Value& c) { c["vision_config"]["spatial_merge_size"] = 3; }),
             Catch::Contains("spatial_merge_size"));
  CHECK_THAT(parse_error([](json::Value& c) { c["model_type"] = "llama"; }), Catch::Contains("model_type"));
  CHECK_THAT(parse_error([](json::Value& c) { c["image_token_id"] = 9999; }), Catch::Contains("image_token_id"));
  CHECK_THROWS_AS(model::load_qwen3vl_config(model_fixtures() / "missing"), InputError);
}

TEST_CASE("weights that do not fit the config are reported with name and shapes", "[model][config]") {
  const auto wrong = edited_model("m1", "wrong_shape", [](json::Value& c) { c["text_config"]["intermediate_size"] = 100; });
  CHECK_THROWS_WITH(model::Qwen3VLModel<Cpu>::load(wrong),
                    Catch::Contains("layers.0.mlp.gate_proj.weight") && Catch::Contains("[128, 64]") &&
                        Catch::Contains("[100, 64]"));
  const auto untied = edited_model("m1", "untied", [](json::Value& c) { c["tie_word_embeddings"] = false; });
  CHECK_THROWS_WITH(model::Qwen3VLModel<Cpu>::load(untied), Catch::Contains("lm_head.weight"));
  const auto deeper = edited_model("m1", "deeper", [](json::Value& c) { c["vision_config"]["depth"] = 3; });
  CHECK_THROWS_WITH(model::Qwen3VLModel<Cpu>::load(deeper), Catch::Contains("missing a weight") && Catch::Contains("blocks.2"));
}

TEST_CASE("3-D positions follow the worked example of the architecture notes", "[model][positions]") {
  // <|im_start|> user \n <|vision_start|> 6 image pads (grid 1x4x6) <|vision_end|> text text
  const std::int64_t pad = 9;
  const std::vector<std::int64_t> ids = {1, 2, 3, 4, pad, pad, pad, pad, pad, pad, 5, 6, 7};
  const auto p = model::rope_positions(ids, {{1, 4, 6}}, pad, 2);
  CHECK(p.axis[0] == std::vector<std::int64_t>{0, 1, 2, 3, 4, 4, 4, 4, 4, 4, 7, 8, 9});
  CHECK(p.axis[1] == std::vector<std::int64_t>{0, 1, 2, 3, 4, 4, 4, 5, 5, 5, 7, 8, 9});
  CHECK(p.axis[2] == std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6, 4, 5, 6, 7, 8, 9});
  CHECK(p.delta == -3);
  CHECK_THROWS_AS(model::rope_positions(ids, {{1, 4, 4}}, pad, 2), InputError);
  const auto text = model::rope_positions({5, 6, 7}, {}, pad, 2);
  CHECK(text.axis[1] == std::vector<std::int64_t>{0, 1, 2});
  CHECK(text.delta == 0);
}

TEST_CASE("prompt inputs: id lists, image-pad expansion and checks", "[model][inputs]") {
  CHECK(model::parse_id_list("1, 2,3") == std::vector<std::int64_t>{1, 2, 3});
  CHECK_THROWS_AS(model::parse_id_list("1,,2"), InputError);
  CHECK_THROWS_AS(model::parse_id_list("1,-2"), InputError);
  CHECK_THROWS_AS(model::parse_id_list("12a"), InputError);

  const auto config = model::load_qwen3vl_config(model_fixtures() / "m1");
  model::ImageInputs images;
  model::read_pixel_values(model_fixtures() / "case_m1_image.safetensors", images);
  REQUIRE(images.grids.size() == 1);
  CHECK(images.rows == 60);
  const auto p = model::make_prompt<Cpu>(config, {7, 250, 8}, images);
  CHECK(p.ids.size() == 2 + 15);
  CHECK(std::count(p.ids.begin(), p.ids.end(), 250) == 15);
  CHECK(p.pixel_values.rows() == 60);
  CHECK_THROWS_WITH(model::make_prompt<Cpu>(config, {250, 250}, images), Catch::Contains("image-pad"));
  model::ImageInputs none;
  CHECK_THROWS_AS(model::make_prompt<Cpu>(config, {250}, none), InputError);
}

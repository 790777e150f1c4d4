#pragma once
// Qwen3VLModel<B>: a Qwen3-VL checkpoint directory (config.json, generation_config.json, model.safetensors
// or sharded with model.safetensors.index.json; fp32, bf16 or f16 weights) loaded onto backend B, with the
// full-prompt forward (vision tower, image features at the image-pad positions, 3-D positions, text
// decoder, DeepStack) and the single-token decode step that generation repeats.
//
//   auto model = model::Qwen3VLModel<backend::cpu::Backend>::load("tests/reference/fixtures/model/m1");
//   model::Prompt<Backend> p{ids, pixel_values, grids};
//   auto logits = model.forward(p);   // [ids, vocab]
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "kspam/core/error.hpp"
#include "kspam/model/kv_cache.hpp"
#include "kspam/model/qwen3vl_config.hpp"
#include "kspam/model/rope_index.hpp"
#include "kspam/model/text_decoder.hpp"
#include "kspam/model/vision_tower.hpp"
#include "kspam/model/weight_reader.hpp"
#include "kspam/nn/backend.hpp"
#include "kspam/tensor/safetensors.hpp"

namespace kspam::model {

// One prompt: token ids (image-pad runs already expanded to t·h·w/4 tokens per image) and its images.
template <nn::Backend B>
struct Prompt {
  std::vector<std::int64_t> ids;
  typename B::Matrix pixel_values;  // [Σ t·h·w, C·T·P·P]; empty without images
  std::vector<ImageGrid> grids;
};

// What a prefill leaves behind besides the cache: the positions (and delta for decoding) and, when the
// prompt had images, the vision tower's outputs.
template <nn::Backend B>
struct PrefillState {
  RopePositions positions;
  VisionOutput<B> vision;
};

template <nn::Backend B, typename Proj = nn::Linear<B>>
class Qwen3VLModel {
 public:
  using Matrix = typename B::Matrix;

  static Qwen3VLModel load(const std::filesystem::path& dir) {
    Qwen3VLModel m;
    m.config_ = load_qwen3vl_config(dir);
    const tensor::Checkpoint checkpoint(dir);
    const WeightReader reader(checkpoint);
    m.vision_ = VisionTower<B>::load(reader, m.config_.vision);
    m.text_ = TextDecoder<B, Proj>::load(reader, m.config_.text, m.config_.tie_word_embeddings);
    return m;
  }

  // The model with its decoder projections rebuilt (see TextDecoder::with_projections): e.g. LoRA.
  template <typename NewProj, typename Make>
  Qwen3VLModel<B, NewProj> with_projections(Make&& make) const {
    Qwen3VLModel<B, NewProj> m;
    m.config_ = config_;
    m.vision_ = vision_;
    m.text_ = text_.template with_projections<NewProj>(std::forward<Make>(make));
    return m;
  }

  const Qwen3VLConfig& config() const { return config_; }
  const VisionTower<B>& vision() const { return vision_; }
  TextDecoder<B, Proj>& text() { return text_; }
  const TextDecoder<B, Proj>& text() const { return text_; }
  KVCache<B> make_cache() const { return text_.make_cache(); }

  // Runs the whole prompt into an empty cache; returns the final hidden states [ids, hidden].
  Matrix prefill(const Prompt<B>& p, KVCache<B>& cache, PrefillState<B>& state) const {
    if (cache.length() != 0) throw Error("prefill needs an empty KV cache");
    if (p.ids.empty()) throw InputError("<input_ids>", "the prompt is empty");
    const std::int64_t merge = config_.vision.spatial_merge_size;
    state.positions = rope_positions(p.ids, p.grids, config_.image_token_id, merge);
    VisualInjection<B> visual;
    if (!p.grids.empty()) {
      state.vision = vision_.forward(p.pixel_values, p.grids);
      for (std::size_t i = 0; i < p.ids.size(); ++i) {
        if (p.ids[i] == config_.image_token_id) visual.rows.push_back(static_cast<long>(i));
      }
      visual.embeddings = &state.vision.merged;
      visual.deepstack = &state.vision.deepstack;
    } else if (p.pixel_values.size() != 0) {
      throw InputError("<pixel_values>", "pixel values were given without image grids");
    }
    return text_.forward(p.ids, state.positions.axis, cache, p.grids.empty() ? nullptr : &visual);
  }

  // Logits of every prompt position [ids, vocab].
  Matrix forward(const Prompt<B>& p, PrefillState<B>* state_out = nullptr) const {
    auto cache = make_cache();
    PrefillState<B> state;
    Matrix logits = text_.logits(prefill(p, cache, state));
    if (state_out) *state_out = std::move(state);
    return logits;
  }

  // One generated token fed back: position = cache length + rope delta on all three axes.
  Matrix decode(std::int64_t token, KVCache<B>& cache, std::int64_t delta) const {
    const std::int64_t pos = cache.length() + delta;
    const std::array<std::vector<std::int64_t>, 3> positions{{{pos}, {pos}, {pos}}};
    return text_.logits(text_.forward({token}, positions, cache, nullptr));
  }

 private:
  template <nn::Backend, typename>
  friend class Qwen3VLModel;

  Qwen3VLConfig config_;
  VisionTower<B> vision_;
  TextDecoder<B, Proj> text_;
};

}  // namespace kspam::model

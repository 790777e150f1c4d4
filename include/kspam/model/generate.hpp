#pragma once
// Greedy generation for a batch of prompts of different lengths. Each prompt keeps its own KV cache and
// rope delta, which gives exactly the tokens of a left-padded batch (the padding is masked there) and
// wastes nothing on padding. Stops a row at max_new_tokens or on a stop id (the checkpoint's
// end-of-turn ids by default); the stop id is kept in the output, as transformers' generate keeps it.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <vector>

#include <Eigen/Core>
#include "kspam/model/qwen3vl_model.hpp"

namespace kspam::model {

struct GenerationOptions {
  int max_new_tokens = 32;
  std::vector<std::int64_t> stop_ids;  // empty: the model's eos_token_ids
  bool use_model_stop_ids = true;      // false: only max_new_tokens ends a row
};

// The first index of the largest value (torch.argmax's tie rule).
template <typename Row>
std::int64_t argmax(const Row& logits) {
  std::int64_t best = 0;
  for (Eigen::Index i = 1; i < logits.size(); ++i) {
    if (logits(i) > logits(best)) best = i;
  }
  return best;
}

// on_step(row, step, logits_row) sees the logits each new token was chosen from (step 0 = prefill).
template <nn::Backend B, typename Proj>
std::vector<std::vector<std::int64_t>> generate_greedy(
    const Qwen3VLModel<B, Proj>& model, const std::vector<Prompt<B>>& prompts, const GenerationOptions& options,
    const std::function<void(std::size_t, int, const typename B::Matrix&)>& on_step = {}) {
  std::vector<std::int64_t> stop = options.stop_ids;
  if (stop.empty() && options.use_model_stop_ids) stop = model.config().eos_token_ids;
  std::vector<std::vector<std::int64_t>> out(prompts.size());
  for (std::size_t r = 0; r < prompts.size(); ++r) {
    auto cache = model.make_cache();
    PrefillState<B> state;
    const auto hidden = model.prefill(prompts[r], cache, state);
    typename B::Matrix logits = model.text().logits(hidden.bottomRows(1));
    for (int step = 0; step < options.max_new_tokens; ++step) {
      if (on_step) on_step(r, step, logits);
      const std::int64_t next = argmax(logits.row(0));
      out[r].push_back(next);
      if (std::find(stop.begin(), stop.end(), next) != stop.end()) break;
      if (step + 1 == options.max_new_tokens) break;
      logits = model.decode(next, cache, state.positions.delta);
    }
  }
  return out;
}

}  // namespace kspam::model

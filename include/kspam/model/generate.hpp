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
// Prompts are prefilled one by one (their lengths and images differ); the decode steps of all rows
// that are still running go through the decoder together (TextDecoder::decode_batch).
template <nn::Backend B, typename Proj>
std::vector<std::vector<std::int64_t>> generate_greedy(
    const Qwen3VLModel<B, Proj>& model, const std::vector<Prompt<B>>& prompts, const GenerationOptions& options,
    const std::function<void(std::size_t, int, const typename B::Matrix&)>& on_step = {}) {
  std::vector<std::int64_t> stop = options.stop_ids;
  if (stop.empty() && options.use_model_stop_ids) stop = model.config().eos_token_ids;
  const std::size_t n = prompts.size();
  std::vector<std::vector<std::int64_t>> out(n);
  if (options.max_new_tokens <= 0) return out;
  std::vector<KVCache<B>> caches;
  caches.reserve(n);
  std::vector<std::int64_t> deltas(n);
  std::vector<std::size_t> running;
  auto take = [&](std::size_t r, int step, const typename B::Matrix& logits) {
    if (on_step) on_step(r, step, logits);
    const std::int64_t next = argmax(logits.row(0));
    out[r].push_back(next);
    const bool stopped = std::find(stop.begin(), stop.end(), next) != stop.end();
    return !stopped && step + 1 < options.max_new_tokens;
  };
  for (std::size_t r = 0; r < n; ++r) {
    caches.push_back(model.make_cache());
    PrefillState<B> state;
    const auto hidden = model.prefill(prompts[r], caches.back(), state);
    deltas[r] = state.positions.delta;
    if (take(r, 0, model.text().logits(hidden.bottomRows(1)))) running.push_back(r);
  }
  for (int step = 1; !running.empty(); ++step) {
    std::vector<std::int64_t> tokens, positions;
    std::vector<KVCache<B>*> batch;
    for (std::size_t r : running) {
      tokens.push_back(out[r].back());
      positions.push_back(caches[r].length() + deltas[r]);
      batch.push_back(&caches[r]);
    }
    const typename B::Matrix logits = model.text().logits(model.text().decode_batch(tokens, positions, batch));
    std::vector<std::size_t> still;
    for (std::size_t i = 0; i < running.size(); ++i) {
      if (take(running[i], step, logits.middleRows(static_cast<long>(i), 1))) still.push_back(running[i]);
    }
    running.swap(still);
  }
  return out;
}

}  // namespace kspam::model

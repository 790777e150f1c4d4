#pragma once
// The Qwen3-VL text decoder: token embedding, Qwen3 layers (RMSNorm, q/k per-head RMSNorm, interleaved
// 3-D MRoPE, grouped-query causal attention over a KV cache, SwiGLU MLP), DeepStack feature injection
// after the first layers, final RMSNorm and a tied or separate lm_head.
//
// Proj is the projection type of the seven per-layer linears (q, k, v, o, gate, up, down): a plain
// nn::Linear by default; a LoRA or NF4 linear with the same forward() slots in for fine-tuning.
#include <array>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "kspam/core/error.hpp"
#include "kspam/model/kv_cache.hpp"
#include "kspam/model/qwen3vl_config.hpp"
#include "kspam/model/rope_index.hpp"
#include "kspam/model/weight_reader.hpp"
#include "kspam/nn/backend.hpp"
#include "kspam/nn/linear.hpp"

namespace kspam::model {

template <nn::Backend B, typename Proj = nn::Linear<B>>
struct TextLayer {
  typename B::Vector input_norm, post_norm, q_norm, k_norm;
  Proj q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj;
};

// What the vision tower contributes to one prompt: rows to write over the image-pad embeddings, and the
// DeepStack features added after decoder layers 0, 1, ... at the same rows.
template <nn::Backend B>
struct VisualInjection {
  std::vector<long> rows;                        // prompt positions of the image-pad tokens, in order
  const typename B::Matrix* embeddings = nullptr;
  const std::vector<typename B::Matrix>* deepstack = nullptr;
};

template <nn::Backend B, typename Proj = nn::Linear<B>>
class TextDecoder {
 public:
  using Matrix = typename B::Matrix;
  using Vector = typename B::Vector;
  using Layer = TextLayer<B, Proj>;

  static TextDecoder load(const WeightReader& w, const Qwen3VLTextConfig& c, bool tied,
                          const std::string& prefix = "model.language_model.")
    requires std::same_as<Proj, nn::Linear<B>>
  {
    TextDecoder t;
    t.c_ = c;
    const long d = c.hidden_size, hd = c.head_dim, q = c.num_attention_heads * hd, kv = c.num_key_value_heads * hd;
    t.embed_ = w.matrix<B>(prefix + "embed_tokens.weight", c.vocab_size, d);
    for (int i = 0; i < c.num_hidden_layers; ++i) {
      const std::string p = prefix + "layers." + std::to_string(i) + ".";
      Layer l;
      l.input_norm = w.vector<B>(p + "input_layernorm.weight", d);
      l.post_norm = w.vector<B>(p + "post_attention_layernorm.weight", d);
      l.q_norm = w.vector<B>(p + "self_attn.q_norm.weight", hd);
      l.k_norm = w.vector<B>(p + "self_attn.k_norm.weight", hd);
      l.q_proj = w.linear<B>(p + "self_attn.q_proj", q, d, false);
      l.k_proj = w.linear<B>(p + "self_attn.k_proj", kv, d, false);
      l.v_proj = w.linear<B>(p + "self_attn.v_proj", kv, d, false);
      l.o_proj = w.linear<B>(p + "self_attn.o_proj", d, q, false);
      l.gate_proj = w.linear<B>(p + "mlp.gate_proj", c.intermediate_size, d, false);
      l.up_proj = w.linear<B>(p + "mlp.up_proj", c.intermediate_size, d, false);
      l.down_proj = w.linear<B>(p + "mlp.down_proj", d, c.intermediate_size, false);
      t.layers_.push_back(std::move(l));
    }
    t.norm_ = w.vector<B>(prefix + "norm.weight", d);
    // Tied checkpoints omit lm_head.weight (HF aliases it to the embedding).
    t.tied_ = tied;
    if (!tied) {
      if (!w.contains("lm_head.weight")) {
        throw InputError("config.json", 0, "tie_word_embeddings", "false",
                         "the checkpoint has no lm_head.weight; an untied model needs one");
      }
      t.lm_head_ = w.matrix<B>("lm_head.weight", c.vocab_size, d);
    }
    inv_freq_init(t);
    return t;
  }

  const Qwen3VLTextConfig& config() const { return c_; }

  // The same decoder with every per-layer projection rebuilt by `make(old_projection, name)` (name as in
  // the checkpoint, e.g. "layers.3.self_attn.q_proj"): how a LoRA or quantized linear is put in place.
  template <typename NewProj, typename Make>
  TextDecoder<B, NewProj> with_projections(Make&& make) const {
    TextDecoder<B, NewProj> t;
    t.c_ = c_;
    t.embed_ = embed_;
    t.norm_ = norm_;
    t.lm_head_ = lm_head_;
    t.tied_ = tied_;
    t.inv_freq_ = inv_freq_;
    t.axis_ = axis_;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      const Layer& l = layers_[i];
      const std::string p = "layers." + std::to_string(i) + ".";
      typename TextDecoder<B, NewProj>::Layer n{l.input_norm, l.post_norm, l.q_norm, l.k_norm,
                                                make(l.q_proj, p + "self_attn.q_proj"),
                                                make(l.k_proj, p + "self_attn.k_proj"),
                                                make(l.v_proj, p + "self_attn.v_proj"),
                                                make(l.o_proj, p + "self_attn.o_proj"),
                                                make(l.gate_proj, p + "mlp.gate_proj"),
                                                make(l.up_proj, p + "mlp.up_proj"),
                                                make(l.down_proj, p + "mlp.down_proj")};
      t.layers_.push_back(std::move(n));
    }
    return t;
  }

  std::vector<Layer>& layers() { return layers_; }
  const std::vector<Layer>& layers() const { return layers_; }
  KVCache<B> make_cache() const { return KVCache<B>(c_.num_hidden_layers, c_.num_key_value_heads * c_.head_dim); }

  Matrix embed(const std::vector<std::int64_t>& ids) const {
    Matrix x(static_cast<long>(ids.size()), c_.hidden_size);
    for (std::size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] < 0 || ids[i] >= c_.vocab_size) {
        throw InputError("<input_ids>", 0, "input_ids", std::to_string(ids[i]),
                         "token id is outside the vocabulary (size " + std::to_string(c_.vocab_size) + ")");
      }
      x.row(static_cast<long>(i)) = embed_.row(ids[i]);
    }
    return x;
  }

  // Runs the decoder over `ids` (appended after what `cache` holds) at the given 3-D positions and
  // returns the final-normed hidden states [ids, hidden]. Visual rows are only used in a prefill.
  Matrix forward(const std::vector<std::int64_t>& ids, const std::array<std::vector<std::int64_t>, 3>& positions,
                 KVCache<B>& cache, const VisualInjection<B>* visual = nullptr) const {
    Matrix x = embed(ids);
    if (visual && visual->embeddings) {
      for (std::size_t n = 0; n < visual->rows.size(); ++n) x.row(visual->rows[n]) = visual->embeddings->row(static_cast<long>(n));
    }
    Matrix cos, sin;
    rotary(positions, cos, sin);
    const long heads = c_.num_attention_heads, kvh = c_.num_key_value_heads, hd = c_.head_dim;
    const float eps = static_cast<float>(c_.rms_norm_eps);
    const long past = cache.length(), n = static_cast<long>(ids.size());
    for (std::size_t li = 0; li < layers_.size(); ++li) {
      const Layer& l = layers_[li];
      {
        Matrix q, k, v;
        attention_inputs(l, x, cos, sin, q, k, v);
        cache.append(static_cast<long>(li), k, v);
        const Matrix keys = cache.keys(static_cast<long>(li), past + n);
        const Matrix values = cache.values(static_cast<long>(li), past + n);
        x += l.o_proj.forward(B::attention(q, keys, values, heads, kvh, hd, true, past));
      }
      mlp_block(l, x);
      if (visual && visual->deepstack && li < visual->deepstack->size()) {
        const Matrix& ds = (*visual->deepstack)[li];
        for (std::size_t r = 0; r < visual->rows.size(); ++r) x.row(visual->rows[r]) += ds.row(static_cast<long>(r));
      }
    }
    cache.commit(n);
    B::rms_norm(x, norm_, eps, -1);
    return x;
  }

  // One decoding step for several sequences at once: token r is appended to caches[r] at position
  // positions[r] (the same on all three axes). The projections and the MLP run as one product over
  // all rows, which is what makes batched decoding cheaper than one sequence after another; attention
  // reads each row's own cache. Returns the final-normed hidden states [rows, hidden].
  Matrix decode_batch(const std::vector<std::int64_t>& tokens, const std::vector<std::int64_t>& positions,
                      const std::vector<KVCache<B>*>& caches) const {
    const long rows = static_cast<long>(tokens.size());
    if (positions.size() != tokens.size() || caches.size() != tokens.size()) {
      throw Error("decode_batch: tokens, positions and caches differ in number");
    }
    Matrix x = embed(tokens);
    Matrix cos, sin;
    rotary({positions, positions, positions}, cos, sin);
    const long heads = c_.num_attention_heads, kvh = c_.num_key_value_heads, hd = c_.head_dim;
    const float eps = static_cast<float>(c_.rms_norm_eps);
    for (std::size_t li = 0; li < layers_.size(); ++li) {
      const Layer& l = layers_[li];
      {
        Matrix q, k, v;
        attention_inputs(l, x, cos, sin, q, k, v);
        Matrix attn(rows, heads * hd);
        for (long r = 0; r < rows; ++r) {
          KVCache<B>& cache = *caches[static_cast<std::size_t>(r)];
          const long past = cache.length();
          cache.append(static_cast<long>(li), k.middleRows(r, 1), v.middleRows(r, 1));
          const Matrix keys = cache.keys(static_cast<long>(li), past + 1);
          const Matrix values = cache.values(static_cast<long>(li), past + 1);
          attn.row(r) = B::attention(q.middleRows(r, 1), keys, values, heads, kvh, hd, true, past);
        }
        x += l.o_proj.forward(attn);
      }
      mlp_block(l, x);
    }
    for (auto* cache : caches) cache->commit(1);
    B::rms_norm(x, norm_, eps, -1);
    return x;
  }

  // hidden [rows, hidden] -> logits [rows, vocab]
  Matrix logits(const Matrix& hidden) const { return B::matmul_nt(hidden, tied_ ? embed_ : lm_head_); }

 private:
  template <nn::Backend, typename>
  friend class TextDecoder;

  static void inv_freq_init(TextDecoder& t) {
    const long half = t.c_.head_dim / 2;
    t.inv_freq_.resize(static_cast<std::size_t>(half));
    t.axis_.resize(static_cast<std::size_t>(half));
    const auto& s = t.c_.mrope_section;
    for (long j = 0; j < half; ++j) {
      t.inv_freq_[j] = 1.0f / std::pow(static_cast<float>(t.c_.rope_theta),
                                       static_cast<float>(2 * j) / static_cast<float>(t.c_.head_dim));
      // Interleaved MRoPE: slots cycle T, H, W while each axis still has slots left; the rest are T.
      int axis = 0;
      if (j % 3 == 1 && j < 3 * s[1]) axis = 1;
      if (j % 3 == 2 && j < 3 * s[2]) axis = 2;
      t.axis_[j] = axis;
    }
  }

  // The attention block's inputs for the rows of x: pre-norm, q/k/v projections, per-head q/k
  // RMSNorm and rotary embedding (shared by prefill and batched decoding).
  void attention_inputs(const Layer& l, const Matrix& x, const Matrix& cos, const Matrix& sin, Matrix& q, Matrix& k,
                        Matrix& v) const {
    const float eps = static_cast<float>(c_.rms_norm_eps);
    const long hd = c_.head_dim;
    Matrix h = x;
    B::rms_norm(h, l.input_norm, eps, -1);
    q = l.q_proj.forward(h);
    k = l.k_proj.forward(h);
    v = l.v_proj.forward(h);
    B::rms_norm(q, l.q_norm, eps, hd);
    B::rms_norm(k, l.k_norm, eps, hd);
    B::apply_rotary(q, c_.num_attention_heads, hd, cos, sin);
    B::apply_rotary(k, c_.num_key_value_heads, hd, cos, sin);
  }

  // x += MLP(post_norm(x)): the SwiGLU block with its residual.
  void mlp_block(const Layer& l, Matrix& x) const {
    Matrix h = x;
    B::rms_norm(h, l.post_norm, static_cast<float>(c_.rms_norm_eps), -1);
    x += l.down_proj.forward(B::swiglu(l.gate_proj.forward(h), l.up_proj.forward(h)));
  }

  void rotary(const std::array<std::vector<std::int64_t>, 3>& pos, Matrix& cos, Matrix& sin) const {
    const long n = static_cast<long>(pos[0].size()), half = c_.head_dim / 2;
    cos.resize(n, c_.head_dim);
    sin.resize(n, c_.head_dim);
    for (long r = 0; r < n; ++r) {
      for (long j = 0; j < half; ++j) {
        const float a = static_cast<float>(pos[axis_[j]][r]) * inv_freq_[j];
        cos(r, j) = cos(r, j + half) = std::cos(a);
        sin(r, j) = sin(r, j + half) = std::sin(a);
      }
    }
  }

  Qwen3VLTextConfig c_;
  Matrix embed_;
  std::vector<Layer> layers_;
  Vector norm_;
  Matrix lm_head_;
  bool tied_ = true;
  std::vector<float> inv_freq_;
  std::vector<int> axis_;
};

}  // namespace kspam::model

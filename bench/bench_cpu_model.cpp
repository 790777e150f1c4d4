// CPU backend speed on one Qwen3-VL-2B-shaped decoder layer (hidden 2048, 16 q / 8 kv heads of 128,
// SwiGLU 6144), fp32: prefill tokens/s, decode tokens/s with a KV cache, and decode of 8 sequences at
// once (decode_batch). Anchor, measured in the same
// run: the layer's seven projection GEMMs alone through Eigen on one thread (the arithmetic the layer
// cannot avoid), so the ratio shows what threading gains and what norms, rotary and attention cost.
//   bench_cpu_model [prompt_tokens=128] [decode_tokens=32]
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "kspam/backend/cpu/backend.hpp"
#include "kspam/core/rng.hpp"
#include "kspam/core/timer.hpp"
#include "kspam/model/text_decoder.hpp"
#include "kspam/tensor/safetensors.hpp"

using Cpu = kspam::backend::cpu::Backend;
using Matrix = Cpu::Matrix;

namespace {

std::vector<float> random_values(std::size_t n, kspam::Rng& rng, float scale) {
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>((rng.uniform() * 2.0 - 1.0) * scale);
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  const int prompt = argc > 1 ? std::atoi(argv[1]) : 128;
  const int decode = argc > 2 ? std::atoi(argv[2]) : 32;
  kspam::model::Qwen3VLTextConfig c;
  c.num_hidden_layers = 1;
  c.vocab_size = 1024;  // the 151936-row head is not part of a layer
  const long d = c.hidden_size, hd = c.head_dim, q = c.num_attention_heads * hd, kv = c.num_key_value_heads * hd;
  const long ff = c.intermediate_size;

  // A random one-layer checkpoint, loaded through the ordinary weight reader.
  kspam::Rng rng(7);
  kspam::tensor::SafetensorsWriter w;
  const std::string p = "model.language_model.";
  auto add = [&](const std::string& name, long rows, long cols, float scale) {
    w.add_f32(p + name, cols ? std::vector<std::int64_t>{rows, cols} : std::vector<std::int64_t>{rows},
              random_values(static_cast<std::size_t>(rows * (cols ? cols : 1)), rng, scale));
  };
  add("embed_tokens.weight", c.vocab_size, d, 0.5f);
  add("norm.weight", d, 0, 1.0f);
  const std::string l = "layers.0.";
  add(l + "input_layernorm.weight", d, 0, 1.0f);
  add(l + "post_attention_layernorm.weight", d, 0, 1.0f);
  add(l + "self_attn.q_norm.weight", hd, 0, 1.0f);
  add(l + "self_attn.k_norm.weight", hd, 0, 1.0f);
  add(l + "self_attn.q_proj.weight", q, d, 0.02f);
  add(l + "self_attn.k_proj.weight", kv, d, 0.02f);
  add(l + "self_attn.v_proj.weight", kv, d, 0.02f);
  add(l + "self_attn.o_proj.weight", d, q, 0.02f);
  add(l + "mlp.gate_proj.weight", ff, d, 0.02f);
  add(l + "mlp.up_proj.weight", ff, d, 0.02f);
  add(l + "mlp.down_proj.weight", d, ff, 0.02f);
  const auto path = std::filesystem::temp_directory_path() / "kspam_bench_cpu_layer.safetensors";
  w.write(path);
  const kspam::tensor::Checkpoint checkpoint(path);
  const kspam::model::WeightReader reader(checkpoint);
  const auto decoder = kspam::model::TextDecoder<Cpu>::load(reader, c, true);
  std::filesystem::remove(path);

  std::vector<std::int64_t> ids(static_cast<std::size_t>(prompt));
  for (int i = 0; i < prompt; ++i) ids[static_cast<std::size_t>(i)] = (i * 37) % c.vocab_size;
  std::array<std::vector<std::int64_t>, 3> pos;
  for (auto& a : pos) {
    a.resize(ids.size());
    for (int i = 0; i < prompt; ++i) a[static_cast<std::size_t>(i)] = i;
  }

  // Ours: prefill (best of 3), then decode steps against the growing cache.
  double prefill_s = 1e30;
  for (int rep = 0; rep < 3; ++rep) {
    auto cache = decoder.make_cache();
    kspam::Stopwatch t;
    const Matrix h = decoder.forward(ids, pos, cache);
    prefill_s = std::min(prefill_s, t.seconds());
    if (!std::isfinite(h.sum())) return 1;
  }
  auto cache = decoder.make_cache();
  (void)decoder.forward(ids, pos, cache);
  kspam::Stopwatch td;
  for (int s = 0; s < decode; ++s) {
    const std::int64_t at = prompt + s;
    const std::array<std::vector<std::int64_t>, 3> one{{{at}, {at}, {at}}};
    (void)decoder.forward({static_cast<std::int64_t>(s % c.vocab_size)}, one, cache);
  }
  const double decode_s = td.seconds();

  // Batched decoding: 8 sequences step together through decode_batch.
  const int batch = 8;
  std::vector<kspam::model::KVCache<Cpu>> caches;
  for (int b = 0; b < batch; ++b) {
    caches.push_back(decoder.make_cache());
    (void)decoder.forward(ids, pos, caches.back());
  }
  std::vector<kspam::model::KVCache<Cpu>*> cache_ptrs;
  for (auto& cc : caches) cache_ptrs.push_back(&cc);
  kspam::Stopwatch tb;
  for (int s = 0; s < decode; ++s) {
    const std::vector<std::int64_t> tokens(batch, s % c.vocab_size), at(batch, prompt + s);
    (void)decoder.decode_batch(tokens, at, cache_ptrs);
  }
  const double batch_s = tb.seconds();

  // Anchor: the seven GEMMs alone, Eigen, one thread.
  const auto& layer = decoder.layers()[0];
  auto gemms = [&](const Matrix& x) {
    Matrix a = x * layer.q_proj.weight.w.transpose();
    Matrix b = x * layer.k_proj.weight.w.transpose();
    Matrix cc = x * layer.v_proj.weight.w.transpose();
    Matrix o = a * layer.o_proj.weight.w.transpose();
    Matrix g = x * layer.gate_proj.weight.w.transpose();
    Matrix u = x * layer.up_proj.weight.w.transpose();
    Matrix dn = g * layer.down_proj.weight.w.transpose();
    return b.sum() + cc.sum() + o.sum() + u.sum() + dn.sum();
  };
  const Matrix xp = Matrix::Random(prompt, d), x1 = Matrix::Random(1, d);
  double anchor_prefill_s = 1e30;
  volatile double sink = 0;
  for (int rep = 0; rep < 3; ++rep) {
    kspam::Stopwatch t;
    sink = sink + gemms(xp);
    anchor_prefill_s = std::min(anchor_prefill_s, t.seconds());
  }
  kspam::Stopwatch ta;
  for (int s = 0; s < decode; ++s) sink = sink + gemms(x1);
  const double anchor_decode_s = ta.seconds();
  const Matrix x8 = Matrix::Random(batch, d);
  kspam::Stopwatch tab;
  for (int s = 0; s < decode; ++s) sink = sink + gemms(x8);
  const double anchor_batch_s = tab.seconds();

  std::printf("one Qwen3-VL-2B decoder layer, fp32, %u threads; prompt %d tokens, %d decode steps\n", Cpu::threads(),
              prompt, decode);
  std::printf("%-44s %13s %13s %13s\n", "", "prefill tok/s", "decode tok/s", "decode x8 tok/s");
  std::printf("%-44s %13.1f %13.1f %13.1f\n", "kspam cpu layer (norms, rope, attention, cache)", prompt / prefill_s,
              decode / decode_s, batch * decode / batch_s);
  std::printf("%-44s %13.1f %13.1f %13.1f\n", "anchor: its 7 GEMMs, Eigen, 1 thread", prompt / anchor_prefill_s,
              decode / anchor_decode_s, batch * decode / anchor_batch_s);
  std::printf("%-44s %12.2fx %12.2fx %12.2fx\n", "ratio (kspam / anchor)", anchor_prefill_s / prefill_s,
              anchor_decode_s / decode_s, anchor_batch_s / batch_s);
  std::printf("whole 28-layer model, by the per-layer figure: %.1f prefill tok/s, %.2f decode tok/s (%.2f batched)\n",
              prompt / prefill_s / 28.0, decode / decode_s / 28.0, batch * decode / batch_s / 28.0);
  return 0;
}

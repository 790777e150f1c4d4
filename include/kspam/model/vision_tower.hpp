#pragma once
// The Qwen3-VL vision tower: patch embedding (Conv3d as a GEMM), bilinearly interpolated learned
// position embedding, pre-LN ViT blocks with 2-D rotary attention restricted to each image (and
// temporal group), the 2x2 patch merger, and the DeepStack mergers tapped after selected blocks.
// Row order everywhere is the merge-window order of pixel_values: (t, h/2, w/2, 2, 2).
// See docs: shared qwen3-vl-architecture.md §3.
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "kspam/core/error.hpp"
#include "kspam/model/qwen3vl_config.hpp"
#include "kspam/model/rope_index.hpp"
#include "kspam/model/weight_reader.hpp"
#include "kspam/nn/backend.hpp"
#include "kspam/nn/linear.hpp"

namespace kspam::model {

template <nn::Backend B>
struct VisionOutput {
  typename B::Matrix merged;                   // [patches / 4, out_hidden]: one row per image-pad token
  std::vector<typename B::Matrix> deepstack;   // one [patches / 4, out_hidden] per deepstack_visual_indexes entry
  typename B::Matrix last_hidden;              // [patches, hidden]: the last block's output, before the merger
};

template <nn::Backend B>
class VisionTower {
 public:
  using Matrix = typename B::Matrix;
  using Vector = typename B::Vector;

  static VisionTower load(const WeightReader& w, const Qwen3VLVisionConfig& c, const std::string& prefix = "model.visual.") {
    VisionTower v;
    v.c_ = c;
    const long d = c.hidden_size;
    v.patch_embed_.weight.w = w.matrix<B>(prefix + "patch_embed.proj.weight", d, c.patch_dim(), true);
    v.patch_embed_.bias = w.vector<B>(prefix + "patch_embed.proj.bias", d);
    v.patch_embed_.has_bias = true;
    v.pos_embed_ = w.matrix<B>(prefix + "pos_embed.weight", c.num_position_embeddings, d);
    for (int i = 0; i < c.depth; ++i) {
      const std::string p = prefix + "blocks." + std::to_string(i) + ".";
      Block b;
      b.norm1_w = w.vector<B>(p + "norm1.weight", d);
      b.norm1_b = w.vector<B>(p + "norm1.bias", d);
      b.norm2_w = w.vector<B>(p + "norm2.weight", d);
      b.norm2_b = w.vector<B>(p + "norm2.bias", d);
      b.qkv = w.linear<B>(p + "attn.qkv", 3 * d, d, true);
      b.proj = w.linear<B>(p + "attn.proj", d, d, true);
      b.fc1 = w.linear<B>(p + "mlp.linear_fc1", c.intermediate_size, d, true);
      b.fc2 = w.linear<B>(p + "mlp.linear_fc2", d, c.intermediate_size, true);
      v.blocks_.push_back(std::move(b));
    }
    const long merged = d * c.spatial_merge_size * c.spatial_merge_size;
    v.merger_ = load_merger(w, prefix + "merger.", d, merged, c.out_hidden_size, false);
    for (std::size_t k = 0; k < c.deepstack_visual_indexes.size(); ++k) {
      v.deepstack_.push_back(
          load_merger(w, prefix + "deepstack_merger_list." + std::to_string(k) + ".", merged, merged, c.out_hidden_size, true));
    }
    return v;
  }

  const Qwen3VLVisionConfig& config() const { return c_; }

  // pixel_values [Σ t·h·w, C·T·P·P] in merge-window order; grids in the same (prompt) order.
  VisionOutput<B> forward(const Matrix& pixels, const std::vector<ImageGrid>& grids) const {
    check_input(pixels, grids);
    const long d = c_.hidden_size, heads = c_.num_heads, hd = c_.head_dim();
    Matrix x = patch_embed_.forward(pixels);
    x += position_embedding(grids);
    Matrix cos, sin;
    rotary(grids, cos, sin);
    std::vector<std::pair<long, long>> segments;
    long start = 0;
    for (const auto& g : grids) {
      for (std::int64_t t = 0; t < g.t; ++t) {
        segments.emplace_back(start, start + g.h * g.w);
        start += g.h * g.w;
      }
    }
    VisionOutput<B> out;
    out.deepstack.resize(deepstack_.size());
    const float eps = static_cast<float>(c_.layer_norm_eps);
    for (std::size_t i = 0; i < blocks_.size(); ++i) {
      const Block& b = blocks_[i];
      {
        const Matrix h = B::layer_norm(x, b.norm1_w, b.norm1_b, eps);
        const Matrix qkv = b.qkv.forward(h);
        Matrix q = qkv.middleCols(0, d), k = qkv.middleCols(d, d);
        const Matrix v = qkv.middleCols(2 * d, d);
        B::apply_rotary(q, heads, hd, cos, sin);
        B::apply_rotary(k, heads, hd, cos, sin);
        x += b.proj.forward(B::attention(q, k, v, heads, heads, hd, false, 0, segments));
      }
      {
        Matrix h = b.fc1.forward(B::layer_norm(x, b.norm2_w, b.norm2_b, eps));
        B::gelu_tanh(h);
        x += b.fc2.forward(h);
      }
      for (std::size_t k = 0; k < c_.deepstack_visual_indexes.size(); ++k) {
        if (c_.deepstack_visual_indexes[k] == static_cast<int>(i)) out.deepstack[k] = merge(deepstack_[k], x);
      }
    }
    out.merged = merge(merger_, x);
    out.last_hidden = std::move(x);
    return out;
  }

 private:
  struct Block {
    Vector norm1_w, norm1_b, norm2_w, norm2_b;
    nn::Linear<B> qkv, proj, fc1, fc2;
  };
  struct Merger {
    Vector norm_w, norm_b;
    nn::Linear<B> fc1, fc2;
    bool norm_after_shuffle = false;  // DeepStack mergers normalise the 4·D concatenation
  };

  static Merger load_merger(const WeightReader& w, const std::string& p, long norm_dim, long merged, long out,
                            bool after) {
    Merger m;
    m.norm_w = w.vector<B>(p + "norm.weight", norm_dim);
    m.norm_b = w.vector<B>(p + "norm.bias", norm_dim);
    m.fc1 = w.linear<B>(p + "linear_fc1", merged, merged, true);
    m.fc2 = w.linear<B>(p + "linear_fc2", out, merged, true);
    m.norm_after_shuffle = after;
    return m;
  }

  // Groups each 2x2 window (4 consecutive rows) into one row, normalises (before or after), then MLP.
  Matrix merge(const Merger& m, const Matrix& x) const {
    const long group = static_cast<long>(c_.spatial_merge_size) * c_.spatial_merge_size;
    const float eps = static_cast<float>(c_.layer_norm_eps);
    Matrix shuffled;
    if (m.norm_after_shuffle) {
      shuffled = B::layer_norm(B::group_rows(x, group), m.norm_w, m.norm_b, eps);
    } else {
      shuffled = B::group_rows(B::layer_norm(x, m.norm_w, m.norm_b, eps), group);
    }
    Matrix h = m.fc1.forward(shuffled);
    B::gelu_erf(h);
    return m.fc2.forward(h);
  }

  void check_input(const Matrix& pixels, const std::vector<ImageGrid>& grids) const {
    std::int64_t n = 0;
    for (const auto& g : grids) {
      if (g.t < 1 || g.h < 1 || g.w < 1 || g.h % c_.spatial_merge_size || g.w % c_.spatial_merge_size) {
        throw InputError("<image_grid_thw>", 0, "grid",
                         std::to_string(g.t) + "x" + std::to_string(g.h) + "x" + std::to_string(g.w),
                         "image grids need t >= 1 and even h and w");
      }
      n += g.patches();
    }
    if (pixels.rows() != n || pixels.cols() != c_.patch_dim()) {
      throw InputError("<pixel_values>", 0, "pixel_values",
                       std::to_string(pixels.rows()) + "x" + std::to_string(pixels.cols()),
                       "shape does not match the image grids, which need " + std::to_string(n) + "x" +
                           std::to_string(c_.patch_dim()));
    }
    for (long i = 0; i < static_cast<long>(pixels.size()); ++i) {
      if (!std::isfinite(pixels.data()[i])) throw InputError("<pixel_values>", "contains NaN or infinity");
    }
  }

  // Bilinear interpolation of the G x G learned table onto each h x w grid (linspace over 0..G-1 with
  // endpoints), permuted into merge-window order and repeated for each temporal group.
  Matrix position_embedding(const std::vector<ImageGrid>& grids) const {
    const long d = c_.hidden_size;
    const int G = c_.position_grid();
    const long m = c_.spatial_merge_size;
    std::int64_t total = 0;
    for (const auto& g : grids) total += g.patches();
    Matrix out(total, d);
    long row = 0;
    auto axis = [G](std::int64_t n, std::vector<int>& lo, std::vector<int>& hi, std::vector<float>& frac) {
      lo.resize(n);
      hi.resize(n);
      frac.resize(n);
      for (std::int64_t i = 0; i < n; ++i) {
        // torch.linspace(0, G-1, n) in fp32
        const float p = n == 1 ? 0.0f : static_cast<float>(static_cast<double>(G - 1) * i / static_cast<double>(n - 1));
        lo[i] = static_cast<int>(p);
        hi[i] = std::min(lo[i] + 1, G - 1);
        frac[i] = p - static_cast<float>(lo[i]);
      }
    };
    for (const auto& g : grids) {
      std::vector<int> y0, y1, x0, x1;
      std::vector<float> dy, dx;
      axis(g.h, y0, y1, dy);
      axis(g.w, x0, x1, dx);
      Matrix raster(g.h * g.w, d);
      for (std::int64_t r = 0; r < g.h; ++r) {
        for (std::int64_t c = 0; c < g.w; ++c) {
          const float w00 = (1 - dy[r]) * (1 - dx[c]), w01 = (1 - dy[r]) * dx[c];
          const float w10 = dy[r] * (1 - dx[c]), w11 = dy[r] * dx[c];
          raster.row(r * g.w + c) = w00 * pos_embed_.row(y0[r] * G + x0[c]) + w01 * pos_embed_.row(y0[r] * G + x1[c]) +
                                    w10 * pos_embed_.row(y1[r] * G + x0[c]) + w11 * pos_embed_.row(y1[r] * G + x1[c]);
        }
      }
      for (std::int64_t t = 0; t < g.t; ++t) {
        for (std::int64_t br = 0; br < g.h / m; ++br) {
          for (std::int64_t bc = 0; bc < g.w / m; ++bc) {
            for (long i = 0; i < m; ++i) {
              for (long j = 0; j < m; ++j) out.row(row++) = raster.row((br * m + i) * g.w + bc * m + j);
            }
          }
        }
      }
    }
    return out;
  }

  // 2-D rotary tables [patches, head_dim]: the first quarter of frequencies turn with the patch row,
  // the second with the column; duplicated for the rotate-half layout.
  void rotary(const std::vector<ImageGrid>& grids, Matrix& cos, Matrix& sin) const {
    const long hd = c_.head_dim(), quarter = hd / 4, m = c_.spatial_merge_size;
    std::vector<float> inv(static_cast<std::size_t>(quarter));
    const float dim = static_cast<float>(hd / 2);
    for (long j = 0; j < quarter; ++j) {
      inv[j] = 1.0f / std::pow(static_cast<float>(c_.rope_theta), static_cast<float>(2 * j) / dim);
    }
    std::int64_t total = 0;
    for (const auto& g : grids) total += g.patches();
    cos.resize(total, hd);
    sin.resize(total, hd);
    long row = 0;
    for (const auto& g : grids) {
      for (std::int64_t t = 0; t < g.t; ++t) {
        for (std::int64_t br = 0; br < g.h / m; ++br) {
          for (std::int64_t bc = 0; bc < g.w / m; ++bc) {
            for (long i = 0; i < m; ++i) {
              for (long j = 0; j < m; ++j) {
                const float pr = static_cast<float>(br * m + i), pc = static_cast<float>(bc * m + j);
                for (long f = 0; f < quarter; ++f) {
                  const float ar = pr * inv[f], ac = pc * inv[f];
                  cos(row, f) = cos(row, f + 2 * quarter) = std::cos(ar);
                  sin(row, f) = sin(row, f + 2 * quarter) = std::sin(ar);
                  cos(row, f + quarter) = cos(row, f + 3 * quarter) = std::cos(ac);
                  sin(row, f + quarter) = sin(row, f + 3 * quarter) = std::sin(ac);
                }
                ++row;
              }
            }
          }
        }
      }
    }
  }

  Qwen3VLVisionConfig c_;
  nn::Linear<B> patch_embed_;
  Matrix pos_embed_;
  std::vector<Block> blocks_;
  Merger merger_;
  std::vector<Merger> deepstack_;
};

}  // namespace kspam::model

#pragma once
// backend::cpu::Backend: the reference engine. Plain fp32 on Eigen, rows = tokens, columns = features,
// every op written to be obviously right; large matrix products are split across threads with
// kspam::parallel_for. The model code (model/) calls only these static functions, so another
// backend (CUDA) provides the same names over its own tensor type (see nn/backend.hpp).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include <Eigen/Core>

#include "kspam/core/error.hpp"
#include "kspam/core/thread_pool.hpp"

namespace kspam::backend::cpu {

struct Backend {
  using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using Vector = Eigen::VectorXf;

  // Work (multiply-adds) below which splitting across threads costs more than it saves.
  static constexpr double kParallelWork = 4.0e6;

  static unsigned threads() {
    static const unsigned n = default_thread_count();
    return n;
  }

  // y = x · wᵀ, w stored [out, in] like torch.nn.Linear.
  static Matrix matmul_nt(const Matrix& x, const Matrix& w) {
    if (x.cols() != w.cols()) {
      throw Error("matmul_nt: inner dimensions differ (" + std::to_string(x.cols()) + " vs " +
                  std::to_string(w.cols()) + ")");
    }
    Matrix y(x.rows(), w.rows());
    const double work = static_cast<double>(x.rows()) * static_cast<double>(w.rows()) * static_cast<double>(x.cols());
    const unsigned t = threads();
    if (work < kParallelWork || t <= 1) {
      y.noalias() = x * w.transpose();
      return y;
    }
    // One block per thread: Eigen packs the weight panel once per call, so finer blocks would repack it.
    // Many rows (prefill) are compute-bound: split the rows. Few rows (decoding, small batches) are
    // bound by reading the weight: split the output features so each thread reads only its share.
    if (x.rows() >= static_cast<Eigen::Index>(std::max(32u, 2 * t))) {
      const Eigen::Index chunk = (x.rows() + t - 1) / t;
      parallel_for(0, t, [&](std::size_t c) {
        const Eigen::Index r0 = static_cast<Eigen::Index>(c) * chunk;
        const Eigen::Index rows = std::min(chunk, x.rows() - r0);
        if (rows > 0) y.middleRows(r0, rows).noalias() = x.middleRows(r0, rows) * w.transpose();
      }, t);
    } else {
      const Eigen::Index chunk = (w.rows() + t - 1) / t;
      parallel_for(0, t, [&](std::size_t c) {
        const Eigen::Index c0 = static_cast<Eigen::Index>(c) * chunk;
        const Eigen::Index cols = std::min(chunk, w.rows() - c0);
        if (cols > 0) y.middleCols(c0, cols).noalias() = x * w.middleRows(c0, cols).transpose();
      }, t);
    }
    return y;
  }

  static void add_bias(Matrix& y, const Vector& b) { y.rowwise() += b.transpose(); }

  // Concatenates each run of `group` consecutive rows into one row ([n, d] -> [n / group, d * group]):
  // the vision merger's 2x2 window fusion. Row-major storage makes this a reinterpretation.
  static Matrix group_rows(const Matrix& x, Eigen::Index group) {
    if (group <= 0 || x.rows() % group != 0) throw Error("group_rows: row count is not a multiple of the group");
    return Eigen::Map<const Matrix>(x.data(), x.rows() / group, x.cols() * group);
  }

  // RMSNorm over each group of `group` consecutive columns (group = cols: the whole row; group =
  // head_dim: per-head q/k norm), then times the weight [group].
  static void rms_norm(Matrix& x, const Vector& weight, float eps, Eigen::Index group = -1) {
    if (group <= 0) group = x.cols();
    const Eigen::Index groups = x.cols() / group;
    for (Eigen::Index r = 0; r < x.rows(); ++r) {
      for (Eigen::Index g = 0; g < groups; ++g) {
        auto seg = x.row(r).segment(g * group, group);
        const float mean_sq = seg.squaredNorm() / static_cast<float>(group);
        const float inv = 1.0f / std::sqrt(mean_sq + eps);
        seg = (seg * inv).cwiseProduct(weight.transpose());
      }
    }
  }

  static Matrix layer_norm(const Matrix& x, const Vector& weight, const Vector& bias, float eps) {
    Matrix y(x.rows(), x.cols());
    const float n = static_cast<float>(x.cols());
    for (Eigen::Index r = 0; r < x.rows(); ++r) {
      const float mean = x.row(r).sum() / n;
      const float var = (x.row(r).array() - mean).square().sum() / n;
      const float inv = 1.0f / std::sqrt(var + eps);
      y.row(r) = ((x.row(r).array() - mean) * inv).matrix().cwiseProduct(weight.transpose()) + bias.transpose();
    }
    return y;
  }

  // GELU with the tanh approximation (torch "gelu_pytorch_tanh"): the ViT block MLPs.
  static void gelu_tanh(Matrix& x) {
    constexpr float k = 0.7978845608028654f;  // sqrt(2/pi)
    x = x.unaryExpr([](float v) { return 0.5f * v * (1.0f + std::tanh(k * (v + 0.044715f * v * v * v))); });
  }
  // Exact GELU (erf): the patch merger and DeepStack mergers.
  static void gelu_erf(Matrix& x) {
    x = x.unaryExpr([](float v) { return 0.5f * v * (1.0f + std::erf(v * 0.7071067811865476f)); });
  }
  // silu(gate) * up, elementwise.
  static Matrix swiglu(const Matrix& gate, const Matrix& up) {
    Matrix y(gate.rows(), gate.cols());
    y = gate.binaryExpr(up, [](float g, float u) { return g / (1.0f + std::exp(-g)) * u; });
    return y;
  }

  // Rotate-half rotary embedding on every head of x [tokens, heads*head_dim]; cos/sin [tokens, head_dim].
  static void apply_rotary(Matrix& x, Eigen::Index heads, Eigen::Index head_dim, const Matrix& cos, const Matrix& sin) {
    const Eigen::Index half = head_dim / 2;
    std::vector<float> tmp(static_cast<std::size_t>(head_dim));
    for (Eigen::Index r = 0; r < x.rows(); ++r) {
      for (Eigen::Index h = 0; h < heads; ++h) {
        float* v = x.row(r).data() + h * head_dim;
        for (Eigen::Index d = 0; d < half; ++d) {
          tmp[d] = v[d] * cos(r, d) - v[d + half] * sin(r, d);
          tmp[d + half] = v[d + half] * cos(r, d + half) + v[d] * sin(r, d + half);
        }
        std::copy(tmp.begin(), tmp.end(), v);
      }
    }
  }

  // Scaled dot-product attention, softmax in fp32. q [Lq, heads*hd]; k, v [Lk, kv_heads*hd]; query head
  // h reads kv head h / (heads / kv_heads). Causal: query i sees keys 0 .. q_offset + i. Not causal:
  // queries and keys are cut into the same segments [begin, end) and attend only inside their own.
  static Matrix attention(const Matrix& q, const Matrix& k, const Matrix& v, Eigen::Index heads, Eigen::Index kv_heads,
                          Eigen::Index head_dim, bool causal, Eigen::Index q_offset,
                          const std::vector<std::pair<Eigen::Index, Eigen::Index>>& segments = {}) {
    const Eigen::Index lq = q.rows(), lk = k.rows();
    const Eigen::Index group = heads / kv_heads;
    const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
    Matrix out = Matrix::Zero(lq, heads * head_dim);
    // Blocks of (query rows, key rows) that attend to each other: the whole thing when causal (the mask
    // is applied inside), else one block per segment.
    std::vector<std::pair<Eigen::Index, Eigen::Index>> blocks;
    if (causal || segments.empty()) {
      blocks.emplace_back(0, lq);
    } else {
      blocks = segments;
    }
    auto one_head = [&](std::size_t hi) {
      const Eigen::Index h = static_cast<Eigen::Index>(hi);
      const Eigen::Index kvh = h / group;
      for (const auto& [b0, b1] : blocks) {
        const Eigen::Index rows = b1 - b0;
        const Eigen::Index k0 = causal || segments.empty() ? 0 : b0;
        const Eigen::Index keys = causal || segments.empty() ? lk : rows;
        if (rows <= 0 || keys <= 0) continue;
        Matrix scores(rows, keys);
        scores.noalias() = q.block(b0, h * head_dim, rows, head_dim) * k.block(k0, kvh * head_dim, keys, head_dim).transpose();
        for (Eigen::Index i = 0; i < rows; ++i) {
          // Causal: query i (absolute position q_offset + i) sees keys 0 .. q_offset + i.
          const Eigen::Index visible = causal ? std::min(keys, q_offset + b0 + i + 1) : keys;
          auto row = scores.row(i);
          if (visible <= 0) {
            row.setZero();
            continue;
          }
          row.head(visible) *= scale;
          const float m = row.head(visible).maxCoeff();
          row.head(visible) = (row.head(visible).array() - m).exp();
          row.head(visible) /= row.head(visible).sum();
          row.tail(keys - visible).setZero();
        }
        out.block(b0, h * head_dim, rows, head_dim).noalias() = scores * v.block(k0, kvh * head_dim, keys, head_dim);
      }
    };
    const double work = static_cast<double>(lq) * static_cast<double>(lk) * static_cast<double>(heads * head_dim);
    parallel_for(0, static_cast<std::size_t>(heads), one_head, work < kParallelWork ? 1u : threads());
    return out;
  }
};

}  // namespace kspam::backend::cpu

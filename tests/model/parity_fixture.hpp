#pragma once
// Helpers shared by the model tests: reading the transformers fixtures of tests/reference/fixtures/model
// (made by tests/reference/make_model_fixtures.py) and comparing results with them.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "kspam/backend/cpu/backend.hpp"
#include "kspam/model/qwen3vl_model.hpp"
#include "kspam/tensor/safetensors.hpp"

namespace kspam::test {

using Cpu = backend::cpu::Backend;
using Matrix = Cpu::Matrix;

inline std::filesystem::path model_fixtures() {
  return std::filesystem::path(KSPAM_SOURCE_DIR) / "tests" / "reference" / "fixtures" / "model";
}

inline Matrix to_matrix(const tensor::TensorView& t) {
  const long rows = t.shape.empty() ? 1 : static_cast<long>(t.shape[0]);
  const long cols = rows == 0 ? 0 : static_cast<long>(t.numel() / static_cast<std::size_t>(rows));
  Matrix m(rows, cols);
  t.copy_f32(m.data());
  return m;
}

// max |a - b| / max |b|: the error relative to the reference's scale (logits are O(1)..O(10) here).
inline double max_relative_error(const Matrix& ours, const Matrix& ref) {
  if (ours.rows() != ref.rows() || ours.cols() != ref.cols()) return INFINITY;
  const double scale = std::max(1e-30, static_cast<double>(ref.cwiseAbs().maxCoeff()));
  return static_cast<double>((ours - ref).cwiseAbs().maxCoeff()) / scale;
}

// One row of a (possibly left-padded) fixture batch, as the prompt our model takes.
struct FixtureRow {
  model::Prompt<Cpu> prompt;
  std::vector<long> real;  // padded-batch column of each prompt token
};

inline std::vector<FixtureRow> fixture_rows(const tensor::SafetensorsFile& f, std::int64_t image_token_id) {
  const auto& ids_t = f.get("input_ids");
  const auto ids = ids_t.to_i64();
  const auto mask = f.get("attention_mask").to_i64();
  const long batch = static_cast<long>(ids_t.shape[0]), len = static_cast<long>(ids_t.shape[1]);
  std::vector<model::ImageGrid> grids;
  Matrix pixels;
  if (f.contains("image_grid_thw")) {
    const auto g = f.get("image_grid_thw").to_i64();
    for (std::size_t i = 0; i + 2 < g.size(); i += 3) grids.push_back({g[i], g[i + 1], g[i + 2]});
    pixels = to_matrix(f.get("pixel_values"));
  }
  std::vector<FixtureRow> rows(static_cast<std::size_t>(batch));
  std::size_t next_grid = 0;
  long next_pixel = 0;
  for (long b = 0; b < batch; ++b) {
    auto& row = rows[static_cast<std::size_t>(b)];
    std::int64_t pads = 0;
    for (long i = 0; i < len; ++i) {
      if (mask[b * len + i] == 0) continue;
      row.prompt.ids.push_back(ids[b * len + i]);
      row.real.push_back(i);
      pads += ids[b * len + i] == image_token_id;
    }
    long patches = 0;
    while (pads > 0 && next_grid < grids.size()) {
      const auto& g = grids[next_grid++];
      row.prompt.grids.push_back(g);
      pads -= g.patches() / 4;
      patches += static_cast<long>(g.patches());
    }
    if (patches > 0) {
      row.prompt.pixel_values = pixels.middleRows(next_pixel, patches);
      next_pixel += patches;
    }
  }
  return rows;
}

// Rows `real` of batch row b of a [B, L, V] fixture tensor.
inline Matrix batch_rows(const tensor::TensorView& t, long b, const std::vector<long>& real) {
  const long len = static_cast<long>(t.shape[1]), width = static_cast<long>(t.shape[2]);
  const Matrix all = to_matrix(t);  // [B, L*V]
  Matrix out(static_cast<long>(real.size()), width);
  for (std::size_t i = 0; i < real.size(); ++i) {
    out.row(static_cast<long>(i)) = all.row(b).segment(real[i] * width, width);
  }
  (void)len;
  return out;
}

}  // namespace kspam::test

// backend::cpu ops against naive double-precision loops, at sizes that take the multi-threaded paths
// (the tiny parity models never do): matmul split by rows and by output features, attention split by
// heads with grouped-query heads, causal offsets and segments.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "kspam/backend/cpu/backend.hpp"
#include "kspam/core/rng.hpp"
#include "kspam/nn/backend.hpp"
#include "kspam/nn/linear.hpp"

using Cpu = kspam::backend::cpu::Backend;
using Matrix = Cpu::Matrix;

static_assert(kspam::nn::Backend<Cpu>);

namespace {

Matrix random_matrix(long rows, long cols, std::uint64_t seed) {
  kspam::Rng rng(seed);
  Matrix m(rows, cols);
  for (long i = 0; i < m.size(); ++i) m.data()[i] = static_cast<float>(rng.uniform() * 2.0 - 1.0);
  return m;
}

double max_abs_diff(const Matrix& a, const std::vector<double>& b) {
  double worst = 0;
  for (long i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a.data()[i] - b[static_cast<std::size_t>(i)]));
  return worst;
}

std::vector<double> naive_matmul_nt(const Matrix& x, const Matrix& w) {
  std::vector<double> y(static_cast<std::size_t>(x.rows() * w.rows()));
  for (long r = 0; r < x.rows(); ++r) {
    for (long c = 0; c < w.rows(); ++c) {
      double s = 0;
      for (long k = 0; k < x.cols(); ++k) s += double(x(r, k)) * double(w(c, k));
      y[static_cast<std::size_t>(r * w.rows() + c)] = s;
    }
  }
  return y;
}

std::vector<double> naive_attention(const Matrix& q, const Matrix& k, const Matrix& v, long heads, long kv_heads,
                                    long hd, bool causal, long offset, const std::vector<std::pair<long, long>>& seg) {
  std::vector<double> out(static_cast<std::size_t>(q.rows() * heads * hd), 0.0);
  for (long h = 0; h < heads; ++h) {
    const long kvh = h / (heads / kv_heads);
    for (long i = 0; i < q.rows(); ++i) {
      long begin = 0, end = k.rows();
      if (causal) end = std::min(k.rows(), offset + i + 1);
      for (const auto& s : seg) {
        if (!causal && i >= s.first && i < s.second) begin = s.first, end = s.second;
      }
      std::vector<double> p;
      double m = -1e300, z = 0;
      for (long j = begin; j < end; ++j) {
        double s = 0;
        for (long d = 0; d < hd; ++d) s += double(q(i, h * hd + d)) * double(k(j, kvh * hd + d));
        p.push_back(s / std::sqrt(double(hd)));
        m = std::max(m, p.back());
      }
      for (auto& x : p) z += (x = std::exp(x - m));
      for (long j = begin; j < end; ++j) {
        for (long d = 0; d < hd; ++d) {
          out[static_cast<std::size_t>(i * heads * hd + h * hd + d)] += p[static_cast<std::size_t>(j - begin)] / z * v(j, kvh * hd + d);
        }
      }
    }
  }
  return out;
}

}  // namespace

TEST_CASE("cpu matmul_nt matches a naive product on its serial and both threaded paths", "[nn][cpu]") {
  for (auto [rows, out, in] : std::vector<std::array<long, 3>>{{3, 5, 7}, {300, 200, 128}, {2, 4096, 1024}}) {
    const Matrix x = random_matrix(rows, in, 1 + rows), w = random_matrix(out, in, 2 + out);
    const Matrix y = Cpu::matmul_nt(x, w);
    REQUIRE(y.rows() == rows);
    REQUIRE(y.cols() == out);
    CHECK(max_abs_diff(y, naive_matmul_nt(x, w)) < 1e-4);
  }
  CHECK_THROWS_AS(Cpu::matmul_nt(random_matrix(2, 3, 1), random_matrix(2, 4, 1)), kspam::Error);
}

TEST_CASE("cpu attention: grouped-query heads, causal offset and segments match the definition", "[nn][cpu]") {
  const long heads = 8, kv = 2, hd = 128;
  // Causal prefill large enough for the threaded path, and a decode step against a longer cache.
  const Matrix q = random_matrix(64, heads * hd, 3), k = random_matrix(64, kv * hd, 4), v = random_matrix(64, kv * hd, 5);
  CHECK(max_abs_diff(Cpu::attention(q, k, v, heads, kv, hd, true, 0), naive_attention(q, k, v, heads, kv, hd, true, 0, {})) < 1e-5);
  const Matrix q1 = q.topRows(1);
  CHECK(max_abs_diff(Cpu::attention(q1, k, v, heads, kv, hd, true, 63),
                     naive_attention(q1, k, v, heads, kv, hd, true, 63, {})) < 1e-5);
  // Bidirectional attention inside segments (the vision tower's per-image blocks).
  const std::vector<std::pair<long, long>> seg = {{0, 20}, {20, 64}};
  CHECK(max_abs_diff(Cpu::attention(q, k.leftCols(heads * hd / 4).replicate(1, 4), v.replicate(1, 4), heads, heads, hd, false, 0, seg),
                     naive_attention(q, k.leftCols(heads * hd / 4).replicate(1, 4), v.replicate(1, 4), heads, heads, hd, false, 0, seg)) < 1e-5);
}

TEST_CASE("cpu norms, activations and rotary against their formulas", "[nn][cpu]") {
  Matrix x = random_matrix(3, 8, 9);
  const Matrix x0 = x;
  Cpu::Vector w = Cpu::Vector::LinSpaced(4, 0.5f, 2.0f);
  Cpu::rms_norm(x, w, 1e-6f, 4);  // per group of 4 (q/k norm per head)
  for (long r = 0; r < 3; ++r) {
    for (long g = 0; g < 2; ++g) {
      double ms = 0;
      for (long d = 0; d < 4; ++d) ms += double(x0(r, g * 4 + d)) * x0(r, g * 4 + d) / 4;
      for (long d = 0; d < 4; ++d) CHECK(x(r, g * 4 + d) == Approx(x0(r, g * 4 + d) / std::sqrt(ms + 1e-6) * w(d)).epsilon(1e-5));
    }
  }
  Cpu::Vector lw = Cpu::Vector::Constant(8, 2.0f), lb = Cpu::Vector::Constant(8, 0.5f);
  const Matrix ln = Cpu::layer_norm(x0, lw, lb, 1e-6f);
  CHECK(std::abs((ln.row(1).array() - 0.5f).sum()) < 1e-4);
  Matrix g = Matrix::Constant(1, 1, 1.0f);
  Cpu::gelu_erf(g);
  CHECK(g(0, 0) == Approx(0.8413447460685429));
  g(0, 0) = 1.0f;
  Cpu::gelu_tanh(g);
  CHECK(g(0, 0) == Approx(0.8411919906082768));
  const Matrix s = Cpu::swiglu(Matrix::Constant(1, 1, 2.0f), Matrix::Constant(1, 1, 3.0f));
  CHECK(s(0, 0) == Approx(2.0 / (1.0 + std::exp(-2.0)) * 3.0));
  // Rotate-half on one head of 4: (a, b, c, d) pairs (0, 2) and (1, 3).
  Matrix r(1, 4);
  r << 1, 2, 3, 4;
  Matrix cos = Matrix::Constant(1, 4, 0.0f), sin = Matrix::Constant(1, 4, 1.0f);  // 90 degrees
  Cpu::apply_rotary(r, 1, 4, cos, sin);
  CHECK(r(0, 0) == Approx(-3));
  CHECK(r(0, 1) == Approx(-4));
  CHECK(r(0, 2) == Approx(1));
  CHECK(r(0, 3) == Approx(2));
  CHECK(Cpu::group_rows(random_matrix(8, 3, 1), 4).cols() == 12);
}

TEST_CASE("nn::Linear adds its bias only when it has one", "[nn][cpu]") {
  kspam::nn::Linear<Cpu> l;
  l.weight.w = random_matrix(3, 2, 11);
  const Matrix x = random_matrix(4, 2, 12);
  CHECK((l.forward(x) - Cpu::matmul_nt(x, l.weight.w)).cwiseAbs().maxCoeff() == 0.0f);
  l.bias = Cpu::Vector::Constant(3, 1.5f);
  l.has_bias = true;
  CHECK(((l.forward(x) - Cpu::matmul_nt(x, l.weight.w)).array() - 1.5f).abs().maxCoeff() < 1e-6f);
}

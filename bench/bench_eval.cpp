// Evaluation metrics at scale: kspam vs scikit-learn on the same rows in the same run.
// Times average precision, ROC-AUC, reliability/ECE, isotonic fit+predict and the keep/review/demote
// sweep (grid step 0.1: 66 pairs, macro F1) and checks that both sides agree on every value.
// Usage: bench_eval [--rows N] [--python PATH]
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <unistd.h>

#include "kspam/core/json_parse.hpp"
#include "kspam/core/rng.hpp"
#include "kspam/core/timer.hpp"
#include "kspam/eval/calibration.hpp"
#include "kspam/eval/metrics.hpp"
#include "kspam/eval/sweep.hpp"

namespace fs = std::filesystem;
using namespace kspam;

int main(int argc, char** argv) {
  std::size_t n = 1000000;
  std::string python = fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--rows" && i + 1 < argc) n = std::stoul(argv[++i]);
    else if (a == "--python" && i + 1 < argc) python = argv[++i];
    else {
      std::cerr << "usage: bench_eval [--rows N] [--python PATH]\n";
      return 2;
    }
  }
  // A model with realistic structure: scores rounded to 3 decimals, so many ties.
  Rng rng(2026);
  std::vector<int> truth(n), pred(n);
  std::vector<double> score(n), conf(n);
  std::vector<eval::Prediction> rows(n);
  for (std::size_t i = 0; i < n; ++i) {
    truth[i] = rng.uniform() < 0.3 ? 1 : 0;
    score[i] = std::round(std::clamp(0.35 * truth[i] + 0.65 * rng.uniform(), 0.0, 1.0) * 1000) / 1000;
    pred[i] = score[i] >= 0.5;
    conf[i] = pred[i] ? score[i] : 1 - score[i];
    rows[i].product_id = std::to_string(i);
    rows[i].truth = truth[i];
    rows[i].score = score[i];
    rows[i].predicted = pred[i];
    rows[i].confidence = conf[i];
  }
  const auto file = fs::temp_directory_path() / ("kspam_bench_eval_" + std::to_string(::getpid()) + ".bin");
  {
    std::ofstream out(file, std::ios::binary);
    auto put = [&](auto get) {
      for (std::size_t i = 0; i < n; ++i) {
        const double v = get(i);
        out.write(reinterpret_cast<const char*>(&v), sizeof v);
      }
    };
    put([&](std::size_t i) { return score[i]; });
    put([&](std::size_t i) { return double(truth[i]); });
    put([&](std::size_t i) { return double(pred[i]); });
    put([&](std::size_t i) { return conf[i]; });
  }

  Stopwatch w;
  const double ap = *eval::average_precision(truth, score);
  const double t_ap = w.seconds();
  w.restart();
  const double auc = *eval::roc_auc(truth, score);
  const double t_auc = w.seconds();
  w.restart();
  const double ece = *eval::reliability(truth, score, 10).ece;
  const double t_ece = w.seconds();
  w.restart();
  eval::IsotonicCalibrator iso;
  iso.fit(score, std::vector<double>(truth.begin(), truth.end()));
  double iso_sum = 0;
  for (double s : score) iso_sum += iso.predict(s);
  const double t_iso = w.seconds();
  w.restart();
  const auto sweep = eval::sweep_thresholds(rows, {0.0, 1.0, 0.1}, eval::SweepObjective::MacroF1, {});
  const double t_sweep = w.seconds();

  std::string text;
  {
    const std::string cmd = python + " '" + (fs::path(KSPAM_SOURCE_DIR) / "bench/anchor_eval.py").string() + "' '" +
                            file.string() + "' " + std::to_string(n);
    FILE* pipe = ::popen(cmd.c_str(), "r");
    std::array<char, 4096> buf;
    std::size_t got;
    while (pipe && (got = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) text.append(buf.data(), got);
    if (pipe) ::pclose(pipe);
  }
  fs::remove(file);
  if (text.empty()) {
    std::cerr << "the scikit-learn anchor did not run (python3 with scikit-learn needed: scripts/setup.sh)\n";
    return 1;
  }
  const auto a = json::parse(text, "anchor_eval.py output");
  auto get = [&](const char* k) { return a.find(k)->as_double(); };

  std::printf("bench_eval: %zu rows (scores with ties), kspam vs scikit-learn, same run\n", n);
  std::printf("%-28s %12s %12s %9s %14s\n", "step", "kspam s", "sklearn s", "speed-up", "max |diff|");
  auto row = [&](const char* name, double ours, double theirs, double diff) {
    std::printf("%-28s %12.4f %12.4f %8.1fx %14.3g\n", name, ours, theirs, theirs / ours, diff);
  };
  row("average precision", t_ap, get("ap_seconds"), std::abs(ap - get("average_precision")));
  row("ROC-AUC", t_auc, get("auc_seconds"), std::abs(auc - get("roc_auc")));
  row("reliability + ECE", t_ece, get("ece_seconds"), std::abs(ece - get("ece")));
  row("isotonic fit + predict", t_iso, get("isotonic_seconds"), std::abs(iso_sum / double(n) - get("isotonic_mean")));
  row("sweep, 66 pairs (macro F1)", t_sweep, get("sweep_seconds"),
      std::abs(*sweep.chosen().macro_f1() - get("sweep_best_macro_f1")));
  const bool agree = std::abs(ap - get("average_precision")) < 1e-9 && std::abs(auc - get("roc_auc")) < 1e-9 &&
                     std::abs(ece - get("ece")) < 1e-9 && std::abs(iso_sum / double(n) - get("isotonic_mean")) < 1e-9 &&
                     std::abs(*sweep.chosen().macro_f1() - get("sweep_best_macro_f1")) < 1e-12;
  std::printf("values agree: %s\n", agree ? "yes" : "NO");
  return agree ? 0 : 1;
}

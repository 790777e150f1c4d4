// Classic baseline speed and memory against scikit-learn, same run, same data.
//
// Builds a reproducible corpus of listing-sized documents (default 100k) from windows of the
// committed Debian corpus (tests/reference/corpora/debian_docs.tsv: real text, many scripts), writes
// it to a scratch file, then runs, each in its own process so peak RSS is measured separately:
//   * ours with 1 thread and with every core: TF-IDF(max_features=10000, stop_words=english)
//     fit_transform, LogisticRegression fit (to max |gradient| <= 1e-6) and predict_proba, and the
//     fit again stopped where scikit-learn's default lbfgs stops (for a like-for-like time);
//   * bench/anchor_classic.py: the same with scikit-learn (timed inside Python).
// Prints seconds per step, the speed-up ratios and each process's peak RSS.
//
// Usage: bench_classic [--docs N] [--threads N[,N...]] [--python PATH] [--source DIR] [--keep]
//   --threads  thread counts to run ours with besides 1 (default: every core)
//   --source   the kspam source tree (default: the one this program was built from; the
//              KSPAM_SOURCE_DIR environment variable also sets it), for the corpus and the anchor
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kspam/classic/logistic_regression.hpp"
#include "kspam/classic/tfidf_vectorizer.hpp"
#include "kspam/core/json_parse.hpp"
#include "kspam/core/rng.hpp"
#include "kspam/core/timer.hpp"
#include "kspam/data/read_listings.hpp"

namespace fs = std::filesystem;
using namespace kspam;

namespace {

long peak_rss_kb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

// Windows of 15-120 whitespace-separated pieces of a random source document, labeled like it.
void write_corpus(const fs::path& source, const fs::path& path, std::size_t docs) {
  const auto table = data::read_listings((source / "tests/reference/corpora/debian_docs.tsv").string());
  std::vector<std::vector<std::string>> pieces;
  std::vector<int> labels;
  for (const auto& row : table.rows) {
    std::istringstream in(row.description);
    std::vector<std::string> words;
    for (std::string w; in >> w;) words.push_back(w);
    if (words.size() < 20) continue;
    pieces.push_back(std::move(words));
    labels.push_back(row.label.value_or(0));
  }
  Rng rng(2026);
  std::ofstream out(path, std::ios::binary);
  for (std::size_t d = 0; d < docs; ++d) {
    const auto src = static_cast<std::size_t>(rng.below(pieces.size()));
    const auto& words = pieces[src];
    const auto len = std::min<std::size_t>(words.size(), 15 + static_cast<std::size_t>(rng.below(106)));
    const auto start = static_cast<std::size_t>(rng.below(words.size() - len + 1));
    out << labels[src] << '\t';
    for (std::size_t k = 0; k < len; ++k) out << (k ? " " : "") << words[start + k];
    out << '\n';
  }
  if (!out) throw Error("cannot write " + path.string());
}

int worker(const fs::path& corpus, unsigned threads) {
  std::vector<std::string> docs;
  std::vector<int> labels;
  {
    std::ifstream in(corpus, std::ios::binary);
    for (std::string line; std::getline(in, line);) {
      const auto tab = line.find('\t');
      labels.push_back(line[0] == '1' ? 1 : 0);
      docs.push_back(line.substr(tab + 1));
    }
  }
  Stopwatch watch;
  auto options = classic::TfidfOptions::baseline();
  options.threads = threads;
  classic::TfidfVectorizer vectorizer(options);
  const auto X = vectorizer.fit_transform(docs);
  const double tfidf = watch.seconds();

  classic::LogisticOptions lr_options;
  lr_options.threads = threads;
  classic::LogisticRegression model(lr_options);
  watch.restart();
  model.fit(X, labels);
  const double fit = watch.seconds();
  watch.restart();
  const Eigen::VectorXd p = model.predict_proba(X);
  const double predict = watch.seconds();

  // The same fit stopped where newer scikit-learn (1.9 on the GPU machine) stops by default: its
  // lbfgs works on the mean loss with gtol=1e-4, i.e. max |gradient of the summed loss| <= 1e-4 * n.
  // Far from converged, but the like-for-like time.
  classic::LogisticOptions loose_options = lr_options;
  loose_options.tol = 1e-4 * static_cast<double>(docs.size());
  classic::LogisticRegression loose(loose_options);
  watch.restart();
  loose.fit(X, labels);
  const double loose_fit = watch.seconds();
  const Eigen::VectorXd p_loose = loose.predict_proba(X);

  json::Value v = json::Value::object();
  v["lr_fit_loose_seconds"] = loose_fit;
  v["lr_loose_iterations"] = loose.n_iter();
  v["lr_loose_mean_probability"] = p_loose.mean();
  v["lr_loose_max_abs_p_difference"] = (p_loose - p).cwiseAbs().maxCoeff();
  v["threads"] = threads;
  v["docs"] = docs.size();
  v["tfidf_seconds"] = tfidf;
  v["lr_fit_seconds"] = fit;
  v["lr_predict_seconds"] = predict;
  v["n_features"] = vectorizer.n_features();
  v["nnz"] = static_cast<std::int64_t>(X.nonZeros());
  v["lr_iterations"] = model.n_iter();
  v["lr_converged"] = model.converged();
  v["mean_probability"] = p.mean();
  v["tie_split_at_cut"] = vectorizer.cut_report().tie_split();
  v["peak_rss_kb"] = static_cast<std::int64_t>(peak_rss_kb());
  std::cout << v.dump(-1) << std::endl;
  return 0;
}

json::Value run_json(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) throw Error("cannot run " + command);
  std::string out;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, pipe)) out += buf;
  const int status = ::pclose(pipe);
  if (status != 0) throw Error("command failed (" + std::to_string(status) + "): " + command + "\n" + out);
  const auto line_start = out.rfind('{');
  if (line_start == std::string::npos) throw Error("no JSON from: " + command + "\n" + out);
  return json::parse(out.substr(line_start), command);
}

double total(const json::Value& v) {
  return v.find("tfidf_seconds")->as_double() + v.find("lr_fit_seconds")->as_double() +
         v.find("lr_predict_seconds")->as_double();
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t docs = 100000;
  std::vector<unsigned> counts = {1};
  if (std::thread::hardware_concurrency() > 1) counts.push_back(std::thread::hardware_concurrency());
  fs::path source = KSPAM_SOURCE_DIR;
  if (const char* env = std::getenv("KSPAM_SOURCE_DIR")) source = env;
  std::string python = fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
  if (const char* env = std::getenv("KSPAM_PYTHON")) python = env;
  bool keep = false;
  std::string worker_corpus;
  unsigned worker_threads = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw Error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--docs") docs = std::stoul(next());
    else if (a == "--threads") {
      counts = {1};
      std::stringstream list(next());
      for (std::string item; std::getline(list, item, ',');)
        if (const auto t = static_cast<unsigned>(std::stoul(item)); t > 1) counts.push_back(t);
    }
    else if (a == "--source") source = next();
    else if (a == "--python") python = next();
    else if (a == "--keep") keep = true;
    else if (a == "--worker") worker_corpus = next();
    else if (a == "--worker-threads") worker_threads = static_cast<unsigned>(std::stoul(next()));
    else {
      std::cerr << "usage: bench_classic [--docs N] [--threads N[,N...]] [--python PATH] [--source DIR] [--keep]\n";
      return 2;
    }
  }
  try {
    if (!worker_corpus.empty()) return worker(worker_corpus, worker_threads);

    const fs::path dir = fs::temp_directory_path() / ("kspam-bench-classic-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const fs::path corpus = dir / "corpus.tsv";
    write_corpus(source, corpus, docs);
    std::printf("machine: %u hardware threads\n", std::thread::hardware_concurrency());
    std::printf("corpus: %zu documents, %.1f MB (windows of tests/reference/corpora/debian_docs.tsv, seed 2026)\n", docs,
                static_cast<double>(fs::file_size(corpus)) / 1e6);
    const std::string self = fs::read_symlink("/proc/self/exe").string();

    std::vector<json::Value> ours;
    for (unsigned t : counts)
      ours.push_back(run_json("'" + self + "' --worker '" + corpus.string() + "' --worker-threads " + std::to_string(t)));
    const auto anchor = run_json(python + " '" + (source / "bench/anchor_classic.py").string() + "' '" +
                                 corpus.string() + "'");

    auto row = [](const char* name, const json::Value& v) {
      std::printf("%-22s %9.3f %9.3f %9.3f %9.3f %10.1f %8lld %9lld %5lld%s\n", name, v.find("tfidf_seconds")->as_double(),
                  v.find("lr_fit_seconds")->as_double(), v.find("lr_predict_seconds")->as_double(), total(v),
                  static_cast<double>(v.find("peak_rss_kb")->as_int()) / 1024.0,
                  static_cast<long long>(v.find("n_features")->as_int()), static_cast<long long>(v.find("nnz")->as_int()),
                  static_cast<long long>(v.find("lr_iterations")->as_int()),
                  v.find("lr_converged")->as_bool() ? "" : " (not converged)");
    };
    std::printf("\n%-22s %9s %9s %9s %9s %10s %8s %9s %5s\n", "", "tfidf s", "lr fit s", "predict s", "total s",
                "peak MiB", "features", "nnz", "iters");
    row(("scikit-learn " + anchor.find("sklearn")->as_string()).c_str(), anchor);
    for (std::size_t k = 0; k < ours.size(); ++k)
      row(("kspam, " + std::to_string(counts[k]) + (counts[k] == 1 ? " thread" : " threads")).c_str(), ours[k]);

    std::printf("\nspeed-up over scikit-learn (same corpus, same run):\n");
    for (std::size_t k = 0; k < ours.size(); ++k) {
      const auto& v = ours[k];
      std::printf("  %2u thread%s: tfidf %.1fx, lr fit %.1fx, lr predict %.1fx, total %.1fx\n", counts[k],
                  counts[k] == 1 ? " " : "s", anchor.find("tfidf_seconds")->as_double() / v.find("tfidf_seconds")->as_double(),
                  anchor.find("lr_fit_seconds")->as_double() / v.find("lr_fit_seconds")->as_double(),
                  anchor.find("lr_predict_seconds")->as_double() / v.find("lr_predict_seconds")->as_double(),
                  total(anchor) / total(v));
    }
    for (std::size_t k = 1; k < ours.size(); ++k)
      std::printf("  thread scaling 1 -> %u: tfidf %.2fx, lr fit %.2fx, total %.2fx\n", counts[k],
                  ours[0].find("tfidf_seconds")->as_double() / ours[k].find("tfidf_seconds")->as_double(),
                  ours[0].find("lr_fit_seconds")->as_double() / ours[k].find("lr_fit_seconds")->as_double(),
                  total(ours[0]) / total(ours[k]));
    std::printf("\nlogistic regression stopped at max |mean-loss gradient| <= 1e-4 (newer scikit-learn's lbfgs default, gtol on the mean loss):\n");
    for (std::size_t k = 0; k < ours.size(); ++k) {
      const auto& v = ours[k];
      std::printf("  %2u thread%s: %.3f s, %lld Newton steps, %.1fx scikit-learn's fit; max |P - P_converged| %.2e\n",
                  counts[k], counts[k] == 1 ? " " : "s", v.find("lr_fit_loose_seconds")->as_double(),
                  static_cast<long long>(v.find("lr_loose_iterations")->as_int()),
                  anchor.find("lr_fit_seconds")->as_double() / v.find("lr_fit_loose_seconds")->as_double(),
                  v.find("lr_loose_max_abs_p_difference")->as_double());
    }
    std::printf("peak RSS: kspam %.1f MiB (1 thread) vs scikit-learn %.1f MiB (python process incl. interpreter and corpus)\n",
                static_cast<double>(ours[0].find("peak_rss_kb")->as_int()) / 1024.0,
                static_cast<double>(anchor.find("peak_rss_kb")->as_int()) / 1024.0);
    std::printf("mean P(spam): kspam converged %.6f, kspam at sklearn's stopping point %.6f, scikit-learn %.6f\n",
                ours[0].find("mean_probability")->as_double(), ours[0].find("lr_loose_mean_probability")->as_double(),
                anchor.find("mean_probability")->as_double());
    if (ours[0].find("tie_split_at_cut")->as_bool())
      std::printf("note: the max_features cut fell inside a tie, so the two vocabularies may differ in tied terms\n");
    if (!keep) fs::remove_all(dir);
    else std::printf("corpus kept at %s\n", corpus.string().c_str());
  } catch (const std::exception& e) {
    std::cerr << "bench_classic: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

// Tokenizer speed: kspam's Qwen3 tokenizer against Hugging Face tokenizers on the same corpus, in
// the same run. Prints single-thread MB/s and tokens/s for a per-text loop (ours vs HF through its
// Python binding), the batch encoders on one thread (HF with RAYON_NUM_THREADS=1), and how our batch
// encoder scales with threads. Also checks that both produce the same ids.
//
//   bench_tokenizer [--tokenizer ~/.cache/kspam/qwen3/tokenizer.json]
//                   [--corpus tests/reference/corpora/text/corpus.jsonl]
//                   [--threads 1,2,4,8,16] [--repeat 3] [--no-anchor]
//
// The anchor needs python3 with `tokenizers` (the GPU machine has 0.23.2); without it only our
// figures are printed and the line says the anchor is unavailable.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "kspam/core/atomic_file.hpp"
#include "kspam/core/error.hpp"
#include "kspam/core/json_parse.hpp"
#include "kspam/core/timer.hpp"
#include "kspam/text/tokenizer.hpp"

namespace {

// The anchor, run by python3: prints one JSON line of measurements. argv: tokenizer corpus repeat mode
constexpr const char* kAnchor = R"PY(
import json, sys, time
from tokenizers import Tokenizer
tok = Tokenizer.from_file(sys.argv[1])
texts = [json.loads(l)["text"] for l in open(sys.argv[2], encoding="utf-8")]
repeat, mode = int(sys.argv[3]), sys.argv[4]
nbytes = sum(len(t.encode("utf-8")) for t in texts)
out = {"version": __import__("tokenizers").__version__, "bytes": nbytes}
def best(fn):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter(); r = fn(); times.append(time.perf_counter() - t0)
    return min(times), r
if mode == "loop":
    enc = tok.encode
    s, ids = best(lambda: [enc(t, add_special_tokens=False).ids for t in texts])
    out["loop_seconds"] = s
    out["tokens"] = sum(len(i) for i in ids)
    out["checksum"] = sum((k + 1) * x for i in ids for k, x in enumerate(i)) % (1 << 61)
s, _ = best(lambda: tok.encode_batch(texts, add_special_tokens=False))
out["batch_seconds"] = s
print(json.dumps(out))
)PY";

struct Args {
  std::string tokenizer, corpus;
  std::vector<unsigned> threads{1, 2, 4, 8, 16};
  int repeat = 3;
  bool anchor = true;
};

std::string run_anchor(const Args& a, const char* mode, bool one_thread) {
  const std::string script_path = "/tmp/kspam_bench_tokenizer_anchor.py";
  kspam::write_file_atomically(script_path, kAnchor);
  std::string cmd = std::string(one_thread ? "RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=true " : "") + "python3 " +
                    script_path + " '" + a.tokenizer + "' '" + a.corpus + "' " + std::to_string(a.repeat) + " " + mode +
                    " 2>/dev/null";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return {};
  std::string out;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, pipe)) out += buf;
  if (::pclose(pipe) != 0) return {};
  return out;
}

std::uint64_t checksum(const std::vector<std::vector<kspam::text::TokenId>>& ids) {
  // Same formula as the anchor's, so equal checksums mean equal ids (with overwhelming odds).
  constexpr std::uint64_t kMod = std::uint64_t{1} << 61;
  std::uint64_t sum = 0;
  for (const auto& v : ids)
    for (std::size_t k = 0; k < v.size(); ++k) sum = (sum + (std::uint64_t(k + 1) * v[k]) % kMod) % kMod;
  return sum;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Args a;
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      auto value = [&]() -> std::string {
        if (i + 1 >= argc) throw kspam::Error("missing value after " + arg);
        return argv[++i];
      };
      if (arg == "--tokenizer") a.tokenizer = value();
      else if (arg == "--corpus") a.corpus = value();
      else if (arg == "--repeat") a.repeat = std::max(1, std::atoi(value().c_str()));
      else if (arg == "--no-anchor") a.anchor = false;
      else if (arg == "--threads") {
        a.threads.clear();
        std::string list = value();
        for (std::size_t p = 0; p < list.size();) {
          const std::size_t q = std::min(list.find(',', p), list.size());
          a.threads.push_back(static_cast<unsigned>(std::atoi(list.substr(p, q - p).c_str())));
          p = q + 1;
        }
      } else throw kspam::Error("unknown argument " + arg);
    }
    if (a.tokenizer.empty()) {
      const char* home = std::getenv("HOME");
      a.tokenizer = std::string(home ? home : ".") + "/.cache/kspam/qwen3/tokenizer.json";
    }
    if (a.corpus.empty()) a.corpus = std::string(KSPAM_SOURCE_DIR) + "/tests/reference/corpora/text/corpus.jsonl";

    std::vector<std::string> texts;
    {
      const std::string content = kspam::read_file(a.corpus);
      std::size_t line_no = 0;
      for (std::size_t p = 0; p < content.size();) {
        const std::size_t q = std::min(content.find('\n', p), content.size());
        ++line_no;
        if (q > p) {
          const auto v = kspam::json::parse(std::string_view(content).substr(p, q - p), a.corpus + ":" + std::to_string(line_no));
          texts.push_back(v.find("text")->as_string());
        }
        p = q + 1;
      }
    }
    std::size_t bytes = 0;
    for (const auto& t : texts) bytes += t.size();

    kspam::Stopwatch load_watch;
    const auto tok = kspam::text::Tokenizer::from_file(a.tokenizer);
    const double load_s = load_watch.seconds();
    std::printf("corpus: %zu texts, %.2f MB; tokenizer loaded in %.3f s\n", texts.size(), bytes / 1e6, load_s);

    // Ours, per-text loop on one thread (the same shape as the anchor's Python loop).
    std::vector<std::vector<kspam::text::TokenId>> ids(texts.size());
    double loop_s = 1e30;
    for (int r = 0; r < a.repeat; ++r) {
      kspam::Stopwatch w;
      for (std::size_t i = 0; i < texts.size(); ++i) ids[i] = tok.encode(texts[i]);
      loop_s = std::min(loop_s, w.seconds());
    }
    std::size_t tokens = 0;
    for (const auto& v : ids) tokens += v.size();
    const std::uint64_t ours_sum = checksum(ids);
    std::printf("ours  loop  1 thread : %8.2f MB/s  %10.0f tokens/s  (%zu tokens)\n", bytes / loop_s / 1e6,
                tokens / loop_s, tokens);

    std::vector<std::pair<unsigned, double>> batch;
    for (unsigned t : a.threads) {
      double best = 1e30;
      for (int r = 0; r < a.repeat; ++r) {
        kspam::Stopwatch w;
        auto out = tok.encode_batch(texts, t);
        best = std::min(best, w.seconds());
        if (checksum(out) != ours_sum) throw kspam::Error("batch encoder gave different ids than the loop");
      }
      batch.emplace_back(t, best);
      std::printf("ours  batch %2u thread%s: %8.2f MB/s  %10.0f tokens/s  speed-up %.2fx over 1 thread\n", t,
                  t == 1 ? " " : "s", bytes / best / 1e6, tokens / best, batch.front().second / best);
    }

    if (!a.anchor) return 0;
    const std::string loop_json = run_anchor(a, "loop", false);
    const std::string batch1_json = run_anchor(a, "batch", true);
    if (loop_json.empty() || batch1_json.empty()) {
      std::printf("anchor: unavailable (python3 with Hugging Face tokenizers not found)\n");
      return 0;
    }
    const auto hf = kspam::json::parse(loop_json, "anchor");
    const auto hf1 = kspam::json::parse(batch1_json, "anchor");
    const double hf_loop = hf.find("loop_seconds")->as_double();
    const double hf_batch_all = hf.find("batch_seconds")->as_double();
    const double hf_batch1 = hf1.find("batch_seconds")->as_double();
    const bool same_ids = static_cast<std::uint64_t>(hf.find("checksum")->as_double()) == ours_sum &&
                          static_cast<std::size_t>(hf.find("tokens")->as_int()) == tokens;
    std::printf("HF tokenizers %s: loop 1 thread %.2f MB/s, encode_batch 1 thread %.2f MB/s, encode_batch all cores %.2f MB/s\n",
                hf.find("version")->as_string().c_str(), bytes / hf_loop / 1e6, bytes / hf_batch1 / 1e6,
                bytes / hf_batch_all / 1e6);
    std::printf("ratio ours/HF, loop 1 thread        : %.2fx\n", hf_loop / loop_s);
    std::printf("ratio ours/HF, batch 1 thread       : %.2fx\n", hf_batch1 / batch.front().second);
    std::printf("ratio ours(%u threads)/HF(all cores): %.2fx\n", batch.back().first, hf_batch_all / batch.back().second);
    std::printf("same ids as HF: %s\n", same_ids ? "yes" : "NO");
    return same_ids ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_tokenizer: %s\n", e.what());
    return 1;
  }
}

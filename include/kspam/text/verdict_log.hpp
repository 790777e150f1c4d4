#pragma once
// The malformed-answer rate of a prediction run and its sample_responses.jsonl: every parse outcome
// is counted by reason; all malformed responses up to a cap and the first few well-formed ones are
// kept verbatim (repaired to valid UTF-8) for a person to read.
#include <array>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "kspam/core/atomic_file.hpp"
#include "kspam/core/json.hpp"
#include "kspam/text/utf8_text.hpp"
#include "kspam/text/verdict.hpp"

namespace kspam::text {

// Counts parse outcomes and keeps a sample of raw responses (all malformed ones up to a cap, and
// the first few well-formed ones) for sample_responses.jsonl.
class VerdictLog {
 public:
  explicit VerdictLog(std::size_t max_malformed_samples = 200, std::size_t max_ok_samples = 20)
      : max_malformed_(max_malformed_samples), max_ok_(max_ok_samples) {}

  void add(std::string_view id, std::string_view raw, const VerdictResult& result) {
    ++counts_[static_cast<std::size_t>(result.problem)];
    ++total_;
    const bool ok = result.ok();
    std::size_t& kept = ok ? ok_kept_ : malformed_kept_;
    if (kept >= (ok ? max_ok_ : max_malformed_)) return;
    ++kept;
    json::Value line = json::Value::object();
    line["id"] = std::string(id);
    line["ok"] = ok;
    line["problem"] = problem_name(result.problem);
    line["response"] = to_valid_utf8(raw);
    if (ok) {
      line["is_spam"] = result.verdict->is_spam;
      line["confidence"] = result.verdict->confidence;
      line["reason"] = to_valid_utf8(result.verdict->reason);
    }
    samples_.push_back(line.dump(-1));
  }

  std::size_t total() const { return total_; }
  std::size_t malformed() const { return total_ - counts_[0]; }
  double malformed_rate() const { return total_ ? double(malformed()) / double(total_) : 0.0; }

  json::Value summary() const {
    json::Value v = json::Value::object();
    v["responses"] = total_;
    v["malformed"] = malformed();
    v["malformed_rate"] = malformed_rate();
    json::Value by = json::Value::object();
    for (std::size_t k = 1; k < kVerdictProblemCount; ++k)
      if (counts_[k]) by[problem_name(VerdictProblem(k))] = counts_[k];
    v["malformed_by_reason"] = by;
    return v;
  }

  void write_samples(const std::filesystem::path& path) const {
    std::string out;
    for (const auto& s : samples_) out += s + "\n";
    write_file_atomically(path, out);
  }

 private:
  std::size_t max_malformed_, max_ok_;
  std::size_t malformed_kept_ = 0, ok_kept_ = 0, total_ = 0;
  std::array<std::size_t, kVerdictProblemCount> counts_{};
  std::vector<std::string> samples_;
};

}  // namespace kspam::text

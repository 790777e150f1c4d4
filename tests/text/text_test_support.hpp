#pragma once
// Shared by the text tests: the real Qwen3 tokenizer (loaded once per test program) and the
// committed fixtures made by tests/reference/make_text_fixtures.py.
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "kspam/core/atomic_file.hpp"
#include "kspam/core/json_parse.hpp"
#include "kspam/text/tokenizer.hpp"

namespace kspam::text::testing {

inline std::filesystem::path fixture_dir() {
  return std::filesystem::path(KSPAM_SOURCE_DIR) / "tests" / "reference" / "fixtures" / "text";
}
inline std::filesystem::path corpus_dir() {
  return std::filesystem::path(KSPAM_SOURCE_DIR) / "tests" / "reference" / "corpora" / "text";
}

// scripts/setup.d/tokenizer.sh installs it; KSPAM_TOKENIZER points elsewhere.
inline std::filesystem::path tokenizer_path() {
  if (const char* p = std::getenv("KSPAM_TOKENIZER")) return p;
  std::filesystem::path cache;
  if (const char* c = std::getenv("KSPAM_CACHE_DIR")) cache = c;
  else if (const char* h = std::getenv("HOME")) cache = std::filesystem::path(h) / ".cache" / "kspam";
  return cache / "qwen3" / "tokenizer.json";
}

inline const Tokenizer& qwen3() {
  static const Tokenizer tokenizer = [] {
    const auto path = tokenizer_path();
    if (!std::filesystem::exists(path))
      FAIL("the Qwen3 tokenizer is missing at " << path.string() << ": run scripts/setup.sh (or set KSPAM_TOKENIZER)");
    return Tokenizer::from_file(path);
  }();
  return tokenizer;
}

inline std::vector<json::Value> read_jsonl(const std::filesystem::path& path) {
  const std::string content = read_file(path);
  std::vector<json::Value> out;
  std::size_t line = 0;
  for (std::size_t p = 0; p < content.size();) {
    const std::size_t q = std::min(content.find('\n', p), content.size());
    ++line;
    if (q > p) out.push_back(json::parse(std::string_view(content).substr(p, q - p), path.string() + ":" + std::to_string(line)));
    p = q + 1;
  }
  return out;
}

inline std::string from_hex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

}  // namespace kspam::text::testing

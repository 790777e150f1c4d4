#pragma once
// The Qwen3 tokenizer: loads a Hugging Face tokenizer.json and encodes text to ids exactly as
// Hugging Face tokenizers does (qwen3-vl-architecture.md §7): added tokens are split out of the raw
// text first; each segment between them is NFC-normalised, pre-tokenized and BPE-encoded. Decoding
// maps ids back to bytes and repairs any invalid UTF-8 the way Hugging Face does (U+FFFD).
//
// Host-only (simdjson). Thread-safe for concurrent encode/decode; each thread keeps its own small
// cache of multi-token pieces.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "kspam/core/atomic_file.hpp"
#include "kspam/core/error.hpp"
#include "kspam/core/thread_pool.hpp"
#include "kspam/core/utf8.hpp"
#include "kspam/text/bpe.hpp"
#include "kspam/text/nfc.hpp"
#include "kspam/text/pretokenizer.hpp"
#include "kspam/text/utf8_text.hpp"

namespace kspam::text {

// The pre-tokenizer pattern of Qwen2/Qwen2.5/Qwen3; the only one this implementation reproduces.
inline constexpr std::string_view kQwenSplitPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Where scripts/setup.d/tokenizer.sh installs the Qwen3 tokenizer:
// ${KSPAM_CACHE_DIR:-$HOME/.cache/kspam}/qwen3/tokenizer.json.
inline std::filesystem::path default_tokenizer_path() {
  std::filesystem::path cache;
  if (const char* dir = std::getenv("KSPAM_CACHE_DIR"); dir && *dir) cache = dir;
  else if (const char* home = std::getenv("HOME"); home && *home) cache = std::filesystem::path(home) / ".cache" / "kspam";
  else cache = ".kspam-cache";
  return cache / "qwen3" / "tokenizer.json";
}

// Loads `path`, or the default location when empty, with a helpful error when it is absent.
class Tokenizer;
Tokenizer load_tokenizer(const std::filesystem::path& path = {});

struct AddedToken {
  TokenId id = 0;
  std::string content;
  bool special = false;  // dropped by decode(..., skip_special = true)
};

class Tokenizer {
 public:
  static Tokenizer from_file(const std::filesystem::path& path) {
    return from_json(read_file(path), path.string());
  }

  static Tokenizer from_json(std::string_view json, const std::string& origin) {
    simdjson::dom::parser parser;
    simdjson::padded_string padded(json);
    simdjson::dom::element root;
    if (auto error = parser.parse(padded).get(root))
      throw InputError(origin, std::string("not valid JSON: ") + simdjson::error_message(error));
    return Tokenizer(root, origin);
  }

  // Ids of `text` (any bytes; invalid UTF-8 is repaired first, see utf8_text.hpp). No BOS/EOS.
  std::vector<TokenId> encode(std::string_view text) const {
    std::vector<TokenId> ids;
    encode(text, ids);
    return ids;
  }

  // Appends the ids of `text` to `out`.
  void encode(std::string_view text, std::vector<TokenId>& out) const {
    if (!is_valid_utf8(text)) {
      const std::string repaired = to_valid_utf8(text);
      encode_valid(repaired, out);
    } else {
      encode_valid(text, out);
    }
  }

  // Encodes many texts on `threads` threads (0 = all cores); results in input order.
  std::vector<std::vector<TokenId>> encode_batch(std::span<const std::string> texts, unsigned threads = 0) const {
    std::vector<std::vector<TokenId>> out(texts.size());
    parallel_for(0, texts.size(), [&](std::size_t i) { encode(texts[i], out[i]); }, threads, 16);
    return out;
  }

  // Text of `ids`. Unknown ids are skipped (as Hugging Face does); with skip_special the added
  // tokens flagged special are left out. Invalid UTF-8 from partial byte sequences becomes U+FFFD.
  std::string decode(std::span<const TokenId> ids, bool skip_special = false) const {
    std::string bytes;
    for (TokenId id : ids) {
      if (const AddedToken* t = added_by_id(id)) {
        if (!(skip_special && t->special)) bytes += t->content;
      } else if (bpe_->has_id(id)) {
        bytes += bpe_->bytes_of(id);
      }
    }
    return to_valid_utf8(bytes);
  }

  // Id of a token by its text (an added token such as "<|im_end|>", or a vocabulary entry in the
  // byte-level alphabet), if it exists.
  std::optional<TokenId> token_id(std::string_view token) const {
    for (const auto& t : added_)
      if (t.content == token) return t.id;
    const auto& vocab = bpe_->vocab_by_text();
    if (const auto it = vocab.find(token); it != vocab.end()) return it->second;
    return std::nullopt;
  }

  // As token_id, but a missing token is an error naming the tokenizer file.
  TokenId require_token(std::string_view token) const {
    if (auto id = token_id(token)) return *id;
    throw InputError(origin_, 0, "", std::string(token), "tokenizer has no such token (is this a Qwen3 tokenizer.json?)");
  }

  const std::vector<AddedToken>& added_tokens() const { return added_; }
  std::size_t vocab_size() const { return bpe_->vocab_size(); }
  std::size_t merge_count() const { return bpe_->merge_count(); }
  const std::string& origin() const { return origin_; }

 private:
  Tokenizer(simdjson::dom::element root, std::string origin) : origin_(std::move(origin)) {
    auto fail = [&](const std::string& field, const std::string& value, const std::string& problem) {
      throw InputError(origin_, 0, field, value, problem);
    };
    auto string_of = [](simdjson::dom::element e) -> std::string {
      std::string_view v;
      return e.get_string().get(v) ? std::string() : std::string(v);
    };
    auto type_of = [&](simdjson::dom::element e) { return string_of(e["type"].value_unsafe()); };

    // Normalizer: NFC (or none). Anything else would change ids silently, so it is refused.
    simdjson::dom::element normalizer;
    if (!root["normalizer"].get(normalizer) && !normalizer.is_null()) {
      const std::string type = normalizer["type"].error() ? "" : type_of(normalizer);
      if (type == "NFC") nfc_ = true;
      else fail("normalizer", type, "unsupported normalizer (kspam reproduces NFC byte-level BPE tokenizers)");
    }
    // Pre-tokenizer: the Qwen split followed by a ByteLevel step that does not split again.
    simdjson::dom::element pre;
    if (root["pre_tokenizer"].get(pre) || pre.is_null() || pre["type"].error() || type_of(pre) != "Sequence")
      fail("pre_tokenizer", "", "expected the Qwen pre-tokenizer (Sequence of Split and ByteLevel)");
    simdjson::dom::array steps;
    if (pre["pretokenizers"].get(steps) || steps.size() != 2)
      fail("pre_tokenizer", "", "expected the Qwen pre-tokenizer (Sequence of Split and ByteLevel)");
    const simdjson::dom::element split = steps.at(0).value_unsafe(), byte_level = steps.at(1).value_unsafe();
    std::string pattern;
    if (!split["pattern"].error() && !split["pattern"]["Regex"].error()) pattern = string_of(split["pattern"]["Regex"].value_unsafe());
    if (split["type"].error() || type_of(split) != "Split" || pattern != kQwenSplitPattern)
      fail("pre_tokenizer.pretokenizers[0]", pattern, "unsupported split pattern (only Qwen2/Qwen3's is implemented)");
    bool use_regex = true;
    if (byte_level["type"].error() || type_of(byte_level) != "ByteLevel" || byte_level["use_regex"].get(use_regex) || use_regex)
      fail("pre_tokenizer.pretokenizers[1]", "", "expected ByteLevel with use_regex=false");

    // Model: plain byte-level BPE.
    simdjson::dom::element model;
    if (root["model"].get(model) || model["type"].error() || type_of(model) != "BPE")
      fail("model.type", "", "expected a BPE model");
    bool byte_fallback = false;
    if (!model["byte_fallback"].get(byte_fallback) && byte_fallback)
      fail("model.byte_fallback", "true", "byte fallback is not supported");
    simdjson::dom::element dropout;
    if (!model["dropout"].get(dropout) && !dropout.is_null())
      fail("model.dropout", "", "BPE dropout is not supported (encoding would not be deterministic)");
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
      simdjson::dom::element e;
      if (!model[key].get(e) && !e.is_null() && !string_of(e).empty())
        fail(std::string("model.") + key, string_of(e), "subword prefixes/suffixes are not supported");
    }
    simdjson::dom::object vocab_object;
    if (model["vocab"].get(vocab_object)) fail("model.vocab", "", "missing or not an object");
    std::vector<std::pair<std::string, TokenId>> vocab;
    vocab.reserve(vocab_object.size());
    for (auto field : vocab_object) {
      std::uint64_t id = 0;
      if (field.value.get(id) || id > 0x7fffffff) fail("model.vocab", std::string(field.key), "token id is not a non-negative integer");
      vocab.emplace_back(std::string(field.key), static_cast<TokenId>(id));
    }
    simdjson::dom::array merge_array;
    if (model["merges"].get(merge_array)) fail("model.merges", "", "missing or not an array");
    std::vector<std::pair<std::string, std::string>> merges;
    merges.reserve(merge_array.size());
    for (auto m : merge_array) {
      // Two spellings exist: "left right" (older files) and ["left", "right"].
      std::string_view text;
      simdjson::dom::array pair;
      if (!m.get(text)) {
        const auto space = text.find(' ');
        if (space == std::string_view::npos || text.find(' ', space + 1) != std::string_view::npos)
          fail("model.merges", std::string(text), "a merge must be two tokens separated by one space");
        merges.emplace_back(std::string(text.substr(0, space)), std::string(text.substr(space + 1)));
      } else if (!m.get(pair) && pair.size() == 2) {
        merges.emplace_back(string_of(pair.at(0).value_unsafe()), string_of(pair.at(1).value_unsafe()));
      } else {
        fail("model.merges", "", "a merge must be a string or a pair of strings");
      }
    }
    bpe_ = std::make_shared<const BpeModel>(vocab, merges, origin_);

    // Added tokens: matched in the raw text, leftmost then longest.
    simdjson::dom::array added;
    if (!root["added_tokens"].get(added)) {
      for (auto t : added) {
        AddedToken token;
        std::uint64_t id = 0;
        if (t["id"].get(id)) fail("added_tokens", "", "an added token lacks an integer id");
        token.id = static_cast<TokenId>(id);
        token.content = t["content"].error() ? "" : string_of(t["content"].value_unsafe());
        if (token.content.empty()) fail("added_tokens", std::to_string(id), "an added token has no content");
        bool flag = false;
        if (!t["special"].get(flag)) token.special = flag;
        for (const char* key : {"lstrip", "rstrip", "single_word", "normalized"}) {
          bool value = false;
          if (!t[key].get(value) && value)
            fail("added_tokens", token.content, std::string(key) + "=true is not supported");
        }
        added_.push_back(std::move(token));
      }
    }
    // Longest first within each first byte, so the first match at a position is the longest.
    by_first_byte_.resize(256);
    for (std::size_t k = 0; k < added_.size(); ++k)
      by_first_byte_[static_cast<unsigned char>(added_[k].content[0])].push_back(k);
    for (auto& list : by_first_byte_)
      std::sort(list.begin(), list.end(), [&](std::size_t a, std::size_t b) {
        return added_[a].content.size() > added_[b].content.size();
      });
    for (std::size_t k = 0; k < added_.size(); ++k) {
      if (added_[k].id >= added_index_.size()) added_index_.resize(added_[k].id + 1, -1);
      added_index_[added_[k].id] = static_cast<std::int64_t>(k);
    }
  }

  const AddedToken* added_by_id(TokenId id) const {
    if (id >= added_index_.size() || added_index_[id] < 0) return nullptr;
    return &added_[static_cast<std::size_t>(added_index_[id])];
  }

  void encode_valid(std::string_view text, std::vector<TokenId>& out) const {
    std::size_t segment_start = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
      const auto& candidates = by_first_byte_[static_cast<unsigned char>(text[i])];
      if (candidates.empty()) continue;
      for (std::size_t k : candidates) {
        const std::string& content = added_[k].content;
        if (text.compare(i, content.size(), content) == 0) {
          encode_segment(text.substr(segment_start, i - segment_start), out);
          out.push_back(added_[k].id);
          i += content.size() - 1;
          segment_start = i + 1;
          break;
        }
      }
    }
    encode_segment(text.substr(segment_start), out);
  }

  void encode_segment(std::string_view segment, std::vector<TokenId>& out) const {
    if (segment.empty()) return;
    if (nfc_ && !nfc_unchanged_quick(segment)) {
      const std::string normalized = nfc(segment);
      encode_normalized(normalized, out);
    } else {
      encode_normalized(segment, out);
    }
  }

  void encode_normalized(std::string_view text, std::vector<TokenId>& out) const {
    PieceCache& cache = thread_cache();
    pretokenize(text, [&](std::size_t begin, std::size_t end) {
      const std::string_view piece = text.substr(begin, end - begin);
      if (const TokenId* id = bpe_->whole_token(piece)) {
        out.push_back(*id);
        return;
      }
      if (piece.size() <= kCacheablePiece) {
        if (const auto* hit = cache.map.find(piece)) {
          out.insert(out.end(), cache.ids.begin() + hit->first, cache.ids.begin() + hit->first + hit->second);
          return;
        }
      }
      const std::size_t first = out.size();
      bpe_->merge(piece, out);
      const std::size_t n = out.size() - first;
      if ( piece.size() <= kCacheablePiece && cache.map.size() < kCacheCapacity) {
        cache.map.insert(piece, {static_cast<std::uint32_t>(cache.ids.size()), static_cast<std::uint32_t>(n)});
        cache.ids.insert(cache.ids.end(), out.begin() + static_cast<std::ptrdiff_t>(first), out.end());
      }
    });
  }

  // Per-thread memo of multi-token pieces, tied to one tokenizer instance by its serial number
  // (bounded like Hugging Face's: the first 10,000 pieces shorter than 256 bytes, never evicted).
  static constexpr std::size_t kCacheCapacity = 10000;
  static constexpr std::size_t kCacheablePiece = 255;
  struct PieceCache {
    std::uint64_t owner = 0;
    FlatStringMap<std::pair<std::uint32_t, std::uint32_t>> map;  // piece -> (offset, count) in ids
    std::vector<TokenId> ids;
  };
  PieceCache& thread_cache() const {
    thread_local PieceCache cache;
    if (cache.owner != serial_) {
      cache.map.clear();
      cache.ids.clear();
      cache.owner = serial_;
    }
    return cache;
  }
  static std::uint64_t next_serial() {
    static std::atomic<std::uint64_t> counter{0};
    return ++counter;
  }

  std::string origin_;
  bool nfc_ = false;
  std::shared_ptr<const BpeModel> bpe_;
  std::vector<AddedToken> added_;
  std::vector<std::vector<std::size_t>> by_first_byte_;
  std::vector<std::int64_t> added_index_;
  std::uint64_t serial_ = next_serial();
};

inline Tokenizer load_tokenizer(const std::filesystem::path& path) {
  const auto p = path.empty() ? default_tokenizer_path() : path;
  if (!std::filesystem::exists(p))
    throw InputError(p.string(), path.empty() ? "the Qwen3 tokenizer is not installed: run scripts/setup.sh, or pass "
                                                "--tokenizer with a checkpoint's tokenizer.json"
                                              : "no such tokenizer file");
  return Tokenizer::from_file(p);
}

}  // namespace kspam::text

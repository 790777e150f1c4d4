#pragma once
// Byte-level BPE (GPT-2 / Qwen): the byte-to-unicode alphabet, the vocabulary and ranked merges,
// and the merge loop that turns one pre-tokenized piece into ids.
//
// Merging follows Hugging Face: repeatedly merge the adjacent pair of lowest rank; among equal
// ranks the leftmost first. Short pieces (nearly all) use a plain scan over a small array; long
// ones (space runs, base64, URLs) a min-heap over a linked list, so no input is quadratic.
#include <array>
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kspam/core/error.hpp"
#include "kspam/text/utf8_text.hpp"

namespace kspam::text {

using TokenId = std::uint32_t;

// A fast hash for short byte strings (8 bytes at a time, multiply-xorshift mixing).
inline std::uint64_t hash_bytes(std::string_view s) noexcept {
  std::uint64_t h = 0x9E3779B97F4A7C15ULL ^ (s.size() * 0xC2B2AE3D27D4EB4FULL);
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t chunk;
    std::memcpy(&chunk, s.data() + i, 8);
    h = (h ^ chunk) * 0xFF51AFD7ED558CCDULL;
    h ^= h >> 32;
  }
  if (i < s.size()) {
    std::uint64_t chunk = 0;
    std::memcpy(&chunk, s.data() + i, s.size() - i);
    h = (h ^ chunk) * 0xC4CEB9FE1A85EC53ULL;
    h ^= h >> 29;
  }
  h *= 0x94D049BB133111EBULL;
  return h ^ (h >> 31);
}

// Open-addressing map from byte strings to small values, keys packed in one arena: lookups touch
// two contiguous arrays instead of chasing list nodes, which is what dominates a node-based map
// with 151k keys. Insert-only (the vocabulary and the bounded piece cache never delete).
template <typename V>
class FlatStringMap {
 public:
  void reserve(std::size_t n) {
    std::size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    slots_.assign(cap, 0);
    mask_ = cap - 1;
    entries_.reserve(n);
    for (std::uint32_t k = 0; k < entries_.size(); ++k) place(k);
  }
  const V* find(std::string_view key) const {
    if (slots_.empty()) return nullptr;
    const std::uint64_t h = hash_bytes(key);
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      const std::uint32_t slot = slots_[i];
      if (slot == 0) return nullptr;
      const Entry& e = entries_[slot - 1];
      if (e.hash == h && e.length == key.size() && std::memcmp(arena_.data() + e.offset, key.data(), key.size()) == 0)
        return &e.value;
    }
  }
  // Inserts unless present; returns false when the key was already there.
  bool insert(std::string_view key, V value) {
    if (find(key)) return false;
    if ((entries_.size() + 1) * 2 > slots_.size()) reserve(std::max<std::size_t>(16, entries_.size() * 2 + 2));
    entries_.push_back({hash_bytes(key), static_cast<std::uint32_t>(arena_.size()), static_cast<std::uint32_t>(key.size()),
                        std::move(value)});
    arena_.append(key);
    place(static_cast<std::uint32_t>(entries_.size() - 1));
    return true;
  }
  std::size_t size() const { return entries_.size(); }
  void clear() {
    entries_.clear();
    arena_.clear();
    std::fill(slots_.begin(), slots_.end(), 0);
  }

 private:
  struct Entry {
    std::uint64_t hash;
    std::uint32_t offset, length;
    V value;
  };
  void place(std::uint32_t k) {
    for (std::size_t i = entries_[k].hash & mask_;; i = (i + 1) & mask_) {
      if (slots_[i] == 0) {
        slots_[i] = k + 1;
        return;
      }
    }
  }
  std::vector<std::uint32_t> slots_;  // entry index + 1; 0 = empty
  std::size_t mask_ = 0;
  std::vector<Entry> entries_;
  std::string arena_;
};

// Lets unordered_map<std::string, ...> be searched with a string_view without a copy.
struct StringViewHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
template <typename V>
using StringMap = std::unordered_map<std::string, V, StringViewHash, std::equal_to<>>;

// GPT-2's bytes_to_unicode: printable bytes map to themselves, the other 68 (0-32, 127-160, 173)
// to U+0100, U+0101, ... in byte order, so every byte has a visible, non-space character.
inline const std::array<char32_t, 256>& byte_to_unicode() {
  static const std::array<char32_t, 256> table = [] {
    std::array<char32_t, 256> t{};
    char32_t next = 0x100;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      t[b] = printable ? char32_t(b) : next++;
    }
    return t;
  }();
  return table;
}

// Inverse mapping of a token's text back to raw bytes; false when a character is outside the
// 256-symbol alphabet (then the token's own UTF-8 is kept, as Hugging Face's decoder does).
inline bool token_text_to_bytes(std::string_view token, std::string& bytes) {
  static const std::unordered_map<char32_t, unsigned char> inverse = [] {
    std::unordered_map<char32_t, unsigned char> m;
    const auto& f = byte_to_unicode();
    for (int b = 0; b < 256; ++b) m[f[b]] = static_cast<unsigned char>(b);
    return m;
  }();
  bytes.clear();
  bool all_mapped = true;
  for (std::size_t i = 0; i < token.size();) {
    const std::size_t start = i;
    const char32_t cp = decode_utf8(token, i);
    const auto it = inverse.find(cp);
    if (it == inverse.end()) {
      bytes.append(token.substr(start, i - start));
      all_mapped = false;
    } else {
      bytes += static_cast<char>(it->second);
    }
  }
  return all_mapped;
}

// Open-addressing map from a packed pair of token ids to (rank, merged id): the merge loop's hot
// lookup, several times faster than std::unordered_map for this use.
class MergeTable {
 public:
  struct Entry {
    std::uint64_t key = kEmpty;
    std::uint32_t rank = 0;
    TokenId merged = 0;
  };
  static constexpr std::uint64_t kEmpty = ~std::uint64_t{0};

  void reserve(std::size_t n) {
    std::size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    slots_.assign(cap, Entry{});
    mask_ = cap - 1;
  }
  // Keeps the first (best-ranked) entry when a pair is listed twice.
  void insert(TokenId a, TokenId b, std::uint32_t rank, TokenId merged) {
    const std::uint64_t key = pack(a, b);
    for (std::size_t h = hash(key) & mask_;; h = (h + 1) & mask_) {
      if (slots_[h].key == kEmpty) {
        slots_[h] = {key, rank, merged};
        ++size_;
        return;
      }
      if (slots_[h].key == key) return;
    }
  }
  const Entry* find(TokenId a, TokenId b) const {
    const std::uint64_t key = pack(a, b);
    for (std::size_t h = hash(key) & mask_;; h = (h + 1) & mask_) {
      const Entry& e = slots_[h];
      if (e.key == key) return &e;
      if (e.key == kEmpty) return nullptr;
    }
  }
  std::size_t size() const { return size_; }

 private:
  static std::uint64_t pack(TokenId a, TokenId b) { return (std::uint64_t(a) << 32) | b; }
  static std::size_t hash(std::uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return static_cast<std::size_t>(k);
  }
  std::vector<Entry> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

// The BPE model: byte -> initial symbol id, merges, and the vocabulary keyed by raw bytes.
class BpeModel {
 public:
  // `vocab` maps token text (byte-level alphabet) to id; `merges` are (left, right) token texts in
  // rank order. Throws InputError (naming `origin`) when they are inconsistent.
  BpeModel(const std::vector<std::pair<std::string, TokenId>>& vocab,
           const std::vector<std::pair<std::string, std::string>>& merges, const std::string& origin) {
    std::string bytes;
    id_to_bytes_.clear();
    TokenId max_id = 0;
    for (const auto& [text, id] : vocab) max_id = std::max(max_id, id);
    id_to_bytes_.resize(std::size_t(max_id) + 1);
    id_known_.assign(std::size_t(max_id) + 1, false);
    by_text_.reserve(vocab.size());
    bytes_to_id_.reserve(vocab.size());
    for (const auto& [text, id] : vocab) {
      by_text_.emplace(text, id);
      token_text_to_bytes(text, bytes);
      id_to_bytes_[id] = bytes;
      id_known_[id] = true;
      bytes_to_id_.insert(bytes, id);
    }
    const auto& alphabet = byte_to_unicode();
    for (int b = 0; b < 256; ++b) {
      std::string t;
      append_utf8(t, alphabet[b]);
      const auto it = by_text_.find(t);
      if (it == by_text_.end())
        throw InputError(origin, 0, "model.vocab", t, "byte-level vocabulary lacks the symbol for byte " + std::to_string(b));
      byte_id_[b] = it->second;
    }
    merge_table_.reserve(merges.size());
    for (std::size_t r = 0; r < merges.size(); ++r) {
      const auto& [left, right] = merges[r];
      const auto a = by_text_.find(left), b = by_text_.find(right), m = by_text_.find(left + right);
      if (a == by_text_.end() || b == by_text_.end() || m == by_text_.end())
        throw InputError(origin, 0, "model.merges", left + " " + right,
                         "merge " + std::to_string(r) + " names a token that is not in the vocabulary");
      merge_table_.insert(a->second, b->second, static_cast<std::uint32_t>(r), m->second);
    }
  }

  std::size_t vocab_size() const { return by_text_.size(); }
  std::size_t merge_count() const { return merge_table_.size(); }
  std::size_t id_limit() const { return id_to_bytes_.size(); }
  bool has_id(TokenId id) const { return id < id_known_.size() && id_known_[id]; }
  const std::string& bytes_of(TokenId id) const { return id_to_bytes_[id]; }
  const StringMap<TokenId>& vocab_by_text() const { return by_text_; }

  // The id of a piece that is one vocabulary token, or null. For this kind of vocabulary every
  // token BPE-encodes to itself, so a hit is the BPE result; most pieces of real text are one.
  const TokenId* whole_token(std::string_view piece) const { return bytes_to_id_.find(piece); }

  // Appends the ids of one piece (raw bytes, non-empty).
  void encode_piece(std::string_view piece, std::vector<TokenId>& out) const {
    if (const TokenId* id = whole_token(piece)) {
      out.push_back(*id);
      return;
    }
    merge(piece, out);
  }

  // The merge loop alone (callers that already tried whole_token).
  void merge(std::string_view piece, std::vector<TokenId>& out) const {
    if (piece.size() <= kShortPiece) merge_short(piece, out);
    else merge_long(piece, out);
  }

 private:
  static constexpr std::size_t kShortPiece = 48;

  void merge_short(std::string_view piece, std::vector<TokenId>& out) const {
    TokenId symbols[kShortPiece];
    std::size_t n = piece.size();
    for (std::size_t k = 0; k < n; ++k) symbols[k] = byte_id_[static_cast<unsigned char>(piece[k])];
    while (n > 1) {
      std::uint32_t best_rank = UINT32_MAX;
      std::size_t best = 0;
      TokenId merged = 0;
      for (std::size_t k = 0; k + 1 < n; ++k) {
        const auto* e = merge_table_.find(symbols[k], symbols[k + 1]);
        if (e && e->rank < best_rank) {  // strict: the leftmost of equal ranks wins
          best_rank = e->rank;
          best = k;
          merged = e->merged;
        }
      }
      if (best_rank == UINT32_MAX) break;
      symbols[best] = merged;
      for (std::size_t k = best + 1; k + 1 < n; ++k) symbols[k] = symbols[k + 1];
      --n;
    }
    out.insert(out.end(), symbols, symbols + n);
  }

  void merge_long(std::string_view piece, std::vector<TokenId>& out) const {
    const std::size_t n = piece.size();
    struct Symbol {
      TokenId id;
      std::int64_t prev, next;
      bool alive;
    };
    std::vector<Symbol> sym(n);
    for (std::size_t k = 0; k < n; ++k)
      sym[k] = {byte_id_[static_cast<unsigned char>(piece[k])], std::int64_t(k) - 1,
                k + 1 < n ? std::int64_t(k + 1) : -1, true};
    struct Candidate {
      std::uint32_t rank;
      std::size_t pos;
      TokenId merged;
      bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
    };
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
    auto push = [&](std::int64_t left) {
      if (left < 0 || sym[left].next < 0) return;
      if (const auto* e = merge_table_.find(sym[left].id, sym[sym[left].next].id))
        heap.push({e->rank, static_cast<std::size_t>(left), e->merged});
    };
    for (std::size_t k = 0; k + 1 < n; ++k) push(std::int64_t(k));
    while (!heap.empty()) {
      const Candidate c = heap.top();
      heap.pop();
      Symbol& left = sym[c.pos];
      if (!left.alive || left.next < 0) continue;
      const auto* e = merge_table_.find(left.id, sym[left.next].id);
      if (!e || e->merged != c.merged) continue;  // stale: a neighbour changed since it was pushed
      Symbol& right = sym[left.next];
      left.id = c.merged;
      right.alive = false;
      left.next = right.next;
      if (right.next >= 0) sym[right.next].prev = std::int64_t(c.pos);
      push(left.prev);
      push(std::int64_t(c.pos));
    }
    for (std::int64_t k = 0; k >= 0; k = sym[k].next) out.push_back(sym[k].id);
  }

  StringMap<TokenId> by_text_;
  FlatStringMap<TokenId> bytes_to_id_;
  std::vector<std::string> id_to_bytes_;
  std::vector<bool> id_known_;
  std::array<TokenId, 256> byte_id_{};
  MergeTable merge_table_;
};

}  // namespace kspam::text

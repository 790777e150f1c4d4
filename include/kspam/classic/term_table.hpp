#pragma once
// A string interner for vocabularies: terms get dense ids 0, 1, 2... in first-seen order, their
// bytes live in one arena and the index is open addressing over slots that hold the term's length
// and first 16 bytes beside its id. Counting the terms of 100k documents does one probe per token,
// where the vectorizer spends its time, so the probe is built to touch one slot and nothing else:
//   * 98% of tokens are at most 16 bytes: a slot match (length and both words equal) is a term
//     match, no arena access; longer terms compare their remaining bytes in the arena;
//   * the hash reads the first 16 bytes as two 8-byte words. intern_padded()/find_padded() let the
//     tokenizer promise that 16 bytes past the token's start are readable (its buffer is padded),
//     so the words are two plain loads and a mask, without a variable-length memcpy.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

#include "kspam/core/error.hpp"

namespace kspam::classic {

class TermTable {
 public:
  // Bytes past a term's start that intern_padded()/find_padded() may read (beyond its end when the
  // term is shorter).
  static constexpr std::size_t kPadding = 16;

  TermTable() { slots_.assign(kInitialSlots, Slot{}); }

  std::size_t size() const { return offsets_.size(); }
  std::string_view term(std::uint32_t id) const {
    return {arena_.data() + offsets_[id], lengths_[id]};
  }

  std::optional<std::uint32_t> find(std::string_view s) const {
    const Key key = key_of(s);
    const std::uint32_t id = probe(key, s.data()).id;
    return id == kEmpty ? std::nullopt : std::optional<std::uint32_t>(id);
  }
  // find() for a term whose buffer has kPadding readable bytes from its start.
  std::optional<std::uint32_t> find_padded(std::string_view s) const {
    const Key key = key_of_padded(s);
    const std::uint32_t id = probe(key, s.data()).id;
    return id == kEmpty ? std::nullopt : std::optional<std::uint32_t>(id);
  }

  // The id of `s`, adding it when new; `inserted` says which.
  std::uint32_t intern(std::string_view s, bool& inserted) { return intern_key(key_of(s), s, inserted); }
  std::uint32_t intern(std::string_view s) {
    bool inserted;
    return intern(s, inserted);
  }
  // intern() for a term whose buffer has kPadding readable bytes from its start.
  std::uint32_t intern_padded(std::string_view s, bool& inserted) { return intern_key(key_of_padded(s), s, inserted); }

  // The same in two steps, for callers that hash a batch of terms and prefetch their slots before
  // probing, so that the cache misses of a batch overlap instead of queueing one after another.
  // A term's length and its first 16 bytes (zero beyond the end), and its hash.
  struct Key {
    std::uint64_t w0, w1;
    std::uint32_t length;
    std::uint64_t hash;
  };
  static Key key_padded(std::string_view s) { return key_of_padded(s); }
  void prefetch(const Key& key) const { __builtin_prefetch(&slots_[key.hash & (slots_.size() - 1)]); }
  std::uint32_t intern(const Key& key, std::string_view s, bool& inserted) { return intern_key(key, s, inserted); }

  std::size_t memory_bytes() const {
    return arena_.capacity() + offsets_.capacity() * sizeof(std::size_t) + lengths_.capacity() * 4 +
           slots_.capacity() * sizeof(Slot);
  }

 private:
  static constexpr std::uint32_t kEmpty = 0xFFFFFFFFu;
  static constexpr std::size_t kMaxTerms = 0xFFFFFFFEu;
  static constexpr std::size_t kInitialSlots = 1024;

  struct Slot {
    std::uint64_t w0 = 0, w1 = 0;
    std::uint32_t length = 0;
    std::uint32_t id = kEmpty;
  };

  static std::uint64_t load8(const char* p) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    return w;
  }
  // The low `bytes` bytes of a word (bytes in 0..8).
  static std::uint64_t low_bytes(std::uint64_t w, std::size_t bytes) {
    return bytes >= 8 ? w : w & ((std::uint64_t{1} << (8 * bytes)) - 1);
  }

  static Key finish(std::uint64_t w0, std::uint64_t w1, std::string_view s) {
    // Two independent multiplies folded together, then the rest (long terms), then an avalanche.
    std::uint64_t h = (w0 ^ 0x9E3779B97F4A7C15ULL) * 0xBF58476D1CE4E5B9ULL;
    h ^= (w1 ^ s.size()) * 0x94D049BB133111EBULL;
    for (std::size_t i = 16; i < s.size(); i += 8) {
      std::uint64_t w = 0;
      std::memcpy(&w, s.data() + i, std::min<std::size_t>(8, s.size() - i));
      h = (h ^ w) * 0x100000001B3ULL;
      h ^= h >> 29;
    }
    h ^= h >> 32;
    h *= 0xD6E8FEB86659FD93ULL;
    h ^= h >> 32;
    return {w0, w1, static_cast<std::uint32_t>(s.size()), h};
  }

  static Key key_of(std::string_view s) {
    char head[16] = {};
    std::memcpy(head, s.data(), std::min<std::size_t>(16, s.size()));
    return finish(load8(head), load8(head + 8), s);
  }
  static Key key_of_padded(std::string_view s) {
    const std::size_t n = s.size();
    const std::uint64_t w0 = low_bytes(load8(s.data()), n);
    const std::uint64_t w1 = n > 8 ? low_bytes(load8(s.data() + 8), n - 8) : 0;
    return finish(w0, w1, s);
  }

  bool matches(const Slot& slot, const Key& key, const char* bytes) const {
    if (slot.w0 != key.w0 || slot.w1 != key.w1 || slot.length != key.length) return false;
    if (key.length <= 16) return true;
    return std::memcmp(arena_.data() + offsets_[slot.id] + 16, bytes + 16, key.length - 16) == 0;
  }

  // The slot holding the key, or the empty slot where it would go.
  const Slot& probe(const Key& key, const char* bytes) const {
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = key.hash & mask;; i = (i + 1) & mask) {
      const Slot& slot = slots_[i];
      if (slot.id == kEmpty || matches(slot, key, bytes)) return slot;
    }
  }

  std::uint32_t intern_key(const Key& key, std::string_view s, bool& inserted) {
    Slot& slot = const_cast<Slot&>(probe(key, s.data()));
    if (slot.id != kEmpty) {
      inserted = false;
      return slot.id;
    }
    if (offsets_.size() >= kMaxTerms) throw Error("vocabulary has more than 4 billion distinct terms");
    const auto id = static_cast<std::uint32_t>(offsets_.size());
    offsets_.push_back(arena_.size());
    lengths_.push_back(static_cast<std::uint32_t>(s.size()));
    arena_.insert(arena_.end(), s.begin(), s.end());
    slot = Slot{key.w0, key.w1, key.length, id};
    inserted = true;
    // Keep the load factor under 1/2 so probe chains stay short.
    if (2 * offsets_.size() > slots_.size()) grow();
    return id;
  }

  void grow() {
    std::vector<Slot> bigger(slots_.size() * 2);
    const std::size_t mask = bigger.size() - 1;
    for (const Slot& slot : slots_) {
      if (slot.id == kEmpty) continue;
      std::size_t i = key_of(term(slot.id)).hash & mask;
      while (bigger[i].id != kEmpty) i = (i + 1) & mask;
      bigger[i] = slot;
    }
    slots_.swap(bigger);
  }

  std::vector<char> arena_;
  std::vector<std::size_t> offsets_;
  std::vector<std::uint32_t> lengths_;
  std::vector<Slot> slots_;
};

}  // namespace kspam::classic

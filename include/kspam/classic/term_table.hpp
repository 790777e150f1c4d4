#pragma once
// A string interner for vocabularies: terms get dense ids 0, 1, 2... in first-seen order, their
// bytes live in one arena and the index is open addressing over 32-bit slots. Counting the terms
// of 100k documents does one probe per token and no allocation per term, which is where the
// vectorizer spends its time.
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

#include "kspam/core/error.hpp"

namespace kspam::classic {

class TermTable {
 public:
  TermTable() { slots_.assign(kInitialSlots, kEmptySlot); }

  std::size_t size() const { return offsets_.size(); }
  std::string_view term(std::uint32_t id) const {
    return {arena_.data() + offsets_[id], lengths_[id]};
  }

  std::optional<std::uint32_t> find(std::string_view s) const {
    const std::uint64_t h = hash(s);
    const std::uint64_t tag = h >> 32;
    for (std::size_t slot = h & (slots_.size() - 1);; slot = (slot + 1) & (slots_.size() - 1)) {
      const std::uint64_t entry = slots_[slot];
      if (entry == kEmptySlot) return std::nullopt;
      if ((entry >> 32) == tag && equals(static_cast<std::uint32_t>(entry), s)) return static_cast<std::uint32_t>(entry);
    }
  }

  // The id of `s`, adding it when new; `inserted` says which.
  std::uint32_t intern(std::string_view s, bool& inserted) {
    const std::uint64_t h = hash(s);
    const std::uint64_t tag = h >> 32;
    std::size_t slot = h & (slots_.size() - 1);
    for (;; slot = (slot + 1) & (slots_.size() - 1)) {
      const std::uint64_t entry = slots_[slot];
      if (entry == kEmptySlot) break;
      if ((entry >> 32) == tag && equals(static_cast<std::uint32_t>(entry), s)) {
        inserted = false;
        return static_cast<std::uint32_t>(entry);
      }
    }
    if (offsets_.size() >= kMaxTerms) throw Error("vocabulary has more than 4 billion distinct terms");
    const auto id = static_cast<std::uint32_t>(offsets_.size());
    offsets_.push_back(arena_.size());
    lengths_.push_back(static_cast<std::uint32_t>(s.size()));
    hashes_.push_back(h);
    arena_.insert(arena_.end(), s.begin(), s.end());
    slots_[slot] = (tag << 32) | id;
    inserted = true;
    // Keep the load factor under 1/2 so probe chains stay short.
    if (2 * offsets_.size() > slots_.size()) grow();
    return id;
  }

  std::uint32_t intern(std::string_view s) {
    bool inserted;
    return intern(s, inserted);
  }

  std::size_t memory_bytes() const {
    return arena_.capacity() + offsets_.capacity() * sizeof(std::size_t) + lengths_.capacity() * 4 +
           hashes_.capacity() * 8 + slots_.capacity() * 8;
  }

  static std::uint64_t hash(std::string_view s) {
    // 64-bit FNV-1a over 8-byte words, then a murmur-style avalanche: tokens are short, so the
    // word-at-a-time loop mostly runs once or twice.
    std::uint64_t h = 0xcbf29ce484222325ULL ^ s.size();
    std::size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
      std::uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      h = (h ^ w) * 0x100000001b3ULL;
      h ^= h >> 29;
    }
    std::uint64_t tail = 0;
    if (i < s.size()) std::memcpy(&tail, s.data() + i, s.size() - i);
    h = (h ^ tail) * 0x100000001b3ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
  }

 private:
  // A slot holds the hash's top 32 bits beside the id, so most mismatches cost no string compare.
  static constexpr std::uint64_t kEmptySlot = ~std::uint64_t{0};
  static constexpr std::size_t kMaxTerms = 0xFFFFFFFEu;
  static constexpr std::size_t kInitialSlots = 1024;

  bool equals(std::uint32_t id, std::string_view s) const {
    if (lengths_[id] != s.size()) return false;
    const char* a = arena_.data() + offsets_[id];
    const char* b = s.data();
    std::size_t n = s.size();
    // Tokens are short: compare 8 bytes at a time in registers rather than calling memcmp.
    for (; n >= 8; n -= 8, a += 8, b += 8) {
      std::uint64_t x, y;
      std::memcpy(&x, a, 8);
      std::memcpy(&y, b, 8);
      if (x != y) return false;
    }
    for (; n > 0; --n, ++a, ++b)
      if (*a != *b) return false;
    return true;
  }

  void grow() {
    std::vector<std::uint64_t> bigger(slots_.size() * 2, kEmptySlot);
    const std::size_t mask = bigger.size() - 1;
    for (std::uint32_t id = 0; id < offsets_.size(); ++id) {
      std::size_t slot = hashes_[id] & mask;
      while (bigger[slot] != kEmptySlot) slot = (slot + 1) & mask;
      bigger[slot] = ((hashes_[id] >> 32) << 32) | id;
    }
    slots_.swap(bigger);
  }

  std::vector<char> arena_;
  std::vector<std::size_t> offsets_;
  std::vector<std::uint32_t> lengths_;
  std::vector<std::uint64_t> hashes_;
  std::vector<std::uint64_t> slots_;
};

}  // namespace kspam::classic

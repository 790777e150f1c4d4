#pragma once
// Per-code-point properties the Qwen3 pre-tokenizer and NFC need, in one two-stage lookup table:
// the character class of the pre-tokenizer regex (letter \p{L}, number \p{N}, white space \s, or
// anything else) and whether NFC could change the code point.
//
// The classes follow Hugging Face tokenizers, not the newest Unicode: \p{L}/\p{N} are Unicode 16.0
// (unicode_data.hpp) and \s is Oniguruma's: the 25 White_Space code points (Python's `re` would also
// count U+001C..U+001F, which HF does not). Combining marks are not letters.
#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "kspam/text/unicode_data.hpp"

namespace kspam::text {

enum class CharClass : std::uint8_t { Other = 0, Letter = 1, Number = 2, Space = 3 };

inline constexpr std::uint8_t kClassMask = 0x3;
inline constexpr std::uint8_t kNfcSensitive = 0x4;  // NFC may change text containing this code point

inline constexpr char32_t kWhiteSpace[] = {0x09,   0x0A,   0x0B,   0x0C,   0x0D,   0x20,   0x85,
                                           0xA0,   0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004,
                                           0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200A, 0x2028,
                                           0x2029, 0x202F, 0x205F, 0x3000};

namespace detail {

// Blocks of 256 code points; identical blocks are stored once (most of the 4352 are all-"Other").
class PropertyTable {
 public:
  PropertyTable() {
    std::vector<std::uint8_t> flat(0x110000, 0);
    auto fill = [&](std::uint32_t first, std::uint32_t last, std::uint8_t bits) {
      for (std::uint32_t cp = first; cp <= last; ++cp) flat[cp] |= bits;
    };
    for (const auto& r : unicode_data::kLetters) fill(r.first, r.last, std::uint8_t(CharClass::Letter));
    for (const auto& r : unicode_data::kNumbers) fill(r.first, r.last, std::uint8_t(CharClass::Number));
    for (char32_t cp : kWhiteSpace) flat[cp] = (flat[cp] & ~kClassMask) | std::uint8_t(CharClass::Space);
    for (const auto& r : unicode_data::kCombiningClasses) fill(r.first, r.last, kNfcSensitive);
    // Roughly NFC_Quick_Check != Yes, plus every non-starter: a primary composite (é) is already
    // in NFC, but what NFC removes (singletons, excluded composites) or what may compose with the
    // character before it (a second of a pair, Hangul V and T jamo) means full normalisation.
    for (const auto& d : unicode_data::kDecompositions) {
      if (!d.composes) flat[d.cp] |= kNfcSensitive;
      else flat[d.second] |= kNfcSensitive;
    }
    fill(0x1161, 0x1175, kNfcSensitive);  // Hangul V jamo: L + V compose
    fill(0x11A8, 0x11C2, kNfcSensitive);  // Hangul T jamo: LV + T compose
    for (std::uint32_t block = 0; block < kBlocks; ++block) {
      const std::uint8_t* data = flat.data() + block * 256;
      std::uint32_t found = static_cast<std::uint32_t>(blocks_.size() / 256);
      for (std::uint32_t b = 0; b < blocks_.size() / 256; ++b) {
        if (std::equal(data, data + 256, blocks_.begin() + b * 256)) {
          found = b;
          break;
        }
      }
      if (found == blocks_.size() / 256) blocks_.insert(blocks_.end(), data, data + 256);
      index_[block] = static_cast<std::uint16_t>(found);
    }
  }
  std::uint8_t get(char32_t cp) const {
    if (cp >= 0x110000) return 0;
    return blocks_[std::size_t(index_[cp >> 8]) * 256 + (cp & 0xFF)];
  }

 private:
  static constexpr std::uint32_t kBlocks = 0x110000 / 256;
  std::array<std::uint16_t, kBlocks> index_{};
  std::vector<std::uint8_t> blocks_;
};

inline const PropertyTable& property_table() {
  static const PropertyTable table;  // built once, thread-safe (C++11 magic statics)
  return table;
}

}  // namespace detail

inline std::uint8_t code_point_properties(char32_t cp) { return detail::property_table().get(cp); }

inline CharClass char_class(char32_t cp) { return CharClass(code_point_properties(cp) & kClassMask); }

inline bool is_nfc_sensitive(char32_t cp) { return (code_point_properties(cp) & kNfcSensitive) != 0; }

}  // namespace kspam::text

#pragma once
// The two pieces of Python's Unicode behaviour that scikit-learn's text vectorizers depend on:
//  * which code points Python's `re` module calls word characters (\w in a str pattern), and
//  * what str.lower() maps each code point to, including Final_Sigma (capital sigma becomes
//    final sigma at the end of a word) and the one unconditional multi-character lowering
//    (U+0130 LATIN CAPITAL LETTER I WITH DOT ABOVE -> "i" + U+0307 COMBINING DOT ABOVE).
// Both are derived from utf8proc's Unicode tables. tests/classic/test_python_unicode.cpp compares
// every code point with Python's own answers (tests/reference/make_classic.py); the only
// differences allowed are code points that Python's older Unicode database leaves unassigned.
#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include <utf8proc.h>

#include "kspam/core/utf8.hpp"

namespace kspam::classic {

inline constexpr char32_t kMaxCodePoint = 0x10FFFF;
inline constexpr char32_t kReplacementCharacter = 0xFFFD;

namespace detail {

enum : std::uint8_t {
  kWordChar = 1,        // Python re \w: str.isalnum() or '_'
  kCased = 2,           // Unicode Cased (for Final_Sigma)
  kCaseIgnorable = 4,   // Unicode Case_Ignorable (for Final_Sigma)
  kLowerDiffers = 8,    // str.lower() changes the code point
};

// Word_Break = MidLetter, MidNumLet or Single_Quote: Case_Ignorable although their general category
// (punctuation) does not say so.
inline bool is_mid_letter_or_quote(char32_t c) {
  switch (c) {
    case 0x0027: case 0x002E: case 0x003A: case 0x00B7: case 0x0387: case 0x055F: case 0x05F4:
    case 0x2018: case 0x2019: case 0x2024: case 0x2027: case 0xFE13: case 0xFE52: case 0xFE55:
    case 0xFF07: case 0xFF0E: case 0xFF1A:
      return true;
    default:
      return false;
  }
}

inline std::uint8_t classify(char32_t c) {
  const auto* prop = utf8proc_get_property(static_cast<utf8proc_int32_t>(c));
  const auto cat = static_cast<utf8proc_category_t>(prop->category);
  std::uint8_t flags = 0;
  const auto lower = static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c)));
  const auto upper = static_cast<char32_t>(utf8proc_toupper(static_cast<utf8proc_int32_t>(c)));
  // Python: str.isalnum() is isalpha (L*) or isdecimal/isdigit/isnumeric (N*, all of which carry a
  // numeric value); `re` adds the underscore.
  switch (cat) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
      flags |= kWordChar;
      break;
    default:
      break;
  }
  if (c == U'_') flags |= kWordChar;
  // Cased = Lu + Ll + Lt + Other_Lowercase + Other_Uppercase. Letters with a case mapping cover
  // Other_* except the two ordinal indicators (Lo) and the squared / negative circled / negative
  // squared capital letters (So, Other_Uppercase without a lowercase); the rest of Other_Lowercase
  // is Lm or Mn, which are Case_Ignorable, and ignorable wins in the Final_Sigma test.
  if (cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT || lower != c ||
      upper != c || c == 0x00AA || c == 0x00BA || (c >= 0x1F130 && c <= 0x1F149) ||
      (c >= 0x1F150 && c <= 0x1F169) || (c >= 0x1F170 && c <= 0x1F189))
    flags |= kCased;
  if (cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_ME || cat == UTF8PROC_CATEGORY_CF ||
      cat == UTF8PROC_CATEGORY_LM || cat == UTF8PROC_CATEGORY_SK || is_mid_letter_or_quote(c))
    flags |= kCaseIgnorable;
  if (lower != c || c == 0x0130) flags |= kLowerDiffers;
  return flags;
}

// Flags and the simple lowercase mapping of code points, in pages of 256 built on first use (a
// page costs ~1500 utf8proc calls, a few microseconds; a corpus touches a few dozen pages, where
// building all 4352 pages up front took ~50 ms). The tokenizer asks for every non-ASCII character,
// and a flat page beats utf8proc's two-level lookup plus three calls each time. Pages are published
// with an atomic pointer; two threads racing on a page both build it and one copy is kept.
struct CodePointPage {
  std::uint8_t flags[256];
  char32_t lower[256];  // utf8proc_tolower (U+0130's two-code-point lowering is special-cased)
};

inline constexpr std::size_t kCodePointPages = (kMaxCodePoint >> 8) + 1;

struct CodePointPages {
  std::array<std::atomic<CodePointPage*>, kCodePointPages> page{};
  ~CodePointPages() {
    for (auto& p : page) delete p.load();
  }
};

// Constant-initialised (no guard on each access), pages freed at exit.
inline CodePointPages code_point_pages_storage;
inline CodePointPages& code_point_pages() { return code_point_pages_storage; }

[[gnu::noinline]] inline const CodePointPage& build_page(std::size_t index) {
  auto* fresh = new CodePointPage;
  for (char32_t k = 0; k < 256; ++k) {
    const char32_t c = static_cast<char32_t>(index << 8) | k;
    const bool surrogate = c >= 0xD800 && c <= 0xDFFF;
    fresh->flags[k] = surrogate ? 0 : classify(c);
    fresh->lower[k] = surrogate ? c : static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c)));
  }
  CodePointPage* expected = nullptr;
  auto& slot = code_point_pages().page[index];
  if (slot.compare_exchange_strong(expected, fresh, std::memory_order_acq_rel)) return *fresh;
  delete fresh;
  return *expected;
}

// c must be <= kMaxCodePoint.
[[gnu::always_inline]] inline const CodePointPage& page_of(char32_t c) {
  const std::size_t index = c >> 8;
  if (const CodePointPage* p = code_point_pages().page[index].load(std::memory_order_acquire)) return *p;
  return build_page(index);
}

inline std::uint8_t flags_of(char32_t c) { return c <= kMaxCodePoint ? page_of(c).flags[c & 0xFF] : 0; }

}  // namespace detail

// Python: re.match(r"\w", chr(c)) is not None (str pattern, so Unicode rules).
inline bool is_python_word_char(char32_t c) { return (detail::flags_of(c) & detail::kWordChar) != 0; }
inline bool is_cased(char32_t c) { return (detail::flags_of(c) & detail::kCased) != 0; }
inline bool is_case_ignorable(char32_t c) { return (detail::flags_of(c) & detail::kCaseIgnorable) != 0; }

// chr(c).lower() for a code point on its own (no Final_Sigma context: a lone capital sigma lowers
// to the ordinary small sigma, as in Python). Writes 1 or 2 code points; returns how many.
inline int python_lower_code_point(char32_t c, char32_t out[2]) {
  if (c == 0x0130) {
    out[0] = U'i';
    out[1] = 0x0307;
    return 2;
  }
  out[0] = c <= kMaxCodePoint ? detail::page_of(c).lower[c & 0xFF] : c;
  return 1;
}

// Decodes one code point of valid UTF-8 at s[i], advancing i. Invalid bytes (the vectorizer may be
// handed text that no reader validated) decode as U+FFFD, one byte at a time, like Python's
// errors="replace".
[[gnu::always_inline]] inline char32_t decode_utf8(std::string_view s, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  auto cont = [&](std::size_t k) -> int {
    if (i + k >= s.size()) return -1;
    const auto b = static_cast<unsigned char>(s[i + k]);
    return (b & 0xC0) == 0x80 ? (b & 0x3F) : -1;
  };
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    const int c1 = cont(1);
    if (c1 >= 0) {
      i += 2;
      return static_cast<char32_t>(((b0 & 0x1F) << 6) | c1);
    }
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    const int c1 = cont(1), c2 = c1 >= 0 ? cont(2) : -1;
    if (c2 >= 0) {
      const auto c = static_cast<char32_t>(((b0 & 0x0F) << 12) | (c1 << 6) | c2);
      if (c >= 0x800 && !(c >= 0xD800 && c <= 0xDFFF)) {
        i += 3;
        return c;
      }
    }
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    const int c1 = cont(1), c2 = c1 >= 0 ? cont(2) : -1, c3 = c2 >= 0 ? cont(3) : -1;
    if (c3 >= 0) {
      const auto c = static_cast<char32_t>(((b0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3);
      if (c >= 0x10000 && c <= kMaxCodePoint) {
        i += 4;
        return c;
      }
    }
  }
  ++i;
  return kReplacementCharacter;
}

using kspam::append_utf8;  // core/utf8.hpp
using kspam::encode_utf8;

// Whether the capital sigma whose UTF-8 encoding starts at byte `at` of `text` is in the
// Final_Sigma context (Python's handle_capital_sigma): a cased letter precedes it, skipping
// case-ignorable ones, and no cased letter follows, skipping case-ignorable ones. `preceded_by_cased`
// is the caller's running answer for the left side (it walks the text anyway).
inline bool sigma_is_final(std::string_view text, std::size_t after, bool preceded_by_cased) {
  if (!preceded_by_cased) return false;
  std::size_t i = after;
  while (i < text.size()) {
    const char32_t c = decode_utf8(text, i);
    if (!is_case_ignorable(c)) return !is_cased(c);
  }
  return true;
}

// Python's str.lower() of a whole text, as UTF-8.
inline std::string python_lower(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool preceded_by_cased = false;
  std::size_t i = 0;
  while (i < text.size()) {
    const char32_t c = decode_utf8(text, i);
    char32_t lowered[2];
    int n;
    if (c == 0x03A3) {
      lowered[0] = sigma_is_final(text, i, preceded_by_cased) ? 0x03C2 : 0x03C3;
      n = 1;
    } else {
      n = python_lower_code_point(c, lowered);
    }
    for (int k = 0; k < n; ++k) append_utf8(out, lowered[k]);
    if (!is_case_ignorable(c)) preceded_by_cased = is_cased(c);
  }
  return out;
}

}  // namespace kspam::classic

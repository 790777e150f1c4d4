#pragma once
// The Qwen2/Qwen3 pre-tokenizer without a regex engine. Hugging Face splits each segment with
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
// (Oniguruma, leftmost-first alternatives, greedy). This scanner gives the same pieces in one pass
// over the UTF-8 bytes; the rule numbers R1..R8 are those of qwen3-vl-architecture.md §7.1, where
// each rule is derived from the regex. Pieces tile the text: every byte belongs to exactly one.
#include <array>
#include <cstddef>
#include <string_view>

#include "kspam/text/unicode_classes.hpp"
#include "kspam/text/utf8_text.hpp"

namespace kspam::text {

namespace detail {

// The class of the code point at s[i] (valid UTF-8) and its length in bytes; Other past the end.
struct Scanned {
  CharClass cls;
  std::size_t len;
  char32_t cp;
};

inline Scanned scan_at(std::string_view s, std::size_t i) {
  if (i >= s.size()) return {CharClass::Other, 0, 0};
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) {
    // ASCII by table: letters, digits, the six ASCII white-space characters, the rest is Other.
    static constexpr auto ascii = [] {
      std::array<CharClass, 128> t{};
      for (int k = 0; k < 128; ++k) {
        if ((k >= 'a' && k <= 'z') || (k >= 'A' && k <= 'Z')) t[k] = CharClass::Letter;
        else if (k >= '0' && k <= '9') t[k] = CharClass::Number;
        else if ((k >= 0x09 && k <= 0x0D) || k == 0x20) t[k] = CharClass::Space;
        else t[k] = CharClass::Other;
      }
      return t;
    }();
    return {ascii[c], 1, c};
  }
  std::size_t j = i;
  const char32_t cp = decode_utf8(s, j);
  return {char_class(cp), j - i, cp};
}

inline bool is_newline_byte(std::string_view s, std::size_t i) {
  return i < s.size() && (s[i] == '\n' || s[i] == '\r');
}

// End of the maximal run of code points of class `cls` starting at i.
inline std::size_t run_end(std::string_view s, std::size_t i, CharClass cls) {
  while (i < s.size()) {
    const Scanned x = scan_at(s, i);
    if (x.cls != cls) break;
    i += x.len;
  }
  return i;
}

// R1: the length of a contraction at s[i] == '\'', or 0. Case-insensitive by simple case folding:
// 's' also matches U+017F (long s), the other letters only their ASCII cases.
inline std::size_t contraction_length(std::string_view s, std::size_t i) {
  auto lower = [&](std::size_t k) -> char {
    if (k >= s.size()) return 0;
    const char c = s[k];
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  };
  const char a = lower(i + 1);
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if (i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xC5 &&
      static_cast<unsigned char>(s[i + 2]) == 0xBF)
    return 3;  // 'ſ
  const char b = lower(i + 2);
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  return 0;
}

}  // namespace detail

// Calls emit(begin, end) with the byte offsets of each piece of `s` (valid UTF-8), in order.
template <typename Emit>
void pretokenize(std::string_view s, Emit&& emit) {
  using detail::scan_at;
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const detail::Scanned x = scan_at(s, i);
    std::size_t j;
    if (x.cp == '\'' && (j = detail::contraction_length(s, i)) != 0) {
      j += i;  // R1
    } else if (x.cls == CharClass::Letter) {
      j = detail::run_end(s, i, CharClass::Letter);  // R2
    } else if (x.cls != CharClass::Number && x.cp != '\n' && x.cp != '\r' &&
               scan_at(s, i + x.len).cls == CharClass::Letter) {
      j = detail::run_end(s, i + x.len, CharClass::Letter);  // R2 with one leading non-letter
    } else if (x.cls == CharClass::Number) {
      j = i + x.len;  // R3
    } else if (x.cls == CharClass::Other || (x.cp == ' ' && scan_at(s, i + 1).cls == CharClass::Other)) {
      // R4: punctuation run (optionally after one plain space), then any directly following CR/LF.
      j = detail::run_end(s, x.cls == CharClass::Other ? i : i + 1, CharClass::Other);
      while (detail::is_newline_byte(s, j)) ++j;
    } else {
      // White space: scan the run once, then decide (R5..R8).
      std::size_t e = i, last_start = i, last_newline = std::string_view::npos;
      std::size_t count = 0;
      while (e < n) {
        const detail::Scanned w = scan_at(s, e);
        if (w.cls != CharClass::Space) break;
        if (w.cp == '\n' || w.cp == '\r') last_newline = e;
        last_start = e;
        e += w.len;
        ++count;
      }
      if (last_newline != std::string_view::npos) j = last_newline + 1;  // R5
      else if (e == n) j = e;                                             // R6
      else if (count >= 2) j = last_start;                                // R7
      else j = e;                                                         // R8
    }
    emit(i, j);
    i = j;
  }
}

}  // namespace kspam::text

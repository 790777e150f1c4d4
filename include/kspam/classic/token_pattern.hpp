#pragma once
// scikit-learn's default word analyzer front end: lowercase the document with Python's str.lower()
// and find every match of the token pattern (?u)\b\w\w+\b, i.e. every maximal run of two or more
// Python word characters. Both steps are done in one pass over the UTF-8 text, with a byte-table
// fast path for ASCII, and each token is handed to a callback as a view into a reused buffer (no
// allocation per token).
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "kspam/classic/python_unicode.hpp"

namespace kspam::classic {

namespace detail {
struct AsciiTables {
  std::array<char, 128> lower{};
  std::array<bool, 128> word{};
  std::array<bool, 128> cased{};
  std::array<bool, 128> ignorable{};
  constexpr AsciiTables() {
    for (int c = 0; c < 128; ++c) {
      const bool upper = c >= 'A' && c <= 'Z';
      const bool lower_letter = c >= 'a' && c <= 'z';
      lower[static_cast<std::size_t>(c)] = static_cast<char>(upper ? c + 32 : c);
      word[static_cast<std::size_t>(c)] = upper || lower_letter || (c >= '0' && c <= '9') || c == '_';
      cased[static_cast<std::size_t>(c)] = upper || lower_letter;
      ignorable[static_cast<std::size_t>(c)] = c == '\'' || c == '.' || c == ':' || c == '^' || c == '`';
    }
  }
};
inline constexpr AsciiTables kAscii{};
}  // namespace detail

// Calls on_token(std::string_view) for each token of `text`, in order. Tokens are lowercased UTF-8
// unless Lowercase is false (scikit-learn's lowercase=False).
template <bool Lowercase = true, typename OnToken>
void for_each_token(std::string_view text, OnToken&& on_token) {
  std::string token;        // the current run of word characters, lowercased
  std::size_t run_length = 0;  // in code points (the pattern counts characters, not bytes)
  bool preceded_by_cased = false;  // Final_Sigma's left context
  auto flush = [&] {
    if (run_length >= 2) on_token(std::string_view(token));
    token.clear();
    run_length = 0;
  };
  auto take = [&](char32_t lowered) {
    if (lowered < 128 ? detail::kAscii.word[lowered] : is_python_word_char(lowered)) {
      append_utf8(token, lowered);
      ++run_length;
    } else {
      flush();
    }
  };
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80) {
      if (!detail::kAscii.word[byte]) {
        // A stretch of ASCII separators: ends the current run; only Final_Sigma's state cares.
        if (run_length) flush();
        unsigned char b = byte;
        do {
          if (!detail::kAscii.ignorable[b]) preceded_by_cased = detail::kAscii.cased[b];
          ++i;
        } while (i < n && (b = static_cast<unsigned char>(text[i])) < 0x80 && !detail::kAscii.word[b]);
        continue;
      }
      // A stretch of ASCII word characters, lowercased in bulk. It may continue with non-ASCII
      // word characters, so the run is not flushed here.
      std::size_t j = i + 1;
      while (j < n && static_cast<unsigned char>(text[j]) < 0x80 && detail::kAscii.word[static_cast<unsigned char>(text[j])]) ++j;
      const std::size_t old = token.size();
      token.resize(old + (j - i));
      char* dst = token.data() + old;
      for (std::size_t k = i; k < j; ++k) {
        const auto b = static_cast<unsigned char>(text[k]);
        dst[k - i] = Lowercase ? detail::kAscii.lower[b] : static_cast<char>(b);
      }
      run_length += j - i;
      // ASCII word characters are never case-ignorable: the last one decides.
      preceded_by_cased = detail::kAscii.cased[static_cast<unsigned char>(text[j - 1])];
      i = j;
      continue;
    }
    const char32_t c = decode_utf8(text, i);
    if constexpr (!Lowercase) {
      take(c);
      continue;
    }
    if (c == 0x03A3) {
      take(sigma_is_final(text, i, preceded_by_cased) ? 0x03C2 : 0x03C3);
    } else {
      char32_t lowered[2];
      const int k = python_lower_code_point(c, lowered);
      take(lowered[0]);
      if (k == 2) take(lowered[1]);
    }
    if (!is_case_ignorable(c)) preceded_by_cased = is_cased(c);
  }
  flush();
}

}  // namespace kspam::classic

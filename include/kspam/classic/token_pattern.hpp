#pragma once
// scikit-learn's default word analyzer front end: lowercase the document with Python's str.lower()
// and find every match of the token pattern (?u)\b\w\w+\b, i.e. every maximal run of two or more
// Python word characters. Tokens are handed to a callback as views into a reused, padded buffer
// (no allocation per token; TermTable::kPadding readable bytes from each token's start).
//
// How, for speed (a 100k-document corpus is ~60 MB and 8 M tokens):
//   1. the document is copied into the buffer with ASCII letters lowercased (a loop the compiler
//      vectorizes), noting whether any byte is non-ASCII;
//   2. 64 bytes at a time, a bit mask marks ASCII word characters and non-ASCII bytes (SSE2 where
//      available); runs of set bits are found with bit tricks, so the loop runs once per run, not
//      once per byte. A run is delimited by ASCII non-word bytes, which are separators whatever
//      surrounds them, so runs can be handled one by one;
//   3. a run of ASCII bytes is a token as it stands in the buffer (all of it lowercased already);
//   4. a run holding non-ASCII bytes is decoded code point by code point: Python's lowercase of each
//      (U+0130 gives two code points; capital sigma looks at its context for Final_Sigma), and
//      word characters of the *lowered* text form the tokens, as in Python.
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "kspam/classic/python_unicode.hpp"
#include "kspam/classic/term_table.hpp"

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

// Bit k set where p[k] is an ASCII word character (either case) or a non-ASCII byte, k < 64.
inline std::uint64_t run_mask64(const unsigned char* p) {
#if defined(__SSE2__)
  // Unsigned range tests c - lo < len as signed compares after adding 128 - lo.
  const __m128i digit_shift = _mm_set1_epi8(static_cast<char>(128 - '0'));
  const __m128i digit_limit = _mm_set1_epi8(static_cast<char>(-128 + 10));
  const __m128i alpha_shift = _mm_set1_epi8(static_cast<char>(128 - 'a'));
  const __m128i alpha_limit = _mm_set1_epi8(static_cast<char>(-128 + 26));
  const __m128i case_bit = _mm_set1_epi8(0x20);
  const __m128i underscore = _mm_set1_epi8('_');
  std::uint64_t mask = 0;
  for (int j = 0; j < 4; ++j) {
    const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * j));
    const __m128i digit = _mm_cmplt_epi8(_mm_add_epi8(c, digit_shift), digit_limit);
    const __m128i alpha = _mm_cmplt_epi8(_mm_add_epi8(_mm_or_si128(c, case_bit), alpha_shift), alpha_limit);
    const __m128i word = _mm_or_si128(_mm_or_si128(digit, alpha), _mm_cmpeq_epi8(c, underscore));
    // A non-ASCII byte has its sign bit set, which is what movemask collects.
    const auto bits = static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_or_si128(word, c)));
    mask |= static_cast<std::uint64_t>(bits) << (16 * j);
  }
  return mask;
#else
  std::uint64_t mask = 0;
  for (int k = 0; k < 64; ++k)
    if (p[k] >= 0x80 || kAscii.word[p[k]]) mask |= std::uint64_t{1} << k;
  return mask;
#endif
}
}  // namespace detail

// Buffers reused across documents by for_each_token; one per thread.
struct TokenScratch {
  std::vector<char> lowered;  // the document, ASCII lowercased, zero padded to whole 64-byte blocks + 64
  std::string token;          // a token built code point by code point (non-ASCII runs)
};

// Calls on_token(std::string_view) for each token of `text`, in order. Tokens are lowercased UTF-8
// unless Lowercase is false (scikit-learn's lowercase=False). Each view has TermTable::kPadding
// readable bytes from its start and is valid until on_token returns.
template <bool Lowercase = true, typename OnToken>
void for_each_token(std::string_view text, TokenScratch& scratch, OnToken&& on_token) {
  const std::size_t n = text.size();
  const std::size_t blocks = (n + 63) / 64;
  auto& buf = scratch.lowered;
  if (buf.size() < blocks * 64 + 64) buf.resize(blocks * 64 + 64);
  const auto* in = reinterpret_cast<const unsigned char*>(text.data());
  auto* low = reinterpret_cast<unsigned char*>(buf.data());
  unsigned char any = 0;
  std::size_t pos = 0;
#if defined(__SSE2__)
  {
    // GCC does not vectorize the byte loop below (the OR reduction beside the store), so by hand.
    const __m128i upper_shift = _mm_set1_epi8(static_cast<char>(128 - 'A'));
    const __m128i upper_limit = _mm_set1_epi8(static_cast<char>(-128 + 26));
    const __m128i case_bit = _mm_set1_epi8(0x20);
    __m128i seen = _mm_setzero_si128();
    for (; pos + 16 <= n; pos += 16) {
      const __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + pos));
      seen = _mm_or_si128(seen, c);
      const __m128i upper = _mm_cmplt_epi8(_mm_add_epi8(c, upper_shift), upper_limit);
      const __m128i out = Lowercase ? _mm_add_epi8(c, _mm_and_si128(upper, case_bit)) : c;
      _mm_storeu_si128(reinterpret_cast<__m128i*>(low + pos), out);
    }
    if (_mm_movemask_epi8(seen)) any = 0x80;
  }
#endif
  for (; pos < n; ++pos) {
    const unsigned char c = in[pos];
    any |= c;
    low[pos] = Lowercase ? static_cast<unsigned char>(c + (static_cast<unsigned char>(c - 'A') < 26 ? 32 : 0)) : c;
  }
  std::memset(low + n, 0, blocks * 64 + 64 - n);
  const bool ascii = (any & 0x80) == 0;

  // Final_Sigma's left context, advanced lazily over the original text (sigmas are rare): whether
  // the last code point before `at` that is not case-ignorable is cased.
  std::size_t cased_at = 0;
  bool cased_before = false;
  auto preceded_by_cased = [&](std::size_t at) {
    while (cased_at < at) {
      const char32_t c = decode_utf8(text, cased_at);
      if (c < 0x80) {
        if (!detail::kAscii.ignorable[c]) cased_before = detail::kAscii.cased[c];
      } else if (!is_case_ignorable(c)) {
        cased_before = is_cased(c);
      }
    }
    return cased_before;
  };

  // A run with non-ASCII bytes, decoded from the original text. It cannot end inside a UTF-8
  // sequence: it ends at an ASCII byte or at the end of the text.
  auto slow_run = [&](std::size_t begin, std::size_t end) {
    std::string& token = scratch.token;
    token.clear();
    std::size_t length = 0;  // in code points (the pattern counts characters, not bytes)
    auto flush = [&] {
      if (length >= 2) {
        const std::size_t bytes = token.size();
        token.append(TermTable::kPadding, '\0');
        on_token(std::string_view(token.data(), bytes));
      }
      token.clear();
      length = 0;
    };
    auto take = [&](char32_t c) {
      if (c < 0x80) {
        if (!detail::kAscii.word[c]) return flush();
        token.push_back(static_cast<char>(c));
      } else {
        if (!is_python_word_char(c)) return flush();
        char bytes[4];
        token.append(bytes, encode_utf8(c, bytes));
      }
      ++length;
    };
    std::size_t i = begin;
    while (i < end) {
      const std::size_t at = i;
      const char32_t c = decode_utf8(text, i);
      if (c < 0x80) {
        take(Lowercase ? static_cast<char32_t>(detail::kAscii.lower[c]) : c);
      } else if constexpr (!Lowercase) {
        take(c);
      } else if (c == 0x03A3) {
        take(sigma_is_final(text, i, preceded_by_cased(at)) ? 0x03C2 : 0x03C3);
      } else {
        char32_t lowered[2];
        const int k = python_lower_code_point(c, lowered);
        take(lowered[0]);
        if (k == 2) take(lowered[1]);
      }
    }
    flush();
  };

  auto emit_run = [&](std::size_t begin, std::size_t end) {
    if (!ascii) {
      std::size_t k = begin;
      while (k < end && low[k] < 0x80) ++k;
      if (k < end) {
        slow_run(begin, end);
        return;
      }
    }
    if (end - begin >= 2) on_token(std::string_view(buf.data() + begin, end - begin));
  };

  bool in_run = false;
  std::size_t run_start = 0;
  std::uint64_t carry = 0;  // whether the previous block's last byte was in a run
  for (std::size_t b = 0; b < blocks; ++b) {
    const std::size_t base = b * 64;
    const std::uint64_t mask = detail::run_mask64(low + base);
    // Bit k of edges: a run starts or ends at byte base + k.
    std::uint64_t edges = mask ^ ((mask << 1) | carry);
    carry = mask >> 63;
    while (edges) {
      const std::size_t at = base + static_cast<std::size_t>(std::countr_zero(edges));
      edges &= edges - 1;
      if (!in_run) {
        run_start = at;
        in_run = true;
      } else {
        emit_run(run_start, at);
        in_run = false;
      }
    }
  }
  if (in_run) emit_run(run_start, n);  // the text ends exactly at a block boundary inside a run
}

template <bool Lowercase = true, typename OnToken>
void for_each_token(std::string_view text, OnToken&& on_token) {
  TokenScratch scratch;
  for_each_token<Lowercase>(text, scratch, on_token);
}

}  // namespace kspam::classic

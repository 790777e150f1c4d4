#pragma once
// UTF-8 decoding and encoding for the text pipeline, and the lossy repair that decides what the
// tokenizer does with invalid input.
//
// Invalid UTF-8: Hugging Face tokenizers only accepts valid strings (a Rust &str; Python str), so a
// user feeding it raw bytes first decodes them, in practice with bytes.decode("utf-8", "replace")
// or Rust's String::from_utf8_lossy. Both replace each maximal invalid subsequence (the Unicode
// "maximal subpart" practice) with one U+FFFD. kspam does the same at the tokenizer's door, so raw
// bytes in give exactly the ids Hugging Face gives for the repaired string, and nothing downstream
// ever sees invalid UTF-8.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "kspam/core/utf8.hpp"

namespace kspam::text {

inline constexpr char32_t kReplacementCharacter = 0xFFFD;

// utf8_sequence_length (core/utf8.hpp) finds each valid sequence or the maximal invalid subpart.
using kspam::utf8_sequence_length;
using kspam::append_utf8;

// Decodes the code point at s[i] of VALID UTF-8 and advances i.
inline char32_t decode_utf8(std::string_view s, std::size_t& i) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const unsigned char c = p[i];
  if (c < 0x80) {
    ++i;
    return c;
  }
  if (c < 0xE0) {
    const char32_t cp = (char32_t(c & 0x1F) << 6) | (p[i + 1] & 0x3F);
    i += 2;
    return cp;
  }
  if (c < 0xF0) {
    const char32_t cp = (char32_t(c & 0x0F) << 12) | (char32_t(p[i + 1] & 0x3F) << 6) | (p[i + 2] & 0x3F);
    i += 3;
    return cp;
  }
  const char32_t cp = (char32_t(c & 0x07) << 18) | (char32_t(p[i + 1] & 0x3F) << 12) |
                      (char32_t(p[i + 2] & 0x3F) << 6) | (p[i + 3] & 0x3F);
  i += 4;
  return cp;
}

// `s` with each maximal invalid subsequence replaced by U+FFFD (as from_utf8_lossy does).
inline std::string to_valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t subpart = 1;
    const std::size_t len = utf8_sequence_length(s, i, subpart);
    if (len) {
      out.append(s.data() + i, len);
      i += len;
    } else {
      append_utf8(out, kReplacementCharacter);
      i += subpart;
    }
  }
  return out;
}

}  // namespace kspam::text

#pragma once
// NFC normalisation with Unicode 9.0 data, as Hugging Face tokenizers does it (its crate
// unicode-normalization-alignments carries 9.0 tables): code points assigned after 9.0 have
// combining class 0 and neither decompose nor compose. Text made only of code points NFC cannot
// touch (all ASCII, most of any script) is returned as is without decoding.
#include <algorithm>
#include <tuple>
#include <utility>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kspam/text/unicode_classes.hpp"
#include "kspam/text/unicode_data.hpp"
#include "kspam/text/utf8_text.hpp"

namespace kspam::text {

namespace detail {

inline constexpr char32_t kHangulBase = 0xAC00, kJamoL = 0x1100, kJamoV = 0x1161, kJamoT = 0x11A7;
inline constexpr char32_t kJamoLCount = 19, kJamoVCount = 21, kJamoTCount = 28;
inline constexpr char32_t kJamoNCount = kJamoVCount * kJamoTCount, kHangulCount = kJamoLCount * kJamoNCount;

struct NfcTables {
  std::unordered_map<char32_t, std::uint8_t> ccc;
  std::unordered_map<char32_t, const unicode_data::Decomposition*> decomposition;
  std::unordered_map<std::uint64_t, char32_t> composition;  // (first << 32 | second) -> composite

  NfcTables() {
    for (const auto& r : unicode_data::kCombiningClasses)
      for (char32_t cp = r.first; cp <= r.last; ++cp) ccc[cp] = r.ccc;
    for (const auto& d : unicode_data::kDecompositions) {
      decomposition[d.cp] = &d;
      if (d.composes) composition[(std::uint64_t(d.first) << 32) | d.second] = d.cp;
    }
  }
};

inline const NfcTables& nfc_tables() {
  static const NfcTables tables;
  return tables;
}

inline std::uint8_t combining_class(char32_t cp) {
  const auto& t = nfc_tables().ccc;
  const auto it = t.find(cp);
  return it == t.end() ? 0 : it->second;
}

inline void decompose(char32_t cp, std::vector<char32_t>& out) {
  if (cp >= kHangulBase && cp < kHangulBase + kHangulCount) {
    const char32_t s = cp - kHangulBase;
    out.push_back(kJamoL + s / kJamoNCount);
    out.push_back(kJamoV + (s % kJamoNCount) / kJamoTCount);
    if (s % kJamoTCount) out.push_back(kJamoT + s % kJamoTCount);
    return;
  }
  const auto& t = nfc_tables().decomposition;
  const auto it = t.find(cp);
  if (it == t.end()) {
    out.push_back(cp);
    return;
  }
  decompose(it->second->first, out);
  if (it->second->second) decompose(it->second->second, out);
}

inline char32_t compose_pair(char32_t a, char32_t b) {
  if (a >= kJamoL && a < kJamoL + kJamoLCount && b >= kJamoV && b < kJamoV + kJamoVCount)
    return kHangulBase + ((a - kJamoL) * kJamoVCount + (b - kJamoV)) * kJamoTCount;
  if (a >= kHangulBase && a < kHangulBase + kHangulCount && (a - kHangulBase) % kJamoTCount == 0 &&
      b > kJamoT && b < kJamoT + kJamoTCount)
    return a + (b - kJamoT);
  const auto& t = nfc_tables().composition;
  const auto it = t.find((std::uint64_t(a) << 32) | b);
  return it == t.end() ? 0 : it->second;
}

}  // namespace detail

// True when NFC leaves `s` (valid UTF-8) unchanged for certain, judged per code point.
inline bool nfc_unchanged_quick(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    if (is_nfc_sensitive(decode_utf8(s, i))) return false;
  }
  return true;
}

namespace detail {

// Full NFC (decompose, order, compose) of a short stretch of valid UTF-8.
inline std::string nfc_full(std::string_view s) {
  std::vector<char32_t> cps;
  cps.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) detail::decompose(decode_utf8(s, i), cps);
  // Canonical ordering: stable sort of each run of non-starters by combining class.
  std::vector<std::uint8_t> cls(cps.size());
  for (std::size_t k = 0; k < cps.size(); ++k) cls[k] = detail::combining_class(cps[k]);
  for (std::size_t k = 0; k < cps.size();) {
    if (cls[k] == 0) {
      ++k;
      continue;
    }
    std::size_t end = k;
    while (end < cps.size() && cls[end] != 0) ++end;
    if (end - k > 1) {
      std::vector<std::pair<std::uint8_t, char32_t>> run;
      for (std::size_t m = k; m < end; ++m) run.emplace_back(cls[m], cps[m]);
      std::stable_sort(run.begin(), run.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      for (std::size_t m = k; m < end; ++m) std::tie(cls[m], cps[m]) = run[m - k];
    }
    k = end;
  }
  // Canonical composition: each character composes with the last starter unless blocked, that is
  // unless a character left between them has class 0 or a class >= its own. `between` is the class
  // of the last character kept after the starter (-1: none); runs are sorted, so it is the largest.
  std::size_t starter = std::string::npos;
  std::size_t out = 0;
  int between = -1;
  for (std::size_t k = 0; k < cps.size(); ++k) {
    const char32_t cp = cps[k];
    const int c = cls[k];
    if (starter != std::string::npos && (between == -1 || (between != 0 && between < c))) {
      if (const char32_t composite = detail::compose_pair(cps[starter], cp)) {
        cps[starter] = composite;
        continue;
      }
    }
    if (c == 0) {
      starter = out;
      between = -1;
    } else {
      between = c;
    }
    cps[out] = cp;
    ++out;
  }
  std::string result;
  result.reserve(s.size());
  for (std::size_t k = 0; k < out; ++k) append_utf8(result, cps[k]);
  return result;
}

}  // namespace detail

// NFC of valid UTF-8 text. Only the stretches around code points NFC could touch are normalised:
// text may be cut before any code point that is not NFC-sensitive (a starter that nothing before it
// can compose with or reorder around), so each sensitive run is normalised together with the one
// character before it, and everything else is copied.
inline std::string nfc(std::string_view s) {
  if (nfc_unchanged_quick(s)) return std::string(s);
  std::string out;
  out.reserve(s.size() + 16);
  std::size_t i = 0, copied = 0, previous = std::string_view::npos;
  while (i < s.size()) {
    const std::size_t start = i;
    if (static_cast<unsigned char>(s[i]) < 0x80 || !is_nfc_sensitive(decode_utf8(s, i))) {
      if (static_cast<unsigned char>(s[start]) < 0x80) ++i;
      previous = start;
      continue;
    }
    const std::size_t begin = previous != std::string_view::npos && previous >= copied ? previous : start;
    std::size_t end = i;
    while (end < s.size()) {
      std::size_t next = end;
      if (static_cast<unsigned char>(s[next]) < 0x80 || !is_nfc_sensitive(decode_utf8(s, next))) break;
      end = next;
    }
    out.append(s.substr(copied, begin - copied));
    out += detail::nfc_full(s.substr(begin, end - begin));
    copied = i = end;
    previous = std::string_view::npos;
  }
  out.append(s.substr(copied));
  return out;
}

}  // namespace kspam::text

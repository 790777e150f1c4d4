// Python's \w and str.lower(), code point by code point, against Python's own answers
// (fixtures/classic/unicode.json from tests/reference/make_classic.py).
#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

#include "fixtures.hpp"
#include "kspam/classic/python_unicode.hpp"
#include "kspam/classic/token_pattern.hpp"

using namespace kspam;
using namespace kspam::classic;

namespace {

std::vector<bool> expand(const json::Value& ranges) {
  std::vector<bool> out(kMaxCodePoint + 1, false);
  for (const auto& r : ranges.as_array()) {
    const auto lo = static_cast<std::size_t>(r.as_array()[0].as_int());
    const auto hi = static_cast<std::size_t>(r.as_array()[1].as_int());
    for (std::size_t c = lo; c <= hi; ++c) out[c] = true;
  }
  return out;
}

std::string utf8(char32_t c) {
  std::string s;
  append_utf8(s, c);
  return s;
}

const json::Value& unicode_fixture() {
  static const json::Value v = test::load_classic_fixture("unicode.json");
  return v;
}

}  // namespace

TEST_CASE("python \\w matches Python's re module on every assigned code point", "[classic][unicode]") {
  const auto& fx = unicode_fixture();
  const auto word = expand(*fx.find("word_ranges"));
  const auto unassigned = expand(*fx.find("unassigned_ranges"));
  std::size_t checked = 0, newer = 0;
  std::vector<char32_t> wrong;
  for (char32_t c = 0; c <= kMaxCodePoint; ++c) {
    if (unassigned[c]) {
      // Unassigned in Python's Unicode database (or a surrogate): utf8proc may know it from a newer
      // Unicode version; such characters cannot be compared.
      newer += is_python_word_char(c);
      continue;
    }
    ++checked;
    if (is_python_word_char(c) != word[c]) wrong.push_back(c);
  }
  INFO("first mismatch U+" << std::hex << (wrong.empty() ? 0u : static_cast<unsigned>(wrong[0])) << std::dec
                           << ", " << wrong.size() << " mismatches; " << newer
                           << " word characters newer than Python's Unicode");
  CHECK(checked > 280000);
  CHECK(wrong.empty());
}

TEST_CASE("python_lower matches str.lower() of every assigned code point", "[classic][unicode]") {
  const auto& fx = unicode_fixture();
  const auto unassigned = expand(*fx.find("unassigned_ranges"));
  std::map<char32_t, std::string> expected;
  for (const auto& entry : fx.find("lower")->as_array()) {
    std::string s;
    for (const auto& cp : entry.as_array()[1].as_array()) append_utf8(s, static_cast<char32_t>(cp.as_int()));
    expected[static_cast<char32_t>(entry.as_array()[0].as_int())] = s;
  }
  CHECK(expected.size() > 1000);
  std::vector<char32_t> wrong;
  for (char32_t c = 0; c <= kMaxCodePoint; ++c) {
    if (unassigned[c]) continue;
    const auto it = expected.find(c);
    const std::string want = it == expected.end() ? utf8(c) : it->second;
    if (python_lower(utf8(c)) != want) wrong.push_back(c);
  }
  INFO("first mismatch U+" << std::hex << (wrong.empty() ? 0u : static_cast<unsigned>(wrong[0])) << std::dec << ", "
                           << wrong.size() << " mismatches");
  CHECK(wrong.empty());
}

TEST_CASE("Final_Sigma classes match Python's on every assigned code point", "[classic][unicode]") {
  const auto& fx = unicode_fixture();
  const auto unassigned = expand(*fx.find("unassigned_ranges"));
  const auto ignorable = expand(*fx.find("case_ignorable_ranges"));
  const auto cased = expand(*fx.find("cased_ranges"));
  std::vector<char32_t> wrong;
  for (char32_t c = 0; c <= kMaxCodePoint; ++c) {
    if (unassigned[c]) continue;
    // Python's probe cannot tell "cased" apart for ignorable characters (ignorable wins), so
    // compare cased only where the character is not ignorable.
    if (is_case_ignorable(c) != ignorable[c] || (!ignorable[c] && is_cased(c) != cased[c])) wrong.push_back(c);
  }
  INFO("first mismatch U+" << std::hex << (wrong.empty() ? 0u : static_cast<unsigned>(wrong[0])) << std::dec << ", "
                           << wrong.size() << " mismatches");
  CHECK(wrong.empty());
}

TEST_CASE("final sigma depends on both neighbours, as in Python", "[classic][unicode]") {
  // Expected strings are Python's: 'ΟΔΥΣΣΕΑΣ'.lower(), 'ΑΣ\u0301'.lower(), "Α'Σ".lower(), 'Σ'.lower(), 'ΑΣΑ'.lower()
  CHECK(python_lower("\u039f\u0394\u03a5\u03a3\u03a3\u0395\u0391\u03a3") ==
        "\u03bf\u03b4\u03c5\u03c3\u03c3\u03b5\u03b1\u03c2");
  CHECK(python_lower("\u0391\u03a3\u0301") == "\u03b1\u03c2\u0301");
  CHECK(python_lower("\u0391'\u03a3") == "\u03b1'\u03c2");
  CHECK(python_lower("\u03a3") == "\u03c3");
  CHECK(python_lower("\u0391\u03a3\u0391") == "\u03b1\u03c3\u03b1");
  CHECK(python_lower("\u0130") == "i\u0307");
}

TEST_CASE("invalid UTF-8 decodes to U+FFFD one byte at a time and never forms tokens", "[classic][unicode]") {
  std::vector<std::string> tokens;
  for_each_token(std::string("ab\xff" "cd\xc3" "ef\xe2\x82" "gh"), [&](std::string_view t) { tokens.emplace_back(t); });
  CHECK(tokens == std::vector<std::string>{"ab", "cd", "ef", "gh"});
}

TEST_CASE("token pattern keeps runs of two or more word characters", "[classic][unicode]") {
  std::vector<std::string> tokens;
  for_each_token(std::string("A b CD e_f 1 23 Don't x\u00b2 caf\u00e9"), [&](std::string_view t) { tokens.emplace_back(t); });
  CHECK(tokens == std::vector<std::string>{"cd", "e_f", "23", "don", "x\u00b2", "caf\u00e9"});
}

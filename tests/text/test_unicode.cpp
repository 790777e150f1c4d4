// Character classes and NFC against what Hugging Face tokenizers itself does, for every Unicode
// scalar value (fixtures read out of tokenizers 0.23.2 by tests/reference/make_text_fixtures.py).
#include <catch2/catch.hpp>

#include "kspam/text/nfc.hpp"
#include "kspam/text/unicode_classes.hpp"
#include "text_test_support.hpp"

using namespace kspam;
using namespace kspam::text;
using namespace kspam::text::testing;

TEST_CASE("unicode classes equal Oniguruma's \\p{L}, \\p{N} and \\s for every code point", "[unicode][parity]") {
  const auto fixture = json::parse(read_file(fixture_dir() / "classes.json"));
  std::vector<std::uint8_t> expected(0x110000, std::uint8_t(CharClass::Other));
  auto mark = [&](const char* name, CharClass cls) {
    for (const auto& r : fixture.find(name)->as_array()) {
      const auto& pair = r.as_array();
      for (std::int64_t cp = pair[0].as_int(); cp <= pair[1].as_int(); ++cp) {
        // No code point may be in two classes: the scanner relies on it.
        REQUIRE(expected[static_cast<std::size_t>(cp)] == std::uint8_t(CharClass::Other));
        expected[static_cast<std::size_t>(cp)] = std::uint8_t(cls);
      }
    }
  };
  mark("letter", CharClass::Letter);
  mark("number", CharClass::Number);
  mark("space", CharClass::Space);
  std::size_t wrong = 0;
  char32_t first_wrong = 0;
  for (char32_t cp = 0; cp < 0x110000; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    if (std::uint8_t(char_class(cp)) != expected[cp]) {
      if (!wrong) first_wrong = cp;
      ++wrong;
    }
  }
  INFO("first differing code point U+" << std::hex << std::uint32_t(first_wrong));
  CHECK(wrong == 0);
  // Spot checks that would catch a wrong table version or regex flavour.
  CHECK(char_class(0x2EBF0) == CharClass::Letter);  // CJK Ext. I (Unicode 15.1)
  CHECK(char_class(0x1C89) == CharClass::Letter);   // Unicode 16.0
  CHECK(char_class(0x1C) == CharClass::Other);      // Python's re would call it white space
  CHECK(char_class(0x0301) == CharClass::Other);    // combining marks are not letters
}

TEST_CASE("unicode NFC equals Hugging Face's (Unicode 9.0) for every code point", "[unicode][parity]") {
  const auto fixture = json::parse(read_file(fixture_dir() / "nfc.json"));
  std::vector<std::string> expected(0x110000);
  for (const auto& item : fixture.as_array()) {
    const auto& pair = item.as_array();
    expected[static_cast<std::size_t>(pair[0].as_int())] = pair[1].as_string();
  }
  std::size_t wrong = 0, changed = 0;
  char32_t first_wrong = 0;
  for (char32_t cp = 1; cp < 0x110000; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    std::string s;
    append_utf8(s, cp);
    const std::string got = nfc(s);
    const std::string& want = expected[cp].empty() ? s : expected[cp];
    changed += got != s;
    if (got != want) {
      if (!wrong) first_wrong = cp;
      ++wrong;
    }
  }
  INFO("first differing code point U+" << std::hex << std::uint32_t(first_wrong));
  CHECK(wrong == 0);
  CHECK(changed == fixture.as_array().size());
}

TEST_CASE("unicode NFC composes, reorders and leaves post-9.0 marks alone", "[unicode]") {
  CHECK(nfc("e\u0301") == "\u00e9");
  CHECK(nfc("\u212b") == "\u00c5");                        // singleton decomposition
  CHECK(nfc("\u1100\u1161\u11a8") == "\uac01");           // Hangul L V T
  CHECK(nfc("a\u0323\u0301\u0302") == nfc("a\u0301\u0323\u0302"));  // canonical order
  CHECK(nfc("q\u0307\u0323") == "q\u0323\u0307");
  CHECK(nfc("\u0958") == "\u0915\u093c");                   // composition exclusion
  CHECK(nfc("a\u1ac0\u0301") == "a\u1ac0\u0301");           // U+1AC0 (14.0) has class 0 for HF: blocks
  CHECK(nfc("\U00011935\U00011930") == "\U00011935\U00011930");  // 13.0 composition not applied
  CHECK(nfc("plain ascii") == "plain ascii");
  CHECK(nfc_unchanged_quick("caf\u00e9 \u4e2d\u6587"));
}

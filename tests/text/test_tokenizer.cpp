// The Qwen3 tokenizer against Hugging Face tokenizers 0.23.2: every id of the committed corpus
// (real text in many scripts, emoji, code, NormalizationTest strings, edge cases, 5000 seeded
// corner-case strings, invalid UTF-8), decode and round trip, crafted decode cases.
#include <catch2/catch.hpp>

#include "kspam/core/hash.hpp"
#include "kspam/core/rng.hpp"
#include "kspam/text/nfc.hpp"
#include "kspam/text/pretokenizer.hpp"
#include "text_test_support.hpp"

using namespace kspam;
using namespace kspam::text;
using namespace kspam::text::testing;

namespace {

std::vector<std::vector<TokenId>> read_varint_ids(const std::filesystem::path& path) {
  const std::string blob = read_file(path);
  std::vector<std::vector<TokenId>> out;
  std::size_t p = 0;
  auto next = [&]() -> std::uint64_t {
    std::uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
      REQUIRE(p < blob.size());
      const auto b = static_cast<unsigned char>(blob[p++]);
      v |= std::uint64_t(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
  };
  while (p < blob.size()) {
    const std::uint64_t n = next();
    std::vector<TokenId> ids(n);
    for (auto& id : ids) id = static_cast<TokenId>(next());
    out.push_back(std::move(ids));
  }
  return out;
}

std::vector<std::string> pieces_of(std::string_view s) {
  std::vector<std::string> out;
  pretokenize(s, [&](std::size_t b, std::size_t e) { out.emplace_back(s.substr(b, e - b)); });
  return out;
}

}  // namespace

TEST_CASE("tokenizer loads the real Qwen3 tokenizer.json", "[tokenizer]") {
  const Tokenizer& tok = qwen3();
  CHECK(tok.vocab_size() == 151643);
  CHECK(tok.merge_count() == 151387);
  CHECK(tok.added_tokens().size() == 26);
  CHECK(tok.require_token("<|im_end|>") == 151645);
  CHECK(tok.require_token("<|image_pad|>") == 151655);
  CHECK_THROWS_AS(tok.require_token("<|no_such_token|>"), InputError);
}

TEST_CASE("tokenizer ids equal Hugging Face on the whole committed corpus", "[tokenizer][parity]") {
  const Tokenizer& tok = qwen3();
  const auto corpus = read_jsonl(corpus_dir() / "corpus.jsonl");
  const auto invalid = read_jsonl(corpus_dir() / "invalid.jsonl");
  const auto expected = read_varint_ids(fixture_dir() / "corpus_ids.bin");
  const auto meta = json::parse(read_file(fixture_dir() / "corpus_meta.json"));
  REQUIRE(expected.size() == corpus.size() + invalid.size());
  const auto& hashes = meta.find("decode_sha256_16")->as_array();
  const auto& roundtrip = meta.find("roundtrip")->as_array();
  std::size_t mismatched = 0, decode_mismatched = 0, roundtrip_mismatched = 0, tokens = 0;
  std::string first_failure;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const bool is_invalid = i >= corpus.size();
    const std::string input = is_invalid ? from_hex(invalid[i - corpus.size()].find("hex")->as_string())
                                          : corpus[i].find("text")->as_string();
    const auto ids = tok.encode(input);
    tokens += ids.size();
    if (ids != expected[i]) {
      if (first_failure.empty())
        first_failure = (is_invalid ? invalid[i - corpus.size()] : corpus[i]).find("source")->as_string();
      ++mismatched;
    }
    const std::string decoded = tok.decode(ids);
    if (sha256_hex(decoded).substr(0, 16) != hashes[i].as_string()) ++decode_mismatched;
    // Round trip as Hugging Face sees it: its input was the repaired string for invalid bytes.
    const std::string hf_input = is_invalid ? to_valid_utf8(input) : input;
    if ((decoded == hf_input) != roundtrip[i].as_bool()) ++roundtrip_mismatched;
  }
  INFO("first mismatch: " << first_failure);
  CHECK(mismatched == 0);
  CHECK(decode_mismatched == 0);
  CHECK(roundtrip_mismatched == 0);
  CHECK(tokens > 600000);  // the corpus is the size the fixture says it is, not truncated
}

TEST_CASE("tokenizer decode matches Hugging Face on crafted id lists", "[tokenizer][parity]") {
  const Tokenizer& tok = qwen3();
  const auto cases = read_jsonl(fixture_dir() / "decode_cases.jsonl");
  REQUIRE(cases.size() == 600);
  std::size_t wrong = 0;
  for (const auto& c : cases) {
    std::vector<TokenId> ids;
    for (const auto& v : c.find("ids")->as_array()) ids.push_back(static_cast<TokenId>(v.as_int()));
    if (tok.decode(ids, c.find("skip_special")->as_bool()) != c.find("text")->as_string()) ++wrong;
  }
  CHECK(wrong == 0);
}

TEST_CASE("tokenizer reproduces the worked examples of the architecture notes", "[tokenizer]") {
  // Pieces and ids from qwen3-vl-architecture.md §7 (verified there against HF tokenizers).
  const Tokenizer& tok = qwen3();
  CHECK(tok.encode("don't I'M we'LL") == std::vector<TokenId>{15007, 944, 358, 27603, 582, 6, 4086});
  CHECK(tok.encode("a \n  b") == std::vector<TokenId>{64, 715, 220, 293});
  CHECK(tok.encode("<<|im_end|>>") == std::vector<TokenId>{27, 151645, 29});
  CHECK(tok.encode("e\u0301 \u212b") == std::vector<TokenId>{963, 79252});
  CHECK(pieces_of("x  !!\n\ny") == std::vector<std::string>{"x", " ", " !!\n\n", "y"});
  CHECK(pieces_of("'\u017f '\u2019s") == std::vector<std::string>{"'\u017f", " '\u2019", "s"});
  CHECK(pieces_of("1234 \u00bd\u00b2") == std::vector<std::string>{"1", "2", "3", "4", " ", "\u00bd", "\u00b2"});
  CHECK(pieces_of("\u0939\u093f\u0928\u094d\u0926\u0940") ==
        std::vector<std::string>{"\u0939", "\u093f\u0928", "\u094d\u0926", "\u0940"});
  CHECK(pieces_of("hello   ") == std::vector<std::string>{"hello", "   "});
  CHECK(pieces_of("a\u00a0b\u2003c") == std::vector<std::string>{"a", "\u00a0b", "\u2003c"});
}

TEST_CASE("tokenizer handles invalid UTF-8 as Hugging Face does after lossy decoding", "[tokenizer]") {
  const Tokenizer& tok = qwen3();
  // Each maximal invalid subsequence becomes one U+FFFD before tokenizing.
  CHECK(tok.encode("\xff\xfe abc \xe2\x82") == tok.encode("\ufffd\ufffd abc \ufffd"));
  CHECK(to_valid_utf8("\xe2\x82\x41") == "\ufffd\x41");
  CHECK(to_valid_utf8("\xed\xa0\x80") == "\ufffd\ufffd\ufffd");  // a surrogate: three maximal subparts
  CHECK(to_valid_utf8("\xf0\x9f\x98") == "\ufffd");
  CHECK(to_valid_utf8("ok \xc3\xa9") == "ok \xc3\xa9");
}

TEST_CASE("tokenizer batch encoding equals one-by-one encoding", "[tokenizer]") {
  const Tokenizer& tok = qwen3();
  std::vector<std::string> texts;
  for (const auto& v : read_jsonl(corpus_dir() / "corpus.jsonl")) {
    texts.push_back(v.find("text")->as_string());
    if (texts.size() == 400) break;
  }
  const auto batch = tok.encode_batch(texts, 4);
  REQUIRE(batch.size() == texts.size());
  for (std::size_t i = 0; i < texts.size(); ++i) CHECK(batch[i] == tok.encode(texts[i]));
}

TEST_CASE("tokenizer long pieces take the heap path and agree with the short path", "[tokenizer]") {
  const Tokenizer& tok = qwen3();
  // A letter run far above the short-piece limit; its BPE must equal the concatenation rule HF
  // applies (checked in the corpus too: "aGVsbG8gd29ybGQ" x 40 and runs of 300 characters).
  std::string long_word;
  for (int i = 0; i < 2000; ++i) long_word += "abcdefghij"[i % 10];
  const auto ids = tok.encode(long_word);
  CHECK(tok.decode(ids) == long_word);
  CHECK(ids.size() < long_word.size() / 2);
}

TEST_CASE("tokenizer refuses tokenizer.json files it cannot reproduce", "[tokenizer][errors]") {
  auto minimal = [](const std::string& normalizer, const std::string& pattern, const std::string& model_extra) {
    std::string json = R"({"added_tokens":[],"normalizer":)" + normalizer +
                       R"(,"pre_tokenizer":{"type":"Sequence","pretokenizers":[{"type":"Split","pattern":{"Regex":)";
    json::Value::write_string(json, pattern);
    json += R"(},"behavior":"Isolated","invert":false},{"type":"ByteLevel","use_regex":false}]},"model":{"type":"BPE")" +
            model_extra + R"(,"vocab":{},"merges":[]}})";
    return json;
  };
  const std::string qwen(kQwenSplitPattern);
  // An empty vocabulary lacks the byte symbols: named in the error.
  CHECK_THROWS_WITH(Tokenizer::from_json(minimal(R"({"type":"NFC"})", qwen, ""), "t.json"),
                    Catch::Contains("t.json") && Catch::Contains("byte"));
  CHECK_THROWS_WITH(Tokenizer::from_json(minimal(R"({"type":"NFKC"})", qwen, ""), "t.json"),
                    Catch::Contains("unsupported normalizer"));
  CHECK_THROWS_WITH(Tokenizer::from_json(minimal("null", "\\s+", ""), "t.json"),
                    Catch::Contains("split pattern"));
  CHECK_THROWS_WITH(Tokenizer::from_json(minimal("null", qwen, R"(,"byte_fallback":true)"), "t.json"),
                    Catch::Contains("byte fallback"));
  CHECK_THROWS_AS(Tokenizer::from_json("{not json", "t.json"), InputError);
  CHECK_THROWS_AS(Tokenizer::from_json("[]", "t.json"), InputError);
}

TEST_CASE("tokenizer round-trips random bytes through repair and NFC, pieces tile the text", "[tokenizer]") {
  const Tokenizer& tok = qwen3();
  kspam::Rng rng(20261124);
  // Bytes biased towards the interesting ones: ASCII, continuation bytes, lead bytes, spaces, quotes.
  const std::string alphabet = std::string("aZ9 '\n\r\t!#<|>") + "\x80\xbf\xc3\xa9\xcc\x81\xe2\x80\x83\xf0\x9f\x98\x80\xff\xed";
  for (int round = 0; round < 3000; ++round) {
    std::string input;
    const auto n = rng.below(40) + 1;
    for (std::uint64_t k = 0; k < n; ++k) input += alphabet[rng.below(alphabet.size())];
    const std::string repaired = to_valid_utf8(input);
    REQUIRE(is_valid_utf8(repaired));
    std::size_t covered = 0;
    pretokenize(repaired, [&](std::size_t b, std::size_t e) {
      CHECK(b == covered);
      CHECK(e > b);
      covered = e;
    });
    CHECK(covered == repaired.size());
    // No added token can form from this alphabet (no "<|...|>" word), so the text is one segment.
    CHECK(tok.decode(tok.encode(input)) == nfc(repaired));
    CHECK(nfc(nfc(repaired)) == nfc(repaired));
  }
}

// Chat template, image expansion and label mask against transformers 5.17 apply_chat_template +
// Qwen3VLProcessor (fixtures: tests/reference/fixtures/text/chat.jsonl), plus the SFT example
// rules: prompts, answer format, truncation that never cuts image tokens or the answer.
#include <catch2/catch.hpp>

#include <algorithm>
#include <optional>

#include "kspam/text/prompt.hpp"
#include "kspam/text/sft_example.hpp"
#include "kspam/text/verdict.hpp"
#include "text_test_support.hpp"

using namespace kspam;
using namespace kspam::text;
using namespace kspam::text::testing;

namespace {

struct ChatCase {
  std::string name;
  std::vector<ChatMessage> prompt;  // without the answer
  std::optional<std::string> answer;
  json::Value fixture;
};

std::vector<ChatCase> load_cases() {
  std::vector<ChatCase> cases;
  for (const auto& record : read_jsonl(fixture_dir() / "chat.jsonl")) {
    ChatCase c;
    c.name = record.find("name")->as_string();
    c.fixture = record;
    std::array<std::int64_t, 3> grid{};
    if (const auto* g = record.find("image_grid_thw"))
      for (std::size_t k = 0; k < 3; ++k) grid[k] = g->as_array()[k].as_int();
    for (const auto& m : record.find("messages")->as_array()) {
      ChatMessage message{m.find("role")->as_string(), {}};
      const auto& content = *m.find("content");
      if (content.is_string()) {
        message.content.push_back(ContentPart::make_text(content.as_string()));
      } else {
        for (const auto& part : content.as_array()) {
          if (part.find("type")->as_string() == "image")
            message.content.push_back(ContentPart::make_image(part.find("image")->as_string(), grid));
          else
            message.content.push_back(ContentPart::make_text(part.find("text")->as_string()));
        }
      }
      c.prompt.push_back(std::move(message));
    }
    if (!record.find("answer")->is_null()) c.answer = record.find("answer")->as_string();
    cases.push_back(std::move(c));
  }
  return cases;
}

}  // namespace

TEST_CASE("chat template text equals apply_chat_template", "[chat][parity]") {
  const auto cases = load_cases();
  REQUIRE(cases.size() == 7);
  for (const auto& c : cases) {
    INFO(c.name);
    RenderOptions gen;
    gen.add_generation_prompt = true;
    CHECK(render_chat(c.prompt, gen) == c.fixture.find("prompt_text")->as_string());
    auto full = c.prompt;
    RenderOptions options;
    if (c.answer) full.push_back({"assistant", {ContentPart::make_text(*c.answer)}});
    else options.add_generation_prompt = true;
    CHECK(render_chat(full, options) == c.fixture.find("text")->as_string());
  }
}

TEST_CASE("chat examples: ids with expanded images and the label mask equal the Qwen3-VL processor", "[chat][parity]") {
  const Tokenizer& tok = qwen3();
  for (const auto& c : load_cases()) {
    INFO(c.name);
    std::vector<TokenId> expected_ids;
    for (const auto& v : c.fixture.find("input_ids")->as_array()) expected_ids.push_back(static_cast<TokenId>(v.as_int()));
    std::vector<std::int32_t> expected_labels;
    for (const auto& v : c.fixture.find("labels")->as_array()) expected_labels.push_back(static_cast<std::int32_t>(v.as_int()));
    if (c.answer) {
      const SftExample ex = tokenize_example(tok, c.prompt, *c.answer);
      CHECK(ex.input_ids == expected_ids);
      CHECK(ex.labels == expected_labels);
      CHECK(ex.image_tokens == static_cast<std::size_t>(c.fixture.find("image_tokens")->as_int()));
    } else {
      CHECK(tokenize_prompt(tok, c.prompt) == expected_ids);
    }
  }
}

TEST_CASE("chat template drops a late system message and refuses unknown roles", "[chat]") {
  std::vector<ChatMessage> m{{"user", {ContentPart::make_text("hi")}}, {"system", {ContentPart::make_text("late")}}};
  CHECK(render_chat(m) == "<|im_start|>user\nhi<|im_end|>\n");
  m.push_back({"tool", {ContentPart::make_text("x")}});
  CHECK_THROWS_AS(render_chat(m), Error);
  std::vector<ChatMessage> no_grid{{"user", {ContentPart::make_image("a.png")}}};
  RenderOptions expand;
  expand.expand_images = true;
  CHECK_THROWS_WITH(render_chat(no_grid, expand), Catch::Contains("a.png"));
}

TEST_CASE("prompt: image first, the missing-image rule, and a target the verdict parser accepts", "[chat][prompt]") {
  const auto with = listing_conversation("Red dress", "img.png", {1, 16, 16});
  REQUIRE(with.size() == 2);
  CHECK(with[0].role == "system");
  REQUIRE(with[1].content.size() == 2);
  CHECK(with[1].content[0].kind == ContentPart::Kind::Image);
  CHECK(with[1].content[1].text.ends_with("Description: Red dress"));
  const auto without = listing_conversation("Red dress", "");
  REQUIRE(without[1].content.size() == 1);
  CHECK(without[1].content[0].text.find("image is unavailable") != std::string::npos);

  CHECK(assistant_target_for(false, 1.0, "Blue sweater") ==
        R"({"is_spam":false,"confidence":1.0,"reason":"Description matches the item; no unrelated keywords."})");
  CHECK(spam_reason("Red bag Gucci #bargain #fashion #nike Message on Insta @plug for wholesale") ==
        "Spam cues: off-platform contact, hashtag wall.");
  CHECK(spam_reason("dress dress dress dress sale") == "Spam cues: repeated keywords.");
  CHECK(spam_reason("Trainers Supreme / Chanel / Dior") == "Spam cues: brand list.");
  CHECK(spam_reason("Red T-shirt. Good used condition.") == kGenericSpamReason);
  CHECK(format_confidence(0.666) == "0.67");
  CHECK(format_confidence(0.5) == "0.5");
  CHECK(format_confidence(0.0) == "0.0");
  const auto parsed = parse_verdict(assistant_target(false, 0.67, "quote \" and \\ ok"));
  REQUIRE(parsed.ok());
  CHECK_FALSE(parsed.verdict->is_spam);
  CHECK(parsed.verdict->confidence == Approx(0.67));
  CHECK(parsed.verdict->reason == "quote \" and \\ ok");
}

TEST_CASE("sft truncation shortens only the description", "[chat][sft]") {
  const Tokenizer& tok = qwen3();
  std::string description;
  for (int i = 0; i < 400; ++i) description += "Nike Adidas Gucci Prada Balenciaga Chanel \u00e9t\u00e9 ";
  const std::string answer = assistant_target_for(true, 1.0, description);
  FitOptions options;
  options.max_seq_len = 512;
  const auto fitted = fit_listing_example(tok, description, "img.png", {1, 16, 16}, answer, options);
  REQUIRE(fitted.fits);
  CHECK(fitted.shortened);
  CHECK(fitted.example.input_ids.size() <= 512);
  CHECK(fitted.example.input_ids.size() > 480);  // the longest prefix that fits, not a crude cut
  CHECK(fitted.example.image_tokens == 64);
  CHECK(fitted.description.ends_with("\u2026"));
  CHECK(is_valid_utf8(fitted.description));
  // The answer is intact at the end, fully supervised.
  const std::vector<TokenId> answer_ids = tok.encode(answer + "<|im_end|>\n");
  REQUIRE(fitted.example.supervised_tokens() == answer_ids.size());
  CHECK(std::equal(answer_ids.begin(), answer_ids.end(), fitted.example.input_ids.end() - static_cast<std::ptrdiff_t>(answer_ids.size())));

  const auto short_row = fit_listing_example(tok, "Blue sweater", "", {}, answer, options);
  CHECK(short_row.fits);
  CHECK_FALSE(short_row.shortened);
  CHECK(short_row.description == "Blue sweater");

  // An image larger than the budget cannot be fitted by cutting text: reported, not cut.
  const auto too_big = fit_listing_example(tok, "x", "big.png", {1, 64, 64}, answer, options);
  CHECK_FALSE(too_big.fits);
}

TEST_CASE("inference prompt is exactly the training example's prompt", "[chat][sft]") {
  const Tokenizer& tok = qwen3();
  for (const std::string& image : {std::string("img.png"), std::string()}) {
    const std::array<std::int64_t, 3> grid = image.empty() ? std::array<std::int64_t, 3>{} : std::array<std::int64_t, 3>{1, 20, 14};
    const std::string description = "Beige trainers Supreme / Chanel / Dior #hype";
    const auto train = fit_listing_example(tok, description, image, grid, assistant_target_for(true, 1.0, description));
    const auto infer = fit_listing_example(tok, description, image, grid, "", {}, 64);
    REQUIRE(train.fits);
    REQUIRE(infer.fits);
    CHECK(infer.example.supervised_tokens() == 0);
    REQUIRE(infer.example.input_ids.size() == train.example.prompt_length);
    CHECK(std::equal(infer.example.input_ids.begin(), infer.example.input_ids.end(), train.example.input_ids.begin()));
    CHECK(infer.example.image_tokens == (image.empty() ? 0u : 70u));
  }
}

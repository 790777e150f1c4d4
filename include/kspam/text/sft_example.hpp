#pragma once
// Training examples: a conversation tokenized with its images expanded, and the label mask that
// puts the loss only on the assistant's answer and the end-of-turn tokens after it (<|im_end|> and
// "\n", as Qwen's own fine-tuning code supervises them; qwen3-vl-architecture.md §6).
//
// fit_listing_example also enforces max_seq_len without ever cutting image tokens or the answer:
// when a row is too long its description is shortened (at a character boundary, marked with "…")
// to the longest prefix that fits.
#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "kspam/core/atomic_file.hpp"
#include "kspam/core/error.hpp"
#include "kspam/image/decode.hpp"
#include "kspam/image/preprocessor_config.hpp"
#include "kspam/image/smart_resize.hpp"
#include "kspam/text/chat_template.hpp"
#include "kspam/text/prompt.hpp"
#include "kspam/text/tokenizer.hpp"

namespace kspam::text {

inline constexpr std::int32_t kIgnoreLabel = -100;

struct SftExample {
  std::vector<TokenId> input_ids;
  std::vector<std::int32_t> labels;  // the id where the loss applies, kIgnoreLabel elsewhere
  std::size_t prompt_length = 0;     // tokens before the answer
  std::size_t image_tokens = 0;      // <|image_pad|> tokens in input_ids

  std::size_t supervised_tokens() const { return input_ids.size() - prompt_length; }
};

// Tokenizes `prompt` (rendered with the generation prompt, images expanded) followed by `answer`
// and <|im_end|>\n. Tokenized together, the answer's first token can merge with the prompt's final
// "\n" only when the answer starts with white space and a line break; the mask then starts at the
// first token that differs from the prompt alone, so no answer text is left unsupervised.
inline SftExample tokenize_example(const Tokenizer& tokenizer, const std::vector<ChatMessage>& prompt,
                                   const std::string& answer, std::int64_t merge_size = 2) {
  RenderOptions options;
  options.add_generation_prompt = true;
  options.expand_images = true;
  options.merge_size = merge_size;
  const std::string prompt_text = render_chat(prompt, options);
  std::string full_text = prompt_text;
  full_text.append(answer).append(kImEnd).append("\n");
  const std::vector<TokenId> prompt_ids = tokenizer.encode(prompt_text);
  SftExample ex;
  ex.input_ids = tokenizer.encode(full_text);
  std::size_t boundary = 0;
  while (boundary < prompt_ids.size() && boundary < ex.input_ids.size() &&
         prompt_ids[boundary] == ex.input_ids[boundary])
    ++boundary;
  ex.prompt_length = boundary;
  ex.labels.assign(ex.input_ids.size(), kIgnoreLabel);
  for (std::size_t i = boundary; i < ex.input_ids.size(); ++i) ex.labels[i] = static_cast<std::int32_t>(ex.input_ids[i]);
  const TokenId pad = tokenizer.require_token(kImagePad);
  for (TokenId id : ex.input_ids) ex.image_tokens += id == pad;
  return ex;
}

// Prompt ids for inference: the conversation with the generation prompt, images expanded.
inline std::vector<TokenId> tokenize_prompt(const Tokenizer& tokenizer, const std::vector<ChatMessage>& prompt,
                                            std::int64_t merge_size = 2) {
  RenderOptions options;
  options.add_generation_prompt = true;
  options.expand_images = true;
  options.merge_size = merge_size;
  return tokenizer.encode(render_chat(prompt, options));
}

// (t, h, w) in patches for an image file, as the Qwen3-VL processor will resize it: read from the
// header only (no pixel decoding).
inline std::array<std::int64_t, 3> image_grid_for_file(const std::filesystem::path& path,
                                                       const image::PreprocessorConfig& config = {}) {
  const std::string bytes = read_file(path);
  const image::ImageInfo info = image::probe_image(bytes, path.string());
  const image::ResizedSize size =
      image::smart_resize(info.height, info.width, config.factor(), config.min_pixels, config.max_pixels, path.string());
  return {1, size.height / config.patch_size, size.width / config.patch_size};
}

struct FitOptions {
  std::size_t max_seq_len = 1024;
  std::int64_t merge_size = 2;
};

struct FittedListing {
  bool fits = false;             // false: image + template + answer alone exceed max_seq_len
  bool shortened = false;        // the description was cut to fit
  std::string description;       // the description as used
  std::vector<ChatMessage> prompt;
  SftExample example;
};

// Builds the example for one listing; `answer` empty gives an inference prompt (no labels) whose
// length must leave `answer_budget` tokens for generation.
inline FittedListing fit_listing_example(const Tokenizer& tokenizer, const std::string& description,
                                         const std::string& image_path, std::array<std::int64_t, 3> grid_thw,
                                         const std::string& answer, const FitOptions& options = {},
                                         std::size_t answer_budget = 0) {
  auto build = [&](const std::string& desc) {
    FittedListing f;
    f.description = desc;
    f.prompt = listing_conversation(desc, image_path, grid_thw);
    if (answer.empty()) {
      f.example.input_ids = tokenize_prompt(tokenizer, f.prompt, options.merge_size);
      f.example.prompt_length = f.example.input_ids.size();
      f.example.labels.assign(f.example.input_ids.size(), kIgnoreLabel);
      const TokenId pad = tokenizer.require_token(kImagePad);
      for (TokenId id : f.example.input_ids) f.example.image_tokens += id == pad;
    } else {
      f.example = tokenize_example(tokenizer, f.prompt, answer, options.merge_size);
    }
    f.fits = f.example.input_ids.size() + answer_budget <= options.max_seq_len;
    return f;
  };
  FittedListing full = build(description);
  if (full.fits) return full;
  // Longest prefix (at a UTF-8 character boundary) that fits, by binary search on its byte length.
  auto boundary = [&](std::size_t n) {
    while (n > 0 && n < description.size() && (static_cast<unsigned char>(description[n]) & 0xC0) == 0x80) --n;
    return n;
  };
  auto shortened = [&](std::size_t n) { return description.substr(0, boundary(n)) + "\u2026"; };
  std::size_t lo = 0, hi = description.size();  // invariant: prefixes of length >= hi do not fit
  FittedListing best = build(shortened(0));
  if (!best.fits) return best;
  while (hi - lo > 1) {
    const std::size_t mid = lo + (hi - lo) / 2;
    FittedListing attempt = build(shortened(mid));
    if (attempt.fits) {
      lo = mid;
      best = std::move(attempt);
    } else {
      hi = mid;
    }
  }
  best.shortened = true;
  return best;
}

}  // namespace kspam::text

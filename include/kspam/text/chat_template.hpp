#pragma once
// The Qwen3-VL Instruct chat template (qwen3-vl-architecture.md §6), rendered in C++ for the
// conversations kspam builds: [system?, user(image?, text...), assistant?]. It gives the same text
// as transformers' apply_chat_template with the checkpoint's template (checked on fixtures):
//   <|im_start|>system\n{text}<|im_end|>\n            (only as the first message; later ones are dropped)
//   <|im_start|>user\n{parts}<|im_end|>\n             (image part: <|vision_start|><|image_pad|><|vision_end|>)
//   <|im_start|>assistant\n{text}<|im_end|>\n
//   <|im_start|>assistant\n                           (the generation prompt)
// Parts are joined with nothing in between. There is no default system prompt and no <think> block.
// The processor then expands each image's single <|image_pad|> to t*h*w/merge² copies.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kspam/core/error.hpp"

namespace kspam::text {

inline constexpr std::string_view kImStart = "<|im_start|>";
inline constexpr std::string_view kImEnd = "<|im_end|>";
inline constexpr std::string_view kVisionStart = "<|vision_start|>";
inline constexpr std::string_view kVisionEnd = "<|vision_end|>";
inline constexpr std::string_view kImagePad = "<|image_pad|>";

struct ContentPart {
  enum class Kind { Text, Image };
  Kind kind = Kind::Text;
  std::string text;                         // Kind::Text
  std::string image;                        // Kind::Image: path (as written to the SFT JSONL)
  std::array<std::int64_t, 3> grid_thw{};   // Kind::Image: (t, h, w) in patches; all 0 if unknown

  static ContentPart make_text(std::string t) { return {Kind::Text, std::move(t), {}, {}}; }
  static ContentPart make_image(std::string path, std::array<std::int64_t, 3> grid = {}) {
    return {Kind::Image, {}, std::move(path), grid};
  }
};

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::vector<ContentPart> content;
};

// Image-token count of one image: t*h*w / merge_size² (merge_size 2 for Qwen3-VL).
inline std::int64_t image_token_count(const std::array<std::int64_t, 3>& grid_thw, std::int64_t merge_size = 2) {
  return grid_thw[0] * grid_thw[1] * grid_thw[2] / (merge_size * merge_size);
}

struct RenderOptions {
  bool add_generation_prompt = false;
  // Expand each image to vision_start + N image pads + vision_end (N from its grid), as the
  // processor does; off gives apply_chat_template's text with one pad per image.
  bool expand_images = false;
  std::int64_t merge_size = 2;
};

inline std::string render_chat(const std::vector<ChatMessage>& messages, const RenderOptions& options = {}) {
  std::string out;
  auto text_parts = [&](const ChatMessage& m) {
    for (const auto& part : m.content)
      if (part.kind == ContentPart::Kind::Text) out += part.text;  // images in system/assistant turns are dropped
  };
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (m.role == "system") {
      if (i != 0) continue;  // the template renders a system message only in first position
      out.append(kImStart).append("system\n");
      text_parts(m);
      out.append(kImEnd).append("\n");
    } else if (m.role == "user") {
      out.append(kImStart).append("user\n");
      for (const auto& part : m.content) {
        if (part.kind == ContentPart::Kind::Text) {
          out += part.text;
          continue;
        }
        out.append(kVisionStart);
        if (options.expand_images) {
          const std::int64_t n = image_token_count(part.grid_thw, options.merge_size);
          if (n <= 0) throw Error("image '" + part.image + "' has no grid: cannot expand its tokens");
          out.reserve(out.size() + static_cast<std::size_t>(n) * kImagePad.size());
          for (std::int64_t k = 0; k < n; ++k) out.append(kImagePad);
        } else {
          out.append(kImagePad);
        }
        out.append(kVisionEnd);
      }
      out.append(kImEnd).append("\n");
    } else if (m.role == "assistant") {
      out.append(kImStart).append("assistant\n");
      text_parts(m);
      out.append(kImEnd).append("\n");
    } else {
      throw Error("chat message role '" + m.role + "' is not supported (system, user or assistant)");
    }
  }
  if (options.add_generation_prompt) out.append(kImStart).append("assistant\n");
  return out;
}

}  // namespace kspam::text

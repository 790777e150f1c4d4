#pragma once
// What kspam asks the VLM, and the answer it teaches: one rule for training and inference.
//   system     the task and the strict JSON answer format;
//   user       the photo first when there is one, then the question and "Description: ...";
//              without a photo the question says the image is unavailable, so the model judges
//              the text alone (the same wording at inference);
//   assistant  minified JSON {"is_spam":..,"confidence":..,"reason":".."} for labeled rows.
#include <array>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "kspam/core/json.hpp"
#include "kspam/text/chat_template.hpp"

namespace kspam::text {

inline constexpr const char* kSystemPrompt =
    "You review product listings on an online marketplace for keyword spam: descriptions stuffed with "
    "brand names, search terms or tags that do not describe the item shown, added only to appear in more "
    "searches. Answer with exactly one JSON object and nothing else, in this form: "
    "{\"is_spam\": true or false, \"confidence\": a number from 0 to 1, \"reason\": \"a short reason, at most "
    "15 words\"}";

inline constexpr const char* kQuestionWithImage =
    "Is this listing keyword spam? Compare the description with the photo.\n";
inline constexpr const char* kQuestionWithoutImage =
    "Is this listing keyword spam? The image is unavailable; judge from the text alone.\n";
inline constexpr const char* kDescriptionPrefix = "Description: ";

// The user turn's text for a description; `has_image` chooses the question.
inline std::string user_prompt_text(const std::string& description, bool has_image) {
  return std::string(has_image ? kQuestionWithImage : kQuestionWithoutImage) + kDescriptionPrefix + description;
}

// [system, user(image?, text)]: the conversation for one listing, without the answer.
// `image_path` empty means no usable photo.
inline std::vector<ChatMessage> listing_conversation(const std::string& description, const std::string& image_path,
                                                     std::array<std::int64_t, 3> grid_thw = {}) {
  std::vector<ChatMessage> messages;
  messages.push_back({"system", {ContentPart::make_text(kSystemPrompt)}});
  ChatMessage user{"user", {}};
  if (!image_path.empty()) user.content.push_back(ContentPart::make_image(image_path, grid_thw));
  user.content.push_back(ContentPart::make_text(user_prompt_text(description, !image_path.empty())));
  messages.push_back(std::move(user));
  return messages;
}

// Confidence as the answer writes it: two decimals, always with a decimal point ("1.0", "0.67"),
// so the model sees one spelling for each value.
inline std::string format_confidence(double confidence) {
  if (!(confidence >= 0.0)) confidence = 0.0;
  if (confidence > 1.0) confidence = 1.0;
  const int hundredths = static_cast<int>(std::lround(confidence * 100.0));  // 0..100
  std::string out = std::to_string(hundredths / 100) + "." + std::to_string((hundredths / 10) % 10);
  if (hundredths % 10 != 0) out += std::to_string(hundredths % 10);
  return out;
}

inline constexpr const char* kSpamReason = "Description lists brands or search terms unrelated to the item.";
inline constexpr const char* kCleanReason = "Description matches the item without unrelated keywords.";

// The assistant's target text: minified JSON, keys in the order the system prompt gives.
inline std::string assistant_target(bool is_spam, double confidence, const std::string& reason) {
  std::string out = "{\"is_spam\":";
  out += is_spam ? "true" : "false";
  out += ",\"confidence\":" + format_confidence(confidence) + ",\"reason\":";
  json::Value::write_string(out, reason);
  out += "}";
  return out;
}

inline std::string assistant_target(bool is_spam, double confidence = 1.0) {
  return assistant_target(is_spam, confidence, is_spam ? kSpamReason : kCleanReason);
}

}  // namespace kspam::text

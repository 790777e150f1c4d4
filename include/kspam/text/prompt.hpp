#pragma once
// What kspam asks the VLM, and the answer it teaches: one rule for training and inference.
//   system     the task and the strict JSON answer format;
//   user       the photo first when there is one, then the question and "Description: ...";
//              without a photo the question says the image is unavailable, so the model judges
//              the text alone (the same wording at inference);
//   assistant  minified JSON {"is_spam":..,"confidence":..,"reason":".."} for labeled rows.
#include <algorithm>
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

inline constexpr const char* kCleanReason = "Description matches the item; no unrelated keywords.";
inline constexpr const char* kGenericSpamReason = "Text or photo misrepresents the item to attract searches.";

// A short reason for a spam label, from visible cues in the description (the labels say only
// spam or not): off-platform contact, hashtag wall, repeated keywords, a slash-separated brand
// list. Without a cue (e.g. a photo that contradicts the text) the reason stays generic.
inline std::string spam_reason(const std::string& description) {
  std::string lower;
  lower.reserve(description.size());
  for (char c : description) lower += (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  auto has = [&](const char* cue) { return lower.find(cue) != std::string::npos; };
  std::vector<std::string> cues;
  if (has("whatsapp") || has("telegram") || has("wechat") || has("insta") || has("dm me") || has("message on") ||
      has("www.") || has("http") || has("call me") || has("text me") || has("email"))
    cues.emplace_back("off-platform contact");
  std::size_t hashtags = 0;
  for (std::size_t i = 0; i + 1 < lower.size(); ++i)
    hashtags += lower[i] == '#' && ((lower[i + 1] >= 'a' && lower[i + 1] <= 'z') || (lower[i + 1] & 0x80));
  if (hashtags >= 3) cues.emplace_back("hashtag wall");
  // A word of 3+ letters four or more times.
  std::vector<std::pair<std::string, int>> counts;
  for (std::size_t i = 0; i < lower.size();) {
    std::size_t j = i;
    while (j < lower.size() && lower[j] >= 'a' && lower[j] <= 'z') ++j;
    if (j - i >= 3) {
      const std::string word = lower.substr(i, j - i);
      auto it = std::find_if(counts.begin(), counts.end(), [&](const auto& c) { return c.first == word; });
      if (it == counts.end()) counts.emplace_back(word, 1);
      else ++it->second;
    }
    i = j == i ? i + 1 : j;
  }
  if (std::any_of(counts.begin(), counts.end(), [](const auto& c) { return c.second >= 4; }))
    cues.emplace_back("repeated keywords");
  if (std::count(lower.begin(), lower.end(), '/') >= 2) cues.emplace_back("brand list");
  if (cues.empty()) return kGenericSpamReason;
  std::string out = "Spam cues: ";
  for (std::size_t k = 0; k < cues.size() && k < 3; ++k) out += (k ? ", " : "") + cues[k];
  return out + ".";
}

// The assistant's target text: minified JSON, keys in the order the system prompt gives.
inline std::string assistant_target(bool is_spam, double confidence, const std::string& reason) {
  std::string out = "{\"is_spam\":";
  out += is_spam ? "true" : "false";
  out += ",\"confidence\":" + format_confidence(confidence) + ",\"reason\":";
  json::Value::write_string(out, reason);
  out += "}";
  return out;
}

// The target for a labeled listing.
inline std::string assistant_target_for(bool is_spam, double confidence, const std::string& description) {
  return assistant_target(is_spam, confidence, is_spam ? spam_reason(description) : std::string(kCleanReason));
}

}  // namespace kspam::text

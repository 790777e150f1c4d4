#pragma once
// The "old way": the keyword heuristic a junior notebook used before any model, kept as a baseline
// so reports can show concretely where it fails and where the models do better. It is deliberately
// faithful to that notebook, failure modes included:
//   * lowercase the text, then plain substring tests (`keyword in text`): "sale" fires inside
//     "wholesale" and "salesman", the brand "apple" inside "pineapple", "coach" inside "coaching";
//   * brand mismatch is only counted, never understood: a genuine "Nike Air Max" with one brand is
//     fine, but a listing naming three brands is flagged even when it is an honest "fits like Nike,
//     Adidas and Puma" size guide, and a fake "Gucci-style" bag with one brand passes;
//   * hashtags are counted, not read: five harmless hashtags are "hashtag spam";
//   * calls to action are a fixed phrase list: "DM for discounts" is caught, "dm 4 discounts" or
//     "message on wa" are not.
// Score: 1 - exp(-(w_k * keywords + w_h * max(0, hashtags - free_hashtags) + w_c * calls to action
// + w_b * max(0, brands - free_brands))), in [0, 1); spam when score >= 0.5. With the default
// weights one call-to-action phrase, two keywords, four hashtags or three brands each reach 0.5.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "kspam/classic/python_unicode.hpp"
#include "kspam/core/json.hpp"

namespace kspam::classic {

struct LegacyHeuristicConfig {
  std::vector<std::string> keywords = {
      "cheap",       "discount",    "discounts",   "sale",       "free shipping", "best price", "lowest price",
      "wholesale",   "replica",     "1:1",         "hot deal",   "limited offer", "clearance",  "bulk",
      "100% authentic", "guaranteed", "promo",     "coupon",     "bargain",       "deal"};
  std::vector<std::string> calls_to_action = {
      "dm me",     "dm for",      "message me",  "whatsapp",   "telegram",  "text me",     "contact me",
      "link in bio", "click the link", "follow me", "call now", "order now", "buy now",     "inbox me"};
  std::vector<std::string> brands = {
      "nike",     "adidas",       "puma",        "reebok",        "gucci",         "prada",     "chanel",
      "louis vuitton", "rolex",   "apple",       "samsung",       "supreme",       "yeezy",     "jordan",
      "balenciaga", "versace",    "dior",        "hermes",        "fendi",         "burberry",  "zara",
      "levi's",   "ralph lauren", "tommy hilfiger", "calvin klein", "north face",   "patagonia", "lululemon",
      "converse", "vans",         "new balance", "under armour",  "michael kors",  "coach",     "kate spade"};
  double keyword_weight = 0.35;
  double hashtag_weight = 0.35;
  double call_to_action_weight = 0.7;
  double brand_weight = 0.35;
  int free_hashtags = 2;   // this many hashtags cost nothing
  int free_brands = 1;     // naming one brand is normal
  double threshold = 0.5;

  json::Value to_json() const {
    json::Value v = json::Value::object();
    v["keywords"] = keywords;
    v["calls_to_action"] = calls_to_action;
    v["brands"] = brands;
    v["keyword_weight"] = keyword_weight;
    v["hashtag_weight"] = hashtag_weight;
    v["call_to_action_weight"] = call_to_action_weight;
    v["brand_weight"] = brand_weight;
    v["free_hashtags"] = free_hashtags;
    v["free_brands"] = free_brands;
    v["threshold"] = threshold;
    return v;
  }
};

struct LegacyVerdict {
  double score = 0.0;  // in [0, 1)
  bool spam = false;
  std::vector<std::string> keywords, calls_to_action, brands;  // what fired
  int hashtags = 0;
  std::string reason;  // "keywords: cheap, sale; hashtags: 6; ..." or "no rule fired"
};

class LegacyKeywordHeuristic {
 public:
  explicit LegacyKeywordHeuristic(LegacyHeuristicConfig config = {}) : config_(std::move(config)) {}
  const LegacyHeuristicConfig& config() const { return config_; }

  LegacyVerdict score(std::string_view description) const {
    LegacyVerdict v;
    const std::string text = python_lower(description);
    auto present = [&](const std::vector<std::string>& phrases, std::vector<std::string>& fired) {
      for (const auto& p : phrases)
        if (!p.empty() && text.find(p) != std::string::npos) fired.push_back(p);
    };
    present(config_.keywords, v.keywords);
    present(config_.calls_to_action, v.calls_to_action);
    present(config_.brands, v.brands);
    v.hashtags = count_hashtags(text);
    const double evidence =
        config_.keyword_weight * static_cast<double>(v.keywords.size()) +
        config_.hashtag_weight * std::max(0, v.hashtags - config_.free_hashtags) +
        config_.call_to_action_weight * static_cast<double>(v.calls_to_action.size()) +
        config_.brand_weight * std::max(0, static_cast<int>(v.brands.size()) - config_.free_brands);
    v.score = 1.0 - std::exp(-evidence);
    v.spam = v.score >= config_.threshold;
    v.reason = explain(v);
    return v;
  }

  // '#' followed by a word character, as the notebook's re.findall(r"#\w+") counted them.
  static int count_hashtags(std::string_view text) {
    int n = 0;
    for (std::size_t i = 0; i + 1 < text.size(); ++i) {
      if (text[i] != '#') continue;
      std::size_t j = i + 1;
      if (is_python_word_char(decode_utf8(text, j))) ++n;
    }
    return n;
  }

 private:
  static std::string explain(const LegacyVerdict& v) {
    std::string out;
    auto list = [&](const char* name, const std::vector<std::string>& items) {
      if (items.empty()) return;
      if (!out.empty()) out += "; ";
      out += name;
      out += ": ";
      for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
    };
    list("keywords", v.keywords);
    list("calls to action", v.calls_to_action);
    list("brands", v.brands);
    if (v.hashtags > 0) out += (out.empty() ? "" : "; ") + std::string("hashtags: ") + std::to_string(v.hashtags);
    return out.empty() ? "no rule fired" : out;
  }

  LegacyHeuristicConfig config_;
};

}  // namespace kspam::classic

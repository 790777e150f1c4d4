#pragma once
// Reading the model's answer: the first complete JSON object in the generated text (prose, code
// fences or a preamble around it are tolerated; braces and escaped quotes inside strings are
// respected), parsed with simdjson and validated strictly:
//   is_spam     boolean                     (required)
//   confidence  number in [0, 1]            (required)
//   reason      string of at most 500 bytes (required)
// Other keys are allowed and ignored. The result is a Verdict or the typed reason it is not one
// (verdict_log.hpp counts them and keeps sample_responses.jsonl).
//
// Host-only (simdjson). Never throws on any input text; work is bounded for adversarial input.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <simdjson.h>


namespace kspam::text {

enum class VerdictProblem : std::uint8_t {
  None = 0,
  NoJsonObject,         // no '{' at all
  UnterminatedObject,   // a '{' whose object never closes (output cut off?)
  InvalidJson,          // balanced braces, but not valid JSON
  MissingIsSpam,
  IsSpamNotBoolean,
  MissingConfidence,
  ConfidenceNotNumber,
  ConfidenceOutOfRange,
  MissingReason,
  ReasonNotString,
  ReasonTooLong,
  DuplicateKey,         // a required key appears twice: which one the model meant is unknowable
};

inline constexpr std::size_t kVerdictProblemCount = 13;

inline const char* problem_name(VerdictProblem p) {
  switch (p) {
    case VerdictProblem::None: return "ok";
    case VerdictProblem::NoJsonObject: return "no_json_object";
    case VerdictProblem::UnterminatedObject: return "unterminated_object";
    case VerdictProblem::InvalidJson: return "invalid_json";
    case VerdictProblem::MissingIsSpam: return "missing_is_spam";
    case VerdictProblem::IsSpamNotBoolean: return "is_spam_not_boolean";
    case VerdictProblem::MissingConfidence: return "missing_confidence";
    case VerdictProblem::ConfidenceNotNumber: return "confidence_not_number";
    case VerdictProblem::ConfidenceOutOfRange: return "confidence_out_of_range";
    case VerdictProblem::MissingReason: return "missing_reason";
    case VerdictProblem::ReasonNotString: return "reason_not_string";
    case VerdictProblem::ReasonTooLong: return "reason_too_long";
    case VerdictProblem::DuplicateKey: return "duplicate_key";
  }
  return "unknown";
}

struct Verdict {
  bool is_spam = false;
  double confidence = 0.0;
  std::string reason;
};

struct VerdictResult {
  std::optional<Verdict> verdict;           // set when problem == None
  VerdictProblem problem = VerdictProblem::None;
  std::size_t object_begin = 0, object_end = 0;  // byte range of the JSON object used (if any)

  bool ok() const { return problem == VerdictProblem::None; }
};

struct VerdictLimits {
  std::size_t max_reason_bytes = 500;
  std::size_t max_scan_bytes = 1 << 16;  // generated text beyond this is not searched
  std::size_t max_candidates = 16;       // '{' positions tried before giving up
};

namespace detail {

// End (one past the closing brace) of the JSON-like object starting at s[begin] == '{', skipping
// braces inside strings; npos when it never closes.
inline std::size_t balanced_object_end(std::string_view s, std::size_t begin) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = begin; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      if (c == '\\') ++i;  // skip the escaped character, whatever it is
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (depth == 0) return std::string_view::npos;
      if (--depth == 0) return c == '}' ? i + 1 : std::string_view::npos;
    }
  }
  return std::string_view::npos;
}

inline VerdictProblem validate_object(simdjson::dom::object object, const VerdictLimits& limits, Verdict& out) {
  int seen_is_spam = 0, seen_confidence = 0, seen_reason = 0;
  simdjson::dom::element is_spam, confidence, reason;
  for (auto field : object) {
    if (field.key == "is_spam") {
      ++seen_is_spam;
      is_spam = field.value;
    } else if (field.key == "confidence") {
      ++seen_confidence;
      confidence = field.value;
    } else if (field.key == "reason") {
      ++seen_reason;
      reason = field.value;
    }
  }
  if (seen_is_spam > 1 || seen_confidence > 1 || seen_reason > 1) return VerdictProblem::DuplicateKey;
  if (!seen_is_spam) return VerdictProblem::MissingIsSpam;
  bool flag = false;
  if (is_spam.get(flag)) return VerdictProblem::IsSpamNotBoolean;
  if (!seen_confidence) return VerdictProblem::MissingConfidence;
  double value = 0.0;
  if (!confidence.is_number()) return VerdictProblem::ConfidenceNotNumber;
  if (confidence.is_double()) value = confidence.get_double().value_unsafe();
  else if (confidence.is_int64()) value = static_cast<double>(confidence.get_int64().value_unsafe());
  else value = static_cast<double>(confidence.get_uint64().value_unsafe());
  if (!(value >= 0.0 && value <= 1.0)) return VerdictProblem::ConfidenceOutOfRange;
  if (!seen_reason) return VerdictProblem::MissingReason;
  std::string_view text;
  if (reason.get(text)) return VerdictProblem::ReasonNotString;
  if (text.size() > limits.max_reason_bytes) return VerdictProblem::ReasonTooLong;
  out.is_spam = flag;
  out.confidence = value;
  out.reason = std::string(text);
  return VerdictProblem::None;
}

}  // namespace detail

// Parses the verdict out of generated text. Candidates are tried in order of their '{': the first
// one that is a valid JSON object decides (its validation result is final). When none is valid
// JSON, the problem says why the first candidate failed.
inline VerdictResult parse_verdict(std::string_view generated, const VerdictLimits& limits = {}) {
  VerdictResult result;
  const std::string_view text = generated.substr(0, std::min(generated.size(), limits.max_scan_bytes));
  simdjson::dom::parser parser;
  std::size_t tried = 0;
  std::optional<VerdictProblem> first_failure;
  for (std::size_t pos = text.find('{'); pos != std::string_view::npos && tried < limits.max_candidates;
       pos = text.find('{', pos + 1)) {
    ++tried;
    const std::size_t end = detail::balanced_object_end(text, pos);
    if (end == std::string_view::npos) {
      if (!first_failure) first_failure = VerdictProblem::UnterminatedObject;
      continue;
    }
    simdjson::padded_string padded(text.substr(pos, end - pos));
    simdjson::dom::element root;
    simdjson::dom::object object;
    if (parser.parse(padded).get(root) || root.get(object)) {
      if (!first_failure) first_failure = VerdictProblem::InvalidJson;
      continue;
    }
    Verdict verdict;
    result.problem = detail::validate_object(object, limits, verdict);
    result.object_begin = pos;
    result.object_end = end;
    if (result.problem == VerdictProblem::None) result.verdict = std::move(verdict);
    return result;
  }
  result.problem = first_failure.value_or(VerdictProblem::NoJsonObject);
  return result;
}

}  // namespace kspam::text

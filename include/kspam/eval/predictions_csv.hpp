#pragma once
// The predictions CSV every model writes and every evaluation reads:
//   required  product_id, label (0, 1 or empty when unknown), score (P(spam) in [0, 1]), pred (0/1)
//   optional  confidence (in [0, 1]; default: score when pred is 1, else 1 - score), reason,
//             decision (keep/review/demote), image_present (0/1/true/false), raw_output
// Other columns are kept as extras (for slices: any boolean column a user names). Every problem
// is an InputError naming file, line, column and value: a missing or non-numeric score, NaN,
// values outside [0, 1], a duplicate id.
#include <charconv>
#include <cmath>
#include <filesystem>
#include <string>
#include <unordered_map>
#include <vector>

#include "kspam/core/atomic_file.hpp"
#include "kspam/core/csv_writer.hpp"
#include "kspam/core/error.hpp"
#include "kspam/data/tsv_reader.hpp"
#include "kspam/eval/prediction.hpp"

namespace kspam::eval {

struct PredictionTable {
  std::string source;
  std::vector<Prediction> rows;
  std::vector<std::size_t> lines;           // source line of each row
  std::vector<std::string> extra_columns;   // lower-cased names of the columns beyond the known ones
  std::vector<std::vector<std::string>> extra;  // per row, values in extra_columns order
  bool has_confidence = false, has_decision = false, has_image_present = false;

  int extra_index(const std::string& name) const {
    for (std::size_t i = 0; i < extra_columns.size(); ++i)
      if (extra_columns[i] == name) return static_cast<int>(i);
    return -1;
  }
};

namespace detail {

inline std::string trim_field(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

inline std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return s;
}

// A probability-like number in [0, 1]; anything else (empty, text, NaN, inf, out of range) throws.
inline double parse_unit_number(const std::string& file, std::size_t line, const char* column, const std::string& raw) {
  const std::string s = trim_field(raw);
  if (s.empty()) throw InputError(file, line, column, "", std::string(column) + " is missing");
  double v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size())
    throw InputError(file, line, column, s, std::string(column) + " must be a number in [0, 1]");
  if (std::isnan(v)) throw InputError(file, line, column, s, std::string(column) + " is NaN");
  if (!(v >= 0.0 && v <= 1.0)) throw InputError(file, line, column, s, std::string(column) + " is outside [0, 1]");
  return v;
}

// 0/1 as written by us, pandas (1.0) or by hand (true/false).
inline std::optional<int> parse_flag(const std::string& raw) {
  const std::string s = lower(trim_field(raw));
  if (s == "1" || s == "1.0" || s == "true" || s == "yes") return 1;
  if (s == "0" || s == "0.0" || s == "false" || s == "no") return 0;
  return std::nullopt;
}

}  // namespace detail

inline Decision parse_decision(const std::string& file, std::size_t line, const std::string& raw) {
  const std::string s = detail::lower(detail::trim_field(raw));
  if (s == "keep") return Decision::Keep;
  if (s == "review") return Decision::Review;
  if (s == "demote") return Decision::Demote;
  throw InputError(file, line, "decision", raw, "decision must be keep, review or demote");
}

inline PredictionTable read_predictions_csv(const std::string& path) {
  data::TsvReader reader(path, ',');
  PredictionTable table;
  table.source = path;
  data::TsvRecord record;
  if (!reader.next(record)) throw InputError(path, 1, "", "", "file is empty: expected a header row");

  enum Col { Id, Label, Score, Pred, Confidence, Reason, DecisionCol, Image, Raw, kCols };
  static constexpr const char* kNames[kCols] = {"product_id", "label", "score",         "pred",      "confidence",
                                                "reason",     "decision", "image_present", "raw_output"};
  int where[kCols];
  std::fill(std::begin(where), std::end(where), -1);
  std::vector<int> extra_at;
  for (std::size_t i = 0; i < record.fields.size(); ++i) {
    const std::string name = detail::lower(detail::trim_field(record.fields[i]));
    bool known = false;
    for (int k = 0; k < kCols; ++k) {
      if (name == kNames[k]) {
        if (where[k] >= 0) throw InputError(path, record.line, name, "", "column appears twice in the header");
        where[k] = static_cast<int>(i);
        known = true;
      }
    }
    if (!known) {
      table.extra_columns.push_back(name);
      extra_at.push_back(static_cast<int>(i));
    }
  }
  for (int k : {Id, Label, Score, Pred})
    if (where[k] < 0)
      throw InputError(path, record.line, kNames[k], "",
                       "required column is missing from the header (need product_id,label,score,pred)");
  table.has_confidence = where[Confidence] >= 0;
  table.has_decision = where[DecisionCol] >= 0;
  table.has_image_present = where[Image] >= 0;
  const std::size_t columns = record.fields.size();

  std::unordered_map<std::string, std::size_t> seen;
  while (reader.next(record)) {
    const std::size_t line = record.line;
    if (record.fields.size() != columns)
      throw InputError(path, line, "", std::to_string(record.fields.size()) + " fields",
                       "row has a different number of fields than the header (" + std::to_string(columns) + ")");
    auto field = [&](int k) -> const std::string& { return record.fields[static_cast<std::size_t>(where[k])]; };
    Prediction p;
    p.product_id = detail::trim_field(field(Id));
    if (p.product_id.empty()) throw InputError(path, line, "product_id", "", "product_id is empty");
    if (auto [it, inserted] = seen.emplace(p.product_id, line); !inserted)
      throw InputError(path, line, "product_id", p.product_id,
                       "duplicate product_id (first seen on line " + std::to_string(it->second) + ")");
    const std::string label = detail::trim_field(field(Label));
    if (!label.empty()) {
      if (label == "1" || label == "1.0") p.truth = 1;
      else if (label == "0" || label == "0.0") p.truth = 0;
      else throw InputError(path, line, "label", label, "label must be 0, 1 or empty");
    }
    p.score = detail::parse_unit_number(path, line, "score", field(Score));
    const auto pred = detail::parse_flag(field(Pred));
    if (!pred) throw InputError(path, line, "pred", detail::trim_field(field(Pred)), "pred must be 0 or 1");
    p.predicted = *pred;
    if (table.has_confidence && !detail::trim_field(field(Confidence)).empty())
      p.confidence = detail::parse_unit_number(path, line, "confidence", field(Confidence));
    else
      p.confidence = p.predicted ? p.score : 1.0 - p.score;
    if (where[Reason] >= 0) p.reason = field(Reason);
    if (table.has_decision && !detail::trim_field(field(DecisionCol)).empty())
      p.decision = parse_decision(path, line, field(DecisionCol));
    if (table.has_image_present) {
      const auto flag = detail::parse_flag(field(Image));
      if (!flag) throw InputError(path, line, "image_present", field(Image), "image_present must be 0 or 1");
      p.image_present = *flag == 1;
    }
    if (where[Raw] >= 0) p.raw_output = field(Raw);
    std::vector<std::string> extras;
    for (int i : extra_at) extras.push_back(record.fields[static_cast<std::size_t>(i)]);
    table.rows.push_back(std::move(p));
    table.lines.push_back(line);
    table.extra.push_back(std::move(extras));
  }
  return table;
}

// Writes the full column set (required + optional) in the documented order, atomically.
// `extra_columns`/`extra` (optional) are appended as further columns.
inline void write_predictions_csv(const std::filesystem::path& path, const std::vector<Prediction>& rows,
                                  const std::vector<std::string>& extra_columns = {},
                                  const std::vector<std::vector<std::string>>& extra = {}) {
  if (!extra.empty() && extra.size() != rows.size())
    throw Error("write_predictions_csv: extra values for " + std::to_string(extra.size()) + " rows, expected " +
                std::to_string(rows.size()));
  AtomicFileWriter writer(path);
  auto& out = writer.stream();
  std::vector<std::string> header = {"product_id", "label",    "score",         "pred",      "confidence",
                                     "reason",     "decision", "image_present", "raw_output"};
  header.insert(header.end(), extra_columns.begin(), extra_columns.end());
  write_csv_row(out, header);
  std::vector<std::string> fields;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& p = rows[i];
    if (!std::isfinite(p.score) || p.score < 0 || p.score > 1)
      throw Error("write_predictions_csv: row " + p.product_id + " has score " + csv_number(p.score) +
                  ", outside [0, 1]");
    fields = {p.product_id,
              p.truth ? std::to_string(*p.truth) : std::string(),
              csv_number(p.score),
              std::to_string(p.predicted),
              csv_number(p.confidence),
              p.reason,
              to_string(p.decision),
              p.image_present ? "1" : "0",
              p.raw_output};
    if (!extra.empty()) fields.insert(fields.end(), extra[i].begin(), extra[i].end());
    write_csv_row(out, fields);
  }
  writer.commit();
}

}  // namespace kspam::eval

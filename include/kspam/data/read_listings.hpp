#pragma once
// Reads and validates listings. Every problem becomes an InputError naming file, line, column and
// value. By default the first error stops the read; with `collect_errors` up to `max_errors` are
// gathered and reported together. for_each_listing streams (memory stays flat for any file size);
// read_listings keeps the rows.
#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "kspam/core/error.hpp"
#include "kspam/core/utf8.hpp"
#include "kspam/data/listing.hpp"
#include "kspam/data/tsv_reader.hpp"

namespace kspam::data {

struct ReadOptions {
  bool collect_errors = false;   // gather errors instead of stopping at the first
  std::size_t max_errors = 100;  // stop collecting after this many
  bool require_labels = false;   // an empty label is an error (training data)
};

struct ReadReport {
  std::string source;
  std::vector<std::string> extra_columns;
  std::size_t rows = 0;       // valid rows delivered
  std::size_t labeled = 0;
  std::size_t spam = 0;
  std::size_t with_image_url = 0;
  std::size_t bytes = 0;
  std::vector<InputError> errors;  // filled only with collect_errors
  bool truncated_errors = false;   // more errors than max_errors existed
};

// Thrown when collect_errors gathered errors: what() lists them, one per line.
class ValidationErrors : public InputError {
 public:
  explicit ValidationErrors(const ReadReport& report)
      : InputError(report.errors.front()), errors_(report.errors), truncated_(report.truncated_errors) {
    summary_ = std::to_string(errors_.size()) + (truncated_ ? "+" : "") + " problems in " + report.source + ":";
    for (const auto& e : errors_) summary_ += std::string("\n  ") + e.what();
    if (truncated_) summary_ += "\n  (stopped after " + std::to_string(errors_.size()) + ")";
  }
  const char* what() const noexcept override { return summary_.c_str(); }
  const std::vector<InputError>& errors() const { return errors_; }

 private:
  std::vector<InputError> errors_;
  bool truncated_;
  std::string summary_;
};

namespace detail {

inline std::string normalise_column(std::string name) {
  const auto first = name.find_first_not_of(" \t\r\n");
  const auto last = name.find_last_not_of(" \t\r\n");
  name = first == std::string::npos ? std::string() : name.substr(first, last - first + 1);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); });
  return name;
}

inline std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t") - first + 1);
}

// Accepts "3" and, as pandas writes integer columns that held a missing value, "3.0".
inline bool parse_count(std::string_view raw, std::int64_t& out) {
  std::string_view s = trim(raw);
  if (s.size() > 2 && s.ends_with(".0")) s.remove_suffix(2);
  if (s.empty()) return false;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, out);
  return ec == std::errc() && ptr == end && out >= 0;
}

// 64-bit FNV-1a with a final avalanche: ids are tracked by hash so that validating a huge file
// needs only 16 bytes per row, not the ids themselves.
inline std::uint64_t id_hash(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

// Remembers which id hashes were seen and on which line: open addressing with linear probing in
// two flat arrays (16 bytes a slot, at most half full). std::unordered_map spent more time than
// the whole TSV parse here, on a node allocation and cache miss per row.
class SeenIds {
 public:
  // Returns 0 if the hash is new (and records `line`), else the line where it was first seen.
  std::size_t insert(std::uint64_t hash, std::size_t line) {
    if (hash == 0) hash = 1;  // 0 marks an empty slot
    if ((size_ + 1) * 2 > keys_.size()) grow();
    const std::size_t mask = keys_.size() - 1;
    for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
      if (keys_[i] == hash) return lines_[i];
      if (keys_[i] == 0) {
        keys_[i] = hash;
        lines_[i] = line;
        ++size_;
        return 0;
      }
    }
  }

 private:
  void grow() {
    std::vector<std::uint64_t> old_keys(std::max<std::size_t>(keys_.size() * 2, 1024), 0);
    std::vector<std::size_t> old_lines(old_keys.size(), 0);
    old_keys.swap(keys_);
    old_lines.swap(lines_);
    const std::size_t mask = keys_.size() - 1;
    for (std::size_t k = 0; k < old_keys.size(); ++k) {
      if (old_keys[k] == 0) continue;
      std::size_t i = old_keys[k] & mask;
      while (keys_[i] != 0) i = (i + 1) & mask;
      keys_[i] = old_keys[k];
      lines_[i] = old_lines[k];
    }
  }

  std::vector<std::uint64_t> keys_;
  std::vector<std::size_t> lines_;
  std::size_t size_ = 0;
};

}  // namespace detail

// Streams valid rows to `on_row`. Returns the report; throws InputError (or ValidationErrors with
// collect_errors) when the data are invalid.
inline ReadReport for_each_listing(TsvReader& reader, const ReadOptions& options,
                                   const std::function<void(const Listing&)>& on_row) {
  const std::string& file = reader.origin();
  ReadReport report;
  report.source = file;

  auto fail = [&](InputError error) {
    if (!options.collect_errors) throw error;
    if (report.errors.size() >= options.max_errors) {
      report.truncated_errors = true;
      return;
    }
    report.errors.push_back(std::move(error));
  };

  TsvRecord record;
  if (!reader.next(record)) throw InputError(file, 1, "", "", "file is empty: expected a header row");

  // Map the header onto the schema; columns may come in any order, extras are kept.
  constexpr std::size_t kRequired = std::size(kRequiredColumns);
  std::array<int, kRequired> where;
  where.fill(-1);
  std::vector<int> extra_at;  // field index of each extra column
  for (std::size_t i = 0; i < record.fields.size(); ++i) {
    const std::string name = detail::normalise_column(record.fields[i]);
    bool known = false;
    for (std::size_t k = 0; k < kRequired; ++k) {
      if (name == kRequiredColumns[k]) {
        if (where[k] >= 0) throw InputError(file, record.line, name, "", "column appears twice in the header");
        where[k] = static_cast<int>(i);
        known = true;
      }
    }
    if (!known) {
      report.extra_columns.push_back(name);
      extra_at.push_back(static_cast<int>(i));
    }
  }
  for (std::size_t k = 0; k < kRequired; ++k) {
    if (where[k] < 0) throw InputError(file, record.line, kRequiredColumns[k], "", "required column is missing from the header");
  }
  const std::size_t columns = record.fields.size();

  detail::SeenIds seen_ids;
  Listing row;
  while (reader.next(record)) {
    const std::size_t line = record.line;
    if (record.fields.size() != columns) {
      fail(InputError(file, line, "", std::to_string(record.fields.size()) + " fields",
                      "row has a different number of fields than the header (" + std::to_string(columns) + ")"));
      continue;
    }
    bool ok = true;
    for (std::size_t i = 0; i < columns; ++i) {
      if (auto bad = find_invalid_utf8(record.fields[i])) {
        const std::string name = [&] {
          for (std::size_t k = 0; k < kRequired; ++k)
            if (where[k] == static_cast<int>(i)) return std::string(kRequiredColumns[k]);
          return std::string("column ") + std::to_string(i + 1);
        }();
        fail(InputError(file, line, name, "", "invalid UTF-8 at byte " + std::to_string(*bad)));
        ok = false;
      }
    }
    if (!ok) continue;
    auto field = [&](std::size_t k) -> std::string& { return record.fields[static_cast<std::size_t>(where[k])]; };

    row.line = line;
    row.product_id.assign(detail::trim(field(0)));
    row.description = field(1);  // copies reuse the row's buffers: no allocation per row
    row.image_url.assign(detail::trim(field(2)));
    row.extra.resize(extra_at.size());
    for (std::size_t k = 0; k < extra_at.size(); ++k) row.extra[k] = record.fields[static_cast<std::size_t>(extra_at[k])];

    if (row.product_id.empty()) {
      fail(InputError(file, line, "product_id", "", "product_id is empty"));
      ok = false;
    } else {
      if (const std::size_t first = seen_ids.insert(detail::id_hash(row.product_id), line)) {
        fail(InputError(file, line, "product_id", row.product_id,
                        "duplicate product_id (first seen on line " + std::to_string(first) + ")"));
        ok = false;
      }
    }

    const std::string_view label = detail::trim(field(3));
    if (label.empty()) {
      row.label.reset();
      if (options.require_labels) {
        fail(InputError(file, line, "label", "", "label is empty but this file must be labeled (0 or 1)"));
        ok = false;
      }
    } else if (label == "0" || label == "0.0") {
      row.label = 0;
    } else if (label == "1" || label == "1.0") {
      row.label = 1;
    } else {
      fail(InputError(file, line, "label", std::string(label), "label must be 0, 1 or empty"));
      ok = false;
    }

    // Unlabeled rows were never annotated: empty vote counts there mean zero votes.
    for (std::size_t k : {std::size_t{4}, std::size_t{5}}) {
      std::int64_t& count = k == 4 ? row.yes_count : row.no_count;
      if (!row.label && detail::trim(field(k)).empty()) {
        count = 0;
      } else if (!detail::parse_count(field(k), count)) {
        fail(InputError(file, line, kRequiredColumns[k], field(k),
                        std::string(kRequiredColumns[k]) + " must be a non-negative integer"));
        ok = false;
      }
    }
    if (!ok) continue;

    ++report.rows;
    if (row.label) {
      ++report.labeled;
      if (*row.label == 1) ++report.spam;
    }
    if (row.has_image_url()) ++report.with_image_url;
    on_row(row);
  }
  report.bytes = reader.bytes_read();
  if (!report.errors.empty()) throw ValidationErrors(report);
  return report;
}

inline ReadReport for_each_listing(const std::string& path, const ReadOptions& options,
                                   const std::function<void(const Listing&)>& on_row) {
  TsvReader reader(path);
  return for_each_listing(reader, options, on_row);
}

inline ListingTable read_listings(const std::string& path, const ReadOptions& options = {}) {
  ListingTable table;
  table.source = path;
  auto report = for_each_listing(path, options, [&](const Listing& row) { table.rows.push_back(row); });
  table.extra_columns = std::move(report.extra_columns);
  return table;
}

}  // namespace kspam::data

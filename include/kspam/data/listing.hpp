#pragma once
// One product listing as it comes from the TSV, plus the derived label confidence.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kspam::data {

inline constexpr const char* kRequiredColumns[] = {"product_id", "description", "image_url",
                                                   "label",      "yes_count",   "no_count"};

struct Listing {
  std::string product_id;
  std::string description;
  std::string image_url;          // may be empty: the listing has no photo
  std::optional<int> label;       // 1 = spam, 0 = clean, empty = unlabeled (kept for prediction)
  std::int64_t yes_count = 0;     // annotators who said "spam"
  std::int64_t no_count = 0;      // annotators who said "not spam"
  std::size_t line = 0;           // line in the source file where the row starts
  std::vector<std::string> extra; // values of the file's extra columns, in ListingTable::extra_columns order

  bool labeled() const { return label.has_value(); }
  bool has_image_url() const { return !image_url.empty(); }

  // (yes - no) / (yes + no): +1 when annotators all said spam, -1 all clean, 0 split or no votes.
  double label_confidence() const {
    const auto total = yes_count + no_count;
    return total == 0 ? 0.0 : static_cast<double>(yes_count - no_count) / static_cast<double>(total);
  }
};

struct ListingTable {
  std::string source;                      // file the rows came from
  std::vector<std::string> extra_columns;  // normalised names of columns beyond the schema
  std::vector<Listing> rows;

  // Index of an extra column by normalised name, or -1.
  int extra_index(const std::string& name) const {
    for (std::size_t i = 0; i < extra_columns.size(); ++i)
      if (extra_columns[i] == name) return static_cast<int>(i);
    return -1;
  }
};

}  // namespace kspam::data

#pragma once
// Writes listings back in the TSV schema (QUOTE_MINIMAL), atomically.
#include <filesystem>
#include <string>
#include <vector>

#include "kspam/core/atomic_file.hpp"
#include "kspam/data/listing.hpp"
#include "kspam/data/tsv_reader.hpp"

namespace kspam::data {

inline void write_listings(const std::filesystem::path& path, const ListingTable& table,
                           const std::vector<std::size_t>& which) {
  AtomicFileWriter writer(path);
  auto& out = writer.stream();
  out << "product_id\tdescription\timage_url\tlabel\tyes_count\tno_count";
  for (const auto& name : table.extra_columns) out << '\t' << tsv_escape(name);
  out << '\n';
  for (std::size_t i : which) {
    const Listing& r = table.rows[i];
    out << tsv_escape(r.product_id) << '\t' << tsv_escape(r.description) << '\t' << tsv_escape(r.image_url) << '\t'
        << (r.label ? std::to_string(*r.label) : std::string()) << '\t' << r.yes_count << '\t' << r.no_count;
    for (const auto& v : r.extra) out << '\t' << tsv_escape(v);
    out << '\n';
  }
  writer.commit();
}

}  // namespace kspam::data

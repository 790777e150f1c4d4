#pragma once
// The images of listing TSVs: fetch every row's image_url into a cache, then write what became of
// each row (image_manifest.tsv: source, product_id, image_url, image_path, reason) beside the
// per-URL log. Later stages look a listing's photo up in the manifest by (source, product_id) or
// with cached_image_path(); a row without a photo goes on text-only. Relative image paths are
// relative to the TSV they appear in.
// Includes httplib (through download.hpp): see the Eigen note in http_fetch.hpp.
#include <filesystem>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "kspam/core/atomic_file.hpp"
#include "kspam/core/json.hpp"
#include "kspam/data/read_listings.hpp"
#include "kspam/data/tsv_reader.hpp"
#include "kspam/image/download.hpp"

namespace kspam::image {

struct ListingImageRow {
  std::string source;      // the TSV
  std::string product_id;
  std::string image_url;   // as written (may be empty)
  std::string image_path;  // cache file, empty when missing
  std::string reason;      // why missing: no_image_url, http_404, ...
};

struct ListingImages {
  DownloadReport report;
  std::vector<ListingImageRow> rows;

  json::Value summary() const {
    json::Value s = report.summary();
    std::size_t with_url = 0, with_image = 0;
    for (const auto& r : rows) {
      with_url += !r.image_url.empty();
      with_image += !r.image_path.empty();
    }
    json::Value listing = json::Value::object();
    listing["rows"] = rows.size();
    listing["rows_with_image_url"] = with_url;
    listing["rows_with_image"] = with_image;
    listing["rows_text_only"] = rows.size() - with_image;
    s["listings"] = listing;
    return s;
  }

  void write_manifest(const std::filesystem::path& path) const {
    std::string text = "source\tproduct_id\timage_url\timage_path\treason\n";
    auto clean = [](std::string v) {  // TSV cells: no tabs or line breaks
      for (char& c : v)
        if (c == '\t' || c == '\n' || c == '\r') c = ' ';
      return v;
    };
    for (const auto& r : rows)
      text += clean(r.source) + "\t" + clean(r.product_id) + "\t" + clean(r.image_url) + "\t" + clean(r.image_path) +
              "\t" + clean(r.reason) + "\n";
    write_file_atomically(path, text);
  }
};

// Reads each TSV (schema-validated, see data/read_listings.hpp) and fetches its rows' images.
inline ListingImages fetch_listing_images(const std::vector<std::filesystem::path>& tsvs,
                                          const std::filesystem::path& cache_dir, const DownloadOptions& options) {
  ListingImages out;
  std::vector<ImageRequest> requests;
  for (const auto& tsv : tsvs) {
    const auto base = std::filesystem::absolute(tsv).parent_path();
    data::for_each_listing(tsv.string(), data::ReadOptions{}, [&](const data::Listing& row) {
      out.rows.push_back({tsv.string(), row.product_id, row.image_url, "", ""});
      if (row.has_image_url()) requests.push_back({row.image_url, base});
    });
  }
  out.report = download_images(requests, cache_dir, options);
  std::unordered_map<std::string, const DownloadRecord*> by_key;
  // download_images keeps first-seen order over distinct (url, base) pairs: rebuild the same keys.
  {
    std::size_t next = 0;
    std::unordered_map<std::string, bool> seen;
    for (const auto& r : requests) {
      const std::string key = r.url + '\n' + r.base_dir.string();
      if (seen.emplace(key, true).second) by_key[key] = &out.report.records[next++];
    }
  }
  for (auto& row : out.rows) {
    if (row.image_url.empty()) {
      row.reason = "no_image_url";
      continue;
    }
    const auto base = std::filesystem::absolute(row.source).parent_path();
    const auto* rec = by_key.at(row.image_url + '\n' + base.string());
    if (rec->path) row.image_path = rec->path->string();
    else row.reason = rec->reason;
  }
  return out;
}

// Reads an image_manifest.tsv back: (source, product_id) -> image path ("" when text-only).
inline std::map<std::pair<std::string, std::string>, std::string> read_image_manifest(const std::filesystem::path& path) {
  std::map<std::pair<std::string, std::string>, std::string> out;
  const std::string text = read_file(path);
  std::size_t pos = text.find('\n');
  if (pos == std::string::npos || text.substr(0, pos) != "source\tproduct_id\timage_url\timage_path\treason")
    throw InputError(path.string(), 1, "", text.substr(0, std::min<std::size_t>(pos, 80)), "not an image manifest");
  std::size_t line = 1;
  while (++pos < text.size()) {
    ++line;
    const auto end = text.find('\n', pos);
    const std::string_view row(text.data() + pos, (end == std::string::npos ? text.size() : end) - pos);
    std::vector<std::string> cells;
    std::size_t start = 0;
    while (true) {
      const auto tab = row.find('\t', start);
      cells.emplace_back(row.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
      if (tab == std::string_view::npos) break;
      start = tab + 1;
    }
    if (cells.size() != 5) throw InputError(path.string(), line, "", std::string(row), "expected 5 tab-separated cells");
    out[{cells[0], cells[1]}] = cells[3];
    if (end == std::string::npos) break;
    pos = end;
  }
  return out;
}

}  // namespace kspam::image

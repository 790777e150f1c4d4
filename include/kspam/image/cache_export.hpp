#pragma once
// Exports an image cache as one zip (the optional "cache export" step: move a run's photos to a
// machine without network). Only finished cache entries are packed (40-hex-digit SHA-1 names with an
// image extension; temporaries and logs are left out); images are already compressed, so entries
// are stored, not deflated. libzip writes to a temporary file and renames it on zip_close, so the
// archive appears whole or not at all.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <string>
#include <vector>

#include <zip.h>

#include "kspam/core/error.hpp"
#include "kspam/image/image_source.hpp"

namespace kspam::image {

inline bool is_cache_entry_name(const std::string& name) {
  if (name.size() < 44) return false;
  for (std::size_t i = 0; i < 40; ++i)
    if (!std::isxdigit(static_cast<unsigned char>(name[i])) || std::isupper(static_cast<unsigned char>(name[i])))
      return false;
  const std::string ext = name.substr(40);
  return std::find(kImageExtensions.begin(), kImageExtensions.end(), ext) != kImageExtensions.end();
}

// Returns the number of images packed.
inline std::size_t export_cache_zip(const std::filesystem::path& cache_dir, const std::filesystem::path& zip_path) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(cache_dir))
    if (e.is_regular_file() && is_cache_entry_name(e.path().filename().string())) files.push_back(e.path());
  std::sort(files.begin(), files.end());  // the same cache gives the same archive order
  if (zip_path.has_parent_path()) std::filesystem::create_directories(zip_path.parent_path());
  int err = 0;
  zip_t* archive = zip_open(zip_path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  if (!archive) throw Error("cannot create " + zip_path.string() + " (libzip error " + std::to_string(err) + ")");
  for (const auto& f : files) {
    zip_source_t* src = zip_source_file(archive, f.c_str(), 0, -1);
    const std::string name = f.filename().string();
    zip_int64_t index = src ? zip_file_add(archive, name.c_str(), src, ZIP_FL_ENC_UTF_8) : -1;
    if (index < 0) {
      if (src) zip_source_free(src);
      const std::string why = zip_strerror(archive);
      zip_discard(archive);
      throw Error("cannot add " + f.string() + " to " + zip_path.string() + ": " + why);
    }
    zip_set_file_compression(archive, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0);
  }
  if (zip_close(archive) != 0) {
    const std::string why = zip_strerror(archive);
    zip_discard(archive);
    throw Error("cannot write " + zip_path.string() + ": " + why);
  }
  return files.size();
}

}  // namespace kspam::image

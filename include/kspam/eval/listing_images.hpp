#pragma once
// Finding a listing's photo on disk for the gallery and for "image present" slices: first in the
// image cache (image::cached_image_path: the image stage's naming), then, for a local path or
// file:// URL, the file itself (relative paths resolved against the listings TSV's directory). A
// file counts only if its first bytes are a JPEG, PNG, GIF or WebP signature: an HTML error page
// saved under an image name is not a photo.
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "kspam/image/image_source.hpp"

namespace kspam::eval {

// MIME type from the file's magic bytes, or empty when it is none of the formats browsers show.
inline std::string sniff_image_mime(std::string_view bytes) {
  auto starts = [&](std::string_view magic) { return bytes.substr(0, magic.size()) == magic; };
  if (starts("\xFF\xD8\xFF")) return "image/jpeg";
  if (starts("\x89PNG\r\n\x1A\n")) return "image/png";
  if (starts("GIF87a") || starts("GIF89a")) return "image/gif";
  if (bytes.size() >= 12 && starts("RIFF") && bytes.substr(8, 4) == "WEBP") return "image/webp";
  return {};
}

inline std::string sniff_image_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  char head[16] = {};
  in.read(head, sizeof head);
  return sniff_image_mime(std::string_view(head, static_cast<std::size_t>(in.gcount())));
}

// The photo of a listing with `image_url`, or nullopt when there is none readable.
inline std::optional<std::filesystem::path> resolve_listing_image(const std::string& image_url,
                                                                  const std::filesystem::path& listings_dir,
                                                                  const std::filesystem::path& image_cache) {
  namespace fs = std::filesystem;
  if (image_url.empty()) return std::nullopt;
  std::error_code ec;
  if (!image_cache.empty()) {
    const auto cached = image::cached_image_path(image_url, image_cache, listings_dir);
    if (cached && !sniff_image_file(*cached).empty()) return cached;
  }
  const auto src = image::resolve_image_source(image_url, listings_dir);
  if (src.kind == image::SourceKind::local && fs::is_regular_file(src.local_path, ec) &&
      !sniff_image_file(src.local_path).empty())
    return src.local_path;
  return std::nullopt;
}

}  // namespace kspam::eval

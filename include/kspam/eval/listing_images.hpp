#pragma once
// Finding a listing's photo on disk for the gallery and for "image present" slices: first in the
// image cache (files named by the SHA-1 of the URL plus an extension, as the image stage stores
// them), then, for a relative or file:// URL, beside the listings TSV it came from. A file counts
// only if its first bytes are a JPEG, PNG, GIF or WebP signature: a cached error page is not a photo.
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "kspam/core/hash.hpp"

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

inline bool is_remote_url(const std::string& url) {
  return url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
}

// The photo of a listing with `image_url`, or nullopt when there is none readable.
inline std::optional<std::filesystem::path> resolve_listing_image(const std::string& image_url,
                                                                  const std::filesystem::path& listings_dir,
                                                                  const std::filesystem::path& image_cache) {
  namespace fs = std::filesystem;
  if (image_url.empty()) return std::nullopt;
  std::error_code ec;
  if (!image_cache.empty() && fs::is_directory(image_cache, ec)) {
    const std::string stem = sha1_hex(image_url);
    for (const char* ext : {"", ".jpg", ".jpeg", ".png", ".gif", ".webp", ".img", ".bin"}) {
      const auto candidate = image_cache / (stem + ext);
      if (fs::is_regular_file(candidate, ec) && !sniff_image_file(candidate).empty()) return candidate;
    }
  }
  if (is_remote_url(image_url)) return std::nullopt;
  std::string local = image_url;
  if (local.rfind("file://", 0) == 0) local = local.substr(7);
  fs::path p(local);
  if (p.is_relative()) p = listings_dir / p;
  if (fs::is_regular_file(p, ec) && !sniff_image_file(p).empty()) return p;
  return std::nullopt;
}

}  // namespace kspam::eval

#pragma once
// Where a listing's image_url points and where its copy lives in the image cache.
//
// image_url forms: http:// and https:// URLs (fetched), file:// URLs, absolute paths, and paths
// relative to the directory of the TSV they came from (copied into the cache, so a run's cache is
// self-contained and exportable). The cache file is named by the SHA-1 of the URL string, plus
// the URL path's extension when it is a known image extension (.jpg otherwise); for a relative path
// the string hashed is the resolved absolute path, so two TSVs in different folders that both say
// "images/1.jpg" do not share an entry. A cache entry exists only once complete (atomic rename),
// so "the file is there" means "the image is good".
#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "kspam/core/hash.hpp"
#include "kspam/image/url.hpp"

namespace kspam::image {

enum class SourceKind { remote, local, invalid };

struct ImageSource {
  SourceKind kind = SourceKind::invalid;
  std::string key;                   // the string whose SHA-1 names the cache file
  std::optional<Url> url;            // remote: the parsed URL
  std::filesystem::path local_path;  // local: the file to copy
  std::string problem;               // invalid: why
};

inline constexpr std::array<std::string_view, 6> kImageExtensions{".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp"};

// The extension the cache file gets: the URL path's, lowercased, when it names an image type.
inline std::string cache_extension(std::string_view url_or_path) {
  std::string_view path = url_or_path;
  if (const auto scheme_end = path.find("://"); scheme_end != std::string_view::npos) {
    path.remove_prefix(scheme_end + 3);
    const auto slash = path.find('/');
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash);
  }
  path = path.substr(0, path.find_first_of("?#"));
  const auto slash = path.find_last_of("/\\");
  const auto name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  const auto dot = name.rfind('.');
  if (dot != std::string_view::npos) {
    const std::string ext = ascii_lower(name.substr(dot));
    for (auto known : kImageExtensions)
      if (ext == known) return ext;
  }
  return ".jpg";
}

// "<sha1 hex of key><extension>".
inline std::string cache_file_name(std::string_view key) { return sha1_hex(key) + cache_extension(key); }

// Classifies an image_url; `base_dir` resolves relative paths (the TSV's directory).
inline ImageSource resolve_image_source(std::string_view image_url, const std::filesystem::path& base_dir) {
  ImageSource src;
  std::string s(image_url);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.pop_back();
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.erase(s.begin());
  if (s.empty()) {
    src.problem = "empty image_url";
    return src;
  }
  const std::string scheme = url_scheme(s);
  if (scheme == "http" || scheme == "https") {
    src.url = parse_http_url(s);
    if (!src.url) {
      src.problem = "malformed URL";
      return src;
    }
    src.kind = SourceKind::remote;
    src.key = s;
    return src;
  }
  if (scheme == "file") {
    std::string_view rest = std::string_view(s).substr(5);
    if (rest.starts_with("//")) {
      rest.remove_prefix(2);
      const auto slash = rest.find('/');
      const auto host = rest.substr(0, slash);
      if (!host.empty() && host != "localhost") {
        src.problem = "file:// URL names another host";
        return src;
      }
      rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
    }
    src.local_path = percent_decode(rest.substr(0, rest.find_first_of("?#")));
    if (src.local_path.empty() || !src.local_path.is_absolute()) {
      src.problem = "file:// URL without an absolute path";
      return src;
    }
    src.kind = SourceKind::local;
    src.key = s;
    return src;
  }
  if (!scheme.empty()) {
    src.problem = "unsupported URL scheme '" + scheme + "'";
    return src;
  }
  std::filesystem::path p(s);
  src.kind = SourceKind::local;
  if (p.is_absolute()) {
    src.local_path = p.lexically_normal();
    src.key = s;
  } else {
    src.local_path = std::filesystem::absolute(base_dir.empty() ? std::filesystem::path(".") : base_dir) / p;
    src.local_path = src.local_path.lexically_normal();
    src.key = src.local_path.string();
  }
  return src;
}

// The cached copy of `image_url` if the cache holds it. This is how later stages (SFT examples,
// prediction) find a listing's image; nullopt means "go on text-only".
inline std::optional<std::filesystem::path> cached_image_path(std::string_view image_url,
                                                              const std::filesystem::path& cache_dir,
                                                              const std::filesystem::path& base_dir) {
  const auto src = resolve_image_source(image_url, base_dir);
  if (src.kind == SourceKind::invalid) return std::nullopt;
  auto path = cache_dir / cache_file_name(src.key);
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec) && std::filesystem::file_size(path, ec) > 0) return path;
  return std::nullopt;
}

}  // namespace kspam::image

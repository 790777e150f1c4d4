#pragma once
// Just enough URL handling for fetching images: split http(s) URLs into scheme, host, port and
// request target, resolve a redirect's Location against the URL it came from (RFC 3986 §5.2 for
// the forms servers send), and percent-decode file:// paths.
#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <string_view>

namespace kspam::image {

struct Url {
  std::string scheme;  // lowercase: "http" or "https" (others are parsed but not fetched)
  std::string host;    // lowercase; IPv6 literals keep their brackets
  int port = 0;        // explicit or the scheme's default
  std::string target;  // path + query, at least "/" (the fragment is dropped: never sent)

  std::string origin() const {  // scheme://host:port, what httplib::Client takes
    return scheme + "://" + host + ":" + std::to_string(port);
  }
  std::string str() const {
    const bool default_port = (scheme == "http" && port == 80) || (scheme == "https" && port == 443);
    return scheme + "://" + host + (default_port ? "" : ":" + std::to_string(port)) + target;
  }
};

inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// The scheme of `s` ("http", "file", ...) in lowercase, or empty when `s` has none.
inline std::string url_scheme(std::string_view s) {
  const auto colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0) return {};
  if (!std::isalpha(static_cast<unsigned char>(s[0]))) return {};
  for (std::size_t i = 1; i < colon; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (!std::isalnum(c) && c != '+' && c != '-' && c != '.') return {};
  }
  if (colon == 1) return {};  // "C:\..." is a drive letter, not a scheme
  return ascii_lower(s.substr(0, colon));
}

// Parses an absolute http(s) URL; nullopt when it is not one or is malformed.
inline std::optional<Url> parse_http_url(std::string_view s) {
  Url u;
  u.scheme = url_scheme(s);
  if (u.scheme != "http" && u.scheme != "https") return std::nullopt;
  std::string_view rest = s.substr(u.scheme.size() + 1);
  if (!rest.starts_with("//")) return std::nullopt;
  rest.remove_prefix(2);
  if (const auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  const auto path_start = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_start);
  std::string target = path_start == std::string_view::npos ? "/" : std::string(rest.substr(path_start));
  if (target.front() == '?') target = "/" + target;
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);
  std::string_view host = authority, port_text;
  if (authority.starts_with("[")) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(0, close + 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return std::nullopt;
      port_text = authority.substr(close + 2);
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port_text = authority.substr(colon + 1);
  }
  if (host.empty()) return std::nullopt;
  for (unsigned char c : host)
    if (c <= ' ' || c == '/' || c == '\\' || c >= 0x7F) return std::nullopt;
  u.host = ascii_lower(host);
  u.port = u.scheme == "https" ? 443 : 80;
  if (!port_text.empty()) {
    if (port_text.size() > 5 || !std::all_of(port_text.begin(), port_text.end(), [](unsigned char c) { return std::isdigit(c); }))
      return std::nullopt;
    u.port = std::stoi(std::string(port_text));
    if (u.port <= 0 || u.port > 65535) return std::nullopt;
  }
  for (unsigned char c : target)
    if (c <= ' ' || c == 0x7F) return std::nullopt;  // unencoded spaces/controls: not a URL we can send
  u.target = std::move(target);
  return u;
}

namespace detail {
// RFC 3986 §5.2.4: remove "." and ".." segments.
inline std::string remove_dot_segments(std::string_view path) {
  std::string out;
  std::size_t i = 0;
  while (i < path.size()) {
    const auto next = path.find('/', i + 1);
    std::string_view seg = path.substr(i, next == std::string_view::npos ? std::string_view::npos : next - i);
    if (seg == "/.") {
      if (next == std::string_view::npos) out += '/';
    } else if (seg == "/..") {
      const auto cut = out.rfind('/');
      out.erase(cut == std::string::npos ? 0 : cut);
      if (next == std::string_view::npos) out += '/';
    } else {
      out += seg;
    }
    if (next == std::string_view::npos) break;
    i = next;
  }
  return out.empty() ? "/" : out;
}
}  // namespace detail

// Resolves a Location header against the URL that sent it.
inline std::optional<Url> resolve_redirect(const Url& base, std::string_view location) {
  if (location.empty()) return std::nullopt;
  if (!url_scheme(location).empty()) return parse_http_url(location);
  if (location.starts_with("//")) return parse_http_url(base.scheme + ":" + std::string(location));
  Url u = base;
  std::string loc(location);
  if (const auto hash = loc.find('#'); hash != std::string::npos) loc.erase(hash);
  if (loc.empty()) return u;
  if (loc.front() == '?') {
    u.target = base.target.substr(0, base.target.find('?')) + loc;
  } else if (loc.front() == '/') {
    const auto q = loc.find('?');
    u.target = detail::remove_dot_segments(loc.substr(0, q)) + (q == std::string::npos ? "" : loc.substr(q));
  } else {
    const std::string base_path = base.target.substr(0, base.target.find('?'));
    const std::string dir = base_path.substr(0, base_path.rfind('/') + 1);
    const auto q = loc.find('?');
    u.target = detail::remove_dot_segments(dir + loc.substr(0, q)) + (q == std::string::npos ? "" : loc.substr(q));
  }
  for (unsigned char c : u.target)
    if (c <= ' ' || c == 0x7F) return std::nullopt;
  return u;
}

// Percent-decodes a file:// URL path ("%20" -> " "); invalid escapes are kept as written.
inline std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace kspam::image

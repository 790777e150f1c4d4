#pragma once
// One HTTP(S) GET of an image over cpp-httplib (OpenSSL), following a bounded number of redirects,
// with connect/read timeouts, a byte cap enforced while the body streams in (a lying or missing
// Content-Length cannot make us buffer more), and a Content-Type check before the body is read.
// No retries here: download.hpp decides what to retry from the classified outcome.
//
// This header includes httplib.h, whose <resolv.h> defines `_res` and breaks Eigen when Eigen comes
// after it: include Eigen first in a translation unit that has both (or keep them apart).
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <functional>
#include <optional>
#include <set>
#include <string>

#include <httplib.h>
#include <netdb.h>
#include <sys/socket.h>

#include "kspam/image/url.hpp"

namespace kspam::image {

struct HttpOptions {
  double connect_timeout_s = 10.0;
  double read_timeout_s = 30.0;    // longest silence while waiting for bytes
  double total_timeout_s = 120.0;  // a whole request, redirects excluded: stops a server that drips bytes
  int max_redirects = 5;
  std::uint64_t max_bytes = 20ull << 20;  // 20 MiB
  bool verify_tls = true;
  std::string ca_cert_file;  // extra trust anchor (PEM); empty: the system's CA store
  std::string user_agent = "kspam/0.1 (+image fetch)";
};

// Why a fetch failed, as the download log and summary count it.
namespace reason {
inline constexpr const char* connection = "connection";
inline constexpr const char* dns = "dns";
inline constexpr const char* timeout = "timeout";
inline constexpr const char* truncated = "truncated";
inline constexpr const char* tls = "tls";
inline constexpr const char* too_many_redirects = "too_many_redirects";
inline constexpr const char* redirect_loop = "redirect_loop";
inline constexpr const char* bad_redirect = "bad_redirect";
inline constexpr const char* not_image_content_type = "not_image_content_type";
inline constexpr const char* too_large = "too_large";
inline constexpr const char* too_many_pixels = "too_many_pixels";
inline constexpr const char* not_an_image = "not_an_image";
inline constexpr const char* invalid_url = "invalid_url";
inline constexpr const char* not_found = "not_found";
inline constexpr const char* io_error = "io_error";
// HTTP statuses become "http_<code>" (http_404, http_503, ...).
}  // namespace reason

struct FetchResult {
  bool ok = false;
  std::string body;
  int http_status = 0;                   // last status seen (0: none)
  std::string content_type;
  std::optional<double> retry_after_s;   // from a 429/503 Retry-After header
  std::string reason;                    // empty when ok
  std::string error;                     // human-readable detail
  bool retryable = false;                // connection trouble, timeouts, 429 and 5xx
  std::string final_url;
};

namespace detail {

inline void set_timeout(double seconds, const std::function<void(time_t, time_t)>& set) {
  const auto usec = static_cast<long long>(seconds * 1e6);
  set(static_cast<time_t>(usec / 1000000), static_cast<time_t>(usec % 1000000));
}

// Retry-After is either delta-seconds or an HTTP-date (RFC 9110 §10.2.3).
inline std::optional<double> parse_retry_after(const std::string& value) {
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c); }))
    return value.size() > 9 ? 1e9 : std::stod(value);
  std::tm tm{};
  if (strptime(value.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm) == nullptr) return std::nullopt;
  const double delta = std::difftime(timegm(&tm), std::time(nullptr));
  return delta > 0 ? delta : 0.0;
}

// Resolves the host before connecting so that a name that does not exist (NXDOMAIN, e.g. the
// .invalid TLD) is reported as such and not retried like a flaky connection. Returns 0 when the
// name resolves (or is an IP literal), else the getaddrinfo error code.
inline int resolve_host(const std::string& host) {
  std::string name = host;
  if (name.size() >= 2 && name.front() == '[' && name.back() == ']') return 0;  // IPv6 literal
  // RFC 6761 §6.4: names under .invalid never resolve; answer at once instead of asking a resolver
  // (which, offline, can take seconds to say so).
  if (name == "invalid" || (name.size() > 8 && name.ends_with(".invalid"))) return EAI_NONAME;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  const int rc = ::getaddrinfo(name.c_str(), nullptr, &hints, &result);
  if (result) ::freeaddrinfo(result);
  return rc;
}

inline bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

}  // namespace detail

inline FetchResult http_get_image(const Url& start, const HttpOptions& options) {
  FetchResult out;
  Url url = start;
  std::set<std::string> visited{url.str()};
  for (int hop = 0;; ++hop) {
    out.final_url = url.str();
    if (const int rc = detail::resolve_host(url.host); rc != 0) {
      out.reason = reason::dns;
      out.error = "cannot resolve host '" + url.host + "': " + ::gai_strerror(rc);
      out.retryable = rc == EAI_AGAIN;  // a temporary resolver failure may pass; NXDOMAIN will not
      return out;
    }
    httplib::Client client(url.origin());
    detail::set_timeout(options.connect_timeout_s, [&](time_t s, time_t us) { client.set_connection_timeout(s, us); });
    detail::set_timeout(options.read_timeout_s, [&](time_t s, time_t us) { client.set_read_timeout(s, us); });
    client.set_follow_location(false);  // redirects are counted and loop-checked here
    client.set_keep_alive(false);
    client.enable_server_certificate_verification(options.verify_tls);
    if (!options.ca_cert_file.empty()) client.set_ca_cert_path(options.ca_cert_file);
    httplib::Headers headers{{"User-Agent", options.user_agent}, {"Accept", "image/*"}};

    int status = 0;
    std::string location, content_type, retry_after;
    std::optional<std::uint64_t> declared_length;
    std::string abort_reason, abort_error;
    bool abort_retryable = false;
    std::string body;
    auto on_response = [&](const httplib::Response& r) {
      status = r.status;
      location = r.get_header_value("Location");
      content_type = r.get_header_value("Content-Type");
      retry_after = r.get_header_value("Retry-After");
      if (r.has_header("Content-Length")) {
        try {
          declared_length = std::stoull(r.get_header_value("Content-Length"));
        } catch (...) {
        }
      }
      if (status != 200) return false;  // nothing in a non-200 body is of use
      if (ascii_lower(content_type).rfind("image/", 0) != 0) {
        abort_reason = reason::not_image_content_type;
        abort_error = "Content-Type is '" + content_type + "', not image/*";
        return false;
      }
      if (declared_length && *declared_length > options.max_bytes) {
        abort_reason = reason::too_large;
        abort_error = "Content-Length " + std::to_string(*declared_length) + " exceeds the cap of " +
                      std::to_string(options.max_bytes) + " bytes";
        return false;
      }
      if (declared_length) body.reserve(static_cast<std::size_t>(*declared_length));
      return true;
    };
    const auto request_start = std::chrono::steady_clock::now();
    auto on_data = [&](const char* data, std::size_t n) {
      if (std::chrono::duration<double>(std::chrono::steady_clock::now() - request_start).count() >
          options.total_timeout_s) {
        abort_reason = reason::timeout;
        abort_error = "body not complete within " + std::to_string(options.total_timeout_s) + " s";
        abort_retryable = true;
        return false;
      }
      if (body.size() + n > options.max_bytes) {
        abort_reason = reason::too_large;
        abort_error = "body exceeds the cap of " + std::to_string(options.max_bytes) + " bytes";
        return false;
      }
      body.append(data, n);
      return true;
    };
    const auto started = std::chrono::steady_clock::now();
    auto result = client.Get(url.target, headers, on_response, on_data);
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    out.http_status = status;
    out.content_type = content_type;

    if (!abort_reason.empty()) {  // our own refusal: final, except a slow body (maybe a busy server)
      out.reason = abort_reason;
      out.error = abort_error;
      out.retryable = abort_retryable;
      return out;
    }
    if (status != 0 && status != 200) {
      if (detail::is_redirect(status)) {
        if (hop >= options.max_redirects) {
          out.reason = reason::too_many_redirects;
          out.error = "more than " + std::to_string(options.max_redirects) + " redirects";
          return out;
        }
        auto next = resolve_redirect(url, location);
        if (!next) {
          out.reason = reason::bad_redirect;
          out.error = "redirect " + std::to_string(status) + " with unusable Location '" + location + "'";
          return out;
        }
        if (!visited.insert(next->str()).second) {
          out.reason = reason::redirect_loop;
          out.error = "redirect loop back to " + next->str();
          return out;
        }
        url = *next;
        continue;
      }
      out.reason = "http_" + std::to_string(status);
      out.error = "HTTP " + std::to_string(status);
      out.retryable = status == 429 || status >= 500;
      if (status == 429 || status == 503) out.retry_after_s = detail::parse_retry_after(retry_after);
      return out;
    }
    if (!result || result.error() != httplib::Error::Success) {
      const auto err = result.error();
      out.retryable = true;
      out.error = httplib::to_string(err);
      if (err == httplib::Error::ConnectionTimeout) {
        out.reason = reason::timeout;
      } else if (err == httplib::Error::SSLConnection || err == httplib::Error::SSLServerVerification ||
                 err == httplib::Error::SSLLoadingCerts) {
        out.reason = reason::tls;
        out.retryable = err == httplib::Error::SSLConnection;
      } else if (status == 200 && declared_length && body.size() < *declared_length &&
                 elapsed < options.read_timeout_s * 0.9) {
        out.reason = reason::truncated;
        out.error = "connection closed after " + std::to_string(body.size()) + " of " +
                    std::to_string(*declared_length) + " bytes";
      } else if (err == httplib::Error::Read && elapsed >= options.read_timeout_s * 0.9) {
        out.reason = reason::timeout;
        out.error = "no data within the read timeout of " + std::to_string(options.read_timeout_s) + " s";
      } else {
        out.reason = reason::connection;
      }
      return out;
    }
    if (declared_length && body.size() < *declared_length) {
      out.reason = reason::truncated;
      out.retryable = true;
      out.error = "received " + std::to_string(body.size()) + " of " + std::to_string(*declared_length) + " bytes";
      return out;
    }
    out.ok = true;
    out.body = std::move(body);
    return out;
  }
}

}  // namespace kspam::image

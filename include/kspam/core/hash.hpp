#pragma once
// SHA-1 (image cache names) and SHA-256 (manifests, tokenizer check) as lowercase hex, via OpenSSL.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/evp.h>

#include "kspam/core/error.hpp"

namespace kspam {

namespace detail {
class Digest {
 public:
  explicit Digest(const EVP_MD* md) : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_, md, nullptr) != 1) throw Error("OpenSSL digest init failed");
  }
  ~Digest() { EVP_MD_CTX_free(ctx_); }
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;
  void update(const void* data, std::size_t n) { EVP_DigestUpdate(ctx_, data, n); }
  std::string hex() {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, out, &len);
    std::string s;
    s.reserve(len * 2);
    char buf[3];
    for (unsigned i = 0; i < len; ++i) {
      std::snprintf(buf, sizeof buf, "%02x", out[i]);
      s += buf;
    }
    return s;
  }

 private:
  EVP_MD_CTX* ctx_;
};
}  // namespace detail

inline std::string sha1_hex(std::string_view data) {
  detail::Digest d(EVP_sha1());
  d.update(data.data(), data.size());
  return d.hex();
}

inline std::string sha256_hex(std::string_view data) {
  detail::Digest d(EVP_sha256());
  d.update(data.data(), data.size());
  return d.hex();
}

inline std::string sha256_file_hex(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string(), "cannot open file");
  detail::Digest d(EVP_sha256());
  std::vector<char> buf(1 << 16);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    d.update(buf.data(), static_cast<std::size_t>(in.gcount()));
  }
  return d.hex();
}

}  // namespace kspam

#pragma once
// Every output is written to a temporary file beside its destination and renamed into place when
// complete, so readers never see a half-written file and an interrupted run leaves nothing behind
// that a later run would trust. rename(2) within one directory is atomic on POSIX file systems.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>

#include <unistd.h>

#include "kspam/core/error.hpp"

namespace kspam {

namespace detail {
inline std::filesystem::path unique_temp_sibling(const std::filesystem::path& target) {
  static std::atomic<unsigned long> counter{0};
  const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
  std::string name = "." + target.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
                     std::to_string(counter.fetch_add(1)) + "-" + std::to_string(stamp);
  return target.parent_path() / name;
}
}  // namespace detail

// Writes into a temporary sibling; commit() renames it over the target. Destroyed without commit
// (an exception, an early return), it removes the temporary and leaves the target untouched.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::filesystem::path target, std::ios::openmode mode = std::ios::binary)
      : target_(std::move(target)) {
    if (target_.has_parent_path()) std::filesystem::create_directories(target_.parent_path());
    temp_ = detail::unique_temp_sibling(target_);
    stream_.open(temp_, mode | std::ios::out | std::ios::trunc);
    if (!stream_) throw Error("cannot create " + temp_.string() + " (writing " + target_.string() + ")");
  }
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  ~AtomicFileWriter() {
    if (!committed_) {
      stream_.close();
      std::error_code ignored;
      std::filesystem::remove(temp_, ignored);
    }
  }

  std::ofstream& stream() { return stream_; }
  const std::filesystem::path& temp_path() const { return temp_; }

  void commit() {
    stream_.flush();
    if (!stream_) throw Error("write failed for " + temp_.string() + " (disk full?)");
    stream_.close();
    std::error_code ec;
    std::filesystem::rename(temp_, target_, ec);
    if (ec) {
      std::filesystem::remove(temp_, ec);
      throw Error("cannot move " + temp_.string() + " to " + target_.string());
    }
    committed_ = true;
  }

 private:
  std::filesystem::path target_;
  std::filesystem::path temp_;
  std::ofstream stream_;
  bool committed_ = false;
};

inline void write_file_atomically(const std::filesystem::path& target, std::string_view content) {
  AtomicFileWriter writer(target);
  writer.stream().write(content.data(), static_cast<std::streamsize>(content.size()));
  writer.commit();
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path.string(), "cannot open file");
  std::string content;
  in.seekg(0, std::ios::end);
  content.resize(static_cast<std::size_t>(in.tellg()));
  in.seekg(0);
  in.read(content.data(), static_cast<std::streamsize>(content.size()));
  if (!in) throw InputError(path.string(), "cannot read file");
  return content;
}

}  // namespace kspam

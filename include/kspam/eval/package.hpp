#pragma once
// The run's bundle: one zip (libzip) holding every artifact of a run directory, `merged_model/`
// when a merged model exists (inside the run or given apart), and MANIFEST.json listing each file
// with its size in bytes and SHA-256, so a recipient can check what they got. Files that are
// already compressed or large binary weights are stored, the rest deflated. The zip is written
// under a temporary name and renamed when complete.
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <zip.h>

#include "kspam/core/atomic_file.hpp"
#include "kspam/core/error.hpp"
#include "kspam/core/hash.hpp"
#include "kspam/core/json.hpp"
#include "kspam/core/run_metadata.hpp"
#include "kspam/core/version.hpp"

namespace kspam::eval {

struct PackageOptions {
  std::filesystem::path output;        // default: RUN/package.zip
  std::filesystem::path merged_model;  // default: RUN/merged_model when it exists
  std::vector<std::string> exclude;    // top-level names in RUN to leave out (e.g. a large image cache)
};

struct PackageEntry {
  std::string name;  // path inside the zip ('/' separated)
  std::filesystem::path source;
  std::uintmax_t bytes = 0;
  std::string sha256;
};

struct PackageSummary {
  std::filesystem::path zip;
  std::vector<PackageEntry> entries;
  bool merged_model = false;
  std::uintmax_t bytes = 0;  // sum of file sizes before compression
};

namespace package_detail {

inline bool stored_not_deflated(const std::filesystem::path& p) {
  std::string ext = p.extension().string();
  for (auto& c : ext) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  for (const char* e : {".safetensors", ".bin", ".pt", ".gguf", ".zip", ".gz", ".jpg", ".jpeg", ".png", ".webp", ".gif"})
    if (ext == e) return true;
  return false;
}

inline bool is_temporary(const std::string& filename) {
  return filename.size() > 1 && filename[0] == '.' && filename.find(".tmp-") != std::string::npos;
}

// Regular files under `root`, sorted by their '/'-joined path relative to root.
inline std::vector<std::pair<std::string, std::filesystem::path>> list_files(const std::filesystem::path& root) {
  std::vector<std::pair<std::string, std::filesystem::path>> out;
  for (auto it = std::filesystem::recursive_directory_iterator(root); it != std::filesystem::recursive_directory_iterator();
       ++it) {
    if (!it->is_regular_file()) continue;
    if (is_temporary(it->path().filename().string())) continue;
    out.emplace_back(std::filesystem::relative(it->path(), root).generic_string(), it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

class ZipArchive {
 public:
  explicit ZipArchive(const std::filesystem::path& path) : path_(path) {
    int error = 0;
    zip_ = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
    if (!zip_) {
      zip_error_t e;
      zip_error_init_with_code(&e, error);
      const std::string what = zip_error_strerror(&e);
      zip_error_fini(&e);
      throw Error("cannot create zip " + path.string() + ": " + what);
    }
  }
  ZipArchive(const ZipArchive&) = delete;
  ZipArchive& operator=(const ZipArchive&) = delete;
  ~ZipArchive() {
    if (zip_) zip_discard(zip_);
  }

  void add_file(const std::string& name, const std::filesystem::path& source, bool store) {
    zip_source_t* src = zip_source_file(zip_, source.c_str(), 0, -1);
    if (!src) throw Error("cannot read " + source.string() + " for the zip: " + zip_strerror(zip_));
    add(name, src, store);
  }
  void add_buffer(const std::string& name, const std::string& bytes) {
    buffers_.push_back(bytes);  // libzip reads the buffer at close time
    zip_source_t* src = zip_source_buffer(zip_, buffers_.back().data(), buffers_.back().size(), 0);
    if (!src) throw Error(std::string("cannot add ") + name + " to the zip: " + zip_strerror(zip_));
    add(name, src, false);
  }
  void close() {
    if (zip_close(zip_) != 0) throw Error("cannot write zip " + path_.string() + ": " + zip_strerror(zip_));
    zip_ = nullptr;
  }

 private:
  void add(const std::string& name, zip_source_t* src, bool store) {
    const zip_int64_t index = zip_file_add(zip_, name.c_str(), src, ZIP_FL_ENC_UTF_8 | ZIP_FL_OVERWRITE);
    if (index < 0) {
      zip_source_free(src);
      throw Error("cannot add " + name + " to the zip: " + zip_strerror(zip_));
    }
    zip_set_file_compression(zip_, static_cast<zip_uint64_t>(index), store ? ZIP_CM_STORE : ZIP_CM_DEFLATE, 0);
  }

  std::filesystem::path path_;
  zip_t* zip_ = nullptr;
  std::vector<std::string> buffers_;
};

}  // namespace package_detail

inline PackageSummary package_run(const std::filesystem::path& run_dir, const PackageOptions& options = {}) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(run_dir)) throw InputError(run_dir.string(), "run directory does not exist");
  PackageSummary summary;
  summary.zip = options.output.empty() ? run_dir / "package.zip" : options.output;
  const auto zip_abs = fs::weakly_canonical(summary.zip);

  fs::path merged = options.merged_model;
  if (merged.empty() && fs::is_directory(run_dir / "merged_model")) merged = run_dir / "merged_model";
  if (!merged.empty() && !fs::is_directory(merged))
    throw InputError(merged.string(), "merged model directory does not exist");
  const auto merged_abs = merged.empty() ? fs::path() : fs::weakly_canonical(merged);

  for (const auto& [name, path] : package_detail::list_files(run_dir)) {
    if (fs::weakly_canonical(path) == zip_abs) continue;
    const std::string top = name.substr(0, name.find('/'));
    if (std::find(options.exclude.begin(), options.exclude.end(), top) != options.exclude.end()) continue;
    if (!merged_abs.empty() && top == "merged_model" && fs::weakly_canonical(run_dir / "merged_model") == merged_abs)
      continue;  // added below under the same name
    summary.entries.push_back({name, path, fs::file_size(path), {}});
  }
  if (!merged.empty()) {
    summary.merged_model = true;
    for (const auto& [name, path] : package_detail::list_files(merged))
      summary.entries.push_back({"merged_model/" + name, path, fs::file_size(path), {}});
  }
  if (summary.entries.empty()) throw InputError(run_dir.string(), "nothing to package: the run directory is empty");

  json::Value files = json::Value::array();
  for (auto& e : summary.entries) {
    e.sha256 = sha256_file_hex(e.source);
    summary.bytes += e.bytes;
    json::Value f = json::Value::object();
    f["path"] = e.name;
    f["bytes"] = static_cast<std::int64_t>(e.bytes);
    f["sha256"] = e.sha256;
    files.push_back(f);
  }
  json::Value manifest = json::Value::object();
  manifest["created"] = utc_timestamp();
  manifest["kspam"] = KSPAM_VERSION_STRING;
  manifest["run_directory"] = run_dir.string();
  manifest["merged_model"] = summary.merged_model;
  manifest["file_count"] = summary.entries.size();
  manifest["total_bytes"] = static_cast<std::int64_t>(summary.bytes);
  manifest["files"] = files;

  if (summary.zip.has_parent_path()) fs::create_directories(summary.zip.parent_path());
  const auto temp = kspam::detail::unique_temp_sibling(summary.zip);
  try {
    package_detail::ZipArchive zip(temp);
    zip.add_buffer("MANIFEST.json", manifest.dump());
    for (const auto& e : summary.entries) zip.add_file(e.name, e.source, package_detail::stored_not_deflated(e.source));
    zip.close();
    fs::rename(temp, summary.zip);
  } catch (...) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    throw;
  }
  return summary;
}

}  // namespace kspam::eval

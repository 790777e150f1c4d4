#pragma once
// run_metadata.json: one record per run directory of what each stage did (its config, sizes,
// timings) and with what (kspam version, compiler, library versions, host). Each stage adds or
// replaces its own entry under "stages"; the file is rewritten atomically each time.
#include <chrono>
#include <ctime>
#include <filesystem>
#include <string>
#include <thread>

#include <unistd.h>

#include <Eigen/Core>
#include <simdjson.h>

#include "kspam/core/atomic_file.hpp"
#include "kspam/core/json.hpp"
#include "kspam/core/json_parse.hpp"
#include "kspam/core/version.hpp"

namespace kspam {

inline std::string utc_timestamp() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

inline json::Value build_environment() {
  json::Value env = json::Value::object();
  env["kspam"] = KSPAM_VERSION_STRING;
#if defined(__clang__)
  env["compiler"] = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  env["compiler"] = std::string("gcc ") + __VERSION__;
#endif
  env["eigen"] = std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "." +
                 std::to_string(EIGEN_MINOR_VERSION);
  env["simdjson"] = std::to_string(simdjson::SIMDJSON_VERSION_MAJOR) + "." +
                    std::to_string(simdjson::SIMDJSON_VERSION_MINOR) + "." +
                    std::to_string(simdjson::SIMDJSON_VERSION_REVISION);
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) == 0) env["host"] = std::string(host);
  env["hardware_threads"] = static_cast<std::int64_t>(std::thread::hardware_concurrency());
  return env;
}

// Adds (or replaces) `stage` in DIR/run_metadata.json. `record` should hold "config", "sizes" and
// "seconds" as the stage sees fit.
inline void record_stage(const std::filesystem::path& run_dir, const std::string& stage, json::Value record) {
  const auto path = run_dir / "run_metadata.json";
  json::Value meta = json::Value::object();
  if (std::filesystem::exists(path)) meta = json::parse(read_file(path), path.string());
  if (!meta.find("created")) meta["created"] = utc_timestamp();
  meta["updated"] = utc_timestamp();
  meta["environment"] = build_environment();
  record["finished"] = utc_timestamp();
  meta["stages"][stage] = std::move(record);
  write_file_atomically(path, meta.dump());
}

}  // namespace kspam

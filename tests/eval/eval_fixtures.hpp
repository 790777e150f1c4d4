#pragma once
// Loading the scikit-learn fixtures of tests/reference/fixtures/eval/.
#include <filesystem>
#include <string>

#include "kspam/core/atomic_file.hpp"
#include "kspam/core/json_parse.hpp"

namespace kspam::test {

inline json::Value load_eval_fixture(const std::string& name) {
  const auto path = std::filesystem::path(KSPAM_SOURCE_DIR) / "tests/reference/fixtures/eval" / name;
  return json::parse(read_file(path), path.string());
}

}  // namespace kspam::test

#pragma once
// The kspam CLI's plumbing: subcommands and `kspam run` stages register themselves from their own
// files. Exit codes: 0 success, 2 bad input (one line "error: FILE:LINE: what is wrong"), 1 other.
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "kspam/core/json.hpp"

namespace kspam::cli {

struct Command {
  std::string name;
  std::string summary;
  // Adds the subcommand's options to `app` and sets its callback.
  std::function<void(CLI::App& app)> setup;
};

std::vector<Command>& commands();

struct CommandRegistrar {
  explicit CommandRegistrar(Command c) { commands().push_back(std::move(c)); }
};

// What `kspam run` hands from stage to stage.
struct RunContext {
  std::filesystem::path out;          // the run directory
  std::filesystem::path data;         // labeled listings (split into train/val by the split stage)
  std::filesystem::path test;         // optional listings to predict (may be unlabeled); empty if none
  std::uint64_t seed = 42;
  double val_fraction = 0.1;
  // Files earlier stages produced, by role ("train", "val", "baseline_predictions", ...).
  std::map<std::string, std::filesystem::path> artifacts;
};

struct RunStage {
  int order;            // stages run in ascending order
  std::string name;
  std::string summary;
  // Optional: adds stage-specific options to `kspam run`; values land in state the stage owns.
  std::function<void(CLI::App& run_app)> add_options;
  std::function<void(RunContext& context)> run;
};

std::vector<RunStage>& run_stages();

struct StageRegistrar {
  explicit StageRegistrar(RunStage s) { run_stages().push_back(std::move(s)); }
};

// Default sample data bundled with the source tree.
inline std::filesystem::path sample_data_dir() { return std::filesystem::path(KSPAM_SOURCE_DIR) / "data" / "sample"; }

// Prints "<stage>: message" progress lines to stderr (the user's view of a long run).
void say(const std::string& stage, const std::string& message);

}  // namespace kspam::cli

// kspam run: the whole workflow, every registered stage in order, into one run directory.
#include <algorithm>
#include <memory>

#include "cli.hpp"
#include "kspam/core/run_metadata.hpp"
#include "kspam/core/timer.hpp"

namespace kspam::cli {
namespace {

struct RunArgs {
  std::string data = (sample_data_dir() / "listings.tsv").string();
  std::string test = (sample_data_dir() / "test.tsv").string();
  std::string out = "runs/latest";
  std::uint64_t seed = 42;
  double val_fraction = 0.1;
  std::vector<std::string> skip;
};

const CommandRegistrar registrar{{
    "run",
    "Run the whole workflow end to end (on the bundled sample data unless told otherwise)",
    [](CLI::App& app) {
      auto args = std::make_shared<RunArgs>();
      app.add_option("--data,--train", args->data, "Labeled listings TSV (split into train/val)")->capture_default_str();
      app.add_option("--test", args->test, "Listings TSV to predict (labels optional); '' for none")
          ->capture_default_str();
      app.add_option("--out", args->out, "Run directory for every artifact")->capture_default_str();
      app.add_option("--seed", args->seed, "Random seed for every stage")->capture_default_str();
      app.add_option("--val-fraction", args->val_fraction, "Fraction of each class held out for validation")
          ->capture_default_str();
      auto& stages = run_stages();
      std::sort(stages.begin(), stages.end(), [](const RunStage& a, const RunStage& b) { return a.order < b.order; });
      std::string names;
      for (const auto& stage : stages) names += (names.empty() ? "" : ", ") + stage.name;
      app.add_option("--skip", args->skip, "Stages to leave out (of: " + names + ")")->delimiter(',');
      for (const auto& stage : stages)
        if (stage.add_options) stage.add_options(app);

      app.callback([args] {
        RunContext context;
        context.out = args->out;
        context.data = args->data;
        if (!args->test.empty()) context.test = args->test;
        context.seed = args->seed;
        context.val_fraction = args->val_fraction;
        std::filesystem::create_directories(context.out);
        for (const auto& name : args->skip) {
          const auto& all = run_stages();
          if (std::none_of(all.begin(), all.end(), [&](const RunStage& s) { return s.name == name; }))
            throw InputError("--skip", 0, "", name, "no such stage");
        }
        Stopwatch total;
        for (const auto& stage : run_stages()) {
          if (std::find(args->skip.begin(), args->skip.end(), stage.name) != args->skip.end()) {
            say(stage.name, "skipped");
            continue;
          }
          Stopwatch watch;
          stage.run(context);
          char line[64];
          std::snprintf(line, sizeof line, "done in %.2f s", watch.seconds());
          say(stage.name, line);
        }
        json::Value record = json::Value::object();
        record["config"]["data"] = args->data;
        record["config"]["test"] = args->test;
        record["config"]["seed"] = static_cast<std::int64_t>(args->seed);
        record["config"]["val_fraction"] = args->val_fraction;
        record["seconds"] = total.seconds();
        json::Value artifacts = json::Value::object();
        for (const auto& [role, path] : context.artifacts) artifacts[role] = path.string();
        record["artifacts"] = artifacts;
        record_stage(context.out, "run", record);
        char line[128];
        std::snprintf(line, sizeof line, "all stages done in %.2f s; artifacts in ", total.seconds());
        say("run", line + context.out.string());
      });
    }}};

}  // namespace
}  // namespace kspam::cli

// kspam sweep: the keep/review/demote threshold sweep alone, for quick what-ifs on costs.
#include <memory>

#include "cli.hpp"
#include "kspam/core/run_metadata.hpp"
#include "kspam/core/timer.hpp"
#include "kspam/eval/predictions_csv.hpp"
#include "kspam/eval/sweep.hpp"

namespace kspam::cli {
namespace {

struct SweepArgs {
  std::string predictions, out, objective = "macro_f1";
  eval::SweepGrid grid;
  eval::CostMatrix costs;
};

const CommandRegistrar registrar{{
    "sweep",
    "Choose review/demote thresholds over a grid by macro F1 or expected cost; write threshold_sweep.csv",
    [](CLI::App& app) {
      auto a = std::make_shared<SweepArgs>();
      app.add_option("--predictions", a->predictions, "Labeled predictions CSV")->required();
      app.add_option("--out", a->out, "Directory for threshold_sweep.csv and sweep.json")->required();
      app.add_option("--objective", a->objective, "macro_f1 (maximise) or cost (minimise)")->capture_default_str();
      app.add_option("--grid-start", a->grid.start, "Lowest threshold")->capture_default_str();
      app.add_option("--grid-stop", a->grid.stop, "Highest threshold")->capture_default_str();
      app.add_option("--grid-step", a->grid.step, "Grid step")->capture_default_str();
      app.add_option("--cost-false-demote", a->costs.false_demote, "Cost of demoting a good listing")->capture_default_str();
      app.add_option("--cost-review", a->costs.review, "Cost of one manual review")->capture_default_str();
      app.add_option("--cost-missed-spam", a->costs.missed_spam, "Cost of leaving spam in place")->capture_default_str();
      app.callback([a] {
        Stopwatch watch;
        a->costs.validate("--cost-*");
        const auto objective = eval::parse_objective(a->objective);
        const auto table = eval::read_predictions_csv(a->predictions);
        if (eval::compute_metrics(table.rows).empty())
          throw InputError(a->predictions, "no labeled rows: a sweep needs the truth (the label column)");
        const auto result = eval::sweep_thresholds(table.rows, a->grid, objective, a->costs);
        std::filesystem::create_directories(a->out);
        result.write_csv(std::filesystem::path(a->out) / "threshold_sweep.csv");
        json::Value summary = result.to_json();
        summary["predictions"] = a->predictions;
        summary["costs"] = a->costs.to_json();
        write_file_atomically(std::filesystem::path(a->out) / "sweep.json", summary.dump());
        const auto& c = result.chosen();
        char line[256];
        std::snprintf(line, sizeof line,
                      "%zu pairs; chosen review %.2f / demote %.2f: macro F1 %.3f, expected cost %.3f per listing "
                      "(%zu kept, %zu reviewed, %zu demoted)",
                      result.grid.size(), c.thresholds.review, c.thresholds.demote, *c.macro_f1(), *c.expected_cost,
                      c.count(eval::Decision::Keep), c.count(eval::Decision::Review), c.count(eval::Decision::Demote));
        say("sweep", line);
        json::Value record = json::Value::object();
        record["config"]["objective"] = a->objective;
        record["config"]["costs"] = a->costs.to_json();
        record["chosen_thresholds"] = c.thresholds.to_json();
        record["seconds"] = watch.seconds();
        record_stage(a->out, "sweep", record);
      });
    }}};

}  // namespace
}  // namespace kspam::cli

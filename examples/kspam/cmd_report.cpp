// kspam report: report.html (self-contained) and plots/*.svg for an evaluated run directory.
#include <memory>

#include "cli.hpp"
#include "kspam/core/run_metadata.hpp"
#include "kspam/core/timer.hpp"
#include "kspam/eval/report.hpp"

namespace kspam::cli {
namespace {

struct ReportArgs {
  std::string run;
  eval::ReportOptions options;
};

const CommandRegistrar registrar{{
    "report",
    "Write report.html (plots, slices, uplift, gallery; one self-contained page) for an evaluated run",
    [](CLI::App& app) {
      auto a = std::make_shared<ReportArgs>();
      app.add_option("--run", a->run, "Run directory holding metrics.json and predictions_with_decisions.csv")->required();
      app.add_option("--gallery-size", a->options.gallery_per_outcome, "Examples per outcome (TP, TN, FP, FN)")
          ->capture_default_str();
      app.callback([a] {
        Stopwatch watch;
        const auto s = eval::write_report(a->run, a->options);
        say("report", "wrote " + s.html.string() + " (" + std::to_string(s.plots.size()) + " plots, " +
                          std::to_string(s.gallery_items) + " gallery examples, " + std::to_string(s.gallery_images) +
                          " with photos)");
        json::Value record = json::Value::object();
        record["sizes"]["plots"] = s.plots.size();
        record["sizes"]["gallery_items"] = s.gallery_items;
        record["sizes"]["gallery_images"] = s.gallery_images;
        record["seconds"] = watch.seconds();
        record_stage(a->run, "report", record);
      });
    }}};

}  // namespace
}  // namespace kspam::cli

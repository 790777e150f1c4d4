// `kspam run` stage 90: report.html and plots/ from the evaluation's files.
#include <filesystem>

#include "cli.hpp"
#include "kspam/core/run_metadata.hpp"
#include "kspam/core/timer.hpp"
#include "kspam/eval/report.hpp"

namespace kspam::cli {
namespace {

const StageRegistrar report_stage{{
    90, "report", "report.html with plots, slices, uplift and the gallery",
    nullptr,
    [](RunContext& context) {
      if (!std::filesystem::exists(context.out / "metrics.json")) {
        say("report", "no metrics.json (nothing was evaluated): no report");
        return;
      }
      Stopwatch watch;
      const auto s = eval::write_report(context.out);
      context.artifacts["report"] = s.html;
      say("report", "wrote " + s.html.string() + " (" + std::to_string(s.gallery_items) + " gallery examples, " +
                        std::to_string(s.gallery_images) + " with photos)");
      json::Value record = json::Value::object();
      record["sizes"]["plots"] = s.plots.size();
      record["sizes"]["gallery_items"] = s.gallery_items;
      record["sizes"]["gallery_images"] = s.gallery_images;
      record["seconds"] = watch.seconds();
      record_stage(context.out, "report", record);
    }}};

}  // namespace
}  // namespace kspam::cli

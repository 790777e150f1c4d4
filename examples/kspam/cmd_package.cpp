// kspam package: zip a run directory's artifacts (and merged_model/) with a SHA-256 manifest.
#include <memory>

#include "cli.hpp"
#include "kspam/core/run_metadata.hpp"
#include "kspam/core/timer.hpp"
#include "kspam/eval/package.hpp"

namespace kspam::cli {
namespace {

struct PackageArgs {
  std::string run, output, merged_model;
  std::vector<std::string> exclude;
  bool include_image_cache = false;
};

const CommandRegistrar registrar{{
    "package",
    "Bundle a run's artifacts (and merged_model/) into one zip with MANIFEST.json (sizes, SHA-256)",
    [](CLI::App& app) {
      auto a = std::make_shared<PackageArgs>();
      app.add_option("--run", a->run, "Run directory")->required();
      app.add_option("--output", a->output, "Zip to write (default: RUN/package.zip)");
      app.add_option("--merged-model", a->merged_model, "Merged model directory (default: RUN/merged_model if present)");
      app.add_option("--exclude", a->exclude, "Top-level names in RUN to leave out (repeatable)");
      app.add_flag("--include-image-cache", a->include_image_cache,
                   "Also pack RUN/image_cache (left out by default: the photos are embedded in report.html already)");
      app.callback([a] {
        Stopwatch watch;
        eval::PackageOptions options;
        options.output = a->output;
        options.merged_model = a->merged_model;
        options.exclude = a->exclude;
        if (!a->include_image_cache) options.exclude.push_back("image_cache");
        const auto s = eval::package_run(a->run, options);
        char line[256];
        std::snprintf(line, sizeof line, "%zu files (%.1f MB before compression)%s -> ", s.entries.size(),
                      double(s.bytes) / 1e6, s.merged_model ? " including merged_model/" : "");
        say("package", line + s.zip.string());
        json::Value record = json::Value::object();
        record["config"]["output"] = s.zip.string();
        record["sizes"]["files"] = s.entries.size();
        record["sizes"]["bytes"] = static_cast<std::int64_t>(s.bytes);
        record["sizes"]["merged_model"] = s.merged_model;
        record["seconds"] = watch.seconds();
        record_stage(a->run, "package", record);
      });
    }}};

}  // namespace
}  // namespace kspam::cli

// `kspam run` stage 100: the run's bundle (package.zip with MANIFEST.json), merged model included.
#include "cli.hpp"
#include "kspam/core/run_metadata.hpp"
#include "kspam/core/timer.hpp"
#include "kspam/eval/package.hpp"

namespace kspam::cli {
namespace {

const StageRegistrar package_stage{{
    100, "package", "package.zip of the run's artifacts with a SHA-256 manifest",
    nullptr,
    [](RunContext& context) {
      Stopwatch watch;
      eval::PackageOptions options;
      if (auto it = context.artifacts.find("merged_model"); it != context.artifacts.end()) options.merged_model = it->second;
      // A shared image cache can be far larger than everything else; the manifest's reader does not need it.
      if (auto it = context.artifacts.find("image_cache"); it != context.artifacts.end()) {
        const auto rel = std::filesystem::relative(it->second, context.out);
        if (!rel.empty() && *rel.begin() != "..") options.exclude.push_back(rel.begin()->string());
      }
      // Record this stage first so that the bundled run_metadata.json says it was packaged.
      json::Value record = json::Value::object();
      record["config"]["output"] = (context.out / "package.zip").string();
      record_stage(context.out, "package", record);
      const auto s = eval::package_run(context.out, options);
      context.artifacts["package"] = s.zip;
      char line[256];
      std::snprintf(line, sizeof line, "%zu files (%.1f MB before compression)%s -> ", s.entries.size(),
                    double(s.bytes) / 1e6, s.merged_model ? " including merged_model/" : "");
      say("package", line + s.zip.string());
      record["sizes"]["files"] = s.entries.size();
      record["sizes"]["bytes"] = static_cast<std::int64_t>(s.bytes);
      record["sizes"]["merged_model"] = s.merged_model;
      record["seconds"] = watch.seconds();
      record_stage(context.out, "package", record);
    }}};

}  // namespace
}  // namespace kspam::cli

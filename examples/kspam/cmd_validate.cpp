// kspam validate: check a listings TSV against the schema and summarise it.
#include <iostream>
#include <memory>

#include "cli.hpp"
#include "data_stages.hpp"

namespace kspam::cli {
namespace {

struct ValidateArgs {
  std::string data;
  bool all_errors = false;
  std::size_t max_errors = 100;
  bool require_labels = false;
  bool json = false;
};

const CommandRegistrar registrar{{
    "validate",
    "Check a listings TSV (schema, labels, votes, UTF-8) and summarise it",
    [](CLI::App& app) {
      auto args = std::make_shared<ValidateArgs>();
      app.add_option("--data", args->data, "Listings TSV (product_id, description, image_url, label, yes_count, no_count)")
          ->required();
      app.add_flag("--all-errors", args->all_errors, "Report every problem (up to --max-errors), not only the first");
      app.add_option("--max-errors", args->max_errors, "Most problems to report with --all-errors")->capture_default_str();
      app.add_flag("--require-labels", args->require_labels, "Treat an empty label as an error (training data)");
      app.add_flag("--json", args->json, "Print the summary as JSON on stdout");
      app.callback([args] {
        data::ReadOptions options;
        options.collect_errors = args->all_errors;
        options.max_errors = args->max_errors;
        options.require_labels = args->require_labels;
        const auto summary = validate_file(args->data, options);
        if (args->json) std::cout << summary.dump();
      });
    }}};

}  // namespace
}  // namespace kspam::cli

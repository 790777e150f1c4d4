#include "data_stages.hpp"

#include <cstdio>

#include "cli.hpp"
#include "kspam/core/atomic_file.hpp"
#include "kspam/core/timer.hpp"
#include "kspam/data/split.hpp"
#include "kspam/data/write_listings.hpp"

namespace kspam::cli {

namespace {
std::string percent(std::size_t part, std::size_t whole) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0);
  return buf;
}

json::Value class_balance(const data::ListingTable& table, const std::vector<std::size_t>& which) {
  std::size_t spam = 0;
  for (auto i : which) spam += table.rows[i].label.value_or(0) == 1;
  json::Value v = json::Value::object();
  v["rows"] = which.size();
  v["spam"] = spam;
  v["clean"] = which.size() - spam;
  v["spam_fraction"] = which.empty() ? 0.0 : static_cast<double>(spam) / static_cast<double>(which.size());
  return v;
}
}  // namespace

json::Value validate_file(const std::filesystem::path& data, const data::ReadOptions& options) {
  Stopwatch watch;
  data::ConfidenceSummary confidence;
  const auto report =
      data::for_each_listing(data.string(), options, [&](const data::Listing& row) { confidence.add(row); });
  const double seconds = watch.seconds();

  json::Value v = json::Value::object();
  v["file"] = data.string();
  v["rows"] = report.rows;
  v["labeled"] = report.labeled;
  v["unlabeled"] = report.rows - report.labeled;
  v["spam"] = report.spam;
  v["clean"] = report.labeled - report.spam;
  v["with_image_url"] = report.with_image_url;
  v["extra_columns"] = report.extra_columns;
  v["label_confidence"] = confidence.to_json();
  v["bytes"] = report.bytes;
  v["seconds"] = seconds;

  say("validate", data.string() + ": " + std::to_string(report.rows) + " valid rows (" +
                      std::to_string(report.labeled) + " labeled: " + std::to_string(report.spam) + " spam, " +
                      std::to_string(report.labeled - report.spam) + " clean; " +
                      std::to_string(report.with_image_url) + " with an image URL)");
  char line[160];
  std::snprintf(line, sizeof line, "label confidence: mean %.3f, mean |c| %.3f, %zu rows without votes",
                confidence.mean(), confidence.mean_abs(), confidence.no_votes);
  say("validate", line);
  return v;
}

json::Value split_file(const std::filesystem::path& data, const std::filesystem::path& out, const SplitOptions& options) {
  const auto policy = data::LabelQualityPolicy::parse(options.label_quality);
  const auto table = data::read_listings(data.string());
  auto parts = data::stratified_split(table.rows, options.val_fraction, options.seed);

  // The label-quality policy removes low-confidence rows from training only; validation stays as
  // annotated so that every policy is judged on the same rows.
  std::size_t excluded = 0;
  if (policy.mode == data::LabelQuality::ExcludeBelow) {
    std::erase_if(parts.train, [&](std::size_t i) {
      const bool drop = policy.weight(table.rows[i]) == 0.0;
      excluded += drop;
      return drop;
    });
  }
  std::vector<std::size_t> unlabeled;
  for (std::size_t i = 0; i < table.rows.size(); ++i)
    if (!table.rows[i].labeled()) unlabeled.push_back(i);
  if (parts.train.empty()) throw InputError(data.string(), "no labeled rows left for training");

  std::filesystem::create_directories(out);
  data::write_listings(out / "train.tsv", table, parts.train);
  data::write_listings(out / "val.tsv", table, parts.val);
  if (!unlabeled.empty()) data::write_listings(out / "unlabeled.tsv", table, unlabeled);

  json::Value summary = json::Value::object();
  summary["source"] = data.string();
  summary["seed"] = static_cast<std::int64_t>(options.seed);
  summary["val_fraction"] = options.val_fraction;
  summary["label_quality"] = policy.describe();
  summary["excluded_low_confidence"] = excluded;
  summary["train"] = class_balance(table, parts.train);
  summary["val"] = class_balance(table, parts.val);
  summary["unlabeled"] = unlabeled.size();
  write_file_atomically(out / "split_summary.json", summary.dump());

  const auto& tr = summary["train"];
  const auto& va = summary["val"];
  say("split", "train " + std::to_string(parts.train.size()) + " rows (" +
                   percent(static_cast<std::size_t>(tr.find("spam")->as_int()), parts.train.size()) + " spam), val " +
                   std::to_string(parts.val.size()) + " rows (" +
                   percent(static_cast<std::size_t>(va.find("spam")->as_int()), parts.val.size()) + " spam)" +
                   (excluded ? ", " + std::to_string(excluded) + " low-confidence rows left out" : ""));
  return summary;
}

}  // namespace kspam::cli

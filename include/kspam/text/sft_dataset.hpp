#pragma once
// Building the SFT files: train.jsonl / val.jsonl in the messages format every Qwen-VL trainer
// reads, one labeled listing per line:
//   {"id":..,"label":0|1,"weight":..,"num_tokens":..,"shortened":bool,
//    "messages":[{"role":"system","content":..},
//                {"role":"user","content":[{"type":"image","image":PATH},{"type":"text","text":..}]},
//                {"role":"assistant","content":"{\"is_spam\":..,\"confidence\":..,\"reason\":..}"}]}
// The photo is the cached copy from the image stage (image_cache: files named by the SHA-1 of the
// URL); a row whose photo is missing or unreadable goes on text-only with the "image unavailable"
// prompt. Rows longer than max_seq_len get a shortened description; rows that cannot fit even so
// (a huge image) are left out and counted. Also writes sft_preview.txt and sft_summary.json.
#include <atomic>
#include <filesystem>
#include <string>
#include <vector>

#include "kspam/core/atomic_file.hpp"
#include "kspam/core/json.hpp"
#include "kspam/core/progress.hpp"
#include "kspam/core/thread_pool.hpp"
#include "kspam/data/label_quality.hpp"
#include "kspam/data/read_listings.hpp"
#include "kspam/image/image_source.hpp"
#include "kspam/text/sft_example.hpp"

namespace kspam::text {

struct SftBuildOptions {
  std::filesystem::path train, val;  // labeled listing TSVs
  std::filesystem::path cache_dir;   // the image cache; empty: every row is text-only
  std::filesystem::path image_base;  // resolves relative image_url values; empty: each TSV's folder
  std::filesystem::path out;
  std::size_t max_seq_len = 1024;
  data::LabelQualityPolicy label_quality;
  image::PreprocessorConfig image_config;
  std::size_t preview_rows = 3;
  unsigned threads = 0;  // 0 = all cores
};

// The photo of a row: the cached file for its image_url, or "" when missing.
inline std::string resolve_cached_image(const std::string& image_url, const std::filesystem::path& cache_dir,
                                        const std::filesystem::path& base_dir) {
  if (image_url.empty() || cache_dir.empty()) return {};
  const auto path = image::cached_image_path(image_url, cache_dir, base_dir);
  return path ? std::filesystem::absolute(*path).string() : std::string();
}

// The answer's confidence for a labeled row: 1.0, or under the "weight" label-quality policy the
// share of annotators who agree with the label (rows without votes keep 1.0).
inline double target_confidence(const data::Listing& row, const data::LabelQualityPolicy& policy) {
  if (policy.mode != data::LabelQuality::WeightByConfidence) return 1.0;
  const auto total = row.yes_count + row.no_count;
  if (total == 0) return 1.0;
  const auto agree = row.label.value_or(0) == 1 ? row.yes_count : row.no_count;
  return static_cast<double>(agree) / static_cast<double>(total);
}

namespace detail {

struct SftRow {
  std::string line;     // the JSONL line
  std::string preview;  // rendered text, kept for the first rows only
  bool has_image = false, image_unreadable = false, shortened = false, dropped = false;
  std::size_t tokens = 0;
};

inline json::Value build_split(const Tokenizer& tokenizer, const std::filesystem::path& tsv, const std::string& name,
                               const SftBuildOptions& options, std::string& preview) {
  const auto table = data::read_listings(tsv.string());
  std::vector<const data::Listing*> rows;
  std::size_t unlabeled = 0, excluded = 0;
  for (const auto& r : table.rows) {
    if (!r.labeled()) ++unlabeled;
    else if (options.label_quality.weight(r) == 0.0) ++excluded;
    else rows.push_back(&r);
  }
  const auto base = options.image_base.empty() ? std::filesystem::absolute(tsv).parent_path() : options.image_base;
  std::vector<SftRow> out(rows.size());
  Progress progress("sft " + name, rows.size(), "rows");
  FitOptions fit;
  fit.max_seq_len = options.max_seq_len;
  fit.merge_size = options.image_config.merge_size;
  parallel_for(0, rows.size(), [&](std::size_t i) {
    const data::Listing& row = *rows[i];
    SftRow& result = out[i];
    std::string image_path = resolve_cached_image(row.image_url, options.cache_dir, base);
    std::array<std::int64_t, 3> grid{};
    if (!image_path.empty()) {
      try {
        grid = image_grid_for_file(image_path, options.image_config);
      } catch (const InputError&) {
        image_path.clear();  // the cache holds something that is not a usable image
        result.image_unreadable = true;
      }
    }
    result.has_image = !image_path.empty();
    const bool spam = *row.label == 1;
    const std::string answer = assistant_target_for(spam, target_confidence(row, options.label_quality), row.description);
    FittedListing f = fit_listing_example(tokenizer, row.description, image_path, grid, answer, fit);
    if (!f.fits) {
      result.dropped = true;
      progress.advance();
      return;
    }
    result.shortened = f.shortened;
    result.tokens = f.example.input_ids.size();
    json::Value line = json::Value::object();
    line["id"] = row.product_id;
    line["label"] = spam ? 1 : 0;
    line["weight"] = options.label_quality.weight(row);
    line["num_tokens"] = result.tokens;
    line["shortened"] = f.shortened;
    json::Value messages = json::Value::array();
    json::Value system = json::Value::object();
    system["role"] = "system";
    system["content"] = kSystemPrompt;
    messages.push_back(system);
    json::Value user = json::Value::object();
    user["role"] = "user";
    json::Value content = json::Value::array();
    for (const auto& part : f.prompt[1].content) {
      json::Value p = json::Value::object();
      if (part.kind == ContentPart::Kind::Image) {
        p["type"] = "image";
        p["image"] = part.image;
      } else {
        p["type"] = "text";
        p["text"] = part.text;
      }
      content.push_back(p);
    }
    user["content"] = content;
    messages.push_back(user);
    json::Value assistant = json::Value::object();
    assistant["role"] = "assistant";
    assistant["content"] = answer;
    messages.push_back(assistant);
    line["messages"] = messages;
    result.line = line.dump(-1);
    if (i < options.preview_rows) {
      auto conversation = f.prompt;
      conversation.push_back({"assistant", {ContentPart::make_text(answer)}});
      result.preview = render_chat(conversation);
    }
    progress.advance();
  }, options.threads, 8);
  progress.finish();

  std::string jsonl;
  std::size_t with_image = 0, unreadable = 0, shortened = 0, dropped = 0, tokens = 0, max_tokens = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const SftRow& r = out[i];
    unreadable += r.image_unreadable;
    if (r.dropped) {
      ++dropped;
      continue;
    }
    jsonl += r.line;
    jsonl += '\n';
    with_image += r.has_image;
    shortened += r.shortened;
    tokens += r.tokens;
    max_tokens = std::max(max_tokens, r.tokens);
    if (!r.preview.empty())
      preview += "=== " + name + " row " + std::to_string(i + 1) + " (" + rows[i]->product_id + ", " +
                 std::to_string(r.tokens) + " tokens, image pads shown once) ===\n" + r.preview + "\n";
  }
  write_file_atomically(options.out / (name + ".jsonl"), jsonl);
  const std::size_t written = out.size() - dropped;
  json::Value s = json::Value::object();
  s["source"] = tsv.string();
  s["rows"] = written;
  s["with_image"] = with_image;
  s["without_image"] = written - with_image;
  s["image_unreadable"] = unreadable;
  s["shortened"] = shortened;
  s["dropped_too_long"] = dropped;
  s["unlabeled_skipped"] = unlabeled;
  s["excluded_low_confidence"] = excluded;
  s["tokens_total"] = tokens;
  s["tokens_max"] = max_tokens;
  s["tokens_mean"] = written ? static_cast<double>(tokens) / static_cast<double>(written) : 0.0;
  return s;
}

}  // namespace detail

// Writes out/train.jsonl, out/val.jsonl, out/sft_preview.txt and out/sft_summary.json; returns the summary.
inline json::Value build_sft_files(const Tokenizer& tokenizer, const SftBuildOptions& options) {
  if (options.max_seq_len < 64)
    throw InputError("--max-seq-len", 0, "", std::to_string(options.max_seq_len), "must be at least 64 tokens");
  std::filesystem::create_directories(options.out);
  std::string preview;
  json::Value summary = json::Value::object();
  summary["tokenizer"] = tokenizer.origin();
  summary["max_seq_len"] = options.max_seq_len;
  summary["label_quality"] = options.label_quality.describe();
  summary["image_cache"] = options.cache_dir.string();
  summary["train"] = detail::build_split(tokenizer, options.train, "train", options, preview);
  if (!options.val.empty()) summary["val"] = detail::build_split(tokenizer, options.val, "val", options, preview);
  write_file_atomically(options.out / "sft_preview.txt", preview);
  write_file_atomically(options.out / "sft_summary.json", summary.dump());
  return summary;
}

}  // namespace kspam::text

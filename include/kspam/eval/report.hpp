#pragma once
// report.html and plots/*.svg for a run directory that `kspam evaluate` has filled: one
// self-contained page (plots inline as SVG, photos inline as base64 data: URIs, no script or font
// from the network) with the summary, plots, policy and calibration, slice and uplift tables, and
// the curated gallery. It reads only files: metrics.json, predictions_with_decisions.csv,
// threshold_sweep.csv, and the listings / other models' predictions that metrics.json names.
#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "kspam/core/atomic_file.hpp"
#include "kspam/core/base64.hpp"
#include "kspam/core/error.hpp"
#include "kspam/core/json.hpp"
#include "kspam/core/json_parse.hpp"
#include "kspam/core/run_metadata.hpp"
#include "kspam/core/version.hpp"
#include "kspam/data/tsv_reader.hpp"
#include "kspam/eval/evaluation.hpp"
#include "kspam/eval/gallery.hpp"
#include "kspam/eval/listing_images.hpp"
#include "kspam/eval/plots.hpp"
#include "kspam/eval/predictions_csv.hpp"

namespace kspam::eval {

struct ReportOptions {
  std::size_t gallery_per_outcome = 4;
  std::size_t max_embedded_image_bytes = 512 * 1024;  // larger photos are linked by name, not embedded
  std::size_t description_chars = 400;
};

struct ReportSummary {
  std::filesystem::path html;
  std::vector<std::filesystem::path> plots;
  std::size_t gallery_items = 0;
  std::size_t gallery_images = 0;
};

namespace report_detail {

using plots::num;
using plots::xml_escape;

inline const json::Value& need(const json::Value& v, std::string_view key, const std::string& origin) {
  const auto* p = v.find(key);
  if (!p) throw InputError(origin, 0, std::string(key), "", "missing from the file (made by an older kspam?)");
  return *p;
}

inline std::string fmt(const json::Value* v, int decimals = 3) {
  if (!v || v->is_null()) return "<span class=\"undef\" title=\"0/0: undefined for these rows\">undefined</span>";
  if (v->is_number()) return num(v->as_double(), decimals);  // JSON writes 2.0 as 2: still a metric
  if (v->is_string()) return xml_escape(v->as_string());
  return xml_escape(v->dump(-1));
}

inline std::string fmt_count(const json::Value* v) {
  if (!v || !v->is_number()) return "?";
  return std::to_string(static_cast<std::int64_t>(v->as_double()));
}

inline std::string fmt_costs(const json::Value& c) {
  return "demoting a good listing " + num(c.find("false_demote")->as_double(), 2) + ", one review " +
         num(c.find("review")->as_double(), 2) + ", leaving spam in place " + num(c.find("missed_spam")->as_double(), 2) +
         " (per listing)";
}

inline Reliability reliability_from_json(const json::Value& v) {
  Reliability r;
  if (const auto* rows = v.find("rows")) r.rows = static_cast<std::size_t>(rows->as_int());
  if (const auto* e = v.find("ece"); e && e->is_number()) r.ece = e->as_double();
  if (const auto* bins = v.find("bins"))
    for (const auto& b : bins->as_array()) {
      ReliabilityBin bin;
      bin.lower = b.find("lower")->as_double();
      bin.upper = b.find("upper")->as_double();
      bin.count = static_cast<std::size_t>(b.find("count")->as_int());
      if (bin.count) {
        bin.mean_score = b.find("mean_score")->as_double();
        bin.frac_positive = b.find("frac_positive")->as_double();
      }
      r.bins.push_back(bin);
    }
  return r;
}

inline std::vector<plots::SweepCell> read_sweep_csv(const std::filesystem::path& path, bool cost,
                                                   double& chosen_review, double& chosen_demote) {
  data::TsvReader reader(path.string(), ',');
  data::TsvRecord rec;
  std::vector<plots::SweepCell> cells;
  if (!reader.next(rec)) return cells;
  auto col = [&](const std::string& name) {
    for (std::size_t i = 0; i < rec.fields.size(); ++i)
      if (rec.fields[i] == name) return i;
    throw InputError(path.string(), 1, name, "", "column missing from the sweep table");
  };
  const auto cr = col("review_threshold"), cd = col("demote_threshold"), cv = col(cost ? "expected_cost" : "macro_f1"),
             cc = col("chosen");
  while (reader.next(rec)) {
    plots::SweepCell c;
    c.review = std::stod(rec.fields.at(cr));
    c.demote = std::stod(rec.fields.at(cd));
    if (!rec.fields.at(cv).empty()) c.value = std::stod(rec.fields[cv]);
    if (rec.fields.at(cc) == "1") {
      chosen_review = c.review;
      chosen_demote = c.demote;
    }
    cells.push_back(c);
  }
  return cells;
}

inline std::string metric_row(const std::string& name, const json::Value& m) {
  std::string s = "<tr><th>" + xml_escape(name) + "</th>";
  if (const auto* e = m.find("empty"); e && e->as_bool()) {
    return s + "<td>" + fmt_count(m.find("rows")) + "</td><td colspan=\"7\" class=\"empty\">empty slice: no labeled rows</td></tr>";
  }
  const auto* spam = m.find("per_class") ? m.find("per_class")->find("spam") : nullptr;
  s += "<td>" + fmt_count(m.find("rows")) + "</td><td>" + fmt(m.find("accuracy")) + "</td><td>" + fmt(m.find("macro_f1")) +
       "</td><td>" + fmt(spam ? spam->find("precision") : nullptr) + "</td><td>" +
       fmt(spam ? spam->find("recall") : nullptr) + "</td><td>" + fmt(spam ? spam->find("f1") : nullptr) + "</td><td>" +
       fmt(m.find("average_precision")) + "</td><td>" + fmt(m.find("roc_auc")) + "</td></tr>";
  return s;
}

inline const char* kMetricHeader =
    "<tr><th></th><th>rows</th><th>accuracy</th><th>macro F1</th><th>spam precision</th><th>spam recall</th>"
    "<th>spam F1</th><th>AUPRC</th><th>ROC-AUC</th></tr>";

inline std::string policy_row(const std::string& name, const json::Value& p) {
  auto threshold = [&](const char* key) {
    const auto* v = p.find(key);
    return v && v->is_number() ? num(v->as_double(), 2) : std::string("per fold");
  };
  std::string s = "<tr><th>" + xml_escape(name) + "</th><td>" + threshold("review_threshold") + "</td><td>" +
                  threshold("demote_threshold") + "</td>";
  if (const auto* e = p.find("empty"); e && e->as_bool()) return s + "<td colspan=\"6\" class=\"empty\">empty</td></tr>";
  const auto* d = p.find("decisions_by_truth");
  auto count = [&](const char* decision) {
    std::int64_t n = 0;
    if (d)
      for (const char* truth : {"clean", "spam"}) n += d->find(truth)->find(decision)->as_int();
    return std::to_string(n);
  };
  s += "<td>" + count("keep") + "</td><td>" + count("review") + "</td><td>" + count("demote") + "</td><td>" +
       fmt(p.find("macro_f1")) + "</td><td>" + fmt(p.find("demote_precision")) + "</td><td>" +
       fmt(p.find("expected_cost_per_listing")) + "</td></tr>";
  return s;
}

inline const char* kPolicyHeader =
    "<tr><th></th><th>review &ge;</th><th>demote &ge;</th><th>kept</th><th>reviewed</th><th>demoted</th>"
    "<th>macro F1 (demoted)</th><th>demote precision</th><th>expected cost / listing</th></tr>";

inline const char* kStyle = R"CSS(
body{font-family:Helvetica,Arial,sans-serif;margin:24px auto;max-width:1200px;color:#222;line-height:1.4}
h1{margin-bottom:4px} h2{border-bottom:2px solid #eee;padding-bottom:4px;margin-top:36px}
.sub{color:#666;margin-top:0} table{border-collapse:collapse;margin:10px 0} th,td{padding:4px 10px;border-bottom:1px solid #eee;text-align:right}
th:first-child{text-align:left} .undef{color:#999;font-style:italic} .empty{color:#999;font-style:italic;text-align:left}
.cards{display:flex;gap:16px;flex-wrap:wrap} .kpi{background:#f6f8fa;border-radius:8px;padding:10px 16px;min-width:130px}
.kpi b{display:block;font-size:22px} .plots{display:flex;flex-wrap:wrap;gap:12px} .plots svg{border:1px solid #eee;border-radius:6px}
.gallery{display:grid;grid-template-columns:repeat(4,1fr);gap:12px} .item{border:1px solid #ddd;border-radius:8px;padding:8px;font-size:13px}
.item img{width:100%;height:160px;object-fit:contain;background:#fafafa;border-radius:4px}
.noimg{height:160px;display:flex;align-items:center;justify-content:center;background:#f3f3f3;color:#888;border-radius:4px}
.why{color:#8a4b00;font-style:italic} .desc{margin:6px 0;max-height:7.5em;overflow:auto}
.tag{display:inline-block;border-radius:4px;padding:0 6px;color:#fff;font-size:12px}
.tag.demote{background:#c62828}.tag.review{background:#ef6c00}.tag.keep{background:#2e7d32} code{background:#f3f3f3;padding:0 3px}
)CSS";

}  // namespace report_detail

inline ReportSummary write_report(const std::filesystem::path& run_dir, const ReportOptions& options = {}) {
  using namespace report_detail;
  namespace fs = std::filesystem;
  const auto metrics_path = run_dir / "metrics.json";
  if (!fs::exists(metrics_path))
    throw InputError(metrics_path.string(), "no metrics.json here: run `kspam evaluate --out " + run_dir.string() +
                                                " ...` (or `kspam run`) first");
  const auto m = json::parse(read_file(metrics_path), metrics_path.string());
  const std::string origin = metrics_path.string();
  const auto predictions_path = run_dir / "predictions_with_decisions.csv";
  const auto table = read_predictions_csv(predictions_path.string());
  const auto& metrics = need(m, "metrics", origin);
  const auto& policy = need(m, "policy", origin);
  const auto& inputs = need(m, "inputs", origin);
  const std::string model = need(m, "model", origin).as_string();

  ReportSummary summary;
  const auto plot_dir = run_dir / "plots";
  fs::create_directories(plot_dir);
  std::vector<std::pair<std::string, std::string>> svgs;  // file name, svg

  // Sweep heatmap.
  const auto* sweep = policy.find("sweep");
  if (sweep && fs::exists(run_dir / "threshold_sweep.csv")) {
    const bool cost = sweep->find("objective")->as_string() == "cost";
    double cr = 0, cd = 0;
    const auto cells = read_sweep_csv(run_dir / "threshold_sweep.csv", cost, cr, cd);
    svgs.emplace_back("threshold_sweep.svg",
                      plots::sweep_heatmap(cells, cr, cd, cost ? "expected cost per listing" : "macro F1 of demoting",
                                           !cost));
  }
  // Reliability.
  if (const auto* cal = m.find("calibration")) {
    svgs.emplace_back("reliability.svg", plots::reliability_diagram(reliability_from_json(*cal->find("before")),
                                                                    reliability_from_json(*cal->find("after"))));
  }
  // Confusion matrix of the model's own verdicts.
  {
    ConfusionMatrix cm;
    if (const auto* c = metrics.find("confusion_matrix")) {
      const auto& mx = c->find("matrix")->as_array();
      cm.tn = std::size_t(mx[0].as_array()[0].as_int());
      cm.fp = std::size_t(mx[0].as_array()[1].as_int());
      cm.fn = std::size_t(mx[1].as_array()[0].as_int());
      cm.tp = std::size_t(mx[1].as_array()[1].as_int());
    }
    svgs.emplace_back("confusion_matrix.svg", plots::confusion_matrix(cm, "Confusion matrix: " + model));
  }
  // PR curves: this model, and the others on the same labeled rows.
  std::unordered_map<std::string, int> legacy_predicted;
  {
    std::unordered_map<std::string, int> truth_of;
    for (const auto& p : table.rows)
      if (p.truth) truth_of[p.product_id] = *p.truth;
    std::vector<plots::PrSeries> series;
    auto add_series = [&](const std::string& name, const std::vector<Prediction>& rows) {
      std::vector<int> t;
      std::vector<double> s;
      for (const auto& p : rows)
        if (auto it = truth_of.find(p.product_id); it != truth_of.end()) {
          t.push_back(it->second);
          s.push_back(p.score);
        }
      if (t.empty()) return;
      series.push_back({name, precision_recall_curve(t, s), average_precision(t, s)});
    };
    add_series(model, table.rows);
    if (const auto* compare = inputs.find("compare"))
      for (const auto& [name, path] : compare->as_object()) {
        if (!fs::exists(path.as_string())) continue;
        const auto other = read_predictions_csv(path.as_string());
        add_series(name, other.rows);
        if (name == "legacy" || name == "legacy_heuristic")
          for (const auto& p : other.rows) legacy_predicted[p.product_id] = p.predicted;
      }
    std::size_t spam = 0;
    for (const auto& [id, t] : truth_of) spam += t;
    svgs.emplace_back("precision_recall.svg",
                      plots::pr_curves(series, truth_of.empty() ? std::nullopt
                                                                : std::optional<double>(double(spam) / double(truth_of.size()))));
  }
  for (const auto& [name, svg] : svgs) {
    write_file_atomically(plot_dir / name, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + svg + "\n");
    summary.plots.push_back(plot_dir / name);
  }

  // Listings for the gallery text and photos.
  ListingIndex listings;
  if (const auto* ls = inputs.find("listings"))
    for (const auto& l : ls->as_array())
      if (fs::exists(l.as_string())) listings.add(l.as_string());
  fs::path image_cache;
  if (const auto* ic = inputs.find("image_cache")) image_cache = ic->as_string();

  std::string h;
  h.reserve(1 << 20);
  h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>kspam report: " + xml_escape(model) +
       "</title><style>" + kStyle + "</style></head><body>\n";
  h += "<h1>Keyword-spam evaluation: " + xml_escape(model) + "</h1>\n<p class=\"sub\">" +
       std::to_string(table.rows.size()) + " listings predicted, " + fmt_count(metrics.find("rows")) +
       " with a label. Predictions: <code>" + xml_escape(need(inputs, "predictions", origin).as_string()) +
       "</code></p>\n";

  // Summary cards.
  const auto& at_chosen = need(policy, "at_chosen", origin);
  const auto& chosen = need(policy, "chosen_thresholds", origin);
  auto kpi = [&](const std::string& label, const std::string& value) {
    return "<div class=\"kpi\"><b>" + value + "</b>" + xml_escape(label) + "</div>";
  };
  h += "<h2>Summary</h2><div class=\"cards\">";
  h += kpi("macro F1 (model verdicts)", fmt(metrics.find("macro_f1")));
  h += kpi("AUPRC", fmt(metrics.find("average_precision")));
  h += kpi("ROC-AUC", fmt(metrics.find("roc_auc")));
  h += kpi("chosen review / demote", fmt(chosen.find("review_threshold"), 2) + " / " + fmt(chosen.find("demote_threshold"), 2));
  h += kpi("macro F1 of demoting at chosen point", fmt(at_chosen.find("macro_f1")));
  h += kpi("expected cost per listing", fmt(at_chosen.find("expected_cost_per_listing")));
  if (const auto* cal = m.find("calibration"))
    h += kpi("ECE before / after calibration",
             fmt(cal->find("before")->find("ece")) + " / " + fmt(cal->find("after")->find("ece")));
  h += "</div>\n";
  if (sweep)
    h += "<p>Thresholds were chosen by " + fmt(sweep->find("objective")) + " on " + fmt(sweep->find("tuned_on")) +
         ", over " + fmt_count(sweep->find("pairs_evaluated")) + " (review, demote) pairs with review &le; demote.</p>";

  h += "<h2>Plots</h2><div class=\"plots\">";
  for (const auto& [name, svg] : svgs) h += svg;
  h += "</div>\n";

  h += "<h2>Metrics</h2><table>" + std::string(kMetricHeader) + metric_row(model + " (its own verdicts)", metrics) +
       "</table>";
  h += "<p>Definitions follow scikit-learn: AUPRC is <code>average_precision_score</code> (step-wise, no interpolation). "
       "Values that are 0/0 for these rows are shown as <span class=\"undef\">undefined</span>.</p>";

  h += "<h2>Policy</h2><p>" + fmt(policy.find("definition")) + "</p><table>" + kPolicyHeader +
       policy_row("given thresholds", need(policy, "given", origin)) + policy_row("chosen by the sweep", at_chosen);
  if (const auto* cv = policy.find("cross_validated_estimate"))
    h += policy_row("chosen, cross-validated", *cv);
  if (const auto* cal = m.find("calibration"); cal && cal->find("policy_after"))
    h += policy_row("after isotonic calibration", *cal->find("policy_after"));
  h += "</table><p>Costs: " + fmt_costs(need(policy, "costs", origin)) + ".";
  if (const auto* cv = policy.find("cross_validated_estimate")) {
    const std::size_t k = cv->find("fold_thresholds")->as_array().size();
    h += " The sweep chose its point on the same rows it is scored on, which flatters it; the cross-validated row "
         "chooses thresholds on " + std::to_string(k - 1) + " of " + std::to_string(k) +
         " folds, scores the held-out fold, and pools the folds.";
  }
  h += "</p>";
  if (const auto* cal = m.find("calibration")) {
    h += "<h3>Calibration</h3><p>" + fmt(cal->find("method")) + "; fitted on " + fmt(cal->find("fitted_on")) +
         ". ECE (10 equal-width bins of P(spam)) " + fmt(cal->find("before")->find("ece")) + " before, " +
         fmt(cal->find("after")->find("ece")) + " after.";
    if (const auto* a = cal->find("chosen_thresholds_after"))
      h += " Thresholds chosen after calibration: review " + fmt(a->find("review_threshold"), 2) + ", demote " +
           fmt(a->find("demote_threshold"), 2) + ".";
    h += "</p>";
  }

  h += "<h2>Slices</h2><table>" + std::string(kMetricHeader);
  if (const auto* slices = m.find("slices"))
    for (const auto& [column, groups] : slices->as_object())
      for (const auto& [value, g] : groups.as_object()) h += metric_row(column + " = " + value, *g.find("metrics"));
  h += "</table><p>Slice metrics use the model's verdicts; a slice without labeled rows is reported as empty.</p>";
  if (const auto* slices = m.find("slices")) {
    h += "<table>" + std::string(kPolicyHeader);
    for (const auto& [column, groups] : slices->as_object())
      for (const auto& [value, g] : groups.as_object()) h += policy_row(column + " = " + value, *g.find("policy"));
    h += "</table>";
  }

  if (const auto* up = m.find("uplift")) {
    h += "<h2>Uplift</h2><p>All models on the same " + fmt_count(up->find("common_labeled_rows")) +
         " labeled listings; the policy at the chosen thresholds.</p><table>" + kMetricHeader;
    const auto& entries = up->find("models")->as_array();
    for (const auto& e : entries) h += metric_row(e.find("model")->as_string(), *e.find("metrics"));
    h += "</table>";
    // Uplift in words: the evaluated model minus each other model, where both values are defined.
    auto delta = [](const json::Value& a, const json::Value& b, const char* key) -> std::string {
      const auto* x = a.find(key);
      const auto* y = b.find(key);
      if (!x || !y || !x->is_number() || !y->is_number()) return "undefined";
      const double d = x->as_double() - y->as_double();
      return (d >= 0 ? "+" : "") + num(d, 3);
    };
    if (!entries.empty()) {
      h += "<ul>";
      for (std::size_t k = 1; k < entries.size(); ++k) {
        const auto& a = *entries[0].find("metrics");
        const auto& b = *entries[k].find("metrics");
        h += "<li>" + xml_escape(entries[0].find("model")->as_string()) + " vs " +
             xml_escape(entries[k].find("model")->as_string()) + ": macro F1 " + delta(a, b, "macro_f1") + ", AUPRC " +
             delta(a, b, "average_precision") + ", ROC-AUC " + delta(a, b, "roc_auc") +
             "; expected cost per listing " + delta(*entries[0].find("policy"), *entries[k].find("policy"),
                                                    "expected_cost_per_listing") + "</li>";
      }
      h += "</ul>";
    }
    h += "<table>" + std::string(kPolicyHeader);
    for (const auto& e : up->find("models")->as_array()) h += policy_row(e.find("model")->as_string(), *e.find("policy"));
    h += "</table>";
  }

  // Gallery.
  double decision_line = 0.5;
  if (const auto* d = chosen.find("demote_threshold")) decision_line = d->as_double();
  const auto picks = select_gallery(table.rows, legacy_predicted, decision_line, options.gallery_per_outcome);
  h += "<h2>Gallery</h2><p>Chosen for what they teach: the most confident mistakes, borderline calls";
  h += legacy_predicted.empty() ? "" : ", and the legacy heuristic's failures that the model got right";
  h += ".</p>";
  for (Outcome outcome : {Outcome::TruePositive, Outcome::TrueNegative, Outcome::FalsePositive, Outcome::FalseNegative}) {
    h += std::string("<h3>") + to_string(outcome) + "s</h3>";
    if (std::none_of(picks.begin(), picks.end(), [&](const GalleryPick& g) { return g.outcome == outcome; })) {
      h += std::string("<p class=\"empty\">No ") + to_string(outcome) + "s among the labeled rows.</p>";
      continue;
    }
    h += "<div class=\"gallery\">";
    for (const auto& pick : picks) {
      if (pick.outcome != outcome) continue;
      const auto& p = table.rows[pick.row];
      const auto* listing = listings.find(p.product_id);
      h += "<div class=\"item\" data-outcome=\"" + std::string(to_string(pick.outcome)) + "\">";
      std::optional<fs::path> photo;
      if (listing) photo = resolve_listing_image(listing->image_url, listings.dir_of(p.product_id), image_cache);
      if (photo && fs::file_size(*photo) <= options.max_embedded_image_bytes) {
        const std::string bytes = read_file(*photo);
        h += "<img alt=\"photo of " + xml_escape(p.product_id) + "\" src=\"data:" + sniff_image_mime(bytes) +
             ";base64," + base64_encode(bytes) + "\">";
        ++summary.gallery_images;
      } else {
        h += "<div class=\"noimg\">" +
             std::string(photo ? "photo too large to embed"
                               : listing && !listing->image_url.empty() ? "photo not available" : "no photo") +
             "</div>";
      }
      h += "<div><b>" + xml_escape(p.product_id) + "</b> <span class=\"tag " + to_string(p.decision) + "\">" +
           to_string(p.decision) + "</span></div>";
      h += "<div class=\"why\">" + xml_escape(pick.why) + "</div>";
      std::string desc = listing ? listing->description : std::string("(listing text not available)");
      if (desc.size() > options.description_chars) {
        std::size_t cut = options.description_chars;
        while (cut > 0 && (static_cast<unsigned char>(desc[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 boundary
        desc = desc.substr(0, cut) + "…";
      }
      h += "<div class=\"desc\">" + xml_escape(desc) + "</div>";
      h += "<div>truth: <b>" + std::string(*p.truth ? "spam" : "clean") + "</b>, predicted: <b>" +
           (p.predicted ? "spam" : "clean") + "</b>, confidence " + num(p.confidence, 2) + ", P(spam) " +
           num(p.score, 2) + "</div>";
      if (!p.reason.empty()) h += "<div>reason: " + xml_escape(p.reason) + "</div>";
      h += "</div>";
      ++summary.gallery_items;
    }
    h += "</div>";
  }

  h += "<p class=\"sub\">Made by kspam " KSPAM_VERSION_STRING " on " + utc_timestamp() +
       ". Files beside this page: metrics.json, classification_report.json, predictions_with_decisions.csv, "
       "threshold_sweep.csv, plots/.</p>\n";
  // A render check for headless browsers: counts the inline plots and the photos that decoded.
  h += "<div id=\"render-check\"></div><script>window.addEventListener('load',function(){var i=document.images,ok=0;"
       "for(var k=0;k<i.length;k++){if(i[k].complete&&i[k].naturalWidth>0)ok++;}var d=document.getElementById("
       "'render-check');d.setAttribute('data-images-total',i.length);d.setAttribute('data-images-ok',ok);"
       "d.setAttribute('data-svgs',document.querySelectorAll('svg.plot').length);});</script>\n";
  h += "</body></html>\n";
  summary.html = run_dir / "report.html";
  write_file_atomically(summary.html, h);
  return summary;
}

}  // namespace kspam::eval

#pragma once
// TF-IDF features that match scikit-learn's TfidfVectorizer (checked against scikit-learn 1.2 by
// tests/classic/test_tfidf_vectorizer.cpp on fixtures from tests/reference/make_classic.py):
//   * analyzer: Python str.lower(), token pattern (?u)\b\w\w+\b, stop words removed, then word
//     n-grams joined with a space (token_pattern.hpp, stop_words.hpp);
//   * vocabulary: terms whose document frequency lies in [min_df, max_df] (an integer bound counts
//     documents, a fractional one is a share of them), then at most max_features terms ranked by
//     their count over the whole training corpus; feature indices follow the terms' code-point order;
//   * weights: raw counts (or 1 + ln(count) with sublinear_tf) times idf = ln((1+n)/(1+df)) + 1
//     (smooth_idf; ln(n/df) + 1 without), then each row scaled to unit l2 norm;
//   * output: a row-major Eigen sparse matrix of doubles, columns sorted within each row.
// Ties at the max_features cut: scikit-learn ranks with numpy's argsort (an unstable introsort),
// so which of several equally frequent terms survive the cut is an accident of numpy's sort. We keep
// the alphabetically first ones (deterministic), and cut_report() says whether a tie was split. With
// no tie at the cut the vocabulary is identical to scikit-learn's.
//
// Fit only on training text; transform() maps new text onto the fitted vocabulary (unknown terms are
// ignored; a document with no known term becomes an all-zero row, never NaN). Tokenizing and counting
// run on `threads` threads (0 = all cores); results do not depend on the thread count.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/SparseCore>

#include "kspam/classic/stop_words.hpp"
#include "kspam/classic/term_table.hpp"
#include "kspam/classic/token_pattern.hpp"
#include "kspam/core/error.hpp"
#include "kspam/core/json.hpp"
#include "kspam/core/thread_pool.hpp"

namespace kspam::classic {

using SparseMatrix = Eigen::SparseMatrix<double, Eigen::RowMajor, int>;

// min_df / max_df: an absolute number of documents or a fraction of them (scikit-learn tells the two
// apart by the Python type, int or float).
struct DocumentFrequencyBound {
  double value = 1.0;
  bool is_fraction = false;
  static DocumentFrequencyBound count(std::size_t documents) { return {static_cast<double>(documents), false}; }
  static DocumentFrequencyBound fraction(double share) { return {share, true}; }
  double documents(std::size_t n_documents) const {
    return is_fraction ? value * static_cast<double>(n_documents) : value;
  }
  std::string describe() const {
    char buf[48];
    std::snprintf(buf, sizeof buf, is_fraction ? "%g (fraction)" : "%.0f (documents)", value);
    return buf;
  }
};

enum class StopWords { None, English, Custom };
enum class RowNorm { L2, None };

// The defaults are scikit-learn's TfidfVectorizer defaults; kspam's baseline sets max_features=10000
// and stop_words=English (see baseline_options()).
struct TfidfOptions {
  bool lowercase = true;
  StopWords stop_words = StopWords::None;
  std::vector<std::string> custom_stop_words;  // for StopWords::Custom
  int ngram_min = 1;
  int ngram_max = 1;
  DocumentFrequencyBound min_df = DocumentFrequencyBound::count(1);
  DocumentFrequencyBound max_df = DocumentFrequencyBound::fraction(1.0);
  std::optional<std::size_t> max_features;
  bool sublinear_tf = false;
  bool use_idf = true;
  bool smooth_idf = true;
  RowNorm norm = RowNorm::L2;
  unsigned threads = 0;  // 0 = all cores

  static TfidfOptions baseline() {
    TfidfOptions o;
    o.stop_words = StopWords::English;
    o.max_features = 10000;
    return o;
  }

  json::Value to_json() const {
    json::Value v = json::Value::object();
    v["lowercase"] = lowercase;
    v["stop_words"] = stop_words == StopWords::English ? "english" : stop_words == StopWords::Custom ? "custom" : "none";
    v["ngram_range"] = std::vector<int>{ngram_min, ngram_max};
    v["min_df"] = min_df.is_fraction ? json::Value(min_df.value) : json::Value(static_cast<std::int64_t>(min_df.value));
    v["max_df"] = max_df.is_fraction ? json::Value(max_df.value) : json::Value(static_cast<std::int64_t>(max_df.value));
    v["max_features"] = max_features ? json::Value(static_cast<std::int64_t>(*max_features)) : json::Value();
    v["sublinear_tf"] = sublinear_tf;
    v["use_idf"] = use_idf;
    v["smooth_idf"] = smooth_idf;
    v["norm"] = norm == RowNorm::L2 ? "l2" : "none";
    return v;
  }
};

// How the max_features cut fell in the last fit.
struct CutReport {
  bool applied = false;            // max_features removed terms
  std::size_t candidates = 0;      // terms that passed min_df/max_df
  double count_at_cut = 0;         // corpus count of the last kept term
  std::size_t kept_at_cut = 0;     // kept terms with exactly that count
  std::size_t dropped_at_cut = 0;  // dropped terms with exactly that count (> 0: a tie was split)
  bool tie_split() const { return dropped_at_cut > 0; }
};

namespace detail {

// Counts of one block of documents: CSR-like rows of (term id, count), ids local to the block's
// own table (fit) or feature indices (transform).
struct BlockCounts {
  std::vector<std::size_t> row_start{0};
  std::vector<std::uint32_t> ids;
  std::vector<std::uint32_t> counts;
  // Counting without sorting: for each id, the document it was last seen in and where its count
  // sits (side by side: one cache line per token). Rows come out in first-occurrence order;
  // assemble() sorts them by feature.
  struct LastSeen {
    std::uint32_t document = kNoDocument;
    std::uint32_t slot = 0;
  };
  std::vector<LastSeen> last_seen;

  // Once per kept token: inlined into the tokenizer's loop (GCC left it out of line otherwise).
  [[gnu::always_inline]] inline void add(std::uint32_t id) {
    if (id >= last_seen.size()) [[unlikely]]
      last_seen.resize(std::max<std::size_t>(id + 1, last_seen.size() * 2));
    const auto doc = static_cast<std::uint32_t>(row_start.size());
    LastSeen& seen = last_seen[id];
    if (seen.document == doc) {
      ++counts[seen.slot];
      return;
    }
    seen = {doc, static_cast<std::uint32_t>(ids.size())};
    ids.push_back(id);
    counts.push_back(1);
  }
  void end_document() { row_start.push_back(ids.size()); }
  void release_scratch() { last_seen = {}; }
  static constexpr std::uint32_t kNoDocument = 0xFFFFFFFFu;
};

// Per-thread buffers of the analyzer: the tokenizer's, and one document's tokens, most of them
// views into the tokenizer's lowercased copy of the document (valid for the whole document), the
// ones built code point by code point copied into `spill` (padded) and addressed by offset.
struct AnalyzerScratch {
  TokenScratch tokenizer;
  struct Ref {
    std::size_t offset;
    std::size_t length;
    bool spilled;
  };
  std::vector<Ref> refs;
  std::string spill;
};

inline std::vector<std::pair<std::size_t, std::size_t>> split_blocks(std::size_t n, unsigned threads) {
  // A few blocks per thread so uneven documents balance, one block when single-threaded (each
  // block has its own term table). The output does not depend on the blocks: terms are merged and
  // then ordered by their text.
  const std::size_t wanted = threads <= 1 ? 1 : static_cast<std::size_t>(threads) * 4;
  const std::size_t block = std::max<std::size_t>(256, (n + wanted - 1) / std::max<std::size_t>(wanted, 1));
  std::vector<std::pair<std::size_t, std::size_t>> out;
  for (std::size_t b = 0; b < n; b += block) out.emplace_back(b, std::min(n, b + block));
  return out;
}

}  // namespace detail

class TfidfVectorizer {
 public:
  using DocumentAt = std::function<std::string_view(std::size_t)>;

  explicit TfidfVectorizer(TfidfOptions options = {}) : options_(std::move(options)) {
    if (options_.ngram_min < 1 || options_.ngram_max < options_.ngram_min)
      throw InputError("TF-IDF options", 0, "ngram_range",
                       std::to_string(options_.ngram_min) + "," + std::to_string(options_.ngram_max),
                       "ngram_range must satisfy 1 <= min <= max");
    if (options_.max_features && *options_.max_features == 0)
      throw InputError("TF-IDF options", 0, "max_features", "0", "max_features must be positive");
    check_bound(options_.min_df, "min_df");
    check_bound(options_.max_df, "max_df");
    if (options_.stop_words == StopWords::Custom) {
      custom_stop_.assign(options_.custom_stop_words.begin(), options_.custom_stop_words.end());
      std::sort(custom_stop_.begin(), custom_stop_.end());
    }
  }

  const TfidfOptions& options() const { return options_; }
  bool fitted() const { return fitted_; }
  std::size_t n_features() const { return terms_.size(); }
  // Terms in feature-index order (scikit-learn: get_feature_names_out()).
  const std::vector<std::string>& vocabulary() const { return terms_; }
  const Eigen::VectorXd& idf() const { return idf_; }
  const CutReport& cut_report() const { return cut_; }
  std::optional<std::size_t> index_of(std::string_view term) const {
    auto id = index_.find(term);
    return id ? std::optional<std::size_t>(*id) : std::nullopt;
  }

  // Learns the vocabulary and idf from documents 0..n-1 and returns their TF-IDF matrix.
  SparseMatrix fit_transform(std::size_t n, const DocumentAt& document_at) {
    const unsigned threads = options_.threads ? options_.threads : default_thread_count();
    const auto blocks = detail::split_blocks(n, threads);

    // 1. Tokenize and count each block against its own table.
    struct Block {
      TermTable table;
      std::vector<std::uint8_t> is_stop;
      detail::BlockCounts counts;
    };
    std::vector<Block> local(blocks.size());
    parallel_for(0, blocks.size(), [&](std::size_t b) {
      Block& block = local[b];
      detail::AnalyzerScratch scratch;
      std::string joined;
      std::vector<std::uint32_t> kept;
      // Reserve the counts (a distinct non-stop term per ~10 bytes of text is typical), so they
      // are not copied as they grow; reserving does not touch the pages.
      std::size_t bytes = 0;
      for (std::size_t d = blocks[b].first; d < blocks[b].second; ++d) bytes += document_at(d).size();
      block.counts.ids.reserve(bytes / 10 + 16);
      block.counts.counts.reserve(bytes / 10 + 16);
      block.counts.row_start.reserve(blocks[b].second - blocks[b].first + 1);
      for (std::size_t d = blocks[b].first; d < blocks[b].second; ++d) {
        analyze(document_at(d), scratch, block.table, block.is_stop, kept, joined,
                [&](std::uint32_t token_id) { block.counts.add(token_id); },
                [&](std::string_view ngram) {
                  bool inserted;
                  const auto id = block.table.intern(ngram, inserted);
                  if (inserted) block.is_stop.push_back(0);
                  block.counts.add(id);
                });
        block.counts.end_document();
      }
      block.counts.release_scratch();
    }, threads);

    // 2. Merge the blocks' terms into one table (stop words never reach it) with corpus counts and
    //    document frequencies.
    //    Each block first sums its own counts per local id (in parallel: this is the pass over every
    //    (document, term) pair); only the blocks' distinct terms are then merged one after another.
    //    The sums are of integers, exact in any order.
    std::vector<std::vector<std::uint64_t>> block_total(blocks.size()), block_docs(blocks.size());
    parallel_for(0, blocks.size(), [&](std::size_t b) {
      const Block& block = local[b];
      auto& total = block_total[b];
      auto& docs = block_docs[b];
      total.assign(block.table.size(), 0);
      docs.assign(block.table.size(), 0);
      for (std::size_t k = 0; k < block.counts.ids.size(); ++k) {
        total[block.counts.ids[k]] += block.counts.counts[k];
        docs[block.counts.ids[k]] += 1;
      }
    }, threads);
    TermTable all;
    std::vector<double> corpus_count;
    std::vector<std::size_t> doc_freq;
    std::vector<std::vector<std::uint32_t>> to_global(blocks.size());
    for (std::size_t b = 0; b < blocks.size(); ++b) {
      const Block& block = local[b];
      auto& map = to_global[b];
      map.assign(block.table.size(), kNone);
      for (std::uint32_t id = 0; id < block.table.size(); ++id) {
        if (block_docs[b][id] == 0 || block.is_stop[id]) continue;
        bool inserted;
        const auto g = all.intern(block.table.term(id), inserted);
        map[id] = g;
        if (inserted) {
          corpus_count.push_back(0);
          doc_freq.push_back(0);
        }
        corpus_count[g] += static_cast<double>(block_total[b][id]);
        doc_freq[g] += block_docs[b][id];
      }
    }
    if (all.size() == 0)
      throw InputError("TF-IDF", 0, "", "",
                       "empty vocabulary: the training descriptions contain no word of two or more letters or "
                       "digits (or only stop words)");

    // 3. Choose features: document-frequency bounds, then the max_features most frequent terms.
    const double max_docs = options_.max_df.documents(n);
    const double min_docs = options_.min_df.documents(n);
    if (max_docs < min_docs)
      throw InputError("TF-IDF options", 0, "max_df", options_.max_df.describe(),
                       "max_df corresponds to fewer documents than min_df (" + options_.min_df.describe() + ")");
    std::vector<std::uint32_t> alphabetical(all.size());
    std::iota(alphabetical.begin(), alphabetical.end(), 0u);
    std::sort(alphabetical.begin(), alphabetical.end(),
              [&](std::uint32_t a, std::uint32_t b) { return all.term(a) < all.term(b); });
    std::vector<std::uint32_t> candidates;
    for (auto id : alphabetical) {
      const auto df = static_cast<double>(doc_freq[id]);
      if (df <= max_docs && df >= min_docs) candidates.push_back(id);
    }
    cut_ = CutReport{};
    cut_.candidates = candidates.size();
    if (options_.max_features && candidates.size() > *options_.max_features) {
      std::vector<std::uint32_t> ranked = candidates;
      std::stable_sort(ranked.begin(), ranked.end(),
                       [&](std::uint32_t a, std::uint32_t b) { return corpus_count[a] > corpus_count[b]; });
      const std::size_t limit = *options_.max_features;
      cut_.applied = true;
      cut_.count_at_cut = corpus_count[ranked[limit - 1]];
      for (std::size_t k = 0; k < ranked.size(); ++k) {
        if (corpus_count[ranked[k]] != cut_.count_at_cut) continue;
        (k < limit ? cut_.kept_at_cut : cut_.dropped_at_cut) += 1;
      }
      std::vector<bool> keep(all.size(), false);
      for (std::size_t k = 0; k < limit; ++k) keep[ranked[k]] = true;
      std::erase_if(candidates, [&](std::uint32_t id) { return !keep[id]; });
    }
    if (candidates.empty())
      throw InputError("TF-IDF options", 0, "min_df/max_df", "",
                       "after pruning by document frequency no terms remain; lower min_df or raise max_df");

    std::vector<std::uint32_t> feature_of(all.size(), kNone);
    terms_.clear();
    index_ = TermTable();
    std::vector<double> df_kept(candidates.size());
    for (std::size_t f = 0; f < candidates.size(); ++f) {
      feature_of[candidates[f]] = static_cast<std::uint32_t>(f);
      terms_.emplace_back(all.term(candidates[f]));
      index_.intern(terms_.back());
      df_kept[f] = static_cast<double>(doc_freq[candidates[f]]);
    }
    idf_.resize(static_cast<Eigen::Index>(candidates.size()));
    const double smooth = options_.smooth_idf ? 1.0 : 0.0;
    for (std::size_t f = 0; f < candidates.size(); ++f)
      idf_[static_cast<Eigen::Index>(f)] =
          options_.use_idf ? std::log((static_cast<double>(n) + smooth) / (df_kept[f] + smooth)) + 1.0 : 1.0;
    fitted_ = true;

    // 4. The matrix of the training documents, from the counts already taken.
    parallel_for(0, blocks.size(), [&](std::size_t b) {
      auto& map = to_global[b];
      for (auto& g : map)
        if (g != kNone) g = feature_of[g];
      auto& counts = local[b].counts;
      for (auto& id : counts.ids) id = map[id];
      local[b].table = TermTable();  // release memory as we go
    }, threads);
    std::vector<detail::BlockCounts*> parts;
    for (auto& block : local) parts.push_back(&block.counts);
    return assemble(n, blocks, parts, threads);
  }

  SparseMatrix fit_transform(const std::vector<std::string>& documents) {
    return fit_transform(documents.size(), [&](std::size_t i) { return std::string_view(documents[i]); });
  }
  void fit(std::size_t n, const DocumentAt& document_at) { (void)fit_transform(n, document_at); }
  void fit(const std::vector<std::string>& documents) { (void)fit_transform(documents); }

  SparseMatrix transform(std::size_t n, const DocumentAt& document_at) const {
    if (!fitted_) throw Error("TfidfVectorizer::transform called before fit");
    const unsigned threads = options_.threads ? options_.threads : default_thread_count();
    const auto blocks = detail::split_blocks(n, threads);
    std::vector<detail::BlockCounts> local(blocks.size());
    parallel_for(0, blocks.size(), [&](std::size_t b) {
      // Each block caches, per distinct token, whether it is a stop word and its feature index.
      TermTable cache;
      detail::AnalyzerScratch scratch;
      std::vector<std::uint8_t> is_stop;
      std::vector<std::uint32_t> feature;
      std::vector<std::uint32_t> kept;
      std::string joined;
      auto& out = local[b];
      for (std::size_t d = blocks[b].first; d < blocks[b].second; ++d) {
        analyze(document_at(d), scratch, cache, is_stop, kept, joined,
                [&](std::uint32_t token_id) {
                  while (feature.size() < cache.size()) {
                    const auto f = index_.find(cache.term(static_cast<std::uint32_t>(feature.size())));
                    feature.push_back(f ? *f : kNone);
                  }
                  if (feature[token_id] != kNone) out.add(feature[token_id]);
                },
                [&](std::string_view ngram) {
                  if (auto f = index_.find(ngram)) out.add(*f);
                });
        out.end_document();
      }
      out.release_scratch();
    }, threads);
    std::vector<detail::BlockCounts*> parts;
    for (auto& block : local) parts.push_back(&block);
    return assemble(n, blocks, parts, threads);
  }

  SparseMatrix transform(const std::vector<std::string>& documents) const {
    return transform(documents.size(), [&](std::size_t i) { return std::string_view(documents[i]); });
  }

 private:
  static constexpr std::uint32_t kNone = 0xFFFFFFFFu;

  static void check_bound(const DocumentFrequencyBound& bound, const char* name) {
    if (bound.is_fraction ? !(bound.value >= 0.0 && bound.value <= 1.0) : !(bound.value >= 0.0))
      throw InputError("TF-IDF options", 0, name, bound.describe(),
                       "must be a fraction in [0, 1] or a non-negative number of documents");
  }

  bool is_stop_word(std::string_view token) const {
    switch (options_.stop_words) {
      case StopWords::None: return false;
      case StopWords::English: return is_english_stop_word(token);
      case StopWords::Custom: return std::binary_search(custom_stop_.begin(), custom_stop_.end(), token);
    }
    return false;
  }

  // One document through the analyzer: tokens go into `tokens` (a per-thread cache whose ids the
  // unigram callback receives), stop words are dropped, and n-grams of the remaining tokens are
  // joined with single spaces for the n-gram callback.
  template <typename OnUnigram, typename OnNgram>
  void analyze(std::string_view text, detail::AnalyzerScratch& scratch, TermTable& tokens, std::vector<std::uint8_t>& is_stop,
               std::vector<std::uint32_t>& kept, std::string& joined, OnUnigram&& on_unigram, OnNgram&& on_ngram) const {
    kept.clear();
    // Unigrams only: tokens go straight to the callback; kept (for n-grams) stays empty.
    const bool unigrams_only = options_.ngram_max == 1;
    // Tokens are looked up in batches: hash a batch and prefetch the slots, then probe (the table
    // outgrows the L2 cache on a large corpus, and a probe's miss would otherwise stall alone).
    scratch.refs.clear();
    scratch.spill.clear();
    auto collect = [&](std::string_view token) {
      const char* low = scratch.tokenizer.lowered.data();
      if (token.data() >= low && token.data() < low + scratch.tokenizer.lowered.size()) {
        scratch.refs.push_back({static_cast<std::size_t>(token.data() - low), token.size(), false});
      } else {
        scratch.refs.push_back({scratch.spill.size(), token.size(), true});
        scratch.spill.append(token);
        scratch.spill.append(TermTable::kPadding, '\0');
      }
    };
    if (options_.lowercase) for_each_token<true>(text, scratch.tokenizer, collect);
    else for_each_token<false>(text, scratch.tokenizer, collect);

    constexpr std::size_t kBatch = 32;
    TermTable::Key keys[kBatch];
    for (std::size_t first = 0; first < scratch.refs.size(); first += kBatch) {
      const std::size_t count = std::min(kBatch, scratch.refs.size() - first);
      auto view = [&](std::size_t k) {
        const auto& ref = scratch.refs[first + k];
        return std::string_view((ref.spilled ? scratch.spill.data() : scratch.tokenizer.lowered.data()) + ref.offset, ref.length);
      };
      for (std::size_t k = 0; k < count; ++k) {
        keys[k] = TermTable::key_padded(view(k));
        tokens.prefetch(keys[k]);
      }
      for (std::size_t k = 0; k < count; ++k) {
        const std::string_view token = view(k);
        bool inserted;
        const auto id = tokens.intern(keys[k], token, inserted);
        if (inserted) is_stop.push_back(is_stop_word(token) ? 1 : 0);
        if (is_stop[id]) continue;
        if (unigrams_only) on_unigram(id);
        else kept.push_back(id);
      }
    }
    if (unigrams_only) return;
    if (options_.ngram_min == 1)
      for (auto id : kept) on_unigram(id);
    for (int n = std::max(2, options_.ngram_min); n <= options_.ngram_max; ++n) {
      const auto width = static_cast<std::size_t>(n);
      for (std::size_t k = 0; k + width <= kept.size(); ++k) {
        joined.assign(tokens.term(kept[k]));
        for (std::size_t j = 1; j < width; ++j) {
          joined += ' ';
          joined += tokens.term(kept[k + j]);
        }
        on_ngram(std::string_view(joined));
      }
    }
  }

  // Rows from per-block counts (ids already feature indices, kNone = dropped), weighted and normalised.
  SparseMatrix assemble(std::size_t n, const std::vector<std::pair<std::size_t, std::size_t>>& blocks,
                        const std::vector<detail::BlockCounts*>& parts, unsigned threads) const {
    std::vector<std::size_t> row_nnz(n, 0);
    parallel_for(0, blocks.size(), [&](std::size_t b) {
      const auto& c = *parts[b];
      for (std::size_t d = blocks[b].first; d < blocks[b].second; ++d) {
        const std::size_t r = d - blocks[b].first;
        std::size_t kept = 0;
        for (std::size_t k = c.row_start[r]; k < c.row_start[r + 1]; ++k) kept += c.ids[k] != kNone;
        row_nnz[d] = kept;
      }
    }, threads);
    std::size_t nnz = 0;
    for (auto v : row_nnz) nnz += v;
    if (nnz > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
        n > static_cast<std::size_t>(std::numeric_limits<int>::max()))
      throw Error("TF-IDF matrix too large for 32-bit sparse indices");

    SparseMatrix X(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(terms_.size()));
    X.resizeNonZeros(static_cast<Eigen::Index>(nnz));
    int* outer = X.outerIndexPtr();
    outer[0] = 0;
    for (std::size_t d = 0; d < n; ++d) outer[d + 1] = outer[d] + static_cast<int>(row_nnz[d]);
    int* inner = X.innerIndexPtr();
    double* values = X.valuePtr();
    parallel_for(0, blocks.size(), [&](std::size_t b) {
      const auto& c = *parts[b];
      // A row's entries come in first-occurrence order and go out in feature order, packed as
      // feature << 32 | count. Up to 65536 features they are ordered without a sort: each sets
      // its bit in a bitmap of features and in a summary bitmap of the bitmap's words, and the
      // set bits are read back in order (a row of ~40 entries visits ~40 words; the summary has
      // one word per 4096 features). Larger vocabularies sort.
      const std::size_t n_features = terms_.size();
      const bool by_bitmap = n_features <= 65536;
      std::vector<std::uint64_t> bits(by_bitmap ? (n_features + 63) / 64 : 0);
      std::vector<std::uint64_t> summary(by_bitmap ? (bits.size() + 63) / 64 : 0);
      std::vector<std::uint32_t> count_of(by_bitmap ? n_features : 0);
      std::vector<std::uint64_t> row;
      for (std::size_t d = blocks[b].first; d < blocks[b].second; ++d) {
        const std::size_t r = d - blocks[b].first;
        row.clear();
        if (by_bitmap) {
          for (std::size_t k = c.row_start[r]; k < c.row_start[r + 1]; ++k) {
            const std::uint32_t f = c.ids[k];
            if (f == kNone) continue;
            bits[f >> 6] |= std::uint64_t{1} << (f & 63);
            summary[f >> 12] |= std::uint64_t{1} << ((f >> 6) & 63);
            count_of[f] = c.counts[k];
          }
          for (std::size_t sw = 0; sw < summary.size(); ++sw) {
            for (std::uint64_t words = summary[sw]; words; words &= words - 1) {
              const std::size_t word = sw * 64 + static_cast<std::size_t>(std::countr_zero(words));
              for (std::uint64_t set = bits[word]; set; set &= set - 1) {
                const auto f = static_cast<std::uint32_t>(word * 64 + static_cast<std::size_t>(std::countr_zero(set)));
                row.push_back(static_cast<std::uint64_t>(f) << 32 | count_of[f]);
              }
              bits[word] = 0;
            }
            summary[sw] = 0;
          }
        } else {
          for (std::size_t k = c.row_start[r]; k < c.row_start[r + 1]; ++k)
            if (c.ids[k] != kNone) row.push_back(static_cast<std::uint64_t>(c.ids[k]) << 32 | c.counts[k]);
          std::sort(row.begin(), row.end());
        }
        auto at = static_cast<std::size_t>(outer[d]);
        double sum_sq = 0.0;
        for (const std::uint64_t entry : row) {
          const auto feature = static_cast<std::uint32_t>(entry >> 32);
          double tf = static_cast<double>(static_cast<std::uint32_t>(entry));
          if (options_.sublinear_tf) tf = std::log(tf) + 1.0;
          const double v = tf * idf_[static_cast<Eigen::Index>(feature)];
          inner[at] = static_cast<int>(feature);
          values[at] = v;
          sum_sq += v * v;
          ++at;
        }
        if (options_.norm == RowNorm::L2 && sum_sq > 0.0) {
          const double norm = std::sqrt(sum_sq);
          for (auto k = static_cast<std::size_t>(outer[d]); k < at; ++k) values[k] /= norm;
        }
      }
    }, threads);
    return X;
  }

  TfidfOptions options_;
  std::vector<std::string> custom_stop_;
  bool fitted_ = false;
  std::vector<std::string> terms_;
  TermTable index_;  // term -> feature index (ids are assigned in feature order)
  Eigen::VectorXd idf_;
  CutReport cut_;
};

}  // namespace kspam::classic

#!/usr/bin/env python3
"""Fixtures for the classic baseline (include/kspam/classic/) from scikit-learn's own output.

Produced by (Debian 12: Python 3.11.2, scikit-learn 1.2.1, numpy 1.24.2, scipy 1.10.1; repository root):
    /usr/bin/python3 tests/reference/make_classic.py

Writes tests/reference/fixtures/classic/:
  unicode.json      what Python's `re` calls \\w (the token pattern's word characters), str.lower() of
                    every code point it changes, and the Final_Sigma context classes, over all of Unicode
  stop_words.txt    sklearn's ENGLISH_STOP_WORDS, sorted, one per line
  tfidf_*.json      TfidfVectorizer fitted on the train part of a corpus: vocabulary_ (terms in index
                    order), idf_, the transform() of eval documents (CSR), and the tie report at the
                    max_features cut
  baseline_sample.json  the baseline as `kspam baseline` configures it (max_features=10000, English
                    stop words, LR default and class_weight='balanced', solved to convergence) on
                    data/sample/listings.tsv, whose documents it copies
  logistic_*.json   LogisticRegression solved to convergence (newton-cg, tol=1e-9): coef_, intercept_,
                    predict_proba/predict of train and eval documents; plus the default lbfgs answer
and tests/reference/corpora/unicode_edge_cases.tsv (written from the escapes below).

Corpora: tests/reference/corpora/debian_docs.tsv (make_classic_corpus.py: Debian documentation,
man pages and translations nobody here wrote) and unicode_edge_cases.tsv (accents in NFC and NFD,
CJK, emoji, Cyrillic, Greek sigma, combining marks, Turkish dotted I, digits of other scripts).
"""
import csv
import json
import os
import re
import sys
import unicodedata
import warnings

import numpy as np
import scipy
import sklearn
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer
from sklearn.linear_model import LogisticRegression

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPORA = os.path.join(ROOT, "tests", "reference", "corpora")
OUT = os.path.join(ROOT, "tests", "reference", "fixtures", "classic")

VERSIONS = {
    "python": sys.version.split()[0],
    "python_unicode": unicodedata.unidata_version,
    "sklearn": sklearn.__version__,
    "numpy": np.__version__,
    "scipy": scipy.__version__,
}


def ranges(flags):
    out, start = [], None
    for cp, flag in enumerate(flags):
        if flag and start is None:
            start = cp
        elif not flag and start is not None:
            out.append([start, cp - 1])
            start = None
    if start is not None:
        out.append([start, len(flags) - 1])
    return out


def write_json(name, value):
    with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


def unicode_tables():
    word = re.compile(r"\w")
    n = 0x110000
    is_word, unassigned, lower = [False] * n, [False] * n, []
    ignorable, cased = [False] * n, [False] * n
    for cp in range(n):
        if 0xD800 <= cp <= 0xDFFF:
            unassigned[cp] = True  # surrogates cannot occur in UTF-8 text
            continue
        c = chr(cp)
        is_word[cp] = word.match(c) is not None
        unassigned[cp] = unicodedata.category(c) == "Cn"
        low = c.lower()
        if low != c:
            lower.append([cp, [ord(x) for x in low]])
        # Final_Sigma (Python's handle_capital_sigma): capital sigma lowers to final sigma when a
        # cased letter precedes it (skipping case-ignorable ones) and none follows. Probing with
        # strings reveals the two classes that matter: case-ignorable (skipped in both
        # directions) and cased-but-not-ignorable.
        before = ("A" + c + "\u03a3").lower()[-1] == "\u03c2"  # ignorable or cased
        alone = (c + "\u03a3").lower()[-1] == "\u03c2"  # cased and not ignorable
        ignorable[cp] = before and not alone
        cased[cp] = alone
    write_json("unicode.json", {
        "versions": VERSIONS,
        "word_ranges": ranges(is_word),
        "unassigned_ranges": ranges(unassigned),
        "lower": lower,
        "case_ignorable_ranges": ranges(ignorable),
        "cased_ranges": ranges(cased),
    })


EDGE_CASES = [
    ("ascii", "Nike Air Max 90 sneakers, size 42 -- DM for discounts!! #nike #adidas #yeezy", 1),
    ("nfc", "Caf\u00e9 cr\u00e8me br\u00fbl\u00e9e na\u00efve fa\u00e7ade \u00c9COLE \u00c5NGSTR\u00d6M", 0),
    ("nfd", "Cafe\u0301 cre\u0300me bru\u0302le\u0301e nai\u0308ve fac\u0327ade E\u0301COLE", 0),
    ("cjk", "\u65b0\u54c1\u8fd0\u52a8\u978b \u8010\u514b\u963f\u8fea\u8fbe\u65af \u9650\u65f6\u6298\u6263 \u6771\u4eac\u306e\u30b9\u30cb\u30fc\u30ab\u30fc \ud55c\uad6d\uc5b4 \ud14c\uc2a4\ud2b8", 1),
    ("emoji", "\U0001f525\U0001f525 HOT deal \U0001f525 \u2728sparkle\u2728 \U0001f44d\U0001f3fd ok\U0001f600ok smile\u200dface \u2764\ufe0f love", 1),
    ("cyrillic", "\u041a\u0420\u041e\u0421\u0421\u041e\u0412\u041a\u0418 \u043d\u0430\u0439\u043a \u041e\u0420\u0418\u0413\u0418\u041d\u0410\u041b \u0441\u043a\u0438\u0434\u043a\u0430 \u0401\u041b\u041a\u0410 \u0451\u043b\u043a\u0430", 1),
    ("greek", "\u039f\u0394\u03a5\u03a3\u03a3\u0395\u0391\u03a3 \u039f\u0394\u03a5\u03a3\u03a3\u0395\u0391\u03a3. \u03a3\u039f\u03a6\u0399\u0391 \u0391\u03a3 \u03a3\u03a3 \u0391\u03a3\u0301 \u0391'\u03a3 \u0391\u03a3'\u0392", 0),
    ("turkish", "\u0130STANBUL \u0131\u015f\u0131k I\u011fdir \u0130zmir KIRMIZI", 0),
    ("digits", "\u0661\u0662\u0663 \u0967\u0968 \u00b2\u00b3 \u00bd\u00bc x\u00b2 \u2160\u2161\u2162 \u2460\u2461 \u0e51\u0e52 ab_cd __init__ a1 1a", 0),
    ("marks", "\u0915\u094d\u0937 \u0928\u092e\u0938\u094d\u0924\u0947 \u0645\u064e\u0631\u0652\u062d\u064e\u0628\u064b\u0627 \u05e9\u05b8\u05c1\u05dc\u05d5\u05b9\u05dd a\u0301b\u0301 \u0e20\u0e32\u0e29\u0e32\u0e44\u0e17\u0e22", 0),
    ("html", "<p class=\"x\">Buy&nbsp;now &amp; save&#8212;50%</p><br/>don't can't it's O'Reilly rock'n'roll e-mail foo.bar@baz.com http://t.co/xyz?a=1", 1),
    ("ligatures", "\ufb01nance \ufb02ow \u01c5ungla \u1e9e STRASSE stra\u00dfe \u2126hm \u212a\u212b \u0149", 0),
    ("fullwidth", "\uff2e\uff29\uff2b\uff25 \uff53\uff41\uff4c\uff45 \uff11\uff12\uff13 \uff3f\uff3f", 1),
    ("whitespace", "tab\there\u00a0nbsp\u2003emsp\u3000ideographic\u2028line\u200bzero\u00adsoft", 0),
    ("stop", "the and of a an is was were would should could THE AND Of", 0),
    ("empty", "", 0),
    ("punct", "!!! ??? ... --- ### $$$ 1 a", 1),
    ("repeat", "deal deal deal DEAL Deal dEaL discount discount cheap", 1),
]


def write_edge_corpus():
    path = os.path.join(CORPORA, "unicode_edge_cases.tsv")
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter="\t", quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        w.writerow(["product_id", "description", "image_url", "label", "yes_count", "no_count"])
        for doc_id, text, label in EDGE_CASES:
            w.writerow([doc_id, text, "", label, 0, 0])


def read_corpus(name):
    with open(os.path.join(CORPORA, name), encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return rows


def csr_json(X):
    X = X.tocsr()
    X.sort_indices()
    return {"shape": list(X.shape), "indptr": X.indptr.tolist(), "indices": X.indices.tolist(),
            "data": [float(v) for v in X.data]}


def tie_report(vec, counts_fit, max_features):
    """How the max_features cut fell: the corpus frequency at the cut and how many terms share it."""
    if max_features is None:
        return {"max_features": None}
    cv = TfidfVectorizer(**{k: v for k, v in vec.get_params().items() if k != "max_features"})
    X = cv.fit_transform(counts_fit)
    # Raw counts are needed: refit a CountVectorizer-equivalent by switching idf and norm off.
    raw = TfidfVectorizer(**{**{k: v for k, v in vec.get_params().items() if k != "max_features"},
                             "use_idf": False, "norm": None, "sublinear_tf": False})
    C = raw.fit_transform(counts_fit)
    tfs = np.asarray(C.sum(axis=0)).ravel()
    if len(tfs) <= max_features:
        return {"max_features": max_features, "candidates": int(len(tfs)), "tie_at_cut": False}
    ordered = np.sort(tfs)[::-1]
    cut = ordered[max_features - 1]
    return {"max_features": max_features, "candidates": int(len(tfs)), "tf_at_cut": float(cut),
            "tie_at_cut": bool(ordered[max_features] == cut),
            "terms_above_cut": int((tfs > cut).sum()), "terms_at_cut": int((tfs == cut).sum())}


def tfidf_fixture(name, corpus, params, eval_limit=None):
    rows = read_corpus(corpus)
    if "part" in rows[0]:
        fit_docs = [r["description"] for r in rows if r["part"] == "train"]
        eval_rows = [r for r in rows if r["part"] == "eval"]
    else:
        fit_docs = [r["description"] for r in rows]
        eval_rows = rows
    if eval_limit:
        eval_rows = eval_rows[:eval_limit]
    vec = TfidfVectorizer(**params)
    vec.fit(fit_docs)
    terms = [None] * len(vec.vocabulary_)
    for term, index in vec.vocabulary_.items():
        terms[index] = term
    X = vec.transform([r["description"] for r in eval_rows])
    write_json(f"tfidf_{name}.json", {
        "versions": VERSIONS,
        "corpus": corpus,
        "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()},
        "fit_documents": len(fit_docs),
        "eval_ids": [r["product_id"] for r in eval_rows],
        "vocabulary": terms,
        "idf": [float(v) for v in vec.idf_],
        "eval_matrix": csr_json(X),
        "cut": tie_report(vec, fit_docs, params.get("max_features")),
    })
    return vec


def logistic_fixture(name, corpus, tfidf_params, lr_params, weights=None):
    rows = read_corpus(corpus)
    train = [r for r in rows if r["part"] == "train"]
    evals = [r for r in rows if r["part"] == "eval"]
    vec = TfidfVectorizer(**tfidf_params)
    X = vec.fit_transform([r["description"] for r in train])
    Xe = vec.transform([r["description"] for r in evals])
    y = np.array([int(r["label"]) for r in train])
    sw = None
    if weights == "by_position":
        # Deterministic non-uniform weights, as the label-quality option produces.
        sw = np.array([0.25 + 0.25 * (i % 4) for i in range(len(train))])
    # Solved to convergence: newton-cg with a tight tolerance (its gradient check stops it when the
    # largest gradient component is ~1e-9, which the fixture records). The library default (lbfgs,
    # tol=1e-4, max_iter=100) stops earlier, on scipy's relative-decrease test; its answer is kept
    # too, to show how far the defaults are from the optimum.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LogisticRegression(solver="newton-cg", tol=1e-9, max_iter=1000, **lr_params)
        model.fit(X, y, sample_weight=sw)
        default = LogisticRegression(**lr_params).fit(X, y, sample_weight=sw)
    w, b = model.coef_.ravel(), model.intercept_[0]
    p = 1.0 / (1.0 + np.exp(-(X @ w + b)))
    cw = np.ones(len(y)) if sw is None else sw.copy()
    if lr_params.get("class_weight") == "balanced":
        cw *= (len(y) / (2.0 * np.bincount(y)))[y]
    grad = np.concatenate([X.T @ (cw * (p - y)) + w / lr_params.get("C", 1.0), [np.sum(cw * (p - y))]])
    write_json(f"logistic_{name}.json", {
        "versions": VERSIONS,
        "corpus": corpus,
        "tfidf_params": tfidf_params,
        "params": {**lr_params, "tol": 1e-9, "max_iter": 1000, "solver": model.solver},
        "sample_weight": weights,
        "n_iter": int(model.n_iter_[0]),
        "max_abs_gradient": float(np.abs(grad).max()),
        "n_features": int(X.shape[1]),
        "coef": [float(v) for v in w],
        "intercept": float(b),
        "train_proba": [float(v) for v in model.predict_proba(X)[:, 1]],
        "eval_ids": [r["product_id"] for r in evals],
        "eval_proba": [float(v) for v in model.predict_proba(Xe)[:, 1]],
        "lbfgs_default_coef": [float(v) for v in default.coef_.ravel()],
        "lbfgs_default_intercept": float(default.intercept_[0]),
        "lbfgs_default_eval_proba": [float(v) for v in default.predict_proba(Xe)[:, 1]],
        "eval_pred": [int(v) for v in model.predict(Xe)],
    })


def no_tie_max_features(corpus, params, near):
    """Largest N <= near whose cut falls between two different corpus frequencies (no tie)."""
    rows = read_corpus(corpus)
    docs = [r["description"] for r in rows if r["part"] == "train"]
    raw = TfidfVectorizer(**{**params, "use_idf": False, "norm": None})
    tfs = np.sort(np.asarray(raw.fit_transform(docs).sum(axis=0)).ravel())[::-1]
    for n in range(min(near, len(tfs) - 1), 0, -1):
        if tfs[n - 1] != tfs[n]:
            return n
    raise RuntimeError("no tie-free cut")


def sample_fixture():
    """The baseline exactly as `kspam baseline` configures it, on the project's sample listings.
    The documents are copied into the fixture, so the test does not depend on data/sample/ staying
    as it is (the lead may regenerate it)."""
    path = os.path.join(ROOT, "data", "sample", "listings.tsv")
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    train = [r for i, r in enumerate(rows) if i % 10 != 0]
    evals = [r for i, r in enumerate(rows) if i % 10 == 0]
    vec = TfidfVectorizer(max_features=10000, stop_words="english")
    X = vec.fit_transform([r["description"] for r in train])
    Xe = vec.transform([r["description"] for r in evals])
    y = np.array([int(r["label"]) for r in train])
    terms = [None] * len(vec.vocabulary_)
    for term, index in vec.vocabulary_.items():
        terms[index] = term
    out = {
        "versions": VERSIONS,
        "source": "data/sample/listings.tsv (rows with index % 10 == 0 are eval)",
        "train_docs": [r["description"] for r in train],
        "train_labels": [int(v) for v in y],
        "eval_ids": [r["product_id"] for r in evals],
        "eval_docs": [r["description"] for r in evals],
        "vocabulary": terms,
        "idf": [float(v) for v in vec.idf_],
        "eval_matrix": csr_json(Xe),
    }
    for name, params in (("default", {}), ("balanced", {"class_weight": "balanced"})):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = LogisticRegression(solver="newton-cg", tol=1e-9, max_iter=1000, **params).fit(X, y)
        out[name] = {"params": params, "coef": [float(v) for v in model.coef_.ravel()],
                     "intercept": float(model.intercept_[0]),
                     "eval_proba": [float(v) for v in model.predict_proba(Xe)[:, 1]]}
    write_json("baseline_sample.json", out)


def main():
    os.makedirs(OUT, exist_ok=True)
    write_edge_corpus()
    with open(os.path.join(OUT, "stop_words.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(sorted(ENGLISH_STOP_WORDS)) + "\n")
    unicode_tables()

    docs = "debian_docs.tsv"
    # The configuration; on this corpus the 10000 cut may fall inside a tie (recorded).
    tfidf_fixture("default_10000", docs, {"max_features": 10000, "stop_words": "english"}, eval_limit=60)
    n = no_tie_max_features(docs, {"stop_words": "english"}, 3000)
    tfidf_fixture("no_tie_cut", docs, {"max_features": n, "stop_words": "english"}, eval_limit=60)
    tfidf_fixture("options", docs, {"stop_words": "english", "min_df": 2, "max_df": 0.5, "ngram_range": (1, 2),
                                    "sublinear_tf": True, "max_features": no_tie_max_features(
                                        docs, {"stop_words": "english", "min_df": 2, "max_df": 0.5,
                                               "ngram_range": (1, 2)}, 4000)}, eval_limit=60)
    tfidf_fixture("int_df_no_stop", docs, {"min_df": 3, "max_df": 150, "ngram_range": (2, 3)}, eval_limit=40)
    tfidf_fixture("edge_cases", "unicode_edge_cases.tsv", {})
    tfidf_fixture("edge_cases_stop", "unicode_edge_cases.tsv", {"stop_words": "english", "ngram_range": (1, 2)})
    tfidf_fixture("edge_cases_keep_case", "unicode_edge_cases.tsv",
                  {"lowercase": False, "stop_words": ["deal", "the", "Nike", "caf\u00e9"], "sublinear_tf": True,
                   "smooth_idf": False, "ngram_range": (1, 3)})

    lr_tfidf = {"stop_words": "english", "min_df": 2}
    logistic_fixture("default", docs, lr_tfidf, {})
    logistic_fixture("balanced", docs, lr_tfidf, {"class_weight": "balanced"})
    logistic_fixture("weighted_c0.1", docs, lr_tfidf, {"C": 0.1}, weights="by_position")
    sample_fixture()
    print("fixtures written to", OUT, file=sys.stderr)


if __name__ == "__main__":
    main()

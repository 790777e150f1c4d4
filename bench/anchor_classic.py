#!/usr/bin/env python3
"""scikit-learn anchor for bench/bench_classic.cpp (which runs this script as a subprocess in the
same run, on the same corpus file). Times, inside Python, the same work the C++ side does:
    TfidfVectorizer(max_features=10000, stop_words='english').fit_transform(docs)
    LogisticRegression().fit(X, y); predict_proba(X)
and prints one JSON line with the timings, the matrix size and the process's peak RSS.

Usage: python3 bench/anchor_classic.py CORPUS.tsv   (lines "label<TAB>text", no header)
"""
import json
import resource
import sys
import time
import warnings


def main():
    path = sys.argv[1]
    t0 = time.perf_counter()
    import numpy as np
    import sklearn
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    import_seconds = time.perf_counter() - t0

    docs, labels = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            label, _, text = line.rstrip("\n").partition("\t")
            labels.append(int(label))
            docs.append(text)
    y = np.array(labels)

    t = time.perf_counter()
    vectorizer = TfidfVectorizer(max_features=10000, stop_words="english")
    X = vectorizer.fit_transform(docs)
    tfidf_seconds = time.perf_counter() - t

    converged = True
    t = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        model = LogisticRegression().fit(X, y)
        converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    lr_fit_seconds = time.perf_counter() - t
    t = time.perf_counter()
    p = model.predict_proba(X)[:, 1]
    lr_predict_seconds = time.perf_counter() - t

    print(json.dumps({
        "sklearn": sklearn.__version__,
        "python": sys.version.split()[0],
        "docs": len(docs),
        "import_seconds": import_seconds,
        "tfidf_seconds": tfidf_seconds,
        "lr_fit_seconds": lr_fit_seconds,
        "lr_predict_seconds": lr_predict_seconds,
        "n_features": int(X.shape[1]),
        "nnz": int(X.nnz),
        "lr_iterations": int(model.n_iter_[0]),
        "lr_converged": converged,
        "mean_probability": float(p.mean()),
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Builds tests/reference/corpora/debian_docs.tsv: real text that nobody on the kspam project wrote,
for the TF-IDF and logistic-regression parity tests against scikit-learn.

Produced by (Debian 12, Python 3.11, run from the repository root):
    /usr/bin/python3 tests/reference/make_classic_corpus.py

The text comes from files that Debian packages install on this machine:
  * HTML documentation under /usr/share/doc (raw markup, entities, long pages)      label 1
  * README / NEWS / changelog files under /usr/share/doc (plain or gzip)           label 1
  * man pages under /usr/share/man, including translated ones (raw roff source)     label 0
  * message catalogues (.mo) under /usr/share/locale: translated strings of one
    catalogue grouped into documents (Cyrillic, CJK, Greek, Arabic, accents...)     label 0
The label is the source type ("package documentation" vs "manuals and translations"): a real,
reproducible signal for the logistic regression, not a spam label.

The file uses the listings schema (product_id, description, image_url, label, yes_count, no_count)
plus the extra columns `source` and `part` (train / eval: every fifth document is eval), so the
kspam CLI reads it as it is. The set of installed files differs between machines, so the committed
TSV (not this script) is what the tests use; rerunning the script elsewhere gives a different corpus.
"""
import csv
import gettext
import gzip
import hashlib
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "reference", "corpora", "debian_docs.tsv")


def stable_key(path):
    return hashlib.sha1(path.encode("utf-8", "surrogateescape")).hexdigest()


def pick(paths, count):
    # Deterministic sample: the `count` paths with the smallest SHA-1, in path order.
    chosen = sorted(paths, key=stable_key)[:count]
    return sorted(chosen)


def read_text(path):
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read(200_000)
    except (OSError, EOFError):
        return None
    text = raw.decode("utf-8", errors="replace")
    return text.replace("\x00", "")


def walk(top, accept):
    found = []
    for dirpath, _, files in os.walk(top):
        for name in files:
            path = os.path.join(dirpath, name)
            if accept(path, name) and os.path.isfile(path) and not os.path.islink(path):
                found.append(path)
    return sorted(found)


def clip(text, limit):
    return text if len(text) <= limit else text[:limit]


def main():
    docs = []  # (id, source, label, text)

    html = walk("/usr/share/doc", lambda p, n: n.endswith((".html", ".htm")))
    for i, path in enumerate(pick(html, 220)):
        text = read_text(path)
        if text and text.strip():
            # A few documents stay long (the vectorizer must handle them); most are clipped.
            docs.append((f"html-{i:04d}", "html", 1, clip(text, 40_000 if i % 40 == 0 else 2_000)))

    plain = walk("/usr/share/doc", lambda p, n: n.split(".")[0].lower() in ("readme", "news", "changelog")
                 and not n.endswith((".html", ".htm")))
    for i, path in enumerate(pick(plain, 220)):
        text = read_text(path)
        if text and text.strip():
            docs.append((f"doc-{i:04d}", "plain", 1, clip(text, 2_000)))

    man = walk("/usr/share/man", lambda p, n: n.endswith(".gz"))
    for i, path in enumerate(pick(man, 260)):
        text = read_text(path)
        if text and text.strip():
            docs.append((f"man-{i:04d}", "man", 0, clip(text, 2_000)))

    catalogues = walk("/usr/share/locale", lambda p, n: n.endswith(".mo"))
    made = 0
    for path in pick(catalogues, 400):
        try:
            with open(path, "rb") as f:
                catalog = gettext.GNUTranslations(f)._catalog
        except Exception:
            continue
        strings = [v for k, v in sorted(catalog.items(), key=lambda kv: str(kv[0])) if k and isinstance(v, str) and v]
        if not strings:
            continue
        text = clip("\n".join(strings[:60]), 2_000)
        docs.append((f"po-{made:04d}", "translation", 0, text))
        made += 1
        if made >= 280:
            break

    docs.sort(key=lambda d: stable_key(d[0]))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter="\t", quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        w.writerow(["product_id", "description", "image_url", "label", "yes_count", "no_count", "source", "part"])
        for n, (doc_id, source, label, text) in enumerate(docs):
            w.writerow([doc_id, text, "", label, 0, 0, source, "eval" if n % 5 == 4 else "train"])
    size = os.path.getsize(OUT)
    print(f"{OUT}: {len(docs)} documents, {size} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()

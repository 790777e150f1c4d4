#!/usr/bin/env python3
"""A small, self-contained evaluation input for the CLI and browser tests of kspam's eval area.

Made with:   /usr/bin/python3 tests/reference/make_eval_mini_run.py
(Debian 12, python3-pil 9.4, python3-sklearn 1.2.1). Writes tests/reference/fixtures/eval/mini/:
  listings.tsv     60 labeled listings (+5 unlabeled), some without a photo, some with a broken
                   photo path, a boolean `seller_verified` column;
  images/          tiny PNG and JPEG photos (Pillow), one file that is not an image at all;
  model.csv        a model's predictions (score, pred, confidence, reason) for every listing;
  legacy.csv       a keyword heuristic's predictions for the same listings;
  expected.json    what scikit-learn says about model.csv (macro F1, AUPRC, ROC-AUC, the
                   classification report), for checking `kspam evaluate` end to end.
Everything is drawn from numpy's default_rng(7), so re-running reproduces the files byte for byte
(the JPEG encoder of the same Pillow version included).
"""
import csv
import json
import os

import numpy as np
from PIL import Image
from sklearn.metrics import average_precision_score, classification_report, f1_score, roc_auc_score

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "eval", "mini")

CLEAN = ["Navy wool coat, size M, lightly worn.", "Leather ankle boots, resoled last year.",
         "Cotton summer dress with pockets.", "Grey hoodie, never worn, tags attached.",
         "Kids trainers, size 30, some scuffs."]
SPAM = ["Coat Gucci Prada Dior Chanel Balenciaga Moncler cheap", "#nike #adidas #yeezy #supreme #offwhite #gucci",
        "Dress - message me on WhatsApp +1 555 0100 for better price", "Boots visit www.best-outlet-deals.example",
        "Hoodie Supreme / Stone Island / Moncler / Louis Vuitton"]


def main():
    rng = np.random.default_rng(7)
    os.makedirs(os.path.join(OUT, "images"), exist_ok=True)
    rows = []
    for i in range(65):
        labeled = i < 60
        label = int(rng.integers(0, 2)) if labeled else None
        text = (SPAM if label == 1 else CLEAN)[i % 5] if labeled else CLEAN[(i + 2) % 5]
        kind = i % 4  # 0, 1: photo (png, jpg); 2: no photo; 3: broken path
        if kind == 0:
            name = f"images/p{i:03d}.png"
            img = Image.new("RGB", (24, 32), tuple(int(c) for c in rng.integers(0, 256, 3)))
            img.save(os.path.join(OUT, name))
        elif kind == 1:
            name = f"images/p{i:03d}.jpg"
            img = Image.new("RGB", (32, 24), tuple(int(c) for c in rng.integers(0, 256, 3)))
            img.save(os.path.join(OUT, name), quality=80)
        elif kind == 2:
            name = ""
        else:
            name = f"images/missing{i:03d}.jpg"
        rows.append({"product_id": f"M{i:03d}", "description": text, "image_url": name,
                     "label": "" if label is None else str(label),
                     "yes_count": "" if label is None else str(2 * label + 1),
                     "no_count": "" if label is None else str(3 - 2 * label),
                     "seller_verified": "True" if rng.uniform() < 0.5 else "False"})
    # One listing whose "photo" is an HTML error page saved under an image name.
    with open(os.path.join(OUT, "images", "p003_error.jpg"), "w") as f:
        f.write("<html><body>404 Not Found</body></html>\n")
    rows[3]["image_url"] = "images/p003_error.jpg"

    with open(os.path.join(OUT, "listings.tsv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()), delimiter="\t", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)

    def write_predictions(path, scores, reasons):
        with open(path, "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["product_id", "label", "score", "pred", "confidence", "reason"])
            for r, s, why in zip(rows, scores, reasons):
                pred = int(s >= 0.5)
                w.writerow([r["product_id"], r["label"], f"{s:.4f}", pred, f"{(s if pred else 1 - s):.4f}", why])

    truth = np.array([int(r["label"]) if r["label"] else 0 for r in rows])
    model_scores = np.clip(0.35 * truth + rng.uniform(0.0, 0.65, len(rows)), 0.0, 1.0).round(4)
    model_reasons = ["brand list or contact details" if s >= 0.5 else "plain product description" for s in model_scores]
    write_predictions(os.path.join(OUT, "model.csv"), model_scores, model_reasons)
    # The heuristic fires on brand names and '#', so it misses contact-detail spam and has no scores between.
    legacy_scores = np.array([0.9 if any(k in r["description"] for k in ("Gucci", "#", "Supreme")) else 0.1 for r in rows])
    write_predictions(os.path.join(OUT, "legacy.csv"), legacy_scores, ["keyword match" if s > 0.5 else "" for s in legacy_scores])

    labeled = [i for i, r in enumerate(rows) if r["label"]]
    t = truth[labeled]
    s = model_scores[labeled]
    p = (s >= 0.5).astype(int)
    expected = {
        "labeled_rows": len(labeled),
        "macro_f1": f1_score(t, p, average="macro"),
        "average_precision": average_precision_score(t, s),
        "roc_auc": roc_auc_score(t, s),
        "classification_report": classification_report(t, p, labels=[0, 1], target_names=["clean", "spam"],
                                                       zero_division=0, output_dict=True),
        "command": "/usr/bin/python3 tests/reference/make_eval_mini_run.py",
    }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
    print(f"wrote {len(rows)} listings to {OUT}")


if __name__ == "__main__":
    main()

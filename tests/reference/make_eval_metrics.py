#!/usr/bin/env python3
"""Parity fixtures for kspam::eval metrics, calibration and isotonic regression, from scikit-learn.

Made with:   /usr/bin/python3 tests/reference/make_eval_metrics.py
(on the development machine: Debian 12, python3-sklearn 1.2.1, numpy 1.24.2). Writes
tests/reference/fixtures/eval/metrics_cases.json, isotonic_cases.json and sweep_cases.json.

The sweep fixture applies the keep/review/demote policy (include/kspam/eval/policy.hpp) over the
grid round(0.05 * i, 9), i = 0..20, review <= demote, and records sklearn's macro F1 of "demoted"
(f1_score(truth, decision == "demote", labels=[0, 1], average="macro", zero_division=0)) and the
expected cost per listing under the cost matrix in the file.

Each metrics case holds its inputs (truth, predicted, score) and what sklearn returns:
classification_report(labels=[0, 1], target_names=["clean", "spam"], zero_division=0,
output_dict=True), f1_score micro/macro/weighted, accuracy, confusion_matrix, average_precision_score,
roc_auc_score, precision_recall_curve, and calibration_curve(n_bins=10, strategy="uniform") with the
bin counts (for ECE = sum_b count_b / n * |frac_positive_b - mean_score_b|).

Where sklearn warns (no positive: AP is returned as 0 and recall set to 1 in the PR curve) or
raises (ROC-AUC with one class), the case records what sklearn did under "sklearn_behaviour";
kspam reports those values as undefined (null), never as NaN or as a made-up number.
"""
import json
import os
import warnings

import numpy as np
import sklearn
from sklearn.calibration import calibration_curve
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import (accuracy_score, average_precision_score, classification_report,
                             confusion_matrix, f1_score, precision_recall_curve, roc_auc_score)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "eval")


def case(name, truth, predicted, score):
    truth = np.asarray(truth, dtype=int)
    predicted = np.asarray(predicted, dtype=int)
    score = np.asarray(score, dtype=float)
    out = {"name": name, "truth": truth.tolist(), "predicted": predicted.tolist(), "score": score.tolist()}
    behaviour = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out["classification_report"] = classification_report(
            truth, predicted, labels=[0, 1], target_names=["clean", "spam"], zero_division=0, output_dict=True)
        out["accuracy"] = accuracy_score(truth, predicted)
        for avg in ("micro", "macro", "weighted"):
            out[f"f1_{avg}"] = f1_score(truth, predicted, labels=[0, 1], average=avg, zero_division=0)
        out["confusion_matrix"] = confusion_matrix(truth, predicted, labels=[0, 1]).tolist()
        ap = average_precision_score(truth, score)
        out["average_precision"] = None if truth.sum() == 0 else float(ap)
        if truth.sum() == 0:
            behaviour["average_precision"] = f"sklearn returns {float(ap)!r} with a warning; kspam: undefined"
        p, r, t = precision_recall_curve(truth, score)
        out["pr_curve"] = {"precision": p.tolist(), "recall": r.tolist(), "thresholds": t.tolist()}
        try:
            out["roc_auc"] = float(roc_auc_score(truth, score))
        except ValueError as e:
            out["roc_auc"] = None
            behaviour["roc_auc"] = f"sklearn raises ValueError: {e}; kspam: undefined"
        prob_true, prob_pred = calibration_curve(truth, score, n_bins=10, strategy="uniform")
        bins = np.linspace(0.0, 1.0, 11)
        binids = np.searchsorted(bins[1:-1], score)
        counts = np.bincount(binids, minlength=10)
        nonempty = counts[counts > 0]
        out["calibration"] = {
            "n_bins": 10,
            "frac_positive": prob_true.tolist(),
            "mean_score": prob_pred.tolist(),
            "counts": nonempty.tolist(),
            "ece": float(np.sum(nonempty / len(score) * np.abs(prob_true - prob_pred))),
        }
    if caught:
        behaviour["warnings"] = sorted({str(w.message).split("\n")[0] for w in caught})
    if behaviour:
        out["sklearn_behaviour"] = behaviour
    return out


def main():
    rng = np.random.default_rng(20261124)
    cases = []
    # Ordinary: 200 rows, scores from a noisy model.
    truth = rng.integers(0, 2, 200)
    score = np.clip(0.35 * truth + rng.uniform(0, 0.65, 200), 0, 1)
    cases.append(case("random_200", truth, (score >= 0.5).astype(int), score))
    # Heavy ties: scores rounded to one decimal, so each threshold holds many rows of both classes.
    truth = rng.integers(0, 2, 120)
    score = np.round(np.clip(0.3 * truth + rng.uniform(0, 0.7, 120), 0, 1), 1)
    cases.append(case("ties_rounded", truth, (score >= 0.5).astype(int), score))
    # Every score equal.
    cases.append(case("all_scores_equal", [0, 1, 1, 0, 1], [1, 1, 1, 1, 1], [0.5] * 5))
    # The sklearn docstring example.
    cases.append(case("docstring", [0, 0, 1, 1], [0, 0, 0, 1], [0.1, 0.4, 0.35, 0.8]))
    # Single class in truth: no spam at all; then only spam.
    cases.append(case("only_clean", [0, 0, 0, 0], [0, 1, 0, 0], [0.1, 0.7, 0.2, 0.3]))
    cases.append(case("only_spam", [1, 1, 1], [1, 0, 1], [0.9, 0.4, 0.8]))
    # Single class in truth and prediction: sklearn's report switches to "micro avg".
    cases.append(case("only_clean_all_right", [0, 0, 0], [0, 0, 0], [0.1, 0.2, 0.2]))
    # The model never predicts spam: spam precision is 0/0.
    cases.append(case("never_predicts_spam", [0, 1, 0, 1, 0], [0, 0, 0, 0, 0], [0.1, 0.4, 0.3, 0.45, 0.2]))
    # Scores at the exact bin edges of the calibration curve.
    cases.append(case("bin_edges", [0, 1, 0, 1, 1, 0, 1, 0], [0, 0, 0, 0, 1, 1, 1, 1],
                      [0.0, 0.1, 0.2, 0.3, 0.5, 0.6, 0.9, 1.0]))
    # One row.
    cases.append(case("one_row", [1], [1], [0.7]))

    # Isotonic regression (increasing, out_of_bounds="clip"): fit on one sample, predict another.
    iso_cases = []

    def iso_case(name, x_fit, y_fit, x_pred):
        model = IsotonicRegression(out_of_bounds="clip").fit(x_fit, y_fit)
        iso_cases.append({"name": name, "x_fit": list(map(float, x_fit)), "y_fit": list(map(float, y_fit)),
                          "x_pred": list(map(float, x_pred)),
                          "y_pred": model.predict(x_pred).tolist(),
                          "fitted": model.predict(x_fit).tolist()})

    x = rng.uniform(0, 1, 300)
    y = (rng.uniform(0, 1, 300) < x ** 2).astype(float)
    iso_case("random_300", x, y, np.concatenate([rng.uniform(-0.1, 1.1, 100), [0.0, 1.0]]))
    x = np.round(rng.uniform(0, 1, 150), 1)
    y = (rng.uniform(0, 1, 150) < x).astype(float)
    iso_case("tied_x", x, y, np.linspace(0, 1, 21))
    iso_case("decreasing_data", [0.1, 0.2, 0.3, 0.4], [1, 1, 0, 0], [0.0, 0.15, 0.25, 0.5])
    iso_case("single_point", [0.4], [1.0], [0.0, 0.4, 1.0])
    iso_case("constant_y", [0.2, 0.5, 0.9], [0, 0, 0], [0.1, 0.6])

    # Threshold sweep over a VLM-like model: a verdict and a stated confidence per row.
    n = 150
    truth = rng.integers(0, 2, n)
    predicted = np.where(rng.uniform(0, 1, n) < 0.8, truth, 1 - truth)
    confidence = np.round(rng.uniform(0.3, 1.0, n), 2)
    costs = {"false_demote": 10.0, "review": 1.0, "missed_spam": 5.0}
    grid = [round(0.05 * i, 9) for i in range(21)]
    pairs = []
    for review in grid:
        for demote in grid:
            if review > demote:
                continue
            decision = np.where((predicted == 1) & (confidence >= demote), 2,
                                np.where((predicted == 1) & (confidence >= review), 1, 0))
            demoted = (decision == 2).astype(int)
            macro = f1_score(truth, demoted, labels=[0, 1], average="macro", zero_division=0)
            cost = (costs["false_demote"] * np.sum((decision == 2) & (truth == 0)) + costs["review"] * np.sum(decision == 1)
                    + costs["missed_spam"] * np.sum((decision == 0) & (truth == 1))) / n
            pairs.append({"review": review, "demote": demote, "macro_f1": float(macro), "expected_cost": float(cost),
                          "kept": int(np.sum(decision == 0)), "reviewed": int(np.sum(decision == 1)),
                          "demoted": int(np.sum(decision == 2))})
    sweep = {"truth": truth.tolist(), "predicted": predicted.tolist(), "confidence": confidence.tolist(),
             "costs": costs, "pairs": pairs}

    meta = {"sklearn": sklearn.__version__, "numpy": np.__version__,
            "command": "/usr/bin/python3 tests/reference/make_eval_metrics.py"}
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "metrics_cases.json"), "w") as f:
        json.dump({"meta": meta, "cases": cases}, f, indent=1)
    with open(os.path.join(OUT, "isotonic_cases.json"), "w") as f:
        json.dump({"meta": meta, "cases": iso_cases}, f, indent=1)
    with open(os.path.join(OUT, "sweep_cases.json"), "w") as f:
        json.dump({"meta": meta, "sweep": sweep}, f, indent=1)
    print(f"wrote {len(cases)} metric cases and {len(iso_cases)} isotonic cases to {OUT}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""scikit-learn anchor for bench/bench_eval.cpp (which runs this script as a subprocess in the same
run, on the same rows). Times, inside Python, the work the C++ side does on the same file:
    average_precision_score, roc_auc_score, calibration_curve(n_bins=10) + ECE,
    IsotonicRegression(out_of_bounds="clip").fit(score, truth).predict(score),
    the keep/review/demote sweep over the grid round(0.1 * i, 9) with f1_score(average="macro")
and prints one JSON line with each time and each value (for the parity check).

Usage: python3 bench/anchor_eval.py ROWS.bin N   (N float64 scores, then N float64 truths, then N
float64 verdicts, then N float64 confidences, little-endian)
"""
import json
import sys
import time

import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score


def main():
    n = int(sys.argv[2])
    data = np.fromfile(sys.argv[1], dtype="<f8")
    score, truth, pred, conf = data[:n], data[n:2 * n].astype(int), data[2 * n:3 * n].astype(int), data[3 * n:]
    out = {}

    t = time.perf_counter()
    out["average_precision"] = float(average_precision_score(truth, score))
    out["ap_seconds"] = time.perf_counter() - t

    t = time.perf_counter()
    out["roc_auc"] = float(roc_auc_score(truth, score))
    out["auc_seconds"] = time.perf_counter() - t

    t = time.perf_counter()
    frac, mean = calibration_curve(truth, score, n_bins=10)
    counts = np.bincount(np.searchsorted(np.linspace(0, 1, 11)[1:-1], score), minlength=10)
    counts = counts[counts > 0]
    out["ece"] = float(np.sum(counts / n * np.abs(frac - mean)))
    out["ece_seconds"] = time.perf_counter() - t

    t = time.perf_counter()
    calibrated = IsotonicRegression(out_of_bounds="clip").fit(score, truth).predict(score)
    out["isotonic_mean"] = float(np.mean(calibrated))
    out["isotonic_seconds"] = time.perf_counter() - t

    t = time.perf_counter()
    grid = [round(0.1 * i, 9) for i in range(11)]
    best = -1.0
    for review in grid:
        for demote in grid:
            if review > demote:
                continue
            demoted = ((pred == 1) & (conf >= demote)).astype(int)
            best = max(best, f1_score(truth, demoted, labels=[0, 1], average="macro", zero_division=0))
    out["sweep_best_macro_f1"] = float(best)
    out["sweep_seconds"] = time.perf_counter() - t
    print(json.dumps(out))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""River's reference figures for `vigil eval anomaly` (not run by the tests: River is not a
dependency). Usage: pip install river; scripts/river-hst.py FILE.csv[.gz] LABEL f1,f2,... SEED...

Runs River's MinMaxScaler | HalfSpaceTrees (defaults: 10 trees, height 8, window 250) over the
rows, score then learn, and prints per seed the exact ROC AUC (Mann-Whitney, ties counted half,
the same computation as Vigil's) and events/s.
"""
import csv, gzip, sys, time
from river import anomaly, compose, preprocessing


def roc_auc(scores, labels):
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    rank_sum, i = 0.0, 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        rank_sum += sum((i + j + 2) / 2 for k in range(i, j + 1) if labels[order[k]])
        i = j + 1
    p = sum(labels)
    n = len(labels) - p
    return (rank_sum - p * (p + 1) / 2) / (p * n)


def main():
    path, label, features, seeds = sys.argv[1], sys.argv[2], sys.argv[3].split(","), [int(s) for s in sys.argv[4:]]
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        rows = list(csv.DictReader(f))
    xs = [{c: float(r[c]) for c in features} for r in rows]
    ys = [r[label].strip().lower() in ("1", "true", "yes", "1.0") for r in rows]
    for seed in seeds:
        model = compose.Pipeline(preprocessing.MinMaxScaler(), anomaly.HalfSpaceTrees(seed=seed))
        scores, start = [], time.time()
        for x in xs:
            scores.append(model.score_one(x))
            model.learn_one(x)
        print(f"seed {seed}: roc_auc {roc_auc(scores, ys):.4f}, {len(xs) / (time.time() - start):.0f} events/s", flush=True)


if __name__ == "__main__":
    main()

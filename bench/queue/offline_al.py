#!/usr/bin/env python3
"""Pool-based active learning, offline, on exactly the features scoring uses.

Why this exists: the pipeline benchmark (active_learning.py) takes ~4 minutes per strategy and
mixes the selection rule with streaming effects (the pool grows as posts arrive, a quarter of
human labels go to scoring's evaluation and calibration slices). This script isolates the rule:
the svmlight dumps of `latentlabel bench newsgroups quality --steps all` (theta + hashed tf-idf,
the rows scoring fits on, and the test split) are a fixed pool; a scikit-learn
LogisticRegression (same C, scoring's features) is refitted after every batch; the labels come
from simulated 90 %-accurate annotators (a wrong answer is uniform over the other labels).

It prints, per strategy, the test-accuracy curve and the labels each strategy needed to reach
random sampling's accuracy at random's curve points (mean saving over the points).

Usage: python3 bench/queue/offline_al.py --features DIR [--budget 1500 --batch 25 --seeds 0,1,2]
"""
import argparse
import sys
import time

import numpy as np
from sklearn.datasets import load_svmlight_files
from sklearn.linear_model import LogisticRegression


def noisy(labels, rng, accuracy, classes):
    out = labels.copy()
    wrong = rng.random(len(labels)) > accuracy
    shift = rng.integers(1, classes, size=len(labels))
    out[wrong] = (labels[wrong] + shift[wrong]) % classes
    return out


def scores(model, X):
    p = model.predict_proba(X)
    part = -np.partition(-p, 1, axis=1)
    return p, part[:, 0] - part[:, 1]


def select(strategy, model, X, pool_idx, batch, rng, extra):
    if strategy == "random" or model is None:
        return rng.choice(pool_idx, size=batch, replace=False)
    p, margin = scores(model, X[pool_idx])
    if strategy == "margin":
        key = margin
    elif strategy == "entropy":
        key = (p * np.log(np.clip(p, 1e-12, 1))).sum(axis=1)  # -H: smallest first
    elif strategy == "margin_long":
        # Uncertainty among documents with at least median length (stored words).
        key = margin + (extra["nnz"][pool_idx] < extra["median_nnz"]) * 10.0
    elif strategy == "density":
        # Information density (Settles & Craven 2008): uncertainty x similarity to the pool.
        key = -(1 - margin) * extra["density"][pool_idx]
    elif strategy in ("typical", "typical_knn"):
        # Low-budget regime (Hacohen et al. 2022, TypiClust): cover the clusters, taking the
        # most typical document of the least-labeled cluster. Clusters = dominant LDA topic.
        return typical(strategy, pool_idx, batch, extra)
    elif strategy == "margin_pc":
        # Class-balanced uncertainty: rotate over the predicted classes, most uncertain first
        # within each, so the batch cannot pile onto one confusable pair.
        pred = p.argmax(axis=1)
        order = np.lexsort((margin, pred))
        rank = np.empty(len(order), int)
        for c in np.unique(pred):
            members = order[pred[order] == c]
            rank[members] = np.arange(len(members))
        return pool_idx[np.lexsort((margin, rank))[:batch]]
    elif strategy.startswith("iwal"):
        # Importance-weighted sampling (Beygelzimer et al. 2009): draw with probability q_i,
        # a mixture of uniform and (1 - margin)^P, and train with weight 1 / (N q_i), so the
        # training objective stays an unbiased estimate of the pool's.
        power = float(strategy[4:] or 2)
        u = (1 - margin) ** power
        q = 0.5 / len(pool_idx) + 0.5 * u / u.sum()
        chosen = rng.choice(len(pool_idx), size=batch, replace=False, p=q)
        extra["weights"].update({int(pool_idx[i]): 1.0 / (len(pool_idx) * q[i]) for i in chosen})
        return pool_idx[chosen]
    elif strategy == "mix":
        half = batch // 2
        top = pool_idx[np.argsort(margin, kind="stable")[:half]]
        rest = np.setdiff1d(pool_idx, top)
        return np.concatenate([top, rng.choice(rest, size=batch - half, replace=False)])
    elif strategy.startswith("topk"):
        # Random sample from the most uncertain fraction f of the pool (e.g. topk0.2).
        f = float(strategy[4:])
        k = max(batch, int(len(pool_idx) * f))
        top = pool_idx[np.argsort(margin, kind="stable")[:k]]
        return rng.choice(top, size=batch, replace=False)
    else:
        raise SystemExit(f"unknown strategy {strategy}")
    return pool_idx[np.argsort(key, kind="stable")[:batch]]


def typical(strategy, pool_idx, batch, extra):
    cluster, labeled_in = extra["cluster"], extra["labeled_in"]
    score = extra["theta_max"] if strategy == "typical" else extra["knn_density"]
    counts = labeled_in.copy()
    pool_cluster = cluster[pool_idx]
    sizes = np.bincount(pool_cluster, minlength=len(counts))
    chosen = []
    taken = np.zeros(len(pool_idx), bool)
    for _ in range(batch):
        open_ = np.flatnonzero(sizes > 0)
        c = open_[np.lexsort((-sizes[open_], counts[open_]))[0]]
        members = np.flatnonzero((pool_cluster == c) & ~taken)
        best = members[np.argmax(score[pool_idx[members]])]
        taken[best] = True
        chosen.append(pool_idx[best])
        counts[c] += 1
        sizes[c] -= 1
    return np.array(chosen)


def run(strategy, X, y, Xt, yt, args, seed, extra):
    rng = np.random.default_rng(seed)
    classes = int(max(y.max(), yt.max())) + 1
    answers = noisy(y, np.random.default_rng(1000 + seed), args.accuracy, classes)
    labeled = list(rng.choice(len(y), size=args.warmup, replace=False))
    in_pool = np.ones(len(y), bool)
    in_pool[labeled] = False
    model = None
    curve = []
    extra["weights"] = {}
    extra["labeled_in"] = np.bincount(extra["cluster"][labeled], minlength=extra["topics"])
    while True:
        ys = answers[labeled]
        if len(set(ys)) > 1:
            model = LogisticRegression(C=args.c, max_iter=300,
                                       class_weight="balanced" if args.balanced else None)
            w = np.array([extra["weights"].get(i, 1.0) for i in labeled])
            model.fit(X[labeled], ys, sample_weight=w / w.mean())
        if len(labeled) % args.eval_every < args.batch or len(labeled) >= args.budget:
            acc = float((model.predict(Xt) == yt).mean()) if model else 0.0
            curve.append((len(labeled), acc))
        if len(labeled) >= args.budget:
            break
        pool_idx = np.flatnonzero(in_pool)
        chosen = select(strategy, model, X, pool_idx, args.batch, rng, extra)
        in_pool[chosen] = False
        labeled.extend(int(i) for i in chosen)
        np.add.at(extra["labeled_in"], extra["cluster"][chosen], 1)
    return curve


def labels_to_reach(curve, target):
    for n, acc in curve:
        if acc >= target:
            return n
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--features", required=True, help="folder with train_<n>.svm, test_<n>.svm")
    ap.add_argument("--step", default="11314")
    ap.add_argument("--strategies", default="random,margin,entropy,margin_long,density,mix")
    ap.add_argument("--budget", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=25)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--accuracy", type=float, default=0.9)
    ap.add_argument("--c", type=float, default=1.0)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--balanced", action="store_true", help="class_weight='balanced'")
    ap.add_argument("--topics", type=int, default=50, help="theta columns first in the rows")
    args = ap.parse_args()

    d = args.features
    X, y, Xt, yt = load_svmlight_files([f"{d}/train_{args.step}.svm", f"{d}/test_{args.step}.svm"])
    X, Xt = X.tocsr(), Xt.tocsr()
    y, yt = y.astype(int), yt.astype(int)
    print(f"pool {X.shape[0]} rows, test {Xt.shape[0]}, {X.shape[1]} features", flush=True)
    nnz = np.diff(X.indptr)
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1))).ravel() + 1e-12
    Xn = X.multiply(1 / norms[:, None]).tocsr()
    centroid = np.asarray(Xn.mean(axis=0)).ravel()
    extra = {"nnz": nnz, "median_nnz": np.median(nnz), "density": Xn @ centroid}
    theta = X[:, : args.topics].toarray()
    extra["topics"] = args.topics
    extra["cluster"] = theta.argmax(axis=1)
    extra["theta_max"] = theta.max(axis=1)
    from sklearn.neighbors import NearestNeighbors
    dist, _ = NearestNeighbors(n_neighbors=21).fit(theta).kneighbors(theta)
    extra["knn_density"] = 1 / (dist[:, 1:].mean(axis=1) + 1e-9)

    strategies = args.strategies.split(",")
    for seed in [int(s) for s in args.seeds.split(",")]:
        curves = {}
        for s in strategies:
            t = time.time()
            curves[s] = run(s, X, y, Xt, yt, args, seed, extra)
            print(f"seed {seed} {s:12s} {time.time() - t:5.1f}s "
                  + " ".join(f"{n}:{a:.3f}" for n, a in curves[s]), flush=True)
        base = curves.get("random")
        if not base:
            continue
        for s in strategies:
            savings = []
            for n, acc in base[2:]:
                m = labels_to_reach(curves[s], acc)
                savings.append((n - m) / n if m else -1.0)
            print(f"seed {seed} {s:12s} mean saving vs random {100 * np.mean(savings):+.1f} % "
                  f"(points {len(savings)}; -100 % = never reached)", flush=True)


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Which part of the streaming pipeline eats active learning's gain: an offline simulation.

Offline (offline_text_al.py, whole pool, fresh scores) margin sampling needs ~20 % fewer labels
than random mid-budget on 20 Newsgroups; through the pipeline (active_learning.py) the mean
over fifteen runs is ~4 %. This script starts from the offline setting and switches on the
pipeline's differences one at a time, so each can be measured without the four services:

  --rate R        posts streamed per human label: the pool at label n is the first R * n posts
                  of the shuffled stream (the bench meters 20 labels per 100 posts: R = 5);
                  0 = the whole pool from the start
  --idf labeled   idf fitted on the labeled training documents only (scoring's hashed tf-idf
                  does that); `pool` fits it on every post (scikit-learn's usual way)
  --holdout F     share of human labels (by hash) never trained on (scoring's evaluation and
                  calibration slices: 0.15 + 0.10)
  --freshness F   scores are taken when a post arrives, by the model of that time, and a post
                  gains F priority per model version (the queue's `freshness`); without it
                  every unlabeled post is re-scored by the newest model before each batch
  --lag N         the newest N streamed posts are not yet in the pool (the pipeline has not
                  routed them when the annotators answer)
  --probe P       share of the posts scored in [0.9, 0.99) asked before everything else (the
                  queue's validation probes); posts scored >= 0.99 are auto-labeled and leave
                  the pool

Three knobs that are not pipeline effects but candidate remedies (bench/queue/RESULTS.md,
session 8):

  --accuracy A    the simulated annotators' accuracy (default 0.9; 1 = noiseless)
  --filter-topk K, --filter-weight W
                  a label outside the model's top K classes when the document was picked
                  trains with weight W (a likely annotator error)
  --power P       margin picks a weighted random sample, probability ~ (1 - margin)^P
                  (Gumbel-top-k, the queue's `routing.sampling_power`); 0 = top-k

Annotators are 90 % accurate (a wrong answer is uniform over the other labels); the classifier
is LogisticRegression(C) on sublinear tf-idf (Subject twice + body with quotes), refitted after
every batch of 25 labels; the first 50 labels are random (scoring's `min_labels`).

    python3 bench/queue/stream_sim_al.py --seeds 0,1 --rate 5 --idf labeled
"""
import hashlib
import os
import sys
import time

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from offline_text_al import load_splits, study_parser, view  # noqa: E402


def unit_hash(i, salt):
    h = hashlib.blake2b(f"{salt}:{i}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "little") / 2**64


def tfidf(counts, idf_rows):
    """Sublinear tf times idf fitted on `idf_rows`, rows scaled to unit length (scikit-learn's
    TfidfVectorizer(sublinear_tf=True) with idf from a subset)."""
    tf = counts.copy().astype(np.float64)
    tf.data = 1.0 + np.log(tf.data)
    n = counts[idf_rows].shape[0]
    df = np.bincount(counts[idf_rows].indices, minlength=counts.shape[1])
    idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    x = tf @ sp.diags(idf)
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.diags(1.0 / norms) @ x


def run(args, strategy, seed, counts, counts_test, y, yt, order, classes):
    rng = np.random.default_rng(seed)
    wrong = rng.random(len(y)) > args.accuracy
    shift = rng.integers(1, classes, size=len(y))
    answers = np.where(wrong, (y + shift) % classes, y)
    held = np.array([unit_hash(i, f"split{seed}") < args.holdout for i in range(len(y))])
    pick_rng = np.random.default_rng(seed + 100)
    all_rows = np.arange(len(y))
    if args.idf == "pool":
        X, Xt = tfidf(sp.vstack([counts]).tocsr(), all_rows), None
    chosen, curve = [], []
    # --filter-topk: labels outside the model's top K classes at pick time get this weight.
    weight = np.ones(len(y))
    model, version = None, 0
    # Warm-started from the previous fit: same optimum, a fraction of the L-BFGS iterations.
    lr = LogisticRegression(C=args.C, max_iter=300, warm_start=True)
    scored_priority = np.full(len(y), np.nan)  # priority at arrival (freshness mode)
    scored_conf = np.full(len(y), np.nan)
    auto = np.zeros(len(y), dtype=bool)
    streamed = 0
    while True:
        # Stream the posts that arrive before this batch is asked, scoring them on arrival.
        target = len(y) if args.rate == 0 else min(len(y), int(args.rate * (len(chosen) + args.batch)))
        arriving = order[streamed:target]
        streamed = max(streamed, target)
        if model is not None and len(arriving) and args.freshness is not None:
            p = model.predict_proba(X[arriving])
            top2 = -np.partition(-p, 1, axis=1)
            scored_conf[arriving] = top2[:, 0]
            scored_priority[arriving] = informativeness(strategy, top2, arriving, seed) \
                + args.freshness * version
        elif len(arriving) and args.freshness is not None:
            scored_conf[arriving] = 0.0
            scored_priority[arriving] = informativeness(strategy, None, arriving, seed)
        visible = streamed - args.lag
        if visible < len(chosen) + args.batch:  # the start of the stream
            visible = streamed
        pool = np.setdiff1d(order[:visible], chosen)
        pool = pool[~auto[pool]]
        if len(pool) == 0:
            break
        need = args.batch if chosen else 50
        if model is None or strategy == "random" and args.probe == 0:
            picks = pick_rng.choice(pool, min(need, len(pool)), replace=False) \
                if model is None else pick_rng.choice(pool, min(need, len(pool)), replace=False)
        else:
            if args.freshness is None:
                p = model.predict_proba(X[pool])
                top2 = -np.partition(-p, 1, axis=1)
                conf = top2[:, 0]
                prio = informativeness(strategy, top2, pool, seed)
            else:
                conf = scored_conf[pool]
                prio = scored_priority[pool].copy()
            if args.probe > 0:
                band = (conf >= 0.9) & (conf < 0.99)
                probe = band & np.array([unit_hash(i, "probe") < args.probe for i in pool])
                prio = np.where(probe, prio + 1e6, prio)
                newly_auto = pool[conf >= 0.99]
                auto[newly_auto] = True
                keep = conf < 0.99
                pool, prio = pool[keep], prio[keep]
            if args.power and strategy != "random":
                # Gumbel-top-k: a weighted sample without replacement, probability
                # proportional to informativeness^power (the queue's `sampling_power`).
                gumbel = -np.log(-np.log(pick_rng.random(len(prio)).clip(1e-300, 1.0)))
                prio = args.power * np.log(np.clip(prio, 1e-6, None)) + gumbel
            picks = pool[np.argsort(-prio, kind="stable")[:need]]
        if args.filter_topk and model is not None and len(picks):
            proba = model.predict_proba(X[picks])
            top = model.classes_[np.argsort(-proba, axis=1)[:, :args.filter_topk]]
            outside = ~(top == answers[picks][:, None]).any(axis=1)
            weight[np.asarray(picks)[outside]] = args.filter_weight
        chosen += list(picks)
        train_rows = np.array([i for i in chosen if not held[i]])
        if args.idf == "labeled":
            X = tfidf(counts, train_rows)
            Xt = tfidf(sp.vstack([counts[train_rows], counts_test]).tocsr(),
                       np.arange(len(train_rows)))[len(train_rows):]
        elif Xt is None:
            Xt = tfidf(sp.vstack([counts, counts_test]).tocsr(), all_rows)[len(y):]
        if hasattr(lr, "classes_") and len(lr.classes_) != len(np.unique(answers[train_rows])):
            lr = LogisticRegression(C=args.C, max_iter=300, warm_start=True)
        model = lr.fit(X[train_rows], answers[train_rows], sample_weight=weight[train_rows])
        version += 1
        n = len(chosen)
        if n % args.every < args.batch or n >= args.budget:
            curve.append((n, round(100 * (model.predict(Xt) == yt).mean(), 1)))
        if n >= args.budget:
            break
    return curve


def informativeness(strategy, top2, rows, seed):
    if strategy == "random" or top2 is None:
        return np.array([unit_hash(i, f"random{seed}") for i in rows])
    return 1.0 - (top2[:, 0] - top2[:, 1])


def labels_to_reach(curve, acc):
    prev = (0, 0.0)
    for n, a in curve:
        if a >= acc:
            n0, a0 = prev
            return n0 + (n - n0) * (acc - a0) / max(a - a0, 1e-9)
        prev = (n, a)
    return None


def main():
    ap = study_parser()
    ap.add_argument("--every", type=int, default=250)
    ap.add_argument("--rate", type=float, default=0)
    ap.add_argument("--idf", choices=["pool", "labeled"], default="pool")
    ap.add_argument("--holdout", type=float, default=0.0)
    ap.add_argument("--freshness", type=float, default=None)
    ap.add_argument("--probe", type=float, default=0.0)
    ap.add_argument("--lag", type=int, default=0)
    ap.add_argument("--accuracy", type=float, default=0.9, help="simulated annotators' accuracy")
    ap.add_argument("--filter-topk", type=int, default=0,
                    help="weight down labels outside the model's top K classes at pick time (0 = off)")
    ap.add_argument("--filter-weight", type=float, default=0.0)
    ap.add_argument("--power", type=float, default=0.0,
                    help="margin picks a weighted random sample ~ informativeness^power (0 = top-k)")
    args = ap.parse_args()
    splits = load_splits(args.data)
    if splits is None:
        return
    train, test, labels, index = splits
    vec = CountVectorizer(min_df=2, stop_words="english")
    counts = vec.fit_transform([view("subjbody", d["text"]) for d in train]).tocsr()
    counts_test = vec.transform([view("subjbody", d["text"]) for d in test]).tocsr()
    y = np.array([index[d["label"]] for d in train])
    yt = np.array([index[d["label"]] for d in test])
    print(f"settings: {vars(args)}", flush=True)
    for seed in [int(s) for s in args.seeds.split(",")]:
        order = np.random.default_rng(seed + 7).permutation(len(y))
        curves = {}
        for strategy in ["random", "margin"]:
            t0 = time.time()
            curves[strategy] = run(args, strategy, seed, counts, counts_test, y, yt, order,
                                   len(labels))
            print(f"seed {seed} {strategy} ({time.time() - t0:.0f} s): "
                  + " ".join(f"{n}:{a}" for n, a in curves[strategy]), flush=True)
        savings = []
        for n, a in curves["random"]:
            m = labels_to_reach(curves["margin"], a)
            savings.append(f"{n}:{'-' if m is None else f'{100 * (1 - m / n):+.0f}%'}")
        print(f"seed {seed} margin's saving at random's points: {' '.join(savings)}", flush=True)


if __name__ == "__main__":
    main()

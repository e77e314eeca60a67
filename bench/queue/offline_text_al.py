#!/usr/bin/env python3
"""Which words a classifier needs before active learning pays: offline, scikit-learn only.

Pool-based margin vs random sampling on 20 Newsgroups with tf-idf features built from different
parts of each post, to tell whether uncertainty sampling's failure to beat random
(bench/queue/RESULTS.md, offline study) is the selection rule or the features:

  bodynq    the body without quotes or headers (what ingest's topic terms see)
  subjnq    the Subject line + that body
  subjbody  the Subject line twice + the body with its quotes (what scoring's word features see
            since ingest's context terms)
  body      the body with quotes, no Subject

Simulated annotators are 90 % accurate (a wrong answer is uniform over the other labels); the
classifier is LogisticRegression(C) refitted after every batch of 25 labels from 100 random
ones; test accuracy on the bydate test split every 100 labels.

    python3 bench/queue/offline_text_al.py --mode subjbody --seeds 0
"""
import argparse
import gzip
import json
import os
import re

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression


def load(path):
    with gzip.open(path, "rt") as f:
        return [json.loads(line) for line in f]


def subject_and_body(text):
    header, _, body = text.partition("\n\n")
    subject = ""
    for line in header.split("\n"):
        if line.lower().startswith("subject:"):
            subject = line[8:]
    return subject, body


def without_quotes(body):
    return "\n".join(
        line
        for line in body.split("\n")
        if not re.match(r"\s*(>|\|)", line) and not re.search(r"(writes|wrote|says|said):\s*$", line)
    )


def view(mode, text):
    s, b = subject_and_body(text)
    return {
        "subjbody": lambda: f"{s}\n{s}\n{b}",
        "body": lambda: b,
        "bodynq": lambda: without_quotes(b),
        "subjnq": lambda: f"{s}\n{without_quotes(b)}",
    }[mode]()


def study_parser():
    """The options every 20 Newsgroups active-learning study here shares (this script and
    stream_sim_al.py)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="../shared/data/20newsgroups")
    ap.add_argument("--C", type=float, default=10.0)
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--budget", type=int, default=1500)
    ap.add_argument("--batch", type=int, default=25)
    return ap


def load_splits(data):
    """(train, test, labels, label index) from `data`, or None after printing why it is
    skipped."""
    if not os.path.exists(os.path.join(data, "train.jsonl.gz")):
        print(f"skipped: 20 Newsgroups not found under {data}")
        return None
    train = load(os.path.join(data, "train.jsonl.gz"))
    test = load(os.path.join(data, "test.jsonl.gz"))
    labels = sorted({d["label"] for d in train})
    return train, test, labels, {l: i for i, l in enumerate(labels)}


def main():
    ap = study_parser()
    ap.add_argument("--mode", default="subjbody", choices=["subjbody", "body", "bodynq", "subjnq"])
    args = ap.parse_args()
    splits = load_splits(args.data)
    if splits is None:
        return
    train, test, labels, index = splits
    vec = TfidfVectorizer(sublinear_tf=True, min_df=2, stop_words="english")
    X = vec.fit_transform([view(args.mode, d["text"]) for d in train])
    Xt = vec.transform([view(args.mode, d["text"]) for d in test])
    y = np.array([index[d["label"]] for d in train])
    yt = np.array([index[d["label"]] for d in test])
    print(f"mode {args.mode}: {X.shape[0]} posts, {X.shape[1]} words", flush=True)
    for seed in [int(s) for s in args.seeds.split(",")]:
        rng = np.random.default_rng(seed)
        wrong = rng.random(len(y)) > 0.9
        shift = rng.integers(1, len(labels), size=len(y))
        answers = np.where(wrong, (y + shift) % len(labels), y)
        for strategy in ["random", "margin"]:
            pick_rng = np.random.default_rng(seed + 100)
            chosen = list(pick_rng.choice(len(y), 100, replace=False))
            curve = []
            while True:
                model = LogisticRegression(C=args.C, max_iter=300).fit(X[chosen], answers[chosen])
                if len(chosen) % 100 == 0:
                    curve.append((len(chosen), round(100 * (model.predict(Xt) == yt).mean(), 1)))
                if len(chosen) >= args.budget:
                    break
                pool = np.setdiff1d(np.arange(len(y)), chosen)
                if strategy == "random":
                    picks = pick_rng.choice(pool, args.batch, replace=False)
                else:
                    p = model.predict_proba(X[pool])
                    top2 = -np.partition(-p, 1, axis=1)
                    picks = pool[np.argsort(top2[:, 0] - top2[:, 1], kind="stable")[: args.batch]]
                chosen += list(picks)
            print(f"seed {seed} {strategy}: " + " ".join(f"{n}:{a}" for n, a in curve), flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Was it the selection or the classifier? Retrain scikit-learn on the pipeline's picks.

Reads the committed dataset of `active_learning.py` runs (each strategy's
`<run>/<strategy>/data/datasets/.../part-*.parquet`, kept before the bench deletes `data/`),
takes the human-labeled rows in labeling order with the labels the annotators gave, and fits
scikit-learn `LogisticRegression(C = 10)` on sublinear tf-idf (Subject twice + body with
quotes, as offline_text_al.py) on the first 250, 500, ... of them. If margin's picks beat
random's here but not in the pipeline, scoring's classifier is losing the gain; if not here
either, the selection is.

    python3 bench/queue/replay_picks.py RUN_DIR [RUN_DIR ...]
"""
import glob
import os
import sys

import numpy as np
import pyarrow.parquet as pq
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from offline_text_al import load, view  # noqa: E402


def main():
    data = os.environ.get("NEWSGROUPS", "../shared/data/20newsgroups")
    if not os.path.exists(os.path.join(data, "train.jsonl.gz")):
        print(f"skipped: 20 Newsgroups not found under {data}")
        return
    train = load(os.path.join(data, "train.jsonl.gz"))
    test = load(os.path.join(data, "test.jsonl.gz"))
    labels = sorted({d["label"] for d in train})
    index = {l: i for i, l in enumerate(labels)}
    vec = TfidfVectorizer(sublinear_tf=True, min_df=2, stop_words="english")
    X = vec.fit_transform([view("subjbody", d["text"]) for d in train])
    Xt = vec.transform([view("subjbody", d["text"]) for d in test])
    yt = np.array([index[d["label"]] for d in test])
    row_of = {"train:" + d["id"]: i for i, d in enumerate(train)}
    for run in sys.argv[1:]:
        for strategy in ["margin", "random"]:
            parts = glob.glob(f"{run}/{strategy}/**/part-*.parquet", recursive=True)
            if not parts:
                print(f"{run} {strategy}: no dataset found")
                continue
            rows = [r for p in parts for r in pq.read_table(p).to_pylist()]
            human = sorted((r for r in rows if r["source"] in ("human", "consensus")),
                           key=lambda r: r["labeled_at_ms"])
            picked = [(row_of[r["doc_id"]], index[r["label"]]) for r in human if r["doc_id"] in row_of]
            docs = [i for i, _ in picked]
            answers = np.array([y for _, y in picked])
            points = []
            for n in [250, 500, 750, 1000, 1250, len(docs)]:
                model = LogisticRegression(C=10, max_iter=300).fit(X[docs[:n]], answers[:n])
                points.append(f"{n}:{100 * (model.predict(Xt) == yt).mean():.1f}")
            print(f"{run} {strategy}: {' '.join(points)}", flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Produce a theta CSV (split,label,f1..fK) from 20 Newsgroups with scikit-learn's LDA.

Stand-in for the `latentlabel` CLI's real LDA model, so that classify_eval and
compare_sklearn.py can be validated on realistic topic mixtures before that exists.

    python3 bench/classify/make_theta.py --data /work/shared/data/20newsgroups \
        --topics 50 --out /tmp/theta50.csv

E-mail headers are stripped by default (everything before the first blank line), because
From/Organization lines identify authors and would leak the newsgroup.
"""
import argparse
import gzip
import json
import os
import sys
import time

import numpy as np
from sklearn.decomposition import LatentDirichletAllocation
from sklearn.feature_extraction.text import CountVectorizer


def strip_header(text: str) -> str:
    _, sep, body = text.partition("\n\n")
    return body if sep else text


def load(path: str, keep_headers: bool):
    texts, labels = [], []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            texts.append(row["text"] if keep_headers else strip_header(row["text"]))
            labels.append(row["label"])
    return texts, labels


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="folder with train.jsonl.gz and test.jsonl.gz")
    ap.add_argument("--topics", type=int, default=50)
    ap.add_argument("--max-iter", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep-headers", action="store_true")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    train_x, train_y = load(os.path.join(args.data, "train.jsonl.gz"), args.keep_headers)
    test_x, test_y = load(os.path.join(args.data, "test.jsonl.gz"), args.keep_headers)

    t0 = time.time()
    vec = CountVectorizer(max_df=0.5, min_df=5, stop_words="english", max_features=20000)
    counts_train = vec.fit_transform(train_x)
    counts_test = vec.transform(test_x)
    lda = LatentDirichletAllocation(
        n_components=args.topics,
        learning_method="online",
        max_iter=args.max_iter,
        batch_size=256,
        random_state=args.seed,
        n_jobs=1,
    )
    theta_train = lda.fit_transform(counts_train)
    theta_test = lda.transform(counts_test)
    print(f"LDA K={args.topics} fitted in {time.time() - t0:.0f}s, "
          f"vocab={len(vec.vocabulary_)}", file=sys.stderr)

    with open(args.out, "w") as out:
        out.write("split,label," + ",".join(f"f{i + 1}" for i in range(args.topics)) + "\n")
        for split, theta, labels in (("train", theta_train, train_y), ("test", theta_test, test_y)):
            for row, label in zip(theta, labels):
                out.write(f"{split},{label}," + ",".join(f"{v:.6g}" for v in row) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

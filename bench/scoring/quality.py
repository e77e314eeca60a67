#!/usr/bin/env python3
"""20 Newsgroups classifier quality: latentlabel's running pipeline next to scikit-learn.

Runs `latentlabel bench newsgroups quality` (the four services on an embedded broker; the
training posts stream in, their labels are streamed onto the labels topic in steps, the test
split is scored over HTTP), then fits scikit-learn's LogisticRegression on exactly the rows and
features scoring fitted its weights on (the svmlight files the run leaves behind: theta from the
same model, the same hashed tf-idf), and a plain TfidfVectorizer + LogisticRegression on the raw
text of the same rows for reference. Prints one table.

    python3 bench/scoring/quality.py [--binary target/release/latentlabel] [--out DIR] [--no-run]
"""
import argparse
import gzip
import json
import os
import subprocess
import sys

import numpy as np
import scipy.sparse as sp
from sklearn.datasets import load_svmlight_file
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler


def ece(confidence, correct, bins=15):
    """Top-label expected calibration error, the same binning as latentlabel's."""
    confidence, correct = np.asarray(confidence), np.asarray(correct, dtype=float)
    idx = np.clip(np.ceil(confidence * bins).astype(int), 1, bins) - 1
    total = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            total += abs(correct[m].sum() - confidence[m].sum())
    return total / len(confidence)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="target/release/latentlabel")
    ap.add_argument("--data", default="../shared/data/20newsgroups")
    ap.add_argument("--out", default="target/bench-newsgroups/quality")
    ap.add_argument("--no-run", action="store_true", help="reuse the files of an earlier run")
    ap.add_argument("extra", nargs="*", help="extra flags for `bench newsgroups`")
    args = ap.parse_args()
    if not os.path.exists(os.path.join(args.data, "train.jsonl.gz")):
        print(f"skipped: 20 Newsgroups not found under {args.data}")
        return
    if not args.no_run:
        cmd = [args.binary, "bench", "newsgroups", "--data", args.data, "--out", args.out,
               *args.extra, "quality"]
        print("running:", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True, env={**os.environ, "RUST_LOG": "warn"})
    summary = json.load(open(os.path.join(args.out, "quality.json")))
    k = summary["topics"]
    l2 = summary["l2"]
    test = [json.loads(l) for l in gzip.open(os.path.join(args.data, "test.jsonl.gz"))]
    print(f"\nK = {k}, text features: {'off' if summary['theta_only'] else summary['text_feature_buckets']} buckets, "
          f"scale {summary['text_feature_scale']}; l2 = {l2} (sklearn C = {1 / l2:g}); "
          f"model v{summary['model_version']} on {summary['docs_seen']} streamed posts\n")
    header = ("labels", "fit rows", "latentlabel acc", "sklearn same features", "diff (pts)",
              "latentlabel ECE", "sklearn ECE (uncalibrated)", "sklearn theta only", "sklearn tf-idf (raw text)")
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    rows = []
    for step in summary["steps"]:
        n = step["labels"]
        width = None
        Xtr, ytr = load_svmlight_file(os.path.join(args.out, f"train_{n}.svm"), zero_based=False)
        Xte, yte = load_svmlight_file(os.path.join(args.out, f"test_{n}.svm"), zero_based=False)
        width = max(Xtr.shape[1], Xte.shape[1])
        Xtr, _ = load_svmlight_file(os.path.join(args.out, f"train_{n}.svm"), zero_based=False, n_features=width)
        Xte, _ = load_svmlight_file(os.path.join(args.out, f"test_{n}.svm"), zero_based=False, n_features=width)
        theta_tr, theta_te = Xtr[:, :k].toarray(), Xte[:, :k].toarray()
        # The same dense block as scoring's: standardised only when its config says so.
        scaler = StandardScaler(with_mean=summary["standardize"], with_std=summary["standardize"]).fit(theta_tr)
        A = sp.hstack([scaler.transform(theta_tr), Xtr[:, k:]]).tocsr()
        B = sp.hstack([scaler.transform(theta_te), Xte[:, k:]]).tocsr()
        same = LogisticRegression(C=1 / l2, max_iter=5000).fit(A, ytr)
        proba = same.predict_proba(B)
        pred = same.classes_[proba.argmax(1)]
        sk_acc = float((pred == yte).mean())
        sk_ece = ece(proba.max(1), pred == yte)
        # Theta alone is standardised, the setting in which it does best (bench/classify).
        std = StandardScaler().fit(theta_tr)
        theta_only = LogisticRegression(C=1 / l2, max_iter=5000).fit(std.transform(theta_tr), ytr)
        theta_acc = float(theta_only.score(std.transform(theta_te), yte))
        texts = [json.loads(l) for l in open(os.path.join(args.out, f"train_{n}.jsonl"))]
        vec = TfidfVectorizer(sublinear_tf=True)
        T = vec.fit_transform([t["text"] for t in texts])
        ref = LogisticRegression(C=10, max_iter=5000).fit(T, [t["label"] for t in texts])
        ref_acc = float(ref.score(vec.transform([t["text"] for t in test]), [t["label"] for t in test]))
        row = {
            "labels": n, "fit_rows": Xtr.shape[0], "latentlabel_accuracy": step["accuracy"],
            "sklearn_same_features_accuracy": sk_acc, "latentlabel_ece": step["ece"],
            "sklearn_ece": sk_ece, "sklearn_theta_only_accuracy": theta_acc,
            "sklearn_tfidf_accuracy": ref_acc, "latentlabel_macro_f1": step["macro_f1"],
        }
        rows.append(row)
        print(f"{n} | {Xtr.shape[0]} | {100 * step['accuracy']:.1f} % | {100 * sk_acc:.1f} % | "
              f"{100 * (step['accuracy'] - sk_acc):+.1f} | {step['ece']:.3f} | {sk_ece:.3f} | "
              f"{100 * theta_acc:.1f} % | {100 * ref_acc:.1f} %", flush=True)
    s = summary.get("stream_scoring") or {}
    if s:
        print(f"\nstream scoring work per core (K = {s.get('topics')}): "
              f"{s['docs_per_s_per_core']:.0f} docs/s ({s['documents']} test posts in {s['seconds']:.2f} s)")
    json.dump({"summary": summary, "rows": rows}, open(os.path.join(args.out, "comparison.json"), "w"), indent=1)


if __name__ == "__main__":
    sys.exit(main())

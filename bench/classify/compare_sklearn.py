#!/usr/bin/env python3
"""Side-by-side learning curves: latentlabel-classify vs scikit-learn LogisticRegression.

    python3 bench/classify/compare_sklearn.py --csv theta.csv \
        [--bin $CARGO_TARGET_DIR/release/examples/classify_eval] \
        [--budgets 100,500,2000,all] [--seeds 0,1,2] [--C 1.0] \
        [--text-dir /work/shared/data/20newsgroups] [-- extra classify_eval args]

The CSV has rows `split,label,f1..fK` (split = train|test). For each seed the train rows
are permuted once (numpy), written to a temporary CSV and handed to our example binary
with --no-shuffle, so both sides see exactly the same first-N rows at every budget.
Ours fits the weights on the first 85% of those N and its temperature on the last 15%
(unless told otherwise); scikit-learn fits on all N (what a user of it would do), so the
comparison is, if anything, tilted against us. Both standardise features unless
--no-standardize; C = 1 / l2.

With --text-dir (20 Newsgroups JSONL), a tf-idf + LogisticRegression reference on the raw
text runs on the same rows (the CSV's train/test rows must be in the files' order, as
make_theta.py writes them), as an upper reference for what words alone achieve.
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.preprocessing import StandardScaler


def ece(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """Expected calibration error, equal-width bins over the top probability."""
    conf = probs.max(axis=1)
    correct = (probs.argmax(axis=1) == labels).astype(float)
    idx = np.clip(np.ceil(conf * bins).astype(int), 1, bins) - 1
    total = 0.0
    for b in range(bins):
        mask = idx == b
        if mask.any():
            total += abs(correct[mask].sum() - conf[mask].sum())
    return total / len(labels)


def read_csv(path):
    header = None
    rows = {"train": [], "test": []}
    with open(path) as f:
        header = f.readline()
        for line in f:
            if not line.strip():
                continue
            split, label, rest = line.rstrip("\n").split(",", 2)
            rows[split].append((label, rest))
    return header, rows


def fit_sklearn(x_tr, y_tr, x_te, y_te, C, standardize, classes):
    if standardize:
        scaler = StandardScaler().fit(x_tr)
        x_tr, x_te = scaler.transform(x_tr), scaler.transform(x_te)
    model = LogisticRegression(C=C, max_iter=2000, tol=1e-6)
    model.fit(x_tr, y_tr)
    probs = np.zeros((len(x_te), len(classes)))
    probs[:, model.classes_] = model.predict_proba(x_te)  # unseen classes get 0, like ours
    pred = probs.argmax(axis=1)
    return {
        "accuracy": accuracy_score(y_te, pred),
        "macro_f1": f1_score(y_te, pred, average="macro"),
        "ece": ece(probs, y_te),
    }


def strip_header(text):
    _, sep, body = text.partition("\n\n")
    return body if sep else text


def load_text(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [strip_header(json.loads(line)["text"]) for line in f]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--csv", required=True)
    target = os.environ.get("CARGO_TARGET_DIR", "target")
    ap.add_argument("--bin", default=os.path.join(target, "release/examples/classify_eval"))
    ap.add_argument("--budgets", default="100,500,2000,all")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--C", type=float, default=1.0)
    ap.add_argument("--no-standardize", action="store_true")
    ap.add_argument("--text-dir")
    ap.add_argument("--json-out", help="also write every measurement as JSON here")
    ap.add_argument("extra", nargs="*", help="extra classify_eval arguments (after --)")
    args = ap.parse_args()

    if not os.path.exists(args.bin):
        print(f"{args.bin} not found: build it with `cargo build --release -p latentlabel-classify "
              f"--example classify_eval` (and set CARGO_TARGET_DIR or --bin)", file=sys.stderr)
        return 2
    header, rows = read_csv(args.csv)
    classes = sorted({label for split in rows.values() for label, _ in split})
    index = {c: i for i, c in enumerate(classes)}
    x_all = {s: np.array([[float(v) for v in rest.split(",")] for _, rest in rows[s]]) for s in rows}
    y_all = {s: np.array([index[label] for label, _ in rows[s]]) for s in rows}
    n_train = len(rows["train"])
    budgets = [n_train if b == "all" else min(int(b), n_train) for b in args.budgets.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]

    tfidf = None
    if args.text_dir:
        from sklearn.feature_extraction.text import TfidfVectorizer

        text_train = load_text(os.path.join(args.text_dir, "train.jsonl.gz"))
        text_test = load_text(os.path.join(args.text_dir, "test.jsonl.gz"))
        if len(text_train) != n_train or len(text_test) != len(rows["test"]):
            print("text and CSV row counts differ; skipping tf-idf reference", file=sys.stderr)
        else:
            tfidf = (text_train, text_test)

    results = []  # (seed, budget, system, metrics)
    for seed in seeds:
        order = np.random.RandomState(seed).permutation(n_train)
        with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as tmp:
            tmp.write(header)
            for i in order:
                label, rest = rows["train"][i]
                tmp.write(f"train,{label},{rest}\n")
            for label, rest in rows["test"]:
                tmp.write(f"test,{label},{rest}\n")
        cmd = [args.bin, tmp.name, "--no-shuffle", "--budgets", ",".join(map(str, budgets)),
               "--l2", str(1.0 / args.C)] + (["--no-standardize"] if args.no_standardize else []) + args.extra
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        os.unlink(tmp.name)
        for line in out.splitlines():
            r = json.loads(line)
            results.append((seed, r["budget"], "ours", {k: r[k] for k in ("accuracy", "macro_f1", "ece")}))
            for method, m in r.get("by_calibration", {}).items():
                results.append((seed, r["budget"], f"ours/{method}", m))

        for n in budgets:
            take = order[:n]
            m = fit_sklearn(x_all["train"][take], y_all["train"][take], x_all["test"], y_all["test"],
                            args.C, not args.no_standardize, classes)
            results.append((seed, n, "sklearn", m))
            if tfidf:
                from sklearn.feature_extraction.text import TfidfVectorizer

                vec = TfidfVectorizer(sublinear_tf=True, min_df=2, stop_words="english")
                xt = vec.fit_transform([tfidf[0][i] for i in take])
                model = LogisticRegression(C=10.0, max_iter=2000).fit(xt, y_all["train"][take])
                probs = np.zeros((len(tfidf[1]), len(classes)))
                probs[:, model.classes_] = model.predict_proba(vec.transform(tfidf[1]))
                pred = probs.argmax(axis=1)
                results.append((seed, n, "tfidf", {
                    "accuracy": accuracy_score(y_all["test"], pred),
                    "macro_f1": f1_score(y_all["test"], pred, average="macro"),
                    "ece": ece(probs, y_all["test"]),
                }))

    def mean(system, n, key):
        vals = [m[key] for s, b, sys_, m in results if sys_ == system and b == n]
        return float(np.mean(vals)) if vals else float("nan")

    print(f"features: {args.csv}  (K={x_all['train'].shape[1]}, {n_train} train / {len(rows['test'])} test, "
          f"{len(classes)} classes), seeds {seeds}, C={args.C}, standardize={not args.no_standardize}")
    methods = [m for m in ("none", "temperature", "top_label_temperature", "isotonic")
               if any(sys_ == f"ours/{m}" for _, _, sys_, _ in results)]
    short = {"none": "none", "temperature": "NLL-T", "top_label_temperature": "top-T", "isotonic": "iso"}
    cols = ["labels", "ours acc", "sk acc", "diff", "ours F1", "sk F1", "ours ECE", "sk ECE"]
    cols += [f"ECE {short[m]}" for m in methods] + (["iso acc"] if "isotonic" in methods else [])
    cols += ["tfidf acc"] if tfidf else []
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for n in budgets:
        cells = [str(n)]
        cells += [f"{100 * mean('ours', n, 'accuracy'):.1f}", f"{100 * mean('sklearn', n, 'accuracy'):.1f}",
                  f"{100 * (mean('ours', n, 'accuracy') - mean('sklearn', n, 'accuracy')):+.1f}"]
        cells += [f"{100 * mean('ours', n, 'macro_f1'):.1f}", f"{100 * mean('sklearn', n, 'macro_f1'):.1f}"]
        cells += [f"{mean('ours', n, 'ece'):.3f}", f"{mean('sklearn', n, 'ece'):.3f}"]
        cells += [f"{mean(f'ours/{m}', n, 'ece'):.3f}" for m in methods]
        if "isotonic" in methods:
            cells += [f"{100 * mean('ours/isotonic', n, 'accuracy'):.1f}"]
        if tfidf:
            cells += [f"{100 * mean('tfidf', n, 'accuracy'):.1f}"]
        print("| " + " | ".join(cells) + " |")
    if args.json_out:
        with open(args.json_out, "w") as f:
            for s, b, system, m in results:
                f.write(json.dumps({"seed": s, "budget": b, "system": system, **m}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Tokenizer throughput: latentlabel-text vs scikit-learn's CountVectorizer analyzer.

One run times, single-threaded, over the same 20 Newsgroups train texts:
  * sklearn CountVectorizer().build_analyzer()                      (default settings)
  * sklearn CountVectorizer(stop_words='english').build_analyzer()
  * ours, full pipeline (strip headers/quotes/signatures + stop words + Snowball stemming)
  * ours without stemming
and prints a table of MB/s (raw text bytes, 10^6) with the ratio to sklearn's default.

Both sides are timed on processing only (texts already in memory), and both by wall clock and
by CPU time of the working thread: on a shared machine the CPU figure is the fairer one.

Usage (from the repo root):
    python3 bench/text/compare_sklearn.py [--input F] [--repeat N]
Ours runs `cargo run --release -p latentlabel-text --example tokenize_bench --` unless
LATENTLABEL_BIN names another command taking `--input F [--repeat N] [--no-stem]` and printing
one JSON TokenizeReport line (e.g. LATENTLABEL_BIN="latentlabel bench tokenize").
"""
import argparse
import gzip
import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_INPUT = REPO.parent / "shared" / "data" / "20newsgroups" / "train.jsonl.gz"


def load_texts(path):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


def time_sklearn(texts, repeat, **kwargs):
    from sklearn.feature_extraction.text import CountVectorizer

    analyze = CountVectorizer(**kwargs).build_analyzer()
    tokens = 0
    wall0, cpu0 = time.perf_counter(), time.thread_time()
    for _ in range(repeat):
        for t in texts:
            tokens += len(analyze(t))
    cpu = time.thread_time() - cpu0
    wall = time.perf_counter() - wall0
    return wall, cpu, tokens


def run_ours(path, repeat, extra):
    base = os.environ.get("LATENTLABEL_BIN")
    if base:
        cmd = shlex.split(base)
    else:
        cmd = ["cargo", "run", "--quiet", "--release", "-p", "latentlabel-text",
               "--example", "tokenize_bench", "--"]
    cmd += ["--input", str(path), "--repeat", str(repeat)] + extra
    out = subprocess.run(cmd, cwd=REPO, check=True, capture_output=True, text=True).stdout
    line = [l for l in out.splitlines() if l.strip().startswith("{")][-1]
    return json.loads(line), " ".join(shlex.quote(c) for c in cmd)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", type=Path, default=DEFAULT_INPUT)
    ap.add_argument("--repeat", type=int, default=3, help="passes over the corpus for our side")
    ap.add_argument("--sk-repeat", type=int, default=1, help="passes for scikit-learn (slow)")
    args = ap.parse_args()

    if not args.input.exists():
        print(f"SKIP: {args.input} not found (the shared data folder ../shared/data is missing)")
        return 0
    try:
        import sklearn
    except ImportError:
        print("scikit-learn missing; installing it with pip", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "scikit-learn"], check=True)
        import sklearn

    texts = load_texts(args.input)
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    print(f"input: {args.input} ({len(texts)} docs, {mb:.1f} MB); "
          f"scikit-learn {sklearn.__version__}; load average {os.getloadavg()[0]:.2f} "
          f"on {os.cpu_count()} cores")

    rows = []
    for name, kwargs in [("sklearn CountVectorizer (default)", {}),
                         ("sklearn CountVectorizer (stop_words='english')", {"stop_words": "english"})]:
        wall, cpu, tokens = time_sklearn(texts, args.sk_repeat, **kwargs)
        rows.append((name, mb * args.sk_repeat / wall, mb * args.sk_repeat / cpu, tokens // args.sk_repeat))

    commands = []
    for name, extra in [("ours: full (strip + stop words + stem)", []),
                        ("ours: no stemming (strip + stop words)", ["--no-stem"])]:
        report, cmd = run_ours(args.input, args.repeat, extra)
        commands.append(cmd)
        cpu_rate = report.get("mb_per_cpu_s") or report["mb_per_s"]
        rows.append((name, report["mb_per_s"], cpu_rate, report["tokens"] // max(args.repeat, 1)))

    base_wall, base_cpu = rows[0][1], rows[0][2]
    print()
    print(f"| {'tokenizer':<48} | {'MB/s wall':>9} | {'MB/s CPU':>9} | {'x sklearn (CPU)':>15} | {'tokens/pass':>11} |")
    print(f"|{'-' * 50}|{'-' * 11}:|{'-' * 11}:|{'-' * 17}:|{'-' * 13}:|")
    for name, wall, cpu, tokens in rows:
        print(f"| {name:<48} | {wall:>9.1f} | {cpu:>9.1f} | {cpu / base_cpu:>14.1f}x | {tokens:>11} |")
    print()
    print(f"wall-clock ratio, ours full vs sklearn default: {rows[2][1] / base_wall:.1f}x")
    for c in commands:
        print(f"ours: {c}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

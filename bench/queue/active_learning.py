#!/usr/bin/env python3
"""Active learning on 20 Newsgroups through the whole running pipeline.

Runs `latentlabel bench newsgroups active-learning` once per sampling strategy (uncertainty:
margin by default, and the random baseline) with the same stream, the same simulated
annotators (90 % accurate) and the same label budget, then prints:
  - both learning curves (test accuracy against human labels bought),
  - how many human labels each strategy needed to reach the accuracy random sampling ends at
    (and at each of random's curve points), i.e. the saving of active learning,
  - auto-label precision against the true labels, coverage, and cost per label by source.

    python3 bench/queue/active_learning.py [--budget 1500] [--strategies margin,random] [--no-run]
"""
import argparse
import json
import os
import subprocess
import sys


def labels_to_reach(curve, target):
    """Human labels at which a curve first reaches `target` accuracy (linear interpolation)."""
    prev = None
    for p in curve:
        if p["accuracy"] >= target:
            if prev is None or p["accuracy"] == prev["accuracy"]:
                return p["human_labels"]
            f = (target - prev["accuracy"]) / (p["accuracy"] - prev["accuracy"])
            return prev["human_labels"] + f * (p["human_labels"] - prev["human_labels"])
        prev = p
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="target/release/latentlabel")
    ap.add_argument("--data", default="../shared/data/20newsgroups")
    ap.add_argument("--out", default="target/bench-newsgroups/active-learning")
    ap.add_argument("--strategies", default="margin,random")
    ap.add_argument("--budget", type=int, default=1500)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--labels-per-100-docs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--diversity", default=None, help="none (the default) or round_robin")
    ap.add_argument("--freshness", default=None, help="queue.freshness (priority per classifier version)")
    ap.add_argument("--rescore", default=None, help="true/false: re-rank open tasks under each new classifier (default: the product's, false)")
    ap.add_argument("--sampling-power", default=None, help="routing.sampling_power: weighted random sampling of the queue")
    ap.add_argument("--unjudged-class-auto-labels", default=None,
                    help="routing.unjudged_class_auto_labels: cap a label's auto-labels until the "
                         "outlier test can judge it")
    ap.add_argument("--no-run", action="store_true")
    args = ap.parse_args()
    if not os.path.exists(os.path.join(args.data, "train.jsonl.gz")):
        print(f"skipped: 20 Newsgroups not found under {args.data}")
        return
    strategies = args.strategies.split(",")
    results = {}
    for s in strategies:
        out = os.path.join(args.out, s)
        if not args.no_run:
            cmd = [args.binary, "bench", "newsgroups", "--data", args.data, "--out", out,
                   "--seed", str(args.seed), "active-learning", "--strategy", s,
                   "--budget", str(args.budget), "--eval-every", str(args.eval_every),
                   "--labels-per-100-docs", str(args.labels_per_100_docs)]
            if args.freshness:
                cmd += ["--freshness", args.freshness]
            if args.diversity:
                cmd += ["--diversity", args.diversity]
            if args.rescore:
                cmd += ["--rescore", args.rescore]
            if args.sampling_power:
                cmd += ["--sampling-power", args.sampling_power]
            if args.unjudged_class_auto_labels:
                cmd += ["--unjudged-class-auto-labels", args.unjudged_class_auto_labels]
            print("running:", " ".join(cmd), flush=True)
            subprocess.run(cmd, check=True, env={**os.environ, "RUST_LOG": "warn"})
        results[s] = json.load(open(os.path.join(out, f"active_learning_{s}.json")))

    print("\n## Learning curves (test accuracy, 7,532 posts, against human labels bought)\n")
    print("strategy | " + " | ".join(f"{p['human_labels']}" for p in results[strategies[0]]["curve"]))
    for s in strategies:
        print(f"{s} | " + " | ".join(f"{100 * p['accuracy']:.1f} %" for p in results[s]["curve"]))

    if "random" in results:
        base = results["random"]["curve"]
        print("\n## Human labels needed to reach random sampling's accuracy\n")
        print("target accuracy | random | " + " | ".join(s for s in strategies if s != "random"))
        savings = {s: [] for s in strategies if s != "random"}
        for p in base[1:]:
            cells = []
            for s in savings:
                need = labels_to_reach(results[s]["curve"], p["accuracy"])
                if need is None:
                    cells.append("not reached")
                else:
                    savings[s].append(1 - need / p["human_labels"])
                    cells.append(f"{need:.0f} ({100 * (1 - need / p['human_labels']):+.0f} % fewer)")
            print(f"{100 * p['accuracy']:.1f} % | {p['human_labels']} | " + " | ".join(cells))
        for s, v in savings.items():
            if v:
                final = labels_to_reach(results[s]["curve"], base[-1]["accuracy"])
                print(f"\n{s}: mean saving {100 * sum(v) / len(v):.0f} % over random's curve points; "
                      f"to reach random's final {100 * base[-1]['accuracy']:.1f} % "
                      f"({base[-1]['human_labels']} labels): "
                      + (f"{final:.0f} labels ({100 * (1 - final / base[-1]['human_labels']):.0f} % fewer)"
                         if final is not None else "not reached"))

    print("\n## Auto-labels and cost (committed dataset version)\n")
    print("strategy | rows | auto-labels | auto-label precision (true labels) | coverage | human label accuracy | threshold | cost per label by source | total")
    print("--- | --- | --- | --- | --- | --- | --- | --- | ---")
    for s in strategies:
        d = results[s]["dataset"]
        by = d["by_source"]
        human = by.get("human", {})
        cost = results[s]["cost"] or {}
        per = ", ".join(f"{k} ${v:.4f}" for k, v in (cost.get("cost_per_label_usd") or {}).items())
        print(f"{s} | {d['rows']} | {by.get('model', {}).get('rows', 0)} | {100 * d['auto_label_precision']:.1f} % | "
              f"{100 * d['auto_label_coverage']:.1f} % of {d['streamed']} | "
              f"{100 * human.get('accuracy', float('nan')):.1f} % | {results[s]['auto_label_threshold']} | {per} | "
              f"${cost.get('total_usd', 0):.2f}")
    print("\n## Where the human work went (queue counters)\n")
    print("strategy | routine labels | of which validation probes | audits | gold answers")
    print("--- | --- | --- | --- | ---")
    for s in strategies:
        c = (results[s].get("queue_stats") or {}).get("counters") or {}
        print(f"{s} | {c.get('finalized_routine', '?')} | {c.get('finalized_validation_probes', '?')} | "
              f"{c.get('finalized_audit', '?')} | {c.get('gold_answers', '?')}")
    print("\n## Wrong auto-labels by the label the model gave\n")
    for s in strategies:
        by_label = results[s]["dataset"].get("auto_labels_by_label") or {}
        wrong = sorted(((v["rows"] - v["correct"], k, v) for k, v in by_label.items()), reverse=True)
        print(f"{s}: " + ", ".join(f"{k} {v['correct']}/{v['rows']}" for w, k, v in wrong if w > 0))
    json.dump(results, open(os.path.join(args.out, "comparison.json"), "w"), indent=1)


if __name__ == "__main__":
    sys.exit(main())

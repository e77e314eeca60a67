#!/usr/bin/env python3
"""Seed-averaged active-learning curves from several `active_learning.py --out DIR` runs.

Per-seed curves of a 1,500-label budget move by 1-3 accuracy points between seeds, as much as
the effect being measured, so the comparison the issue asks for (human labels needed to reach
the same accuracy) is read off the mean curve over seeds: for each strategy, the accuracy at
each evaluation point is averaged over the seeds, and the labels margin needs to reach random's
mean accuracy at each point are interpolated on margin's mean curve.

Usage: python3 bench/queue/aggregate_seeds.py DIR [DIR ...] [--extra seeds.json]
  DIR           an --out directory holding comparison.json (one seed, both strategies)
  --extra FILE  more seeds as {"seed": {"margin": [acc...], "random": [acc...]}} at the same
                evaluation points (e.g. earlier runs whose raw output is gone, from RESULTS.md)
"""
import argparse
import json
import os

from active_learning import labels_to_reach


def curves_from_dir(path):
    with open(os.path.join(path, "comparison.json")) as f:
        runs = json.load(f)
    out = {}
    for strategy, run in runs.items():
        # The curve's last point is the refit after the stream ends. When the budget was spent
        # before that, the evaluation at the budget is the final point and the refit (same
        # labels, a label or two more) is dropped; when the stream ended first, the refit is
        # the last measurement there is.
        curve = run["curve"]
        if len(curve) >= 2 and curve[-2]["human_labels"] >= run["budget"]:
            curve = curve[:-1]
        points = {}
        for p in curve:
            points.setdefault(p["human_labels"], p["accuracy"])
        out[strategy] = sorted(points.items())
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dirs", nargs="*")
    ap.add_argument("--extra")
    args = ap.parse_args()

    seeds = {}
    for d in args.dirs:
        # Runs of the same seed from different directories are separate runs (the pipeline is
        # asynchronous, so a rerun of a seed is not a replay).
        name = os.path.normpath(d)
        key = os.path.basename(name)
        if key in seeds:
            key = os.path.join(os.path.basename(os.path.dirname(name)), key)
        seeds[key] = curves_from_dir(d)
    grid = None
    for curves in seeds.values():
        labels = [n for n, _ in curves["random"]]
        grid = labels if grid is None else grid
    if args.extra:
        with open(args.extra) as f:
            for seed, curves in json.load(f).items():
                seeds[seed] = {s: list(zip(grid, accs)) for s, accs in curves.items()}

    print(f"{len(seeds)} seeds: {', '.join(seeds)}")
    print("\nper seed (accuracy % at each evaluation point; labels margin needs for random's final)")
    finals = []
    for seed, curves in seeds.items():
        row = []
        for s in ("margin", "random"):
            row.append(f"{s} " + " / ".join(f"{100 * a:.1f}" for _, a in curves[s]))
        target = curves["random"][-1][1]
        need = labels_to_reach([{"human_labels": n, "accuracy": a} for n, a in curves["margin"]],
                               target)
        last = curves["random"][-1][0]
        verdict = "not reached" if need is None else f"{need:,.0f} ({100 * (1 - need / last):.0f} % fewer)"
        finals.append(need)
        print(f"  {seed}: {row[0]} | {row[1]} | {verdict}")

    mean = {}
    for s in ("margin", "random"):
        columns = list(zip(*[[a for _, a in seeds[k][s]] for k in seeds]))
        mean[s] = [(n, sum(c) / len(c)) for n, c in zip(grid, columns)]
    print("\nmean over seeds")
    for s in ("margin", "random"):
        print(f"  {s:6s} " + " / ".join(f"{100 * a:.2f}" for _, a in mean[s]))
    margin_curve = [{"human_labels": n, "accuracy": a} for n, a in mean["margin"]]
    savings = []
    print("\nlabels margin needs (mean curve) to reach random's mean accuracy")
    for n, a in mean["random"][1:]:
        need = labels_to_reach(margin_curve, a)
        if need is None:
            print(f"  {100 * a:.2f} % (random at {n:,}): not reached")
            continue
        savings.append(1 - need / n)
        print(f"  {100 * a:.2f} % (random at {n:,}): {need:,.0f} ({100 * (1 - need / n):+.0f} % fewer)")
    if savings:
        print(f"\nmean saving over random's points after the first: {100 * sum(savings) / len(savings):+.1f} %")


if __name__ == "__main__":
    main()

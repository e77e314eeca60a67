#!/usr/bin/env python3
"""Side-by-side benchmark: latentlabel's online LDA vs gensim LdaModel on UCI NIPS.

Both models get the same corpus, held-out split (document i is held out when i % 10 == 0),
K, mini-batch size, passes, alpha = eta = 1/K, offset/tau0, decay/kappa, iterations and
gamma_threshold. Both are then scored by the SAME evaluators:
  * held-out perplexity: each model's lambda is loaded into one gensim LdaModel and
    `log_perplexity(heldout)` is called with the same random state (perplexity = exp(-bound));
  * NPMI and UMass of the top 10 words, boolean-document co-occurrence over the training docs
    (one numpy implementation; see services/lda/src/coherence.rs for the definitions).
gensim is timed single-threaded (BLAS pinned to 1 thread); ours with 1 and 2 threads.

Usage: python3 bench/lda/compare_gensim.py [--ks 50,100] [--batch 256] [--passes 1]
Env:   LATENTLABEL_LDA_BIN  binary accepting lda_train's flags (default: the lda_train example
       under $CARGO_TARGET_DIR or target/release/examples).
"""
import os

# Pin BLAS before numpy loads so gensim's timing is single-threaded like ours with --threads 1.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = (ROOT / ".." / "shared" / "data").resolve()


def default_binary():
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return str(target / "release" / "examples" / "lda_train")


def read_uci(docword, vocab):
    opener = gzip.open if str(docword).endswith(".gz") else open
    with opener(docword, "rt") as f:
        d = int(f.readline())
        int(f.readline())
        int(f.readline())
        docs = [dict() for _ in range(d)]
        for line in f:
            parts = line.split()
            if len(parts) != 3:
                continue
            doc, word, count = int(parts[0]) - 1, int(parts[1]) - 1, int(parts[2])
            docs[doc][word] = docs[doc].get(word, 0) + count
    words = Path(vocab).read_text().split("\n")
    return [sorted(doc.items()) for doc in docs], [w.strip() for w in words if w.strip()]


def coherence(top, docs, eps=1e-12):
    """Mean NPMI (ordered pairs i != j) and UMass (pairs i > j) over topics, boolean docs."""
    import numpy as np

    vocab = sorted({w for t in top for w in t})
    slot = {w: i for i, w in enumerate(vocab)}
    m = np.zeros((len(docs), len(vocab)), dtype=np.float64)
    for d, doc in enumerate(docs):
        for w, _ in doc:
            if w in slot:
                m[d, slot[w]] = 1.0
    n = float(len(docs))
    single = m.sum(0) / n
    joint = (m.T @ m) / n
    npmis, umasses = [], []
    for t in top:
        ids = [slot[w] for w in t]
        npmi, umass = [], []
        for i, a in enumerate(ids):
            for j, b in enumerate(ids):
                if i == j:
                    continue
                if single[a] > 0 and single[b] > 0:
                    pmi = np.log((joint[a, b] + eps) / (single[a] * single[b]))
                    npmi.append(pmi / -np.log(joint[a, b] + eps))
                else:
                    npmi.append(0.0)
                if j < i:
                    umass.append(np.log((joint[a, b] + eps) / single[b]) if single[b] > 0 else 0.0)
        npmis.append(np.mean(npmi))
        umasses.append(np.mean(umass))
    return float(np.mean(npmis)), float(np.mean(umasses))


def top_words(lam, n=10):
    import numpy as np

    return [list(np.argsort(-row, kind="stable")[:n]) for row in lam]


def evaluate(lam, evaluator, heldout, train):
    """Held-out perplexity through one gensim model (same evaluator for both), plus coherence."""
    import numpy as np

    evaluator.state.sstats = (lam.astype(np.float64) - evaluator.eta).astype(evaluator.dtype)
    evaluator.sync_state()
    evaluator.random_state = np.random.RandomState(12345)
    bound = evaluator.log_perplexity(heldout)
    npmi, umass = coherence(top_words(lam), train)
    return float(np.exp(-bound)), npmi, umass


def run_gensim(train, heldout_unused, id2word, k, args):
    import numpy as np
    from gensim.models import LdaModel

    start = time.perf_counter()
    model = LdaModel(
        corpus=train, id2word=id2word, num_topics=k, chunksize=args.batch, passes=args.passes,
        alpha=np.full(k, 1.0 / k, dtype=np.float32), eta=1.0 / k, offset=args.tau0,
        decay=args.kappa, iterations=args.iterations, gamma_threshold=args.gamma_threshold,
        eval_every=None, random_state=args.seed, dtype=np.float32, update_every=1,
    )
    seconds = time.perf_counter() - start
    return model, seconds, model.state.get_lambda().astype(np.float32)


def run_ours(binary, docword, vocab, k, threads, args, dump):
    cmd = [binary, "--docword", str(docword), "--vocab", str(vocab), "--k", str(k),
           "--batch", str(args.batch), "--passes", str(args.passes), "--threads", str(threads),
           "--seed", str(args.seed), "--heldout-every", "10", "--iterations", str(args.iterations),
           "--gamma-threshold", str(args.gamma_threshold), "--tau0", str(args.tau0),
           "--kappa", str(args.kappa), "--dump-lambda", str(dump)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ks", default="50,100")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--passes", type=int, default=1)
    p.add_argument("--iterations", type=int, default=100)
    p.add_argument("--gamma-threshold", type=float, default=1e-3)
    p.add_argument("--tau0", type=float, default=1.0)
    p.add_argument("--kappa", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="also write the rows here")
    args = p.parse_args()

    nips = DATA / "uci-nips"
    docword, vocab = nips / "docword.nips.txt.gz", nips / "vocab.nips.txt"
    if not docword.exists() or not vocab.exists():
        print(f"SKIP: benchmark data not found under {DATA} (expected uci-nips/)")
        return 0
    try:
        import numpy as np
        from gensim.corpora import Dictionary  # noqa: F401
        from gensim.models import LdaModel
    except ImportError as e:
        print(f"SKIP: gensim/numpy not installed ({e}); pip install gensim")
        return 0
    binary = os.environ.get("LATENTLABEL_LDA_BIN", default_binary())
    if not Path(binary).exists():
        print(f"SKIP: binary {binary} not found; cargo build --release -p latentlabel-lda --examples")
        return 0

    docs, words = read_uci(docword, vocab)
    heldout = [d for i, d in enumerate(docs) if i % 10 == 0]
    train = [d for i, d in enumerate(docs) if i % 10 != 0]
    id2word = {i: w for i, w in enumerate(words)}
    print(f"UCI NIPS: {len(train)} train / {len(heldout)} held-out docs, V={len(words)}; "
          f"batch={args.batch} passes={args.passes} iterations={args.iterations} "
          f"gamma_threshold={args.gamma_threshold} tau0={args.tau0} kappa={args.kappa}", flush=True)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in [int(x) for x in args.ks.split(",")]:
            evaluator = LdaModel(id2word=id2word, num_topics=k, alpha=np.full(k, 1.0 / k, dtype=np.float32),
                                 eta=1.0 / k, iterations=args.iterations,
                                 gamma_threshold=args.gamma_threshold, dtype=np.float32, random_state=0)
            _, gsec, glam = run_gensim(train, heldout, id2word, k, args)
            gppl, gnpmi, gumass = evaluate(glam, evaluator, heldout, train)
            rows.append(dict(k=k, impl="gensim 1 thread", docs_per_s=len(train) * args.passes / gsec,
                             seconds=gsec, perplexity=gppl, npmi=gnpmi, umass=gumass))
            print(json.dumps(rows[-1]), flush=True)
            for threads in (1, 2):
                dump = Path(tmp) / f"lambda_{k}_{threads}.npy"
                rep = run_ours(binary, docword, vocab, k, threads, args, dump)
                ppl, npmi, umass = evaluate(np.load(dump), evaluator, heldout, train)
                rows.append(dict(k=k, impl=f"latentlabel {threads} thread{'s' if threads > 1 else ''}",
                                 docs_per_s=rep["docs_per_s"], seconds=rep["train_seconds"],
                                 perplexity=ppl, npmi=npmi, umass=umass,
                                 own_perplexity=rep["heldout_perplexity"], own_npmi=rep["npmi"],
                                 mean_iterations=rep["mean_iterations"]))
                print(json.dumps(rows[-1]), flush=True)

    print()
    print("| K | implementation | train s | docs/s | speed-up vs gensim | held-out perplexity | ppl vs gensim | NPMI | UMass |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        g = next(x for x in rows if x["k"] == r["k"] and x["impl"].startswith("gensim"))
        print(f"| {r['k']} | {r['impl']} | {r['seconds']:.2f} | {r['docs_per_s']:.0f} | "
              f"{r['docs_per_s'] / g['docs_per_s']:.1f}x | {r['perplexity']:.1f} | "
              f"{100 * (r['perplexity'] / g['perplexity'] - 1):+.2f}% | {r['npmi']:.4f} | {r['umass']:.3f} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Side-by-side benchmark: latentlabel's online LDA (the product binary, `latentlabel lda-train`)
vs the other online variational Bayes implementations a user could pick: gensim LdaModel (the
reference every ratio is taken against), scikit-learn LatentDirichletAllocation
(learning_method="online") and Vowpal Wabbit --lda (Hoffman's own C++), plus tomotopy's
collapsed Gibbs sampler for reference (a different, batch algorithm), on UCI NIPS and
20 Newsgroups, in one run. `pip install -r bench/lda/requirements.txt`; a peer that is not
installed is skipped with a printed reason (see `run_sklearn` / `run_vw` for the settings each
can and cannot match).

Corpora (each skipped with a printed reason when missing under ../shared/data):
  * nips: UCI NIPS as published (docword + vocab).
  * 20newsgroups: train.jsonl.gz tokenized ONCE by latentlabel's ingest tokenizer (defaults:
    header/quote/signature stripping, stop words, Snowball stemming), shuffled with a fixed seed,
    and exported as UCI bag of words (`lda-train --jsonl ... --shuffle --seed S --export-uci DIR
    --export-only`). Both implementations then read that same export, so they see identical
    bags of words in the same order.
Both models get the same held-out split (document i is held out when i % 10 == 0), K, mini-batch
size, passes, alpha = eta = 1/K (or, with --alpha auto, alpha learned by both from 1/K), offset/tau0,
decay/kappa, iterations and gamma_threshold. Both are
then scored by the SAME evaluators:
  * held-out perplexity: each model's lambda is loaded into one gensim LdaModel and
    `log_perplexity(heldout)` is called with the same random state (perplexity = exp(-bound));
  * NPMI and UMass of the top 10 words, boolean-document co-occurrence over the training docs
    (one numpy implementation; see services/lda/src/coherence.rs for the definitions);
  * live words: columns of lambda above eta in some topic. With tau0 = 1 the first update has
    rho = 1, so every word absent from the first mini-batch is left at exactly eta; its
    exp(E[log beta]) (~exp(psi(1/K)) ~ e^-K) is then negligible against the float32 epsilon in
    the E-step normaliser (gensim) or flushed to 0 (ours), so neither model ever learns it.
Timing: gensim's `update()` call (the model is constructed first, outside the clock, so random
initialisation is excluded as it is from our `train_seconds`), BLAS pinned to 1 thread; ours is
the `train_seconds` the binary reports (its mini-batch updates only), with each --threads value.
With --repeats N every run is repeated N times and the median time is reported (models are
deterministic, so quality is from one run).

Usage: python3 bench/lda/compare_gensim.py [--corpora nips,20newsgroups] [--ks 50,100]
           [--threads 1,2] [--batch 256] [--passes 1] [--repeats 1] [--json out.json]
           [--peers sklearn,vw,tomotopy] [--gibbs-sweeps 100] [--estep default|plain|squarem[,...]]
Env:   LATENTLABEL_BIN  the latentlabel binary (default: target/release/latentlabel under
       $CARGO_TARGET_DIR or the repo root; build with `cargo build --release`).
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
    return str(target / "release" / "latentlabel")


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


def topic_term(model):
    """The E[log p(beta | eta) - log q(beta | lambda)] part of gensim's `LdaModel.bound` (the same
    arithmetic), which `log_perplexity(heldout)` adds once to the held-out documents' terms."""
    import numpy as np
    from gensim.matutils import dirichlet_expectation
    from scipy.special import gammaln

    lam = model.state.get_lambda()
    elogbeta = dirichlet_expectation(lam)
    score = np.sum((model.eta - lam) * elogbeta)
    score += np.sum(gammaln(lam) - gammaln(model.eta))
    sum_eta = model.eta * model.num_terms if np.ndim(model.eta) == 0 else np.sum(model.eta)
    score += np.sum(gammaln(sum_eta) - gammaln(np.sum(lam, 1)))
    return float(score)


def evaluate(lam, evaluator, heldout, heldout_iv, train, alpha=None):
    """Held-out perplexity through one gensim model (same evaluator for both), plus coherence.
    `alpha`: the model's own document-topic prior when it learned one (`--alpha auto`); the
    evaluator's symmetric 1/K otherwise.

    Returns (perplexity, in-vocabulary perplexity, NPMI, UMass):
      * perplexity = exp(-log_perplexity(heldout)): gensim's bound per held-out word, all tokens,
        including the topic (lambda vs eta) term once, as in every earlier run of this benchmark;
      * in-vocabulary perplexity: only the held-out documents' terms (E[log p(w, theta)] -
        E[log q(theta)], no topic term) per word, over held-out tokens of words that occur in the
        training documents (`heldout_iv`). A word never seen in training keeps lambda = eta = 1/K
        in both models and costs about -digamma(1/K) ~ K nats per token whatever was learned; on
        20 Newsgroups 4.4 % of held-out tokens are such words and they dominate the first number.
    """
    import numpy as np

    k = lam.shape[0]
    evaluator.alpha = np.asarray(alpha if alpha is not None else np.full(k, 1.0 / k),
                                 dtype=evaluator.dtype)
    evaluator.state.sstats = (lam.astype(np.float64) - evaluator.eta).astype(evaluator.dtype)
    evaluator.sync_state()
    evaluator.random_state = np.random.RandomState(12345)
    bound = evaluator.log_perplexity(heldout)
    evaluator.random_state = np.random.RandomState(12345)
    words = sum(c for d in heldout_iv for _, c in d)
    docs_only = evaluator.bound(heldout_iv, subsample_ratio=1.0) - topic_term(evaluator)
    npmi, umass = coherence(top_words(lam), train)
    return float(np.exp(-bound)), float(np.exp(-docs_only / words)), npmi, umass


def live_words(lam, eta):
    """Words whose lambda rose above the prior eta in at least one topic (learned at all)."""
    return int((lam.max(0) > eta * (1 + 1e-3)).sum())


def run_gensim(train, id2word, k, args):
    import numpy as np
    from gensim.models import LdaModel

    model = LdaModel(
        corpus=None, id2word=id2word, num_topics=k, chunksize=args.batch, passes=args.passes,
        alpha="auto" if args.alpha == "auto" else np.full(k, 1.0 / k, dtype=np.float32),
        eta=1.0 / k, offset=args.tau0,
        decay=args.kappa, iterations=args.iterations, gamma_threshold=args.gamma_threshold,
        eval_every=None, random_state=args.seed, dtype=np.float32, update_every=1,
    )
    start = time.perf_counter()
    model.update(train)  # what LdaModel(corpus=...) calls
    seconds = time.perf_counter() - start
    alpha = np.asarray(model.alpha, dtype=np.float32) if args.alpha == "auto" else None
    return seconds, model.state.get_lambda().astype(np.float32), alpha


def run_sklearn(train, num_words, k, args):
    """scikit-learn's online variational Bayes (`learning_method="online"`), one process thread.

    Same K, alpha, eta, batch, passes, kappa, E-step cap and threshold (its `mean_change_tol` is
    gensim's test: mean absolute change of gamma). One convention differs: scikit-learn counts
    mini-batches from 1, so rho_t = (learning_offset + t)^-kappa starts at (tau0 + 1)^-kappa, and
    it requires learning_offset >= 1; we pass tau0, so its schedule runs one step behind ours and
    gensim's (first rho 0.71 instead of 1 with tau0 = 1)."""
    import numpy as np
    from scipy.sparse import csr_matrix
    from sklearn.decomposition import LatentDirichletAllocation

    rows, cols, vals = [], [], []
    for i, d in enumerate(train):
        for w, c in d:
            rows.append(i)
            cols.append(w)
            vals.append(c)
    x = csr_matrix((np.asarray(vals, dtype=np.float32), (rows, cols)), shape=(len(train), num_words))
    model = LatentDirichletAllocation(
        n_components=k, doc_topic_prior=1.0 / k, topic_word_prior=1.0 / k, learning_method="online",
        learning_decay=args.kappa, learning_offset=max(args.tau0, 1.0), max_iter=args.passes,
        batch_size=args.batch, evaluate_every=-1, total_samples=len(train),
        mean_change_tol=args.gamma_threshold, max_doc_update_iter=args.iterations, n_jobs=1,
        random_state=args.seed,
    )
    start = time.perf_counter()
    model.fit(x)
    seconds = time.perf_counter() - start
    return seconds, np.asarray(model.components_, dtype=np.float32), None


def run_vw(train, num_words, k, args, tmp):
    """Vowpal Wabbit's `--lda` (Hoffman's own online VB code in VW), through its Python bindings.

    Same K, alpha (`--lda_alpha`), eta (`--lda_rho`), D, mini-batch, kappa (`--power_t`). VW's
    rate is l * t^-power_t with t = initial_t + 1, 2, ...: `-l 1 --initial_t tau0-1` gives ours.
    Caveat (bench/lda/RESULTS.md, session 9): VW's lazy decay is fragile when the first rate is
    near 1. At exactly 1 (tau0 = 1) it stores log(1 - rho) = -inf, every later decay factor is
    NaN and `fmin(1, NaN)` makes it 1, so a word absent from a mini-batch never decays again
    (20 Newsgroups K = 100: lambda mass 2.7e6 where the update gives 1.2e6); at 1 - 5e-5 or
    1 - 5e-3 it loses most of lambda's mass instead (NIPS: 1.2e5 of 1.8e6). We run VW as a user
    would, with the same tau0, and report what it produces.
    VW's E-step differs in two ways that cannot be set to match: it has no iteration cap, and it
    stops on the *relative* change sum|d gamma| / sum gamma < lda_epsilon. We pass gensim's
    threshold rescaled at the mean training document length (threshold * K / mean tokens), the
    same stopping point for a document of mean length. VW reads the documents itself (its own
    parser, as the `vw` command does) from `| id:count ...` lines written outside the clock;
    integer feature names index the weights directly. The clock covers setup, parsing, learning
    and `finish()` (which learns the last partial mini-batch); the setup and model-writing time
    of an untrained model of the same size is subtracted."""
    import numpy as np
    from vowpalwabbit import Workspace

    bits = max(1, (num_words - 1).bit_length())
    tokens = sum(c for d in train for _, c in d)
    epsilon = args.gamma_threshold * k / (tokens / len(train))
    model_path = Path(tmp) / f"vw_{k}.txt"
    opts = (f"--lda {k} --lda_alpha {1.0 / k} --lda_rho {1.0 / k} --lda_D {len(train)} "
            f"--minibatch {args.batch} --power_t {args.kappa} --initial_t {args.tau0 - 1} -l 1 "
            f"-b {bits} --lda_epsilon {epsilon} --random_seed {args.seed} --quiet "
            f"--passes {args.passes} --readable_model {model_path}")
    data = Path(tmp) / "vw_train.txt"
    data.write_text("".join("| " + " ".join(f"{w}:{c}" for w, c in d) + "\n" for d in train))
    start = time.perf_counter()
    empty = Workspace(opts.replace(str(model_path), str(model_path) + ".empty"))
    empty.finish()
    overhead = time.perf_counter() - start
    start = time.perf_counter()
    vw = Workspace(f"{opts} -d {data}")  # with -d, construction already runs the learning
    vw.run_parser()
    vw.finish()
    seconds = time.perf_counter() - start - overhead
    lam = np.full((k, num_words), 1.0 / k, dtype=np.float32)
    with open(model_path) as f:
        for line in f:
            parts = line.split()
            if len(parts) != k + 1 or not parts[0].isdigit():
                continue  # header lines
            w = int(parts[0])
            if w < num_words:
                lam[:, w] = np.asarray(parts[1:], dtype=np.float32)
    return seconds, lam, None


def run_tomotopy(train, num_words, k, args):
    """tomotopy LDAModel, for reference: collapsed Gibbs sampling, a batch algorithm (every sweep
    visits every token of the corpus), so there is no mini-batch, rho or E-step to match. Same K,
    alpha and eta; `--gibbs-sweeps` sweeps (default 100) on one worker, after the random
    initial assignment (outside the clock). Its topic-word values with `normalize=False` are eta
    plus the topic's word counts, which is the Dirichlet parameter the evaluator reads as
    lambda."""
    import numpy as np
    import tomotopy as tp

    model = tp.LDAModel(k=k, alpha=1.0 / k, eta=1.0 / k, seed=args.seed)
    for d in train:
        model.add_doc([str(w) for w, c in d for _ in range(c)])
    model.train(0, workers=1, parallel=tp.ParallelScheme.NONE)
    start = time.perf_counter()
    model.train(args.gibbs_sweeps, workers=1, parallel=tp.ParallelScheme.NONE)
    seconds = time.perf_counter() - start
    lam = np.full((k, num_words), 1.0 / k, dtype=np.float32)
    columns = np.asarray([int(w) for w in model.used_vocabs])
    for t in range(k):
        lam[t, columns] = model.get_topic_word_dist(t, normalize=False)
    return seconds, lam, None


def run_ours(binary, docword, vocab, k, threads, args, dump, estep):
    cmd = [binary, "lda-train", "--docword", str(docword), "--vocab", str(vocab), "--k", str(k),
           "--batch", str(args.batch), "--passes", str(args.passes), "--threads", str(threads),
           "--seed", str(args.seed), "--heldout-every", "10", "--iterations", str(args.iterations),
           "--gamma-threshold", str(args.gamma_threshold), "--tau0", str(args.tau0),
           "--kappa", str(args.kappa), "--dump-lambda", str(dump)]
    if estep != "default":
        cmd += ["--estep-acceleration", "true" if estep == "squarem" else "false"]
    if args.alpha == "auto":
        # The learned alpha is in the manifest (written after train_seconds is measured).
        out_dir = dump.with_suffix(".out")
        cmd += ["--alpha", "auto", "--out", str(out_dir)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rep = json.loads(out.strip().splitlines()[-1])
    if args.alpha == "auto":
        rep["alpha"] = json.loads((out_dir / "manifest.json").read_text())["alpha"]
    return rep


def prepare_corpora(names, binary, tmp, args):
    """Yields (name, docword, vocab) per corpus, or (name, None, reason) when it is missing."""
    for name in names:
        if name == "nips":
            nips = DATA / "uci-nips"
            docword, vocab = nips / "docword.nips.txt.gz", nips / "vocab.nips.txt"
            if not docword.exists() or not vocab.exists():
                yield name, None, f"{docword} or {vocab} not found"
                continue
            yield name, docword, vocab
        elif name == "20newsgroups":
            jsonl = DATA / "20newsgroups" / "train.jsonl.gz"
            if not jsonl.exists():
                yield name, None, f"{jsonl} not found"
                continue
            out = Path(tmp) / "20newsgroups-uci"
            cmd = [binary, "lda-train", "--jsonl", str(jsonl), "--shuffle", "--seed",
                   str(args.shuffle_seed), "--export-uci", str(out), "--export-only"]
            rep = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            print(f"exported: {' '.join(cmd[1:])}\n  -> {rep.strip().splitlines()[-1]}", flush=True)
            yield name, out / "docword.txt", out / "vocab.txt"
        else:
            yield name, None, f"unknown corpus {name!r} (known: nips, 20newsgroups)"


def bench_corpus(name, docword, vocab, binary, tmp, args, rows):
    import numpy as np
    from gensim.models import LdaModel

    docs, words = read_uci(docword, vocab)
    heldout = [d for i, d in enumerate(docs) if i % 10 == 0]
    train = [d for i, d in enumerate(docs) if i % 10 != 0]
    train_tokens = sum(c for d in train for _, c in d) * args.passes
    seen = {w for d in train for w, _ in d}
    first = {w for d in train[:args.batch] for w, _ in d}
    heldout_iv = [[(w, c) for w, c in d if w in seen] for d in heldout]
    oov = sum(c for d in heldout for _, c in d) - sum(c for d in heldout_iv for _, c in d)
    id2word = {i: w for i, w in enumerate(words)}
    print(f"{name}: {len(train)} train / {len(heldout)} held-out docs, V={len(words)}, "
          f"{train_tokens // args.passes} training tokens, {len(seen)} words seen in training, "
          f"{len(first)} in the first mini-batch, {oov} held-out tokens of words absent from "
          f"training; batch={args.batch} passes={args.passes} "
          f"iterations={args.iterations} gamma_threshold={args.gamma_threshold} tau0={args.tau0} "
          f"kappa={args.kappa}", flush=True)
    median = lambda xs: float(np.median(xs))  # noqa: E731

    def add_row(k, evaluator, impl, times, lam, docs, tokens, alpha=None, **extra):
        """One row: the median time, and the model scored by the shared evaluators."""
        sec = median(times)
        ppl, iv_ppl, npmi, umass = evaluate(lam, evaluator, heldout, heldout_iv, train, alpha)
        if alpha is not None:
            extra["alpha_sum"] = float(np.sum(alpha))
        rows.append(dict(corpus=name, k=k, impl=impl, docs_per_s=docs / sec, tokens_per_s=tokens / sec,
                         seconds=sec, all_seconds=times, perplexity=ppl, iv_perplexity=iv_ppl,
                         npmi=npmi, umass=umass, live_words=live_words(lam, 1.0 / k), **extra))
        print(json.dumps(rows[-1]), flush=True)

    for k in [int(x) for x in args.ks.split(",")]:
        evaluator = LdaModel(id2word=id2word, num_topics=k, alpha=np.full(k, 1.0 / k, dtype=np.float32),
                             eta=1.0 / k, iterations=args.iterations,
                             gamma_threshold=args.gamma_threshold, dtype=np.float32, random_state=0)
        # gensim first (the reference every ratio is taken against; main() checked it imports).
        runners = {
            "gensim": ("gensim 1 thread", lambda: run_gensim(train, id2word, k, args)),
            "sklearn": ("scikit-learn 1 thread", lambda: run_sklearn(train, len(words), k, args)),
            "vw": ("Vowpal Wabbit 1 thread", lambda: run_vw(train, len(words), k, args, tmp)),
            "tomotopy": (f"tomotopy Gibbs {args.gibbs_sweeps} sweeps, 1 thread",
                         lambda: run_tomotopy(train, len(words), k, args)),
        }
        for peer in ["gensim"] + [p for p in args.peers.split(",") if p and p != "gensim"]:
            if peer not in runners:
                print(f"SKIP peer {peer!r}: unknown (known: sklearn, vw, tomotopy)", flush=True)
                continue
            impl, run = runners[peer]
            if args.alpha == "auto" and peer != "gensim":
                print(f"SKIP peer {peer}: it has no learned alpha (--alpha auto)", flush=True)
                continue
            try:
                runs = [run() for _ in range(args.repeats)]
            except ImportError as e:
                print(f"SKIP peer {peer}: not installed ({e}); pip install -r bench/lda/requirements.txt",
                      flush=True)
                continue
            add_row(k, evaluator, impl, [t for t, _, _ in runs], runs[0][1], len(train) * args.passes,
                    train_tokens, alpha=runs[0][2])
        for estep in args.estep.split(","):
            label = "" if estep == "default" else f" ({estep} E-step)"
            for threads in [int(x) for x in args.threads.split(",")]:
                dump = Path(tmp) / f"lambda_{name}_{k}_{threads}.npy"
                reps = [run_ours(binary, docword, vocab, k, threads, args, dump, estep)
                        for _ in range(args.repeats)]
                rep = reps[0]
                assert rep["docs"] == len(train) * args.passes, (rep["docs"], len(train))
                add_row(k, evaluator, f"latentlabel {threads} thread{'s' if threads > 1 else ''}{label}",
                        [r["train_seconds"] for r in reps], np.load(dump), rep["docs"], rep["tokens"],
                        alpha=rep.get("alpha"),
                        own_perplexity=rep["heldout_perplexity"], own_npmi=rep["npmi"],
                        mean_iterations=rep["mean_iterations"],
                        estep_gflops=rep.get("estep_gflops"))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpora", default="nips,20newsgroups")
    p.add_argument("--ks", default="50,100")
    p.add_argument("--threads", default="1,2", help="latentlabel thread counts (gensim: always 1)")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--passes", type=int, default=1)
    p.add_argument("--iterations", type=int, default=100)
    p.add_argument("--gamma-threshold", type=float, default=1e-3)
    p.add_argument("--tau0", type=float, default=1.0)
    p.add_argument("--kappa", type=float, default=0.5)
    p.add_argument("--alpha", choices=["symmetric", "auto"], default="symmetric",
                   help="symmetric: alpha = 1/K fixed; auto: gensim alpha='auto' and latentlabel "
                        "--alpha auto (learned asymmetric prior; each model is evaluated with its "
                        "own alpha; the other peers are skipped)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--shuffle-seed", type=int, default=0, help="20 Newsgroups shuffle (latentlabel --shuffle --seed)")
    p.add_argument("--repeats", type=int, default=1, help="timed runs per row; the median is reported")
    p.add_argument("--estep", default="default",
                   help="latentlabel E-step variants to run: default (the binary's), plain, squarem; "
                        "comma-separated")
    p.add_argument("--peers", default="sklearn,vw,tomotopy",
                   help="other implementations run side by side (sklearn, vw: online VB; tomotopy: "
                        "collapsed Gibbs, for reference; '' for none)")
    p.add_argument("--gibbs-sweeps", type=int, default=100, help="tomotopy's Gibbs sweeps")
    p.add_argument("--json", help="also write the rows here")
    args = p.parse_args()

    try:
        import numpy as np  # noqa: F401
        from gensim.models import LdaModel  # noqa: F401
    except ImportError as e:
        print(f"SKIP: gensim/numpy not installed ({e}); pip install gensim")
        return 0
    binary = os.environ.get("LATENTLABEL_BIN", default_binary())
    if not Path(binary).exists():
        print(f"SKIP: binary {binary} not found; cargo build --release")
        return 0

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, docword, vocab in prepare_corpora(args.corpora.split(","), binary, tmp, args):
            if docword is None:
                print(f"SKIP {name}: {vocab}", flush=True)
                continue
            bench_corpus(name, docword, vocab, binary, tmp, args, rows)

    print()
    print("| corpus | K | implementation | train s | runs s (fastest-slowest) | docs/s | tokens/s | "
          "speed-up vs gensim | held-out perplexity | vs gensim | in-vocab doc perplexity | vs gensim | "
          "NPMI | UMass | live words |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    verdicts = []
    for r in rows:
        g = next(x for x in rows if x["corpus"] == r["corpus"] and x["k"] == r["k"]
                 and x["impl"].startswith("gensim"))
        speedup = r["docs_per_s"] / g["docs_per_s"]
        dppl = 100 * (r["perplexity"] / g["perplexity"] - 1)
        ddoc = 100 * (r["iv_perplexity"] / g["iv_perplexity"] - 1)
        runs = r.get("all_seconds") or [r["seconds"]]
        print(f"| {r['corpus']} | {r['k']} | {r['impl']} | {r['seconds']:.2f} | "
              f"{min(runs):.3f}-{max(runs):.3f} | {r['docs_per_s']:.0f} | "
              f"{r['tokens_per_s']:.0f} | {speedup:.1f}x | {r['perplexity']:.6g} | {dppl:+.2f}% | "
              f"{r['iv_perplexity']:.6g} | {ddoc:+.2f}% | {r['npmi']:.4f} | {r['umass']:.3f} | {r['live_words']} |")
        if r["impl"].startswith("latentlabel"):
            # Quality target: held-out perplexity no more than 1 % above gensim's (lower is better).
            speed_ok, ppl_ok = speedup >= 20, max(dppl, ddoc) <= 1.0
            verdicts.append(f"{r['corpus']} K={r['k']} {r['impl']}: docs/s {speedup:.1f}x gensim "
                            f"(target >= 20x: {'met' if speed_ok else 'NOT met'}); perplexity "
                            f"{dppl:+.2f}% / in-vocab {ddoc:+.2f}% vs gensim "
                            f"(target <= +1%: {'met' if ppl_ok else 'NOT met'})")
    # Scaling target: 2 threads >= 1.7x 1 thread. Medians decide; the fastest runs show what
    # the code does when the VM is quiet (single runs here swing by up to 25 %).
    for r in rows:
        if not r["impl"].startswith("latentlabel 2 threads"):
            continue
        label = r["impl"][len("latentlabel 2 threads"):]
        one = next((x for x in rows if x["corpus"] == r["corpus"] and x["k"] == r["k"]
                    and x["impl"] == "latentlabel 1 thread" + label), None)
        if one is None:
            continue
        ratio = one["seconds"] / r["seconds"]
        fastest = min(one.get("all_seconds") or [one["seconds"]]) / min(r.get("all_seconds") or [r["seconds"]])
        verdicts.append(f"{r['corpus']} K={r['k']} latentlabel{label} 2 threads vs 1: {ratio:.2f}x by medians, "
                        f"{fastest:.2f}x by fastest runs (target >= 1.7x: {'met' if ratio >= 1.7 else 'NOT met'})")
    for r in rows:
        if not r["impl"].startswith("latentlabel 1 thread"):
            continue
        peers = [x for x in rows if x["corpus"] == r["corpus"] and x["k"] == r["k"]
                 and not x["impl"].startswith(("latentlabel", "tomotopy"))]
        best = max(peers, key=lambda x: x["docs_per_s"])
        verdicts.append(f"{r['corpus']} K={r['k']} {r['impl']} vs the fastest online-VB peer ({best['impl']}): "
                        f"{r['docs_per_s'] / best['docs_per_s']:.1f}x docs/s, held-out perplexity "
                        f"{100 * (r['perplexity'] / best['perplexity'] - 1):+.1f}%")
    print()
    print("\n".join(verdicts))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

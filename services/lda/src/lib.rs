//! Online variational Bayes LDA (Hoffman, Blei & Bach 2010) for latentlabel's topic stream:
//! training on mini-batches, inference for scoring, held-out perplexity and coherence.
//!
//! The algorithm is the one gensim's `LdaModel` and scikit-learn's
//! `LatentDirichletAllocation(learning_method="online")` implement:
//!
//! - **E-step** per document on unique word ids and counts, in gensim's
//!   `expElogbeta`/`phinorm` form (phi is never materialised); gamma starts from a
//!   Gamma(100, 1/100) draw and iterates until the mean absolute change of gamma is below
//!   `gamma_threshold` or `max_iterations` is reached.
//! - **M-step**: `lambda <- (1 - rho) lambda + rho (eta + D/|batch| sstats)` with
//!   `rho_t = (tau0 + t)^-kappa`; D is `total_docs` or the running count of documents seen.
//!   Optionally gensim's Newton step for an asymmetric alpha (`learn_alpha`).
//!
//! # Layout
//! - [`document`]: [`Document`], the bag-of-words input.
//! - [`config`]: [`LdaConfig`] (defaults below) and [`LdaError`].
//! - `lambda`: the topic-word parameters with lazy decay.
//! - `model`: [`OnlineLda`] (update, growth/pruning of the vocabulary, evaluation) and
//!   [`LdaState`] for checkpoints.
//! - `inference`: [`TopicInference`], a cheap, shareable snapshot for scoring.
//! - `estep`: the one E-step used by training, inference and evaluation.
//! - `topics`, `simd`: exp(E[log beta]), stored word-major (a document's rows are gathered
//!   and transposed into the E-step's topic-major block), and the AVX2/FMA kernels with their
//!   runtime dispatch.
//! - `bound`: the variational bound behind [`OnlineLda::log_perplexity`].
//! - [`vocab`]: [`Vocabulary`] (open, bounded) and [`VocabRemap`].
//! - [`coherence`]: NPMI and UMass of top words.
//! - [`digamma`]: digamma, trigamma, ln-gamma and fast f32 variants.
//! - [`uci`]: the UCI bag-of-words reader; [`batch`]: offline training and reports.
//!
//! # Defaults ([`LdaConfig::default`])
//! | field | default | meaning |
//! |---|---|---|
//! | `num_topics` | 20 | K |
//! | `alpha` | 1/K | symmetric document-topic prior (start value if `learn_alpha`) |
//! | `eta` | 1/K | symmetric topic-word prior |
//! | `tau0` | 1.0 | rho offset (gensim `offset`): the first batch replaces the random init |
//! | `kappa` | 0.5 | rho decay (gensim `decay`): slowest forgetting, suits a drifting stream |
//! | `batch_size` | 256 | documents per update (gensim `chunksize` 2000, sklearn 128) |
//! | `max_iterations` | 100 | E-step cap per document (sklearn; gensim `iterations` = 50) |
//! | `gamma_threshold` | 1e-3 | E-step convergence on mean absolute gamma change |
//! | `total_docs` | None | D for the stochastic scaling; None = documents seen so far |
//! | `learn_alpha` | false | gensim `alpha='auto'` |
//! | `seed` | 0 | initial lambda and per-document gamma starts |
//! | `threads` | 0 | E-step threads in the model's own rayon pool; 0 = one per core |
//!
//! # Differences from gensim
//! - Step size: gensim uses `(offset + pass + docs_seen / chunksize)^-decay`; here
//!   `t` counts updates, so multi-pass training does not add the pass number.
//! - Randomness is keyed, not sequential: the initial column of word w and the starting gamma
//!   of document i in update t come from their own seeded streams, so results do not depend
//!   on the thread count, and growing the vocabulary gives the same columns as starting big.
//! - A column added by [`OnlineLda::ensure_vocabulary`] is eta plus its initial draw decayed
//!   by prod (1 - rho_t): what it would be had the word existed all along without occurring.
//! - Inference (scoring, held-out bound) starts gamma at 1 (the mean of gensim's random draw)
//!   so it is deterministic.
//! - Arithmetic is f32 (gensim's default dtype too) with fast f32 digamma/exp in the
//!   E-step; exp(E[log beta]) and exp(E[log theta]) entries below 1e-18 are flushed to 0
//!   (they cannot change a normaliser that already adds f32 epsilon, and denormals are slow).
//!   The bound, alpha learning and coherence use f64 special functions.
//! - Coherence counts boolean document co-occurrence (see [`coherence`]).
//! - Lazy row decay (as Vowpal Wabbit): lambda is kept as `scale * weight + shift`, so the
//!   `(1 - rho)` decay of every entry is two scalar updates and an update reads and writes
//!   only its batch's words (see `lambda`). gensim and scikit-learn touch all K x V entries
//!   of lambda and recompute exp(E[log beta]) for all of them at every update.
//!
//! # Performance
//! - **Compiled three times, chosen at run time.** Inner loops are written over 8-lane chunks
//!   of a topic dimension padded to a multiple of 8, and compiled for the baseline, AVX2+FMA
//!   and AVX-512; the AVX levels compute the same bits.
//! - **The E-step works on a topic-major block.** Each document's rows of exp(E[log beta])
//!   are gathered into the block (8 x 8 register transposes). Each iteration makes one pass
//!   over it per tile of words: phinorm down the active topics, one division, then the
//!   accumulations.
//!   - Topics whose exp(E[log theta]) has flushed to exactly 0 add nothing to either
//!     product. They are skipped through an index list of active topics, and digamma/exp run
//!     over the active ones only, padded to whole vectors.
//!   - Only the summation order of phinorm differs from gensim's.
//! - **The batch's E-step runs on the model's rayon pool.** Each document's result depends
//!   only on its position, so lambda is bit-identical for any thread count.
//! - **Only the batch's words are touched.**
//!   - The M-step consumes the sufficient statistics a block of batch words at a time,
//!     straight into lambda (no batch-sized statistics matrix).
//!   - Per-update buffers are reused between updates, because fresh pages are slow to fault in.
//! - Measurements and what was tried: `bench/lda/RESULTS.md`.

pub mod batch;
mod bound;
pub mod coherence;
pub mod config;
pub mod digamma;
pub mod document;
mod estep;
mod inference;
mod lambda;
mod model;
mod rng;
mod simd;
mod topics;
pub mod uci;
pub mod vocab;

pub use config::{LdaConfig, LdaError};
pub use document::Document;
pub use estep::FLOPS_PER_PAIR;
pub use inference::TopicInference;
pub use model::{LdaState, OnlineLda, UpdateStats};
#[doc(hidden)]
pub use simd::pass_kernel_gflops;
pub use vocab::{VocabRemap, Vocabulary};

#[cfg(test)]
mod tests;

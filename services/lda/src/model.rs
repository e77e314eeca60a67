//! `OnlineLda`: the trainable model (Hoffman, Blei & Bach 2010, as gensim's `LdaModel`).

use std::fmt;
use std::sync::Arc;

use ndarray::Array2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::bound;
use crate::config::{LdaConfig, LdaError};
use crate::digamma::{digamma, trigamma};
use crate::document::Document;
use crate::estep::{estep, EStepParams, Workspace};
use crate::inference::TopicInference;
use crate::lambda::{LazyLambda, ADD_BLOCK};
use crate::rng;
use crate::simd::Lanes;
use crate::topics::ExpElogbeta;
use crate::vocab::VocabRemap;

/// What one call to [`OnlineLda::update`] did.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UpdateStats {
    /// Documents in the batch.
    pub docs: usize,
    /// Tokens in the batch (sum of counts of in-vocabulary words).
    pub tokens: f64,
    /// Step size used.
    pub rho: f64,
    /// Mean E-step iterations (map evaluations, accelerated or not) over non-empty documents.
    pub mean_iterations: f64,
    /// Fraction of documents whose gamma converged before `max_iterations`.
    pub converged_fraction: f64,
    /// Wall time of the E-step over the batch (all threads together).
    #[serde(default)]
    pub estep_seconds: f64,
    /// (active topic, word) pairs the E-step's map evaluations multiplied, 4 flops each.
    #[serde(default)]
    pub estep_pairs: u64,
}

/// Everything needed to resume training; round-trips exactly through serde.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LdaState {
    pub config: LdaConfig,
    /// Topic-word variational parameters, K x V.
    pub lambda: Array2<f32>,
    /// Document-topic prior (K).
    pub alpha: Vec<f32>,
    pub updates: u64,
    pub docs_seen: u64,
}

/// Online variational Bayes LDA over a growable vocabulary.
#[derive(Clone)]
pub struct OnlineLda {
    config: LdaConfig,
    /// Topic-word parameters with lazy decay: an update touches only its batch's words.
    lambda: LazyLambda,
    alpha: Vec<f32>,
    eta: f32,
    updates: u64,
    docs_seen: u64,
    /// A dedicated pool, so `threads = 1` really is one thread whatever else runs.
    pool: Arc<rayon::ThreadPool>,
    /// Per-update storage kept between updates (see [`ExpElogbeta::from_rows`]).
    buffers: Buffers,
}

/// Large per-update buffers, reused so each mini-batch does not fault in fresh pages.
#[derive(Clone, Default)]
struct Buffers {
    topics: Vec<Lanes>,
}

impl fmt::Debug for OnlineLda {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnlineLda")
            .field("num_topics", &self.num_topics())
            .field("num_words", &self.num_words())
            .field("updates", &self.updates)
            .field("docs_seen", &self.docs_seen)
            .finish_non_exhaustive()
    }
}

/// Per-document E-step output kept until the scatter.
struct DocOut {
    ids: Vec<u32>,
    cphi: Vec<f32>,
    theta: Vec<f32>,
    /// E[log theta] in f64, only when alpha is learned.
    elog_theta: Option<Vec<f64>>,
    tokens: f64,
    iterations: usize,
    converged: bool,
    pairs: u64,
}

impl OnlineLda {
    /// A fresh model over `num_words` words; lambda = eta + Gamma(100, 1/100) like gensim,
    /// each column drawn from its own seeded stream (so growing the vocabulary later gives
    /// the same columns as starting with it).
    pub fn new(config: LdaConfig, num_words: usize) -> Result<Self, LdaError> {
        config.validate()?;
        let k = config.num_topics;
        let mut lambda = LazyLambda::new(k, config.eta_value(), 1.0);
        append_columns(&mut lambda, num_words, &config);
        let alpha = vec![config.alpha_value(); k];
        Self::assemble(config, lambda, alpha, 0, 0)
    }

    fn assemble(
        config: LdaConfig,
        lambda: LazyLambda,
        alpha: Vec<f32>,
        updates: u64,
        docs_seen: u64,
    ) -> Result<Self, LdaError> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(config.threads)
            .thread_name(|i| format!("lda-estep-{i}"))
            .build()
            .map_err(|e| LdaError::InvalidConfig(format!("cannot start thread pool: {e}")))?;
        Ok(OnlineLda {
            eta: config.eta_value(),
            config,
            lambda,
            alpha,
            updates,
            docs_seen,
            pool: Arc::new(pool),
            buffers: Buffers::default(),
        })
    }

    pub fn config(&self) -> &LdaConfig {
        &self.config
    }
    pub fn num_words(&self) -> usize {
        self.lambda.num_words()
    }
    pub fn num_topics(&self) -> usize {
        self.lambda.num_topics()
    }
    /// Mini-batch updates applied so far (t in rho_t).
    pub fn updates(&self) -> u64 {
        self.updates
    }
    /// Documents seen by `update` so far.
    pub fn docs_seen(&self) -> u64 {
        self.docs_seen
    }
    /// Topic-word variational parameters, K x V, standard layout (materialised: O(K x V)).
    pub fn lambda(&self) -> Array2<f32> {
        self.lambda.materialize()
    }
    pub fn alpha(&self) -> &[f32] {
        &self.alpha
    }
    pub fn eta(&self) -> f32 {
        self.eta
    }

    /// Grows the vocabulary to `num_words` (no-op if not larger). A new column is what it
    /// would be had the word existed from the start and never occurred: eta plus its seeded
    /// initial draw decayed by prod_t (1 - rho_t) (exactly eta once rho_0 = 1, i.e. tau0 = 1).
    pub fn ensure_vocabulary(&mut self, num_words: usize) {
        append_columns(&mut self.lambda, num_words, &self.config);
    }

    /// Applies a vocabulary compaction: column `old` moves to `remap.get(old)`; columns the
    /// remap drops (and any beyond `remap.old_len()`) are removed.
    pub fn retain_words(&mut self, remap: &VocabRemap) {
        self.lambda.retain(remap);
    }

    /// One online E+M step on a mini-batch. Word ids >= `num_words()` are ignored (call
    /// [`Self::ensure_vocabulary`] first to learn them). An empty batch changes nothing.
    pub fn update(&mut self, batch: &[Document]) -> UpdateStats {
        if batch.is_empty() {
            return UpdateStats::default();
        }
        let rho = self.config.rho(self.updates);
        // Only the batch's words are read or written: the E-step sees them under local ids
        // (their rank in `words`), with exp(E[log beta]) computed for those rows alone.
        let (words, local) = self.pool.install(|| localize(batch, self.num_words()));
        let topics = self.pool.install(|| {
            let buffer = std::mem::take(&mut self.buffers.topics);
            self.lambda.exp_elogbeta(Some(&words), buffer)
        });
        let estep_start = std::time::Instant::now();
        let outs = self.estep_batch(&topics, &local);
        let estep_seconds = estep_start.elapsed().as_secs_f64();

        self.docs_seen += batch.len() as u64;
        let total = self.config.total_docs.unwrap_or(self.docs_seen) as f64;
        let scale = total / batch.len() as f64;

        if self.config.learn_alpha {
            self.update_alpha(&outs, rho);
        }
        let kp = topics.padded_topics();
        let blocks = words.len().div_ceil(ADD_BLOCK);
        let blocks_per_task = blocks.div_ceil(4 * self.pool.current_num_threads());
        self.pool.install(|| {
            self.lambda
                .decay_and_add_with(rho, rho * scale, &words, kp, blocks_per_task, |first| {
                    let mut scatter = Scatter::new(&topics, &outs, first);
                    move |out: &mut [f32]| scatter.fill(out)
                })
        });
        self.buffers = Buffers {
            topics: topics.into_buffer(),
        };
        self.updates += 1;

        let nonempty = outs.iter().filter(|o| !o.ids.is_empty()).count();
        UpdateStats {
            docs: batch.len(),
            tokens: outs.iter().map(|o| o.tokens).sum(),
            rho,
            mean_iterations: if nonempty == 0 {
                0.0
            } else {
                outs.iter().map(|o| o.iterations).sum::<usize>() as f64 / nonempty as f64
            },
            converged_fraction: outs.iter().filter(|o| o.converged).count() as f64
                / batch.len() as f64,
            estep_seconds,
            estep_pairs: outs.iter().map(|o| o.pairs).sum(),
        }
    }

    /// E-step over the batch in parallel; gamma starts from a per-document stream keyed by
    /// (seed, update number, position), so the result does not depend on the thread count.
    fn estep_batch(&self, topics: &ExpElogbeta, batch: &[Document]) -> Vec<DocOut> {
        let params = EStepParams {
            topics,
            alpha: &self.alpha,
            max_iterations: self.config.max_iterations,
            gamma_threshold: self.config.gamma_threshold,
            accelerate: self.config.estep_acceleration,
        };
        let (k, seed, t) = (self.num_topics(), self.config.seed, self.updates);
        let learn_alpha = self.config.learn_alpha;
        let run = |ws: &mut Workspace, init: &mut Vec<f32>, i: usize, doc: &Document| {
            init.resize(k, 0.0);
            let mut r = rng::rng_for(seed, rng::DOC_GAMMA, t, i as u64);
            rng::fill_gamma100(&mut r, init);
            let info = estep(&params, doc, init, true, ws);
            DocOut {
                tokens: ws.tokens(),
                ids: ws.ids.clone(),
                cphi: ws.cphi.clone(),
                theta: ws.theta.as_flattened().to_vec(),
                elog_theta: learn_alpha.then(|| dirichlet_expectation(&ws.gamma)),
                iterations: info.iterations,
                converged: info.converged,
                pairs: info.pairs,
            }
        };
        self.pool.install(|| {
            batch
                .par_iter()
                .enumerate()
                .map(|(i, doc)| {
                    // One workspace per pool thread, kept across documents and batches:
                    // `map_init` would start a fresh one for every piece rayon splits the
                    // batch into, and their first-touch page faults do not parallelise.
                    WORKSPACE.with(|cell| match cell.try_borrow_mut() {
                        Ok(mut pair) => {
                            let (ws, init) = &mut *pair;
                            run(ws, init, i, doc)
                        }
                        Err(_) => run(&mut Workspace::default(), &mut Vec::new(), i, doc),
                    })
                })
                .collect()
        })
    }

    /// gensim's `update_alpha`: one Newton step on the Dirichlet prior, damped by rho, kept
    /// only if every component stays positive.
    fn update_alpha(&mut self, outs: &[DocOut], rho: f64) {
        let n = outs.len() as f64;
        let k = self.num_topics();
        let mut logphat = vec![0f64; k];
        for o in outs {
            let elog = match &o.elog_theta {
                Some(e) => e,
                None => continue,
            };
            for (l, e) in logphat.iter_mut().zip(elog) {
                *l += e / n;
            }
        }
        if let Some(alpha) = dirichlet_prior_step(&self.alpha, &logphat, n, rho) {
            self.alpha = alpha;
        }
    }

    /// prod_{t < updates} (1 - rho_t): how much of the random initialisation survives.
    fn initial_weight_left(config: &LdaConfig, updates: u64) -> f64 {
        let mut left = 1.0f64;
        for t in 0..updates {
            left *= 1.0 - config.rho(t);
            if left < 1e-30 {
                return 0.0;
            }
        }
        left
    }

    /// A snapshot for scoring: exp(E[log beta]) over the whole vocabulary (O(K x V)) and
    /// alpha.
    pub fn inference(&self) -> TopicInference {
        let topics = self
            .pool
            .install(|| self.lambda.exp_elogbeta(None, Vec::new()));
        TopicInference::from_parts(
            Arc::new(topics),
            self.alpha.clone(),
            self.config.max_iterations,
            self.config.gamma_threshold,
        )
        .with_acceleration(self.config.estep_acceleration)
    }

    /// gensim's `log_perplexity(heldout)`: the variational bound on `heldout` (topic term
    /// included once) divided by its token count. Perplexity is `exp(-bound)`.
    /// Returns NaN when `heldout` has no tokens.
    pub fn log_perplexity(&self, heldout: &[Document]) -> f64 {
        self.log_perplexity_scaled(heldout, heldout.len() as u64)
    }

    /// Like gensim's `log_perplexity(chunk, total_docs)`: the document part of the bound is
    /// scaled by `total_docs / heldout.len()` as if the chunk were a sample of a corpus of
    /// `total_docs` documents, and the result is per word of that corpus.
    pub fn log_perplexity_scaled(&self, heldout: &[Document], total_docs: u64) -> f64 {
        let inference = self.inference();
        self.pool.install(|| {
            bound::per_word_bound(
                &self.lambda.materialize(),
                &self.alpha,
                self.eta,
                &inference,
                heldout,
                total_docs,
            )
        })
    }

    /// The `n` most probable words of `topic` with their normalised weights, best first
    /// (ties: lower id first). Empty if `topic` is out of range.
    pub fn top_words(&self, topic: usize, n: usize) -> Vec<(u32, f32)> {
        if topic >= self.num_topics() {
            return Vec::new();
        }
        top_of_row(&self.lambda.topic_row(topic), n)
    }

    /// [`Self::top_words`] for every topic, from one materialisation of lambda: the store is
    /// word-major, so each per-topic call would walk all of it with a stride of K.
    pub fn top_words_all(&self, n: usize) -> Vec<Vec<(u32, f32)>> {
        let lambda = self.lambda.materialize();
        lambda
            .rows()
            .into_iter()
            .map(|row| top_of_row(&row.to_vec(), n))
            .collect()
    }

    /// The state to checkpoint.
    pub fn to_state(&self) -> LdaState {
        LdaState {
            config: self.config.clone(),
            lambda: self.lambda.materialize(),
            alpha: self.alpha.clone(),
            updates: self.updates,
            docs_seen: self.docs_seen,
        }
    }

    /// Restores a model from [`Self::to_state`] output, validating it.
    pub fn from_state(state: LdaState) -> Result<Self, LdaError> {
        state.config.validate()?;
        let k = state.config.num_topics;
        if state.lambda.nrows() != k || state.alpha.len() != k {
            return Err(LdaError::InvalidState(format!(
                "config has {k} topics but lambda has {} rows and alpha {} entries",
                state.lambda.nrows(),
                state.alpha.len()
            )));
        }
        check_positive(state.lambda.iter(), "lambda")?;
        check_positive(state.alpha.iter(), "alpha")?;
        let left = Self::initial_weight_left(&state.config, state.updates);
        let lambda = LazyLambda::from_lambda(&state.lambda, state.config.eta_value(), left);
        Self::assemble(
            state.config,
            lambda,
            state.alpha,
            state.updates,
            state.docs_seen,
        )
    }
}

/// Checks all values are finite and > 0.
pub(crate) fn check_positive<'a>(
    values: impl IntoIterator<Item = &'a f32>,
    name: &str,
) -> Result<(), LdaError> {
    match values.into_iter().find(|v| !(v.is_finite() && **v > 0.0)) {
        Some(v) => Err(LdaError::InvalidState(format!(
            "{name} must be positive and finite, found {v}"
        ))),
        None => Ok(()),
    }
}

/// E[log theta] = psi(gamma) - psi(sum gamma), in f64.
pub(crate) fn dirichlet_expectation(gamma: &[f32]) -> Vec<f64> {
    let total: f64 = gamma.iter().map(|&g| g as f64).sum();
    let psi_total = digamma(total);
    gamma
        .iter()
        .map(|&g| digamma(g as f64) - psi_total)
        .collect()
}

/// The `n` largest entries of `row` as (index, share of the row's total), best first (ties:
/// lower index first).
fn top_of_row(row: &[f32], n: usize) -> Vec<(u32, f32)> {
    let total: f64 = row.iter().map(|&x| x as f64).sum();
    let mut idx: Vec<u32> = (0..row.len() as u32).collect();
    let n = n.min(idx.len());
    let by_weight = |a: &u32, b: &u32| row[*b as usize].total_cmp(&row[*a as usize]).then(a.cmp(b));
    if n < idx.len() && n > 0 {
        idx.select_nth_unstable_by(n - 1, by_weight);
    }
    idx.truncate(n);
    idx.sort_unstable_by(by_weight);
    idx.into_iter()
        .map(|w| (w, (row[w as usize] as f64 / total) as f32))
        .collect()
}

/// gensim's `update_dir_prior`: one Newton step (Minka's fixed-point for a Dirichlet, with the
/// Hessian's diagonal-plus-rank-one structure) on `prior` towards the mean `logphat` of
/// E[log theta] over `n` documents, damped by `rho`. None when a component would not stay
/// positive and finite (gensim then keeps the old prior).
pub(crate) fn dirichlet_prior_step(
    prior: &[f32],
    logphat: &[f64],
    n: f64,
    rho: f64,
) -> Option<Vec<f32>> {
    let prior: Vec<f64> = prior.iter().map(|&a| a as f64).collect();
    let sum: f64 = prior.iter().sum();
    let gradf: Vec<f64> = prior
        .iter()
        .zip(logphat)
        .map(|(&a, &l)| n * (digamma(sum) - digamma(a) + l))
        .collect();
    let c = n * trigamma(sum);
    let q: Vec<f64> = prior.iter().map(|&a| -n * trigamma(a)).collect();
    let b = gradf.iter().zip(&q).map(|(g, q)| g / q).sum::<f64>()
        / (1.0 / c + q.iter().map(|q| 1.0 / q).sum::<f64>());
    let updated: Vec<f64> = prior
        .iter()
        .zip(gradf.iter().zip(&q))
        .map(|(&a, (g, q))| a + rho * (-(g - b) / q))
        .collect();
    updated
        .iter()
        .all(|&a| a > 0.0 && a.is_finite())
        .then(|| updated.into_iter().map(|a| a as f32).collect())
}

/// Appends words up to `num_words`, each with its own seeded Gamma(100, 1/100) draw.
fn append_columns(lambda: &mut LazyLambda, num_words: usize, config: &LdaConfig) {
    let mut draw = vec![0f32; lambda.num_topics()];
    lambda.reserve_words(num_words.saturating_sub(lambda.num_words()));
    for w in lambda.num_words()..num_words {
        let mut r = rng::rng_for(config.seed, rng::COLUMN, w as u64, 0);
        rng::fill_gamma100(&mut r, &mut draw);
        lambda.push_word(&draw);
    }
}

thread_local! {
    /// The E-step scratch of this thread (see `OnlineLda::estep_batch`).
    static WORKSPACE: std::cell::RefCell<(Workspace, Vec<f32>)> = std::cell::RefCell::default();
}

/// The batch's in-vocabulary words (ascending) and the batch with each id replaced by its
/// rank among them (still ascending within a document); ids >= `num_words` are dropped.
///
/// The batch's words are a bitset over the vocabulary plus a running count per 64-bit word,
/// so membership and rank are two loads from tables that stay in L1 (11 KB for the 87k words
/// of 20 Newsgroups) and the sorted word list falls out of one scan. A rank table of V
/// `u32`s (350 KB there) is read at random once per token; against it this function took
/// 15 % less time on 20 Newsgroups (8.8 -> 7.5 ms per pass). Documents then map in parallel.
fn localize(batch: &[Document], num_words: usize) -> (Vec<u32>, Vec<Document>) {
    let mut bits = vec![0u64; num_words.div_ceil(64)];
    for d in batch {
        for &w in &d.ids {
            if (w as usize) < num_words {
                bits[w as usize / 64] |= 1 << (w % 64);
            }
        }
    }
    let mut before = Vec::with_capacity(bits.len());
    let mut words = Vec::new();
    for (i, &block) in bits.iter().enumerate() {
        before.push(words.len() as u32);
        let mut rest = block;
        while rest != 0 {
            words.push((i * 64) as u32 + rest.trailing_zeros());
            rest &= rest - 1;
        }
    }
    let rank = |w: u32| -> Option<u32> {
        let (i, bit) = (w as usize / 64, w % 64);
        let block = *bits.get(i)?;
        (block >> bit & 1 == 1).then(|| before[i] + (block & ((1u64 << bit) - 1)).count_ones())
    };
    let local = batch
        .par_iter()
        .map(|d| {
            let mut ids = Vec::with_capacity(d.ids.len());
            let mut counts = Vec::with_capacity(d.ids.len());
            for (id, c) in d.iter() {
                if let Some(r) = rank(id) {
                    ids.push(r);
                    counts.push(c);
                }
            }
            Document { ids, counts }
        })
        .collect();
    (words, local)
}

/// Sufficient statistics sum_d theta_dk * c_dw / phinorm_dw * expElogbeta_wk, word-major
/// (one row of kp per batch word), produced one block of consecutive batch words at a time
/// for [`LazyLambda::decay_and_add_with`]. Within a row documents are added in batch order,
/// so the sums (and lambda) are identical for any thread count or block size. As in gensim,
/// each document adds theta * c/phinorm to its words' rows and each row is multiplied by its
/// expElogbeta once at the end, so the per-document loop does not read the topics' rows (a
/// cache miss per word).
struct Scatter<'a> {
    topics: &'a ExpElogbeta,
    outs: &'a [DocOut],
    /// Per document, the position in its sorted ids of the first word not yet scattered: one
    /// binary search per document and task, not two per document and block (those were a
    /// quarter of the scatter's profile samples at 1 thread).
    cursors: Vec<usize>,
    /// The batch-word index of the next block's first row.
    next: usize,
}

impl<'a> Scatter<'a> {
    fn new(topics: &'a ExpElogbeta, outs: &'a [DocOut], first: usize) -> Self {
        let cursors = outs
            .iter()
            .map(|o| o.ids.partition_point(|&w| (w as usize) < first))
            .collect();
        Scatter {
            topics,
            outs,
            cursors,
            next: first,
        }
    }

    /// Writes the next block's rows into `out` (every float of it). Compiled for the widest
    /// vectors the CPU has, like the E-step: at the baseline target each row update (K
    /// floats) ran on 4-lane SSE. Multiplies and adds stay separate, so every level gives
    /// the same bits.
    fn fill(&mut self, out: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if crate::simd::has_avx512() {
            // SAFETY: the CPU supports AVX2, FMA and AVX-512F/VL/BW/DQ (checked just above).
            unsafe { self.fill_avx512(out) };
            return;
        }
        #[cfg(target_arch = "x86_64")]
        if crate::simd::has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA (checked just above).
            unsafe { self.fill_avx2(out) };
            return;
        }
        self.fill_generic(out);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma,avx512f,avx512vl,avx512bw,avx512dq")]
    unsafe fn fill_avx512(&mut self, out: &mut [f32]) {
        self.fill_generic(out);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn fill_avx2(&mut self, out: &mut [f32]) {
        self.fill_generic(out);
    }

    #[inline(always)]
    fn fill_generic(&mut self, out: &mut [f32]) {
        let kp = self.topics.padded_topics();
        let lo = self.next;
        let hi = lo + out.len() / kp;
        out.fill(0.0);
        for (o, cursor) in self.outs.iter().zip(&mut self.cursors) {
            while let Some(&w) = o.ids.get(*cursor).filter(|&&w| (w as usize) < hi) {
                let c = o.cphi[*cursor];
                let dst = &mut out[(w as usize - lo) * kp..][..kp];
                for (d, &th) in dst.iter_mut().zip(&o.theta) {
                    *d += th * c;
                }
                *cursor += 1;
            }
        }
        for (i, dst) in out.chunks_exact_mut(kp).enumerate() {
            let row = self.topics.row(lo + i).as_flattened();
            for (d, &b) in dst.iter_mut().zip(row) {
                *d *= b;
            }
        }
        self.next = hi;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simd::padded;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Batch words and local ids against a sorted set, with ids past the vocabulary (dropped)
    /// and words in several 64-bit blocks, including the last, partial one.
    #[test]
    fn localize_ranks_the_batch_words() {
        let num_words = 64 * 5 + 13;
        let mut r = ChaCha8Rng::seed_from_u64(5);
        let batch: Vec<Document> = (0..9)
            .map(|_| {
                Document::from_pairs(
                    (0..num_words as u32 + 40)
                        .filter(|_| r.random_bool(0.05))
                        .map(|w| (w, 1.0 + w as f32)),
                )
            })
            .collect();
        let want: Vec<u32> = batch
            .iter()
            .flat_map(|d| d.ids.iter().copied())
            .filter(|&w| (w as usize) < num_words)
            .collect::<std::collections::BTreeSet<u32>>()
            .into_iter()
            .collect();
        assert!(want.len() > 64 && *want.last().unwrap() as usize >= 64 * 5);
        let (words, local) = localize(&batch, num_words);
        assert_eq!(words, want);
        for (d, l) in batch.iter().zip(&local) {
            let kept: Vec<(u32, f32)> = d
                .iter()
                .filter(|&(w, _)| (w as usize) < num_words)
                .collect();
            let got: Vec<(u32, f32)> = l.iter().map(|(i, c)| (words[i as usize], c)).collect();
            assert_eq!(got, kept);
        }
    }

    /// The fused scatter and M-step, whose tasks walk each document's ids with a cursor
    /// across several blocks, against the M-step fed the direct sums as one matrix. Words
    /// are a sparse subset of the vocabulary, so blocks map to uneven runs of lambda's rows.
    /// The additions happen in the same order, so lambda is equal bit for bit for any thread
    /// count and task size.
    #[test]
    fn fused_scatter_matches_direct_sums() {
        let (k, vocab) = (5, 9 * ADD_BLOCK);
        let kp = padded(k);
        let mut r = ChaCha8Rng::seed_from_u64(3);
        let words: Vec<u32> = (0..vocab as u32).filter(|_| r.random_bool(0.4)).collect();
        let v = words.len();
        assert!(v > 3 * ADD_BLOCK, "tasks must span blocks: {v} words");
        let batch_lambda = Array2::from_shape_fn((k, v), |_| r.random_range(0.1f32..5.0));
        let topics = ExpElogbeta::from_lambda(&batch_lambda);
        let outs: Vec<DocOut> = (0..7)
            .map(|_| {
                let ids: Vec<u32> = (0..v as u32).filter(|_| r.random_bool(0.3)).collect();
                DocOut {
                    cphi: ids.iter().map(|_| r.random_range(0.0f32..2.0)).collect(),
                    theta: (0..kp)
                        .map(|t| if t < k { r.random_range(0.0..1.0) } else { 0.0 })
                        .collect(),
                    ids,
                    elog_theta: None,
                    tokens: 0.0,
                    iterations: 0,
                    converged: true,
                    pairs: 0,
                }
            })
            .collect();
        let mut stats = vec![0f32; v * kp];
        for o in &outs {
            for (&w, &c) in o.ids.iter().zip(&o.cphi) {
                for t in 0..kp {
                    stats[w as usize * kp + t] += o.theta[t] * c;
                }
            }
        }
        for w in 0..v {
            for (t, &b) in topics.row(w).as_flattened().iter().enumerate() {
                stats[w * kp + t] *= b;
            }
        }
        let lambda = Array2::from_shape_fn((k, vocab), |_| r.random_range(0.1f32..5.0));
        let (rho, step) = (0.3, 7.0);
        let mut want = LazyLambda::from_lambda(&lambda, 0.01, 1.0);
        want.decay_and_add(rho, step, &words, &stats, kp);
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            for blocks_per_task in [1, 2, 3] {
                let mut got = LazyLambda::from_lambda(&lambda, 0.01, 1.0);
                pool.install(|| {
                    got.decay_and_add_with(rho, step, &words, kp, blocks_per_task, |first| {
                        let mut scatter = Scatter::new(&topics, &outs, first);
                        move |out: &mut [f32]| scatter.fill(out)
                    })
                });
                let case = format!("{threads} thread(s), {blocks_per_task} block(s) per task");
                assert_eq!(got.materialize(), want.materialize(), "{case}");
                assert_eq!(got.psi_totals(), want.psi_totals(), "{case}");
            }
        }
    }
}

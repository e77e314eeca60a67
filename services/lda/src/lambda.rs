//! `LazyLambda`: the topic-word parameters with VW-style lazy decay.
//!
//! Every online update shrinks *all* of lambda towards eta,
//! `lambda <- (1 - rho) lambda + rho eta`, and adds statistics only for the words of the
//! mini-batch. Done eagerly that costs O(V x K) per update, which dominates on a large
//! vocabulary (20 Newsgroups: V = 87k, ~8k words per batch of 256 posts). The decay is the
//! same affine map for every entry, so it is kept as two global numbers:
//!
//!   lambda_kw = scale * weight_kw + shift
//!
//! A decay step only updates `scale` and `shift`; adding a batch's statistics touches only
//! that batch's words (divided by the new `scale`), and the per-topic sums that
//! psi(sum_w lambda_kw) needs are kept incrementally. An update is O(batch vocabulary x K).
//! When `scale` gets small the weights are folded back (`weight <- scale * weight + shift`,
//! O(V x K)), so magnitudes stay well inside f32; with rho_t = (1 + t)^-0.5 that happens at
//! the first update (rho_0 = 1) and then ever more rarely.
//!
//! Weights are stored word-major (V rows of K) because the E-step reads whole words, and a
//! growing vocabulary appends rows.

use ndarray::Array2;
use rayon::prelude::*;

use crate::digamma::digamma_f32;
use crate::simd::Lanes;
use crate::topics::ExpElogbeta;
use crate::vocab::VocabRemap;

/// Fold the decay into the weights once `scale` falls below this: keeps weights under
/// ~1e6 x their folded size (f32 holds that with room) and the `(eta - shift) / scale`
/// of new words free of cancellation.
const FOLD_BELOW: f64 = 1e-6;

/// Batch words per block of statistics (see [`LazyLambda::decay_and_add_with`]).
pub(crate) const ADD_BLOCK: usize = 512;

#[derive(Clone, Debug)]
pub(crate) struct LazyLambda {
    k: usize,
    eta: f32,
    /// V x K, word-major.
    weights: Vec<f32>,
    scale: f64,
    shift: f64,
    /// sum_w weight_kw per topic (f64: it accumulates many small increments).
    weight_sums: Vec<f64>,
    /// The share of a word's initial random draw that survives, divided by `scale`:
    /// prod (1 - rho_t) over the updates before the last fold.
    initial_left: f64,
}

impl LazyLambda {
    /// An empty vocabulary; `initial_left` as in [`Self::push_word`].
    pub(crate) fn new(k: usize, eta: f32, initial_left: f64) -> Self {
        LazyLambda {
            k,
            eta,
            weights: Vec::new(),
            scale: 1.0,
            shift: 0.0,
            weight_sums: vec![0.0; k],
            initial_left,
        }
    }

    /// Takes a K x V lambda exactly as given (scale 1, shift 0), e.g. from a checkpoint.
    /// `initial_left` is prod (1 - rho_t) over the updates it has seen.
    pub(crate) fn from_lambda(lambda: &Array2<f32>, eta: f32, initial_left: f64) -> Self {
        let (k, v) = lambda.dim();
        let mut weights = vec![0f32; v * k];
        for ((t, w), &x) in lambda.indexed_iter() {
            weights[w * k + t] = x;
        }
        let mut lazy = LazyLambda::new(k, eta, initial_left);
        lazy.weights = weights;
        lazy.recompute_sums();
        lazy
    }

    pub(crate) fn num_topics(&self) -> usize {
        self.k
    }

    pub(crate) fn num_words(&self) -> usize {
        self.weights.len() / self.k.max(1)
    }

    /// lambda as a K x V matrix (O(V x K)).
    pub(crate) fn materialize(&self) -> Array2<f32> {
        let (k, v) = (self.k, self.num_words());
        let (a, b) = (self.scale as f32, self.shift as f32);
        let mut out = Array2::zeros((k, v));
        for (w, row) in self.weights.chunks_exact(k).enumerate() {
            for (t, &x) in row.iter().enumerate() {
                out[(t, w)] = a * x + b;
            }
        }
        out
    }

    /// Row `topic` of lambda (V entries).
    pub(crate) fn topic_row(&self, topic: usize) -> Vec<f32> {
        let (a, b) = (self.scale as f32, self.shift as f32);
        self.weights
            .chunks_exact(self.k)
            .map(|row| a * row[topic] + b)
            .collect()
    }

    /// Room for `additional` more words. Growing a V x K matrix by doubling copies it about
    /// twice and faults in fresh pages at every step: for 20 Newsgroups (17 MB at K = 50) that
    /// was a third of a whole `lda_profile` run.
    pub(crate) fn reserve_words(&mut self, additional: usize) {
        self.weights.reserve(additional * self.k);
    }

    /// Appends a word whose lambda column is eta plus `draw` scaled by the share of an
    /// initial draw that survives the updates so far: what the column would be had the word
    /// existed from the start and never occurred.
    pub(crate) fn push_word(&mut self, draw: &[f32]) {
        // lambda = eta + left * scale * g  <=>  weight = (eta - shift) / scale + left * g
        let base = (self.eta as f64 - self.shift) / self.scale;
        for (t, &g) in draw.iter().enumerate() {
            let x = (base + self.initial_left * g as f64) as f32;
            self.weights.push(x);
            self.weight_sums[t] += x as f64;
        }
    }

    /// Keeps the words `remap` keeps, at their new ids.
    pub(crate) fn retain(&mut self, remap: &VocabRemap) {
        let k = self.k;
        let mut weights = vec![0f32; remap.new_len() * k];
        for old in 0..remap.old_len().min(self.num_words()) {
            if let Some(new) = remap.get(old as u32) {
                let new = new as usize;
                weights[new * k..(new + 1) * k].copy_from_slice(&self.weights[old * k..][..k]);
            }
        }
        self.weights = weights;
        self.recompute_sums();
    }

    /// psi(sum_w lambda_kw) per topic.
    pub(crate) fn psi_totals(&self) -> Vec<f32> {
        let v = self.num_words() as f64;
        self.weight_sums
            .iter()
            .map(|&s| digamma_f32((self.scale * s + self.shift * v) as f32))
            .collect()
    }

    /// exp(E[log beta]) rows for `words` (row i is word `words[i]`), or for every word, built
    /// in `buffer` (see [`ExpElogbeta::from_rows`]).
    pub(crate) fn exp_elogbeta(&self, words: Option<&[u32]>, buffer: Vec<Lanes>) -> ExpElogbeta {
        let psi_total = self.psi_totals();
        let (k, a, b) = (self.k, self.scale as f32, self.shift as f32);
        let rows = words.map_or(self.num_words(), <[u32]>::len);
        ExpElogbeta::from_rows(
            k,
            rows,
            &psi_total,
            |i, out| {
                let w = words.map_or(i, |ws| ws[i] as usize);
                for (o, &x) in out.iter_mut().zip(&self.weights[w * k..(w + 1) * k]) {
                    *o = a * x + b;
                }
            },
            buffer,
        )
    }

    /// One online M-step: lambda <- (1 - rho) lambda + rho eta everywhere, then
    /// `step * stats` added to the columns of `words` (`stats` is `words.len()` rows of
    /// `stride` floats, the first K used).
    #[cfg(test)]
    pub(crate) fn decay_and_add(
        &mut self,
        rho: f64,
        step: f64,
        words: &[u32],
        stats: &[f32],
        stride: usize,
    ) {
        self.decay_and_add_with(rho, step, words, stride, 1, |mut first: usize| {
            move |rows: &mut [f32]| {
                let start = first * stride;
                rows.copy_from_slice(&stats[start..start + rows.len()]);
                first += rows.len() / stride;
            }
        });
    }

    /// [`Self::decay_and_add`] with the statistics produced block by block instead of read
    /// from a batch-sized matrix: the rows of up to [`ADD_BLOCK`] batch words are written
    /// into a task-local scratch block and added to lambda while still in cache. A
    /// batch-sized matrix (20 Newsgroups: ~8k words x K floats, 2-4 MB) was zeroed, written
    /// and read back every update, and growing it faulted in fresh pages, which on this VM
    /// cost 0.2-3 ms per 2 MB.
    ///
    /// Consecutive blocks are grouped into tasks of `blocks_per_task`; `start_task(first)`
    /// is called once per task with the task's first batch-word index and returns a filler,
    /// called once per block in order, that must overwrite all of the block's rows
    /// (`stride` floats per word). The per-topic sums are kept per block and added in block
    /// order, so the result does not depend on the thread count or the task size.
    pub(crate) fn decay_and_add_with<S, F>(
        &mut self,
        rho: f64,
        step: f64,
        words: &[u32],
        stride: usize,
        blocks_per_task: usize,
        start_task: S,
    ) where
        S: Fn(usize) -> F + Sync,
        F: FnMut(&mut [f32]),
    {
        let scale = self.scale * (1.0 - rho);
        let shift = (1.0 - rho) * self.shift + rho * self.eta as f64;
        if scale < FOLD_BELOW {
            self.fold(scale, shift);
        } else {
            self.scale = scale;
            self.shift = shift;
        }
        let k = self.k;
        let factor = (step / self.scale) as f32;
        // `words` ascend, so consecutive blocks of them own disjoint ranges of rows and update
        // in parallel.
        let mut jobs = Vec::new();
        let mut rest: &mut [f32] = &mut self.weights;
        let mut base = 0usize;
        for block in words.chunks(ADD_BLOCK) {
            let end = block.last().map_or(base, |&w| w as usize + 1);
            let (rows, tail) = std::mem::take(&mut rest).split_at_mut((end - base) * k);
            jobs.push((rows, base, block));
            rest = tail;
            base = end;
        }
        let blocks_per_task = blocks_per_task.max(1);
        let partial: Vec<Vec<Vec<f64>>> = jobs
            .par_chunks_mut(blocks_per_task)
            .enumerate()
            .map(|(task, task_jobs)| {
                let mut fill = start_task(task * blocks_per_task * ADD_BLOCK);
                let mut stats = Vec::new();
                let mut task_sums = Vec::with_capacity(task_jobs.len());
                for (rows, base, block) in task_jobs {
                    stats.resize(block.len() * stride, 0.0);
                    fill(&mut stats);
                    let mut sums = vec![0f64; k];
                    for (&w, s) in block.iter().zip(stats.chunks_exact(stride)) {
                        let row = &mut rows[(w as usize - *base) * k..][..k];
                        for ((x, &s), sum) in row.iter_mut().zip(s).zip(&mut sums) {
                            let add = factor * s;
                            *x += add;
                            *sum += add as f64;
                        }
                    }
                    task_sums.push(sums);
                }
                task_sums
            })
            .collect();
        for sums in partial.into_iter().flatten() {
            for (total, s) in self.weight_sums.iter_mut().zip(sums) {
                *total += s;
            }
        }
    }

    /// weight <- scale * weight + shift; scale = 1, shift = 0.
    fn fold(&mut self, scale: f64, shift: f64) {
        let (a, b) = (scale as f32, shift as f32);
        self.weights.par_iter_mut().for_each(|x| *x = a * *x + b);
        self.initial_left *= scale;
        self.scale = 1.0;
        self.shift = 0.0;
        self.recompute_sums();
    }

    fn recompute_sums(&mut self) {
        let k = self.k;
        self.weight_sums = vec![0.0; k];
        for row in self.weights.chunks_exact(k) {
            for (s, &x) in self.weight_sums.iter_mut().zip(row) {
                *s += x as f64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lazy form equals the eager update entry by entry, through several decays, a fold
    /// and vocabulary growth.
    #[test]
    fn lazy_decay_matches_eager_updates() {
        let (k, eta) = (3, 0.1f32);
        let mut eager = Array2::from_shape_fn((k, 5), |(t, w)| eta + 1.0 + (t * 5 + w) as f32);
        let mut lazy = LazyLambda::from_lambda(&eager, eta, 1.0);
        let mut left = 1.0f64;
        let rhos = [0.5, 0.3, 0.999_999_5, 0.2, 0.1];
        for (step_no, &rho) in rhos.iter().enumerate() {
            // Batch touches words 1 and 3 (stride 4 > K, like the padded sstats).
            let stats = [1.0f32, 2.0, 3.0, 0.0, 0.5, 0.0, 4.0, 0.0];
            let words = [1u32, 3];
            let step = 10.0;
            for x in eager.iter_mut() {
                *x = ((1.0 - rho) * *x as f64 + rho * eta as f64) as f32;
            }
            for (j, &w) in words.iter().enumerate() {
                for t in 0..k {
                    eager[(t, w as usize)] += (step * stats[j * 4 + t] as f64 * rho) as f32;
                }
            }
            lazy.decay_and_add(rho, step * rho, &words, &stats, 4);
            left *= 1.0 - rho;
            if step_no == 3 {
                // A new word: eta + left * draw in the eager model.
                let draw = [2.0f32, 0.5, 1.0];
                lazy.push_word(&draw);
                let col: Vec<f32> = draw
                    .iter()
                    .map(|&g| eta + (left * g as f64) as f32)
                    .collect();
                let mut grown = Array2::zeros((k, eager.ncols() + 1));
                grown
                    .slice_mut(ndarray::s![.., ..eager.ncols()])
                    .assign(&eager);
                for (t, &c) in col.iter().enumerate() {
                    grown[(t, eager.ncols())] = c;
                }
                eager = grown;
            }
            let got = lazy.materialize();
            for (g, e) in got.iter().zip(eager.iter()) {
                assert!((g - e).abs() <= 1e-4 * e.abs().max(1.0), "{g} vs {e}");
            }
            for t in 0..k {
                let want: f64 = eager.row(t).iter().map(|&x| x as f64).sum();
                let v = lazy.num_words() as f64;
                let got = lazy.scale * lazy.weight_sums[t] + lazy.shift * v;
                assert!((got - want).abs() <= 1e-4 * want, "sum {got} vs {want}");
            }
        }
    }

    #[test]
    fn checkpoint_lambda_round_trips_exactly() {
        let lambda = Array2::from_shape_fn((4, 7), |(t, w)| 0.01 + (t * 7 + w) as f32 / 3.0);
        let lazy = LazyLambda::from_lambda(&lambda, 0.01, 0.0);
        assert_eq!(lazy.materialize(), lambda);
        assert_eq!(lazy.topic_row(2), lambda.row(2).to_vec());
    }
}

//! `ExpElogbeta`: exp(E[log beta]) in the E-step's layout.
//!
//! The E-step reads, for each word of a document, the K topic weights of that word, so the
//! matrix is stored word-major (V rows of `padded(K)` floats, padding zero): a document's rows
//! are contiguous runs, which the E-step transposes into its topic-major block once per
//! document (`estep::gather`).

use ndarray::Array2;
use rayon::prelude::*;

use crate::digamma::{digamma_f32, digamma_with, exp_with};
use crate::simd::{self, padded, Lanes, MulAdd, Plain, LANES};

/// Words per parallel task when rebuilding: big enough to amortise scheduling, small enough
/// that the transposed writes stay in L1/L2.
const WORD_BLOCK: usize = 128;

#[derive(Clone, Debug)]
pub(crate) struct ExpElogbeta {
    k: usize,
    kp: usize,
    v: usize,
    /// V rows of kp / LANES vectors.
    data: Vec<Lanes>,
}

impl ExpElogbeta {
    /// Computes exp(E[log beta]) = exp(psi(lambda[k][w]) - psi(sum_w lambda[k][w])) for every
    /// entry, **scaled per word** so that each word's largest topic weight is 1, in parallel
    /// over word blocks on the current rayon pool. Entries below 1e-18 of their word's largest
    /// become 0 (see [`crate::digamma::exp_f32`]).
    ///
    /// Why per-word scaling: the E-step and the sufficient statistics only use a word's
    /// weights relative to each other (phi_kw = theta_k B_kw / sum_k theta_k B_kw), so a
    /// per-word factor cancels exactly. Unscaled, a word still at the prior (lambda = eta in
    /// every topic: e.g. first seen after the first mini-batch with tau0 = 1) has weights
    /// around exp(psi(1/K)) ~ 1e-22: they flush to zero (here) or drown in the float32
    /// epsilon added to the normaliser (gensim), the word contributes nothing, and it is
    /// never learned. On 20 Newsgroups that was ~34 % of the training tokens.
    pub(crate) fn from_lambda(lambda: &Array2<f32>) -> Self {
        let (k, v) = lambda.dim();
        let kp = padded(k);
        let psi_total = psi_totals(lambda);
        let lam = lambda
            .as_slice()
            .expect("lambda is kept in standard layout");
        let mut data = vec![[0f32; LANES]; v * kp / LANES];
        data.as_flattened_mut()
            .par_chunks_mut(WORD_BLOCK * kp)
            .enumerate()
            .for_each(|(block, out)| {
                let lo = block * WORD_BLOCK;
                fill_block(lam, v, &psi_total, lo, kp, out);
            });
        ExpElogbeta { k, kp, v, data }
    }

    /// Builds `rows` rows, row i from its K lambda values as `lambda_row(i, out)` writes
    /// them (all K of them: `buffer` is reused without clearing), with the same per-word
    /// scaling as [`Self::from_lambda`] (`psi_total` is psi(sum_w lambda_kw) per topic). In
    /// parallel over row blocks on the current pool.
    ///
    /// `buffer` is storage to reuse (see [`Self::into_buffer`]): a fresh multi-megabyte
    /// allocation per mini-batch costs page faults that do not parallelise.
    pub(crate) fn from_rows(
        k: usize,
        rows: usize,
        psi_total: &[f32],
        lambda_row: impl Fn(usize, &mut [f32]) + Sync,
        buffer: Vec<Lanes>,
    ) -> Self {
        let kp = padded(k);
        // Every element is written below, so a reused buffer keeps its stale contents
        // rather than being zeroed first (2 MB per NIPS mini-batch).
        let mut data = buffer;
        data.resize(rows * kp / LANES, [0f32; LANES]);
        // psi_total padded to kp (0) and repeated for a block's rows, so that the digamma of a
        // whole block is one long loop: per row, its 6-7 vectors are too few to overlap
        // digamma's long dependency chains, and the loop ran at a fifth of its throughput.
        let psi_rows: Vec<f32> = (0..WORD_BLOCK)
            .flat_map(|_| (0..kp).map(|t| psi_total.get(t).copied().unwrap_or(0.0)))
            .collect();
        data.as_flattened_mut()
            .par_chunks_mut(WORD_BLOCK * kp)
            .enumerate()
            .for_each(|(block, out)| {
                for (i, row) in out.chunks_exact_mut(kp).enumerate() {
                    lambda_row(block * WORD_BLOCK + i, &mut row[..k]);
                    // A finite digamma for the padding; zeroed again by `exp_scaled_rows`.
                    row[k..].fill(1.0);
                }
                elog_rows(out, k, kp, &psi_rows);
            });
        ExpElogbeta {
            k,
            kp,
            v: rows,
            data,
        }
    }

    /// The storage, for reuse by the next [`Self::from_rows`].
    pub(crate) fn into_buffer(self) -> Vec<Lanes> {
        self.data
    }

    pub(crate) fn num_topics(&self) -> usize {
        self.k
    }
    pub(crate) fn padded_topics(&self) -> usize {
        self.kp
    }
    pub(crate) fn num_words(&self) -> usize {
        self.v
    }
    /// All V word-major rows, `padded_topics() / LANES` vectors each.
    #[inline]
    pub(crate) fn rows(&self) -> &[Lanes] {
        &self.data
    }
    /// The padded row of word `w`.
    #[inline]
    pub(crate) fn row(&self, w: usize) -> &[Lanes] {
        let kb = self.kp / LANES;
        &self.data[w * kb..(w + 1) * kb]
    }
}

/// psi(sum_w lambda_kw) per topic (row of `lambda`), the sum taken in f64.
fn psi_totals(lambda: &Array2<f32>) -> Vec<f32> {
    lambda
        .rows()
        .into_iter()
        .map(|row| digamma_f32(row.iter().map(|&x| x as f64).sum::<f64>() as f32))
        .collect()
}

fn fill_block(lam: &[f32], v: usize, psi_total: &[f32], lo: usize, kp: usize, out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if simd::has_avx512() {
        // SAFETY: the CPU supports AVX2, FMA and AVX-512F/VL/BW/DQ (checked just above).
        unsafe { fill_block_avx512(lam, v, psi_total, lo, kp, out) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if simd::has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked just above).
        unsafe { fill_block_avx2(lam, v, psi_total, lo, kp, out) };
        return;
    }
    fill_block_generic::<Plain>(lam, v, psi_total, lo, kp, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,avx512f,avx512vl,avx512bw,avx512dq")]
unsafe fn fill_block_avx512(
    lam: &[f32],
    v: usize,
    psi_total: &[f32],
    lo: usize,
    kp: usize,
    out: &mut [f32],
) {
    fill_block_generic::<simd::Fused>(lam, v, psi_total, lo, kp, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn fill_block_avx2(
    lam: &[f32],
    v: usize,
    psi_total: &[f32],
    lo: usize,
    kp: usize,
    out: &mut [f32],
) {
    fill_block_generic::<simd::Fused>(lam, v, psi_total, lo, kp, out);
}

#[inline(always)]
fn fill_block_generic<M: MulAdd>(
    lam: &[f32],
    v: usize,
    psi_total: &[f32],
    lo: usize,
    kp: usize,
    out: &mut [f32],
) {
    let n = out.len() / kp;
    let k_real = psi_total.len();
    let mut tmp = [0f32; WORD_BLOCK];
    for (k, &pt) in psi_total.iter().enumerate() {
        // Vectorised along the contiguous lambda row, then scattered into the word rows.
        let src = &lam[k * v + lo..k * v + lo + n];
        for (t, &x) in tmp.iter_mut().zip(src) {
            *t = digamma_with::<M>(x) - pt;
        }
        for (j, &t) in tmp[..n].iter().enumerate() {
            out[j * kp + k] = t;
        }
    }
    for row in out.chunks_exact_mut(kp) {
        exp_scaled::<M>(&mut row[..k_real]);
    }
}

/// Rows of lambda (kp floats each, padding 1) -> exp(E[log beta]) rows, each scaled by its
/// largest entry, padding 0. `psi_rows` is psi(sum_w lambda) padded to kp, repeated per row.
fn elog_rows(out: &mut [f32], k: usize, kp: usize, psi_rows: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    if simd::has_avx512() {
        // SAFETY: the CPU supports AVX2, FMA and AVX-512F/VL/BW/DQ (checked just above).
        unsafe { elog_rows_avx512(out, k, kp, psi_rows) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if simd::has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked just above).
        unsafe { elog_rows_avx2(out, k, kp, psi_rows) };
        return;
    }
    elog_rows_generic::<Plain>(out, k, kp, psi_rows);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,avx512f,avx512vl,avx512bw,avx512dq")]
unsafe fn elog_rows_avx512(out: &mut [f32], k: usize, kp: usize, psi_rows: &[f32]) {
    elog_rows_generic::<simd::Fused>(out, k, kp, psi_rows);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn elog_rows_avx2(out: &mut [f32], k: usize, kp: usize, psi_rows: &[f32]) {
    elog_rows_generic::<simd::Fused>(out, k, kp, psi_rows);
}

#[inline(always)]
fn elog_rows_generic<M: MulAdd>(out: &mut [f32], k: usize, kp: usize, psi_rows: &[f32]) {
    for (x, &pt) in out.iter_mut().zip(psi_rows) {
        *x = digamma_with::<M>(*x) - pt;
    }
    for row in out.chunks_exact_mut(kp) {
        row[k..].fill(0.0);
        exp_scaled::<M>(&mut row[..k]);
    }
}

/// E[log beta] row -> exp of it minus the row's largest entry, in place: the per-word scaling
/// explained at [`ExpElogbeta::from_lambda`].
#[inline(always)]
fn exp_scaled<M: MulAdd>(row: &mut [f32]) {
    // Lane-wise maxima over whole vectors, then the tail and the lanes: a maximum folded
    // along the row is one serial chain of scalar compares. Same result (the maximum is
    // exact).
    let mut lanes = [f32::NEG_INFINITY; LANES];
    let mut chunks = row.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (m, &x) in lanes.iter_mut().zip(chunk) {
            *m = m.max(x);
        }
    }
    let top = chunks
        .remainder()
        .iter()
        .chain(&lanes)
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    for x in row.iter_mut() {
        *x = exp_with::<M>(*x - top);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two builders (from a whole lambda, by topic runs; from lambda rows, a block at a
    /// time) give the same matrix, padding zero, across several blocks and a K that is not a
    /// whole number of vectors.
    #[test]
    fn row_builder_matches_matrix_builder() {
        let (k, v) = (13, 3 * WORD_BLOCK + 5);
        let lambda = Array2::from_shape_fn((k, v), |(t, w)| {
            0.02 + ((t * 31 + w * 17) % 97) as f32 * if w % 5 == 0 { 40.0 } else { 0.3 }
        });
        let want = ExpElogbeta::from_lambda(&lambda);
        let psi_total = psi_totals(&lambda);
        let fill = |w: usize, out: &mut [f32]| {
            for (t, o) in out.iter_mut().enumerate() {
                *o = lambda[[t, w]];
            }
        };
        // The AVX-512 and AVX2 instantiations of the row kernel compute the same bits; the
        // portable one agrees to float rounding.
        let kp = padded(k);
        let psi_rows: Vec<f32> = (0..WORD_BLOCK)
            .flat_map(|_| (0..kp).map(|t| psi_total.get(t).copied().unwrap_or(0.0)))
            .collect();
        let lam = &lambda;
        let rows: Vec<f32> = (0..WORD_BLOCK)
            .flat_map(|w| (0..kp).map(move |t| if t < k { lam[[t, w]] } else { 1.0 }))
            .collect();
        let (mut dispatched, mut portable) = (rows.clone(), rows.clone());
        elog_rows(&mut dispatched, k, kp, &psi_rows);
        elog_rows_generic::<Plain>(&mut portable, k, kp, &psi_rows);
        // The portable build rounds each multiply-add twice, the AVX builds once.
        for (a, b) in dispatched.iter().zip(&portable) {
            assert!((a - b).abs() <= 1e-6 * b.abs().max(1e-30), "{a} vs {b}");
        }
        #[cfg(target_arch = "x86_64")]
        if simd::has_avx2_fma() {
            let mut avx2 = rows.clone();
            // SAFETY: the CPU supports AVX2 and FMA (checked just above).
            unsafe { elog_rows_avx2(&mut avx2, k, kp, &psi_rows) };
            assert_eq!(avx2, dispatched);
        }
        // A dirty buffer: its old contents must not leak into the padding.
        let buffer = vec![[7f32; LANES]; 4];
        let got = ExpElogbeta::from_rows(k, v, &psi_total, fill, buffer);
        assert_eq!(got.rows().len(), want.rows().len());
        for w in 0..v {
            let (g, e) = (got.row(w).as_flattened(), want.row(w).as_flattened());
            assert_eq!(&g[k..], &[0.0; 3], "padding of word {w}");
            for (a, b) in g.iter().zip(e) {
                assert!(
                    (a - b).abs() <= 1e-6 * b.abs().max(1e-30),
                    "word {w}: {a} vs {b}"
                );
            }
        }
    }
}

//! The per-document E-step, shared by training ([`crate::OnlineLda::update`]), inference
//! ([`crate::TopicInference::infer`]) and evaluation.
//!
//! gensim's formulation: with B the document's rows of exp(E[log beta]) and
//! t = exp(E[log theta]), iterate
//!   phinorm_w = t . B_w + eps,   gamma = alpha + t * sum_w (c_w / phinorm_w) B_w
//! until the mean absolute change of gamma is below the threshold. phi is never materialised.
//!
//! Layout: the document's block of B is gathered **topic-major** (one row of n words per
//! topic), so the kernel works on 8 words per vector: phinorm for 8 words is a chain of
//! broadcast-theta FMAs down the active topics, one division gives 8 scales, and the
//! accumulators take 8 partial sums per topic that are reduced once per iteration. A
//! word-major layout (8 topics per vector) needs a horizontal reduction and a division on
//! every word's dependency chain, which dominated once most topics had dropped out. A topic
//! whose theta is exactly 0 adds nothing to either product, so each iteration runs over the
//! topics with non-zero theta only, read in place by row index (no compaction).
//!
//! Tried and not kept: 32-word topic-major tiles (each tile one contiguous run, for the
//! prefetcher) and software prefetch of the next row segments. Neither moved the NIPS
//! wall clock beyond this VM's run-to-run noise (8 interleaved runs each), and cachegrind showed
//! no fewer L1 misses for the tiles.

use crate::digamma::{digamma_with, exp_dirichlet_expectation_with, exp_with, FLUSH_LN};
use crate::document::Document;
use crate::simd::{self, padded, Lanes, MulAdd, Plain, LANES};
use crate::topics::ExpElogbeta;

/// The most an accelerated jump may shrink a topic's gamma - alpha (see [`extrapolate`]).
const MAX_SHRINK: f32 = 0.5;

/// Useful arithmetic per (active topic, word) pair of a map evaluation: one FMA for phinorm,
/// one for the accumulator. What every E-step GFLOP/s figure counts.
pub const FLOPS_PER_PAIR: f64 = 4.0;

/// gensim adds float32 machine epsilon to every normaliser.
pub(crate) const EPS: f32 = f32::EPSILON;

/// Scratch buffers reused across documents by one worker.
#[derive(Default)]
pub(crate) struct Workspace {
    /// The document's block of exp(E[log beta]), topic-major: K rows of `np` floats (the
    /// kept words, padded to a multiple of [`LANES`] with 0), `stride` floats apart.
    block: Vec<f32>,
    /// Words per row the kernels read (a multiple of [`LANES`]).
    np: usize,
    /// Distance between rows (see [`row_stride`]).
    stride: usize,
    /// Word ids kept (those < V) and their counts (`cts` padded to `np` with 0).
    pub ids: Vec<u32>,
    cts: Vec<f32>,
    /// exp(E[log theta]) (kp, padding 0).
    pub theta: Vec<Lanes>,
    /// Topics with non-zero theta, ascending, and their theta.
    active: Vec<u32>,
    /// Where each active topic's row starts in `block`.
    rows: Vec<usize>,
    theta_c: Vec<f32>,
    /// gamma of the active topics after a map evaluation (contiguous, for [`update_theta`]).
    gamma_c: Vec<f32>,
    /// Inactive topics whose gamma has not yet been reset to alpha.
    dropped: Vec<u32>,
    /// `active` must be rebuilt from the full theta before it is used.
    stale: bool,
    /// Per active topic, 8 partial sums of sum_w (c_w / phinorm_w) B_wt.
    acc: Vec<Lanes>,
    /// psi(alpha_k), computed once per document.
    psi_alpha: Vec<f32>,
    /// Variational Dirichlet parameters (K).
    pub gamma: Vec<f32>,
    /// c_w / phinorm_w for the final theta (only filled when asked).
    pub cphi: Vec<f32>,
    /// The last two iterates x0 and x1 = F(x0) of an accelerated cycle (K each).
    x0: Vec<f32>,
    x1: Vec<f32>,
    /// Times the active set grew between map evaluations (a dropped topic came back; tests
    /// check both E-steps exercise it).
    #[cfg(test)]
    revivals: usize,
}

impl Workspace {
    /// Tokens the last E-step used (in-vocabulary words only).
    pub fn tokens(&self) -> f64 {
        self.cts.iter().map(|&c| c as f64).sum()
    }
}

/// How the E-step of one document went.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct EStepInfo {
    pub iterations: usize,
    pub converged: bool,
    /// (active topic, word) pairs the map evaluations multiplied: each costs two FMAs, one
    /// for phinorm and one for the accumulator (4 flops; the arithmetic the GFLOP/s figures
    /// count).
    pub pairs: u64,
}

/// Parameters that do not change within a batch.
pub(crate) struct EStepParams<'a> {
    pub topics: &'a ExpElogbeta,
    pub alpha: &'a [f32],
    pub max_iterations: usize,
    pub gamma_threshold: f32,
    /// Extrapolate the fixed-point iteration with SQUAREM (see [`iterate_squarem`]).
    pub accelerate: bool,
}

/// Runs the E-step for `doc` from `gamma_init` (length K). Words with ids >= V are ignored.
/// Leaves gamma, theta and (if `want_cphi`) cphi in `ws`.
pub(crate) fn estep(
    p: &EStepParams<'_>,
    doc: &Document,
    gamma_init: &[f32],
    want_cphi: bool,
    ws: &mut Workspace,
) -> EStepInfo {
    let info = estep_dispatch(p, doc, gamma_init, want_cphi, ws);
    // Workspaces live as long as their threads. One huge document (ingest admits 1 MiB of
    // text: tens of thousands of distinct words, tens of MB of block) must not pin that much
    // memory per thread for good; a block this large is rare enough to allocate each time.
    if ws.block.capacity() > KEEP_BLOCK_FLOATS {
        ws.block = Vec::new();
    }
    info
}

/// The largest E-step block a workspace keeps between documents: 4 MB, e.g. a document of
/// ~10,000 distinct words at K = 100.
const KEEP_BLOCK_FLOATS: usize = 1 << 20;

fn estep_dispatch(
    p: &EStepParams<'_>,
    doc: &Document,
    gamma_init: &[f32],
    want_cphi: bool,
    ws: &mut Workspace,
) -> EStepInfo {
    #[cfg(target_arch = "x86_64")]
    if simd::has_avx512() {
        // SAFETY: the CPU supports AVX2, FMA and AVX-512F/VL/BW/DQ (checked just above).
        return unsafe { estep_avx512(p, doc, gamma_init, want_cphi, ws) };
    }
    #[cfg(target_arch = "x86_64")]
    if simd::has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked just above).
        return unsafe { estep_avx2(p, doc, gamma_init, want_cphi, ws) };
    }
    estep_generic::<Plain>(p, doc, gamma_init, want_cphi, ws)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,avx512f,avx512vl,avx512bw,avx512dq")]
unsafe fn estep_avx512(
    p: &EStepParams<'_>,
    doc: &Document,
    gamma_init: &[f32],
    want_cphi: bool,
    ws: &mut Workspace,
) -> EStepInfo {
    estep_generic::<simd::Fused<true>>(p, doc, gamma_init, want_cphi, ws)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn estep_avx2(
    p: &EStepParams<'_>,
    doc: &Document,
    gamma_init: &[f32],
    want_cphi: bool,
    ws: &mut Workspace,
) -> EStepInfo {
    estep_generic::<simd::Fused>(p, doc, gamma_init, want_cphi, ws)
}

#[inline(always)]
fn estep_generic<M: MulAdd>(
    p: &EStepParams<'_>,
    doc: &Document,
    gamma_init: &[f32],
    want_cphi: bool,
    ws: &mut Workspace,
) -> EStepInfo {
    let k = p.topics.num_topics();
    let kp = p.topics.padded_topics();

    gather::<M>(p.topics, doc, ws);
    ws.gamma.clear();
    ws.gamma.extend_from_slice(gamma_init);
    ws.theta.clear();
    ws.theta.resize(kp / LANES, [0.0; LANES]);
    exp_dirichlet_expectation_with::<M>(&ws.gamma, &mut ws.theta.as_flattened_mut()[..k]);

    ws.cphi.clear();
    if ws.ids.is_empty() {
        // No evidence: gensim's update gives gamma = alpha.
        ws.gamma.copy_from_slice(p.alpha);
        exp_dirichlet_expectation_with::<M>(&ws.gamma, &mut ws.theta.as_flattened_mut()[..k]);
        return EStepInfo {
            converged: true,
            ..EStepInfo::default()
        };
    }
    ws.psi_alpha.clear();
    ws.psi_alpha
        .extend(p.alpha.iter().map(|&a| digamma_with::<M>(a)));
    let psi_alpha_max = ws
        .psi_alpha
        .iter()
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    ws.stale = true;
    // Empty, so the first rebuild of this document does not count as a revival.
    ws.active.clear();

    let info = if p.accelerate {
        iterate_squarem::<M>(p, ws, psi_alpha_max)
    } else {
        iterate_plain::<M>(p, ws, psi_alpha_max)
    };

    if want_cphi {
        if ws.stale {
            rebuild_active(p.alpha, k, ws);
        }
        let n = ws.ids.len();
        ws.cphi.resize(ws.np, 0.0);
        load_rows(ws);
        simd::phinorms(&ws.block, ws.np, &ws.rows, &ws.theta_c, &mut ws.cphi);
        ws.cphi.truncate(n);
        for (x, &c) in ws.cphi.iter_mut().zip(&ws.cts) {
            *x = c / (*x + EPS);
        }
    }
    info
}

/// gensim's iteration: apply the map until gamma stops moving or the cap is reached.
#[inline(always)]
fn iterate_plain<M: MulAdd>(
    p: &EStepParams<'_>,
    ws: &mut Workspace,
    psi_alpha_max: f32,
) -> EStepInfo {
    let mut info = EStepInfo::default();
    while !counted_step::<M>(p, ws, psi_alpha_max, &mut info, true) {}
    info
}

/// One map evaluation counted against `max_iterations`; true when the document is done (cap
/// reached, or `testable` and the change fell below the threshold). A step taken from an
/// extrapolated point is not `testable`: its change measures the jump, not convergence.
#[inline(always)]
fn counted_step<M: MulAdd>(
    p: &EStepParams<'_>,
    ws: &mut Workspace,
    psi_alpha_max: f32,
    info: &mut EStepInfo,
    testable: bool,
) -> bool {
    if info.iterations == p.max_iterations {
        return true;
    }
    info.iterations += 1;
    let change = map_step::<M>(p, ws, psi_alpha_max);
    // After the step `active` is the next one; `acc` still has one entry per topic it used.
    info.pairs += (ws.acc.len() * ws.ids.len()) as u64;
    if testable && change < p.gamma_threshold {
        info.converged = true;
        return true;
    }
    false
}

/// The plain iteration accelerated by SQUAREM (Varadhan & Roland 2008, scheme SqS3): from
/// x0, x1 = F(x0) and x2 = F(x1), jump to x0 - 2a r + a^2 v and take one stabilising F step
/// from there. Long documents contract slowly (most hit the cap under the plain iteration),
/// and the jump covers many plain steps' worth of progress for the cost of one.
///
/// Every map evaluation counts against `max_iterations`, and convergence is declared by the
/// plain criterion on a step whose input was itself a map output (or the initial gamma), so
/// the result is always F of something and the stopping rule means what it means in gensim.
#[inline(always)]
fn iterate_squarem<M: MulAdd>(
    p: &EStepParams<'_>,
    ws: &mut Workspace,
    psi_alpha_max: f32,
) -> EStepInfo {
    let mut info = EStepInfo::default();
    let step = |ws: &mut Workspace, info: &mut EStepInfo, testable: bool| {
        counted_step::<M>(p, ws, psi_alpha_max, info, testable)
    };
    loop {
        ws.x0.clone_from(&ws.gamma);
        if step(ws, &mut info, true) {
            break;
        }
        ws.x1.clone_from(&ws.gamma);
        if step(ws, &mut info, true) || info.iterations == p.max_iterations {
            break;
        }
        if extrapolate::<M>(p.alpha, ws) && step(ws, &mut info, false) {
            break;
        }
    }
    info
}

/// One evaluation of the fixed-point map: gamma = alpha + theta * sum_w (c_w / phinorm_w) B_w
/// from the current theta, then theta from the new gamma. Returns the mean absolute change of
/// gamma.
///
/// Only the active topics (non-zero theta) are visited: an inactive topic's gamma is alpha,
/// so it changes only in the step after it drops out (the `dropped` list).
#[inline(always)]
fn map_step<M: MulAdd>(p: &EStepParams<'_>, ws: &mut Workspace, psi_alpha_max: f32) -> f32 {
    let k = p.topics.num_topics();
    if ws.stale {
        rebuild_active(p.alpha, k, ws);
    }
    let m = ws.active.len();
    ws.acc.clear();
    ws.acc.resize(m, [0.0; LANES]);
    load_rows(ws);
    M::pass(
        &ws.block,
        ws.np,
        &ws.rows,
        &ws.theta_c,
        &ws.cts,
        EPS,
        &mut ws.acc,
    );
    let mut change = 0.0f32;
    ws.gamma_c.clear();
    for ((&t, &th), acc) in ws.active.iter().zip(&ws.theta_c).zip(&ws.acc) {
        let t = t as usize;
        let g = M::mul_add(th, simd::hsum(acc), p.alpha[t]);
        change += (g - ws.gamma[t]).abs();
        ws.gamma[t] = g;
        ws.gamma_c.push(g);
    }
    for &t in &ws.dropped {
        let t = t as usize;
        change += (p.alpha[t] - ws.gamma[t]).abs();
        ws.gamma[t] = p.alpha[t];
    }
    ws.dropped.clear();
    update_theta::<M>(ws, k, psi_alpha_max);
    change / (k as f32)
}

/// The SqS3 jump from x0 = `ws.x0`, x1 = `ws.x1`, x2 = `ws.gamma`: with r = x1 - x0,
/// v = x2 - 2 x1 + x0 and step s = ||r|| / ||v|| (SqS3's alpha is -s), gamma becomes
/// x0 + 2 s r + s^2 v and theta is recomputed for every topic (the jump may revive a dropped
/// topic; the next map step then reads its row again). Returns false, leaving gamma = x2,
/// when s <= 1 (the jump would be x2 itself) or the jump is not finite.
///
/// No component may end below alpha + MAX_SHRINK (x2 - alpha): a jump may shrink a topic's
/// excess over alpha at most that much. A topic near alpha has theta flushed to exactly 0 and
/// never comes back, so an unbounded jump (the plain SqS3 rule only rejects points below
/// alpha) kills topics that the plain iteration would only pass through on the way down and
/// then revive; on NIPS (K = 50) 7 % of documents then converged to a visibly different
/// fixed point (L1 > 0.1 between topic mixtures; none with the bound). Rejecting every jump
/// that crosses alpha instead is safe but nearly useless: a topic whose theta has just been
/// flushed drops to exactly alpha, and any jump overshoots it (38 % of NIPS documents still
/// hit the cap, against 5 % with the bound).
///
/// `inline(always)` here and in [`rebuild_active`]: so they are compiled inside the AVX2
/// instantiation of the E-step rather than for the baseline target (their f64 and
/// digamma/exp loops were 9 % of the accelerated E-step's time without it).
#[inline(always)]
fn extrapolate<M: MulAdd>(alpha: &[f32], ws: &mut Workspace) -> bool {
    // f64 differences: v is a small second difference of large f32 values.
    let (mut rr, mut vv) = (0f64, 0f64);
    for ((&a, &b), &c) in ws.x0.iter().zip(&ws.x1).zip(&ws.gamma) {
        let (a, b, c) = (a as f64, b as f64, c as f64);
        rr += (b - a) * (b - a);
        vv += (c - 2.0 * b + a) * (c - 2.0 * b + a);
    }
    let s = (rr / vv).sqrt();
    if !(s > 1.0 && s.is_finite()) {
        return false;
    }
    // x0 is not needed any more: build the jump there, then swap it in.
    let mut finite = true;
    for ((x, &b), (&c, &al)) in ws.x0.iter_mut().zip(&ws.x1).zip(ws.gamma.iter().zip(alpha)) {
        let (a, b, c) = (*x as f64, b as f64, c as f64);
        let y = (a + 2.0 * s * (b - a) + s * s * (c - 2.0 * b + a)) as f32;
        finite &= y.is_finite();
        *x = y.max(al + (c as f32 - al) * MAX_SHRINK);
    }
    if !finite {
        return false;
    }
    std::mem::swap(&mut ws.x0, &mut ws.gamma);
    let k = ws.gamma.len();
    exp_dirichlet_expectation_with::<M>(&ws.gamma, &mut ws.theta.as_flattened_mut()[..k]);
    ws.stale = true;
    true
}

/// Rebuilds the active set from the full theta (after the initial gamma, a jump, or an
/// update that may have revived topics): `active`/`theta_c` get the topics with non-zero
/// theta, `dropped` the inactive ones whose gamma is not yet alpha.
#[inline(always)]
fn rebuild_active(alpha: &[f32], k: usize, ws: &mut Workspace) {
    #[cfg(test)]
    let before = ws.active.len();
    ws.active.clear();
    ws.theta_c.clear();
    ws.dropped.clear();
    let theta = &ws.theta.as_flattened()[..k];
    for (i, ((&t, &g), &al)) in theta.iter().zip(&ws.gamma).zip(alpha).enumerate() {
        if t != 0.0 {
            ws.active.push(i as u32);
            ws.theta_c.push(t);
        } else if g != al {
            ws.dropped.push(i as u32);
        }
    }
    ws.stale = false;
    #[cfg(test)]
    if before != 0 && ws.active.len() > before {
        ws.revivals += 1;
    }
}

/// theta = exp(psi(gamma) - psi(sum gamma)) as [`exp_dirichlet_expectation_with`] computes
/// it, but evaluating digamma/exp only on the active topics (contiguously, so the loop
/// vectorises), then dropping the topics whose theta flushed to 0. An inactive topic's gamma
/// is exactly alpha, so its value is exp(psi(alpha) - psi_total), which is 0 for all of them
/// at once when even the largest psi(alpha) is below the flush threshold; otherwise (large
/// alpha) they are all evaluated and the active set is rebuilt before the next step.
#[inline(always)]
fn update_theta<M: MulAdd>(ws: &mut Workspace, k: usize, psi_alpha_max: f32) {
    let psi_total = digamma_with::<M>(lane_sum(&ws.gamma));
    let m = ws.active.len();
    // Over whole vectors: padded with gamma = 1 (a finite digamma), the padding's theta is
    // computed and dropped. Over `m` alone the last `m mod 16` topics took a scalar
    // digamma and exp each, about as long as the vectorised body.
    let padded = m.next_multiple_of(2 * LANES);
    ws.gamma_c.resize(padded, 1.0);
    ws.theta_c.resize(padded, 0.0);
    for (th, &g) in ws.theta_c.iter_mut().zip(&ws.gamma_c) {
        *th = exp_with::<M>(digamma_with::<M>(g) - psi_total);
    }
    ws.gamma_c.truncate(m);
    ws.theta_c.truncate(m);
    let theta = &mut ws.theta.as_flattened_mut()[..k];
    if m < k && psi_alpha_max - psi_total > FLUSH_LN {
        // `active` ascends: walk it beside the topics.
        let mut j = 0;
        for (i, th) in theta.iter_mut().enumerate() {
            if ws.active.get(j) == Some(&(i as u32)) {
                j += 1;
            } else {
                *th = exp_with::<M>(ws.psi_alpha[i] - psi_total);
            }
        }
        ws.stale = true;
    }
    let mut kept = 0;
    for j in 0..m {
        let (t, th) = (ws.active[j], ws.theta_c[j]);
        theta[t as usize] = th;
        if th != 0.0 {
            ws.active[kept] = t;
            ws.theta_c[kept] = th;
            kept += 1;
        } else {
            ws.dropped.push(t);
        }
    }
    ws.active.truncate(kept);
    ws.theta_c.truncate(kept);
}

/// Where each active topic's row starts in the block, for the kernels.
#[inline(always)]
fn load_rows(ws: &mut Workspace) {
    ws.rows.clear();
    ws.rows
        .extend(ws.active.iter().map(|&t| t as usize * ws.stride));
}

/// Sum in 8 interleaved partial sums: a plain `sum()` is one dependent add per topic, which
/// costs more than the rest of the theta update once most topics are inactive.
#[inline(always)]
fn lane_sum(x: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let mut chunks = x.chunks_exact(LANES);
    for c in &mut chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    for (a, &v) in acc.iter_mut().zip(chunks.remainder()) {
        *a += v;
    }
    simd::hsum(&acc)
}

/// Copies the document's in-vocabulary words into the topic-major block (a transpose of
/// their word-major rows), padding the word dimension with zero counts and weights.
#[inline(always)]
fn gather<M: MulAdd>(topics: &ExpElogbeta, doc: &Document, ws: &mut Workspace) {
    let (k, v) = (topics.num_topics(), topics.num_words());
    ws.ids.clear();
    ws.cts.clear();
    for (id, c) in doc.iter() {
        if (id as usize) < v && c > 0.0 {
            ws.ids.push(id);
            ws.cts.push(c);
        }
    }
    let np = padded(ws.ids.len());
    ws.np = np;
    ws.stride = row_stride(np);
    ws.cts.resize(np, 0.0);
    ws.block.clear();
    ws.block.resize(k * ws.stride, 0.0);
    let kb = topics.padded_topics() / LANES;
    M::transpose(topics.rows(), kb, &ws.ids, k, ws.stride, &mut ws.block);
}

/// Row stride of a block whose rows hold `np` words: `np`, plus one cache line when `np` is a
/// multiple of 128 floats. Rows a multiple of 512 bytes apart fall into few L1 sets (set =
/// address / 64 mod 64), and the pass reads ~20 rows at once: at 1,024 words every row maps
/// to the same set and the kernel drops from ~70 to ~17 GFLOP/s (`lda_pass_kernel` example).
fn row_stride(np: usize) -> usize {
    if np.is_multiple_of(128) {
        np + 16
    } else {
        np
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digamma::exp_dirichlet_expectation_f32;
    use ndarray::Array2;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The E-step without dropping zero-theta topics: full width every map evaluation, with
    /// the same schedule of plain steps and jumps as [`estep`].
    fn dense(p: &EStepParams<'_>, doc: &Document, init: &[f32]) -> Vec<f32> {
        let k = p.topics.num_topics();
        let mut gamma = init.to_vec();
        let mut theta = vec![0f32; k];
        exp_dirichlet_expectation_f32(&gamma, &mut theta);
        let mut evaluations = 0;
        // One map evaluation; true when done (converged on a testable step, or capped).
        let step = |gamma: &mut Vec<f32>, theta: &mut Vec<f32>, n: &mut usize, testable: bool| {
            if *n == p.max_iterations {
                return true;
            }
            *n += 1;
            let mut acc = vec![0f32; k];
            for (id, c) in doc.iter() {
                let row = p.topics.row(id as usize).as_flattened();
                let phinorm: f32 = theta.iter().zip(row).map(|(t, b)| t * b).sum::<f32>() + EPS;
                for (a, b) in acc.iter_mut().zip(row) {
                    *a += c / phinorm * b;
                }
            }
            let mut change = 0.0;
            for i in 0..k {
                let g = p.alpha[i] + theta[i] * acc[i];
                change += (g - gamma[i]).abs();
                gamma[i] = g;
            }
            exp_dirichlet_expectation_f32(gamma, theta);
            testable && change / (k as f32) < p.gamma_threshold
        };
        loop {
            let x0 = gamma.clone();
            if step(&mut gamma, &mut theta, &mut evaluations, true) {
                break;
            }
            if !p.accelerate {
                continue;
            }
            let x1 = gamma.clone();
            if step(&mut gamma, &mut theta, &mut evaluations, true)
                || evaluations == p.max_iterations
            {
                break;
            }
            let (rr, vv) =
                x0.iter()
                    .zip(&x1)
                    .zip(&gamma)
                    .fold((0f64, 0f64), |(rr, vv), ((&a, &b), &c)| {
                        let (a, b, c) = (a as f64, b as f64, c as f64);
                        (
                            rr + (b - a) * (b - a),
                            vv + (c - 2.0 * b + a) * (c - 2.0 * b + a),
                        )
                    });
            let s = (rr / vv).sqrt();
            if !(s > 1.0 && s.is_finite()) {
                continue;
            }
            let jump: Vec<f32> = (0..k)
                .map(|i| {
                    let (a, b, c) = (x0[i] as f64, x1[i] as f64, gamma[i] as f64);
                    let y = (a + 2.0 * s * (b - a) + s * s * (c - 2.0 * b + a)) as f32;
                    y.max(p.alpha[i] + (c as f32 - p.alpha[i]) * MAX_SHRINK)
                })
                .collect();
            if jump.iter().all(|y| y.is_finite()) {
                gamma = jump;
                exp_dirichlet_expectation_f32(&gamma, &mut theta);
                if step(&mut gamma, &mut theta, &mut evaluations, false) {
                    break;
                }
            }
        }
        gamma
    }

    fn random_lambda(k: usize, v: usize, r: &mut ChaCha8Rng) -> Array2<f32> {
        Array2::from_shape_fn((k, v), |_| {
            if r.random::<f32>() < 0.1 {
                r.random::<f32>() * 50.0
            } else {
                0.01 + r.random::<f32>() * 0.05
            }
        })
    }

    /// Documents drawn as LDA generates them: each mixes `topics` topics of `lambda` and draws
    /// `len` tokens (repeats are summed by [`Document::from_pairs`]). Uniformly random words
    /// instead give flat, many-peaked posteriors where different iterations may settle in
    /// different local optima.
    fn lda_docs(
        lambda: &Array2<f32>,
        (n, topics, len): (usize, usize, usize),
        r: &mut ChaCha8Rng,
    ) -> Vec<Document> {
        let (k, _) = lambda.dim();
        let cdf: Vec<Vec<f32>> = lambda
            .rows()
            .into_iter()
            .map(|row| {
                row.iter()
                    .scan(0.0, |s, &x| {
                        *s += x;
                        Some(*s)
                    })
                    .collect()
            })
            .collect();
        (0..n)
            .map(|_| {
                let mix: Vec<usize> = (0..topics).map(|_| r.random_range(0..k)).collect();
                Document::from_pairs((0..len).map(|_| {
                    let c = &cdf[mix[r.random_range(0..mix.len())]];
                    let u = r.random::<f32>() * c[c.len() - 1];
                    (c.partition_point(|&x| x < u).min(c.len() - 1) as u32, 1.0)
                }))
            })
            .collect()
    }

    /// A document whose block exceeds `KEEP_BLOCK_FLOATS` gets its answer like any other, and
    /// its block is not kept by the workspace; an ordinary one's is.
    #[test]
    fn workspace_does_not_keep_a_huge_block() {
        let (k, v) = (64, 20_000);
        let mut r = ChaCha8Rng::seed_from_u64(9);
        let lambda = random_lambda(k, v, &mut r);
        let topics = ExpElogbeta::from_lambda(&lambda);
        let alpha = vec![1.0 / k as f32; k];
        let p = EStepParams {
            topics: &topics,
            alpha: &alpha,
            max_iterations: 3,
            gamma_threshold: 1e-3,
            accelerate: false,
        };
        let init = vec![1.0f32; k];
        let huge = Document::from_pairs((0..v as u32).map(|w| (w, 1.0)));
        let small = Document::from_pairs((0..300).map(|w| (w, 2.0)));
        assert!(k * v > KEEP_BLOCK_FLOATS);
        let mut ws = Workspace::default();
        let info = estep(&p, &huge, &init, true, &mut ws);
        assert_eq!(info.iterations, 3);
        assert_eq!(ws.cphi.len(), v, "the huge document's results are there");
        assert!(ws.gamma.iter().all(|g| g.is_finite()));
        assert_eq!(ws.block.capacity(), 0, "its block was released");
        estep(&p, &small, &init, true, &mut ws);
        assert!(ws.block.capacity() >= k * 300, "an ordinary block is kept");
    }

    /// Dropping topics (and bringing them back when alpha is large, or when an extrapolated
    /// gamma revives them) matches the dense plain E-step up to float rounding, for small and
    /// large alpha, with and without acceleration.
    #[test]
    fn active_set_matches_dense_estep() {
        let (k, v) = (37, 300);
        let mut r = ChaCha8Rng::seed_from_u64(5);
        let lambda = random_lambda(k, v, &mut r);
        let topics = ExpElogbeta::from_lambda(&lambda);
        let mut docs: Vec<Document> = (0..20)
            .map(|_| {
                let n = r.random_range(1..200);
                Document::from_pairs((0..n).map(|_| (r.random_range(0..v as u32), 1.0)))
            })
            .collect();
        docs.extend(lda_docs(&lambda, (10, 3, 150), &mut r));
        // Rows of 128 and 256 words get a padded stride (`row_stride`).
        for n in [128u32, 256] {
            docs.push(Document::from_pairs(
                (0..n).map(|w| (w, 1.0 + (w % 3) as f32)),
            ));
        }
        for accelerate in [false, true] {
            let mut revivals = 0;
            for alpha in [0.005f32, 0.03, 0.3, 3.0] {
                let alpha = vec![alpha; k];
                let p = EStepParams {
                    topics: &topics,
                    alpha: &alpha,
                    max_iterations: 200,
                    gamma_threshold: 1e-5,
                    accelerate,
                };
                let mut ws = Workspace::default();
                for doc in &docs {
                    let init: Vec<f32> = (0..k).map(|_| 0.5 + r.random::<f32>()).collect();
                    let want = dense(&p, doc, &init);
                    let total: f32 = want.iter().sum();
                    // The dispatched kernels (AVX-512 or AVX2 here), the AVX2 ones even where
                    // AVX-512 is chosen (same arithmetic: bit-identical), and the portable ones.
                    let mut portable = Workspace::default();
                    estep_generic::<Plain>(&p, doc, &init, true, &mut portable);
                    estep(&p, doc, &init, true, &mut ws);
                    #[cfg(target_arch = "x86_64")]
                    if simd::has_avx2_fma() {
                        let mut avx2 = Workspace::default();
                        // SAFETY: the CPU supports AVX2 and FMA (checked just above).
                        unsafe { estep_avx2(&p, doc, &init, true, &mut avx2) };
                        assert_eq!(avx2.gamma, ws.gamma, "AVX2 and dispatched E-steps differ");
                        assert_eq!(avx2.cphi, ws.cphi);
                    }
                    for gamma in [&ws.gamma, &portable.gamma] {
                        for (g, w) in gamma.iter().zip(&want) {
                            assert!(
                                (g - w).abs() <= 1e-3 * total,
                                "accelerate {accelerate}, alpha {}: {g} vs {w}",
                                alpha[0]
                            );
                        }
                    }
                }
                revivals += ws.revivals;
            }
            if accelerate {
                assert!(revivals > 0, "no jump revived a topic");
            }
        }
    }

    /// The E-step counts the (active topic, word) pairs it multiplies: every topic on every
    /// evaluation while none drops out (large alpha), fewer once topics drop (small alpha).
    #[test]
    fn pairs_count_the_active_topics_of_every_evaluation() {
        let (k, v) = (20, 200);
        let mut r = ChaCha8Rng::seed_from_u64(9);
        let lambda = random_lambda(k, v, &mut r);
        let topics = ExpElogbeta::from_lambda(&lambda);
        let doc = &lda_docs(&lambda, (1, 2, 300), &mut r)[0];
        let init = vec![1.0f32; k];
        for accelerate in [false, true] {
            let mut counts = Vec::new();
            for alpha in [3.0f32, 0.01] {
                let alpha = vec![alpha; k];
                let p = EStepParams {
                    topics: &topics,
                    alpha: &alpha,
                    max_iterations: 100,
                    gamma_threshold: 1e-3,
                    accelerate,
                };
                let info = estep(&p, doc, &init, false, &mut Workspace::default());
                let full = (info.iterations * k * doc.len()) as u64;
                counts.push((info.pairs, full));
            }
            let [(large, large_full), (small, small_full)] = counts[..] else {
                unreachable!()
            };
            assert_eq!(large, large_full, "accelerate {accelerate}");
            assert!(small < small_full && small > 0, "{small} vs {small_full}");
        }
    }

    /// On long documents (hundreds of distinct words, as in NIPS) SQUAREM reaches the plain
    /// iteration's fixed point in far fewer map evaluations.
    #[test]
    fn accelerated_estep_reaches_the_same_fixed_point_sooner() {
        let (k, v) = (50, 3000);
        let mut r = ChaCha8Rng::seed_from_u64(11);
        let lambda = random_lambda(k, v, &mut r);
        let topics = ExpElogbeta::from_lambda(&lambda);
        let alpha = vec![1.0 / k as f32; k];
        let docs = lda_docs(&lambda, (8, 12, 1500), &mut r);
        let mut evaluations = [0usize; 2];
        let mut gammas = [Vec::new(), Vec::new()];
        for (m, accelerate) in [false, true].into_iter().enumerate() {
            let p = EStepParams {
                topics: &topics,
                alpha: &alpha,
                max_iterations: 100_000,
                gamma_threshold: 1e-5,
                accelerate,
            };
            let mut ws = Workspace::default();
            for doc in &docs {
                let init: Vec<f32> = (0..k).map(|i| 0.5 + (i % 7) as f32 / 7.0).collect();
                let info = estep(&p, doc, &init, false, &mut ws);
                assert!(info.converged, "accelerate {accelerate}");
                evaluations[m] += info.iterations;
                gammas[m].extend_from_slice(&ws.gamma);
            }
        }
        for (a, b) in gammas[0].iter().zip(&gammas[1]) {
            assert!((a - b).abs() <= 1e-3 * (1.0 + a.abs()), "{a} vs {b}");
        }
        let [plain, accelerated] = evaluations;
        assert!(
            accelerated * 3 < plain * 2,
            "{accelerated} accelerated vs {plain} plain evaluations"
        );
    }
}

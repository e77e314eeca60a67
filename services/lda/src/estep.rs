//! The per-document E-step, shared by training ([`crate::OnlineLda::update`]), inference
//! ([`crate::TopicInference::infer`]) and evaluation.
//!
//! gensim's formulation: with B the document's rows of exp(E[log beta]) and
//! t = exp(E[log theta]), iterate
//!   phinorm_w = t . B_w + eps,   gamma = alpha + t * sum_w (c_w / phinorm_w) B_w
//! until the mean absolute change of gamma is below the threshold. phi is never materialised.
//! Both products are fused into one pass over the rows, so each iteration streams the
//! document's n x K block once (it was gathered contiguously first, so it stays in cache).

use crate::digamma::{digamma_f32, exp_dirichlet_expectation_f32, exp_f32, FLUSH_LN};
use crate::document::Document;
use crate::simd::{self, padded, Lanes, MulAdd, Plain, LANES};
use crate::topics::ExpElogbeta;

/// gensim adds float32 machine epsilon to every normaliser.
pub(crate) const EPS: f32 = f32::EPSILON;

/// Scratch buffers reused across documents by one worker.
#[derive(Default)]
pub(crate) struct Workspace {
    /// Gathered rows of the document's words, restricted to the active topics (n rows of
    /// `padded(active.len()) / LANES` vectors, padding 0).
    rows: Vec<Lanes>,
    /// Second block for compaction (swapped with `rows`).
    spare: Vec<Lanes>,
    /// Word ids kept (those < V) and their counts.
    pub ids: Vec<u32>,
    cts: Vec<f32>,
    /// exp(E[log theta]) (kp, padding 0).
    pub theta: Vec<Lanes>,
    /// `theta` restricted to the active topics (padding 0).
    theta_c: Vec<Lanes>,
    /// Accumulator over the active topics.
    acc: Vec<Lanes>,
    /// Topics whose theta may be non-zero, ascending; every other topic has theta exactly 0.
    active: Vec<u32>,
    /// Candidate active set and positions of its topics in `active`.
    next: Vec<u32>,
    pos: Vec<u32>,
    /// psi(alpha_k), computed once per document.
    psi_alpha: Vec<f32>,
    /// Variational Dirichlet parameters (K).
    pub gamma: Vec<f32>,
    /// c_w / phinorm_w for the final theta (only filled when asked).
    pub cphi: Vec<f32>,
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
}

/// Parameters that do not change within a batch.
pub(crate) struct EStepParams<'a> {
    pub topics: &'a ExpElogbeta,
    pub alpha: &'a [f32],
    pub max_iterations: usize,
    pub gamma_threshold: f32,
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
    #[cfg(target_arch = "x86_64")]
    if simd::has_avx2_fma() {
        // SAFETY: the CPU supports AVX2 and FMA (checked just above).
        return unsafe { estep_avx2(p, doc, gamma_init, want_cphi, ws) };
    }
    estep_generic::<Plain>(p, doc, gamma_init, want_cphi, ws)
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
    let v = p.topics.num_words();

    gather(p.topics, doc, v, ws);
    ws.gamma.clear();
    ws.gamma.extend_from_slice(gamma_init);
    ws.theta.clear();
    ws.theta.resize(kp / LANES, [0.0; LANES]);
    exp_dirichlet_expectation_f32(&ws.gamma, &mut ws.theta.as_flattened_mut()[..k]);

    let mut info = EStepInfo::default();
    ws.cphi.clear();
    if ws.ids.is_empty() {
        // No evidence: gensim's update gives gamma = alpha.
        ws.gamma.copy_from_slice(p.alpha);
        exp_dirichlet_expectation_f32(&ws.gamma, &mut ws.theta.as_flattened_mut()[..k]);
        info.converged = true;
        return info;
    }
    ws.active.clear();
    ws.active.extend(0..k as u32);
    ws.psi_alpha.clear();
    ws.psi_alpha.extend(p.alpha.iter().map(|&a| digamma_f32(a)));
    let psi_alpha_max = ws
        .psi_alpha
        .iter()
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);

    for _ in 0..p.max_iterations {
        info.iterations += 1;
        let kb = load_active_theta(p.topics, ws);
        ws.acc.clear();
        ws.acc.resize(kb, [0.0; LANES]);
        M::pass(&ws.theta_c[..kb], &ws.rows, &ws.cts, EPS, &mut ws.acc);
        // gamma = alpha + theta * acc over all K topics; inactive topics have theta = 0
        // (and a finite acc), so theirs is exactly alpha.
        let mut change = 0.0f32;
        let theta = ws.theta.as_flattened();
        let acc = ws.acc.as_flattened();
        let mut j = 0;
        for (i, ((gi, &th), &al)) in ws.gamma.iter_mut().zip(theta).zip(p.alpha).enumerate() {
            let a = if ws.active.get(j) == Some(&(i as u32)) {
                j += 1;
                acc[j - 1]
            } else {
                0.0
            };
            let g = M::mul_add(th, a, al);
            change += (g - *gi).abs();
            *gi = g;
        }
        update_theta(ws, k, psi_alpha_max);
        let converged = change / (k as f32) < p.gamma_threshold;
        if converged {
            info.converged = true;
            break;
        }
        shrink_active(ws);
    }

    if want_cphi {
        let kb = load_active_theta(p.topics, ws);
        let theta = &ws.theta_c[..kb];
        for (w, &c) in ws.cts.iter().enumerate() {
            let r = &ws.rows[w * kb..(w + 1) * kb];
            ws.cphi.push(c / (M::dot(theta, r) + EPS));
        }
    }
    info
}

/// Fills `theta_c` with theta on the active topics (first making sure every topic with
/// non-zero theta is active) and returns the active width in vectors.
#[inline(always)]
fn load_active_theta(topics: &ExpElogbeta, ws: &mut Workspace) -> usize {
    let theta = ws.theta.as_flattened();
    let missing = {
        let mut j = 0;
        let mut missing = false;
        for (i, &t) in theta.iter().enumerate() {
            if ws.active.get(j) == Some(&(i as u32)) {
                j += 1;
            } else if t != 0.0 {
                missing = true;
            }
        }
        missing
    };
    if missing {
        // A dropped topic came back (possible only when alpha is large): widen to all
        // non-zero topics and regather from the full rows.
        regather(topics, ws);
    }
    let kb = padded(ws.active.len()) / LANES;
    ws.theta_c.clear();
    ws.theta_c.resize(kb, [0.0; LANES]);
    let tc = ws.theta_c.as_flattened_mut();
    let theta = ws.theta.as_flattened();
    for (d, &t) in tc.iter_mut().zip(&ws.active) {
        *d = theta[t as usize];
    }
    kb
}

/// theta = exp(psi(gamma) - psi(sum gamma)) as [`exp_dirichlet_expectation_f32`] computes
/// it, but evaluating digamma/exp only on the active topics: an inactive topic's gamma is
/// exactly alpha, so its value is exp(psi(alpha) - psi_total), which is 0 for all of them
/// at once when even the largest psi(alpha) is below the flush threshold.
#[inline(always)]
fn update_theta(ws: &mut Workspace, k: usize, psi_alpha_max: f32) {
    let total: f32 = ws.gamma.iter().sum();
    let psi_total = digamma_f32(total);
    let theta = &mut ws.theta.as_flattened_mut()[..k];
    for &t in &ws.active {
        let t = t as usize;
        theta[t] = exp_f32(digamma_f32(ws.gamma[t]) - psi_total);
    }
    if ws.active.len() < k && psi_alpha_max - psi_total > FLUSH_LN {
        let mut j = 0;
        for (i, th) in theta.iter_mut().enumerate() {
            if ws.active.get(j) == Some(&(i as u32)) {
                j += 1;
            } else {
                *th = exp_f32(ws.psi_alpha[i] - psi_total);
            }
        }
    }
}

/// Drops topics whose theta is exactly 0 from the active set once that saves at least a
/// quarter of the vectors per row, compacting the gathered block (a zero theta gives gamma = alpha, so such
/// a topic adds exactly nothing to any dot product or accumulator).
#[inline(always)]
fn shrink_active(ws: &mut Workspace) {
    let theta = ws.theta.as_flattened();
    ws.next.clear();
    ws.pos.clear();
    for (j, &t) in ws.active.iter().enumerate() {
        if theta[t as usize] != 0.0 {
            ws.next.push(t);
            ws.pos.push(j as u32);
        }
    }
    let kb = padded(ws.active.len()) / LANES;
    let nb = padded(ws.next.len()) / LANES;
    // Compacting costs about one pass; only do it when a quarter of the width goes.
    if (kb - nb) * 4 < kb {
        return;
    }
    let n = ws.cts.len();
    ws.spare.clear();
    ws.spare.resize(n * nb, [0.0; LANES]);
    let (src, dst) = (ws.rows.as_flattened(), ws.spare.as_flattened_mut());
    let (sw, dw) = (kb * LANES, nb * LANES);
    assert!(src.len() >= n * sw && dst.len() >= n * dw && ws.pos.len() <= dw);
    assert!(ws.pos.iter().all(|&j| (j as usize) < sw));
    for w in 0..n {
        for (o, &j) in ws.pos.iter().enumerate() {
            // SAFETY: o < pos.len() <= dw and j < sw (both asserted above), w < n.
            unsafe { *dst.get_unchecked_mut(w * dw + o) = *src.get_unchecked(w * sw + j as usize) };
        }
    }
    std::mem::swap(&mut ws.rows, &mut ws.spare);
    std::mem::swap(&mut ws.active, &mut ws.next);
}

/// Makes every topic with non-zero theta active again and regathers the block from the full
/// rows (only when a dropped topic's theta became non-zero, i.e. alpha is large).
#[cold]
fn regather(topics: &ExpElogbeta, ws: &mut Workspace) {
    let theta = ws.theta.as_flattened();
    let mut j = 0;
    ws.next.clear();
    for (i, &t) in theta.iter().enumerate() {
        let was_active = ws.active.get(j) == Some(&(i as u32));
        j += was_active as usize;
        if was_active || t != 0.0 {
            ws.next.push(i as u32);
        }
    }
    std::mem::swap(&mut ws.active, &mut ws.next);
    let nb = padded(ws.active.len()) / LANES;
    ws.rows.clear();
    ws.rows.resize(ws.ids.len() * nb, [0.0; LANES]);
    for (d, &id) in ws
        .rows
        .as_flattened_mut()
        .chunks_exact_mut(nb * LANES)
        .zip(&ws.ids)
    {
        let row = topics.row(id as usize).as_flattened();
        for (o, &t) in d.iter_mut().zip(&ws.active) {
            *o = row[t as usize];
        }
    }
}

/// Copies the rows of the document's in-vocabulary words into one contiguous block.
fn gather(topics: &ExpElogbeta, doc: &Document, v: usize, ws: &mut Workspace) {
    ws.rows.clear();
    ws.ids.clear();
    ws.cts.clear();
    for (id, c) in doc.iter() {
        if (id as usize) < v && c > 0.0 {
            ws.ids.push(id);
            ws.cts.push(c);
            ws.rows.extend_from_slice(topics.row(id as usize));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The E-step without dropping zero-theta topics: full width every iteration.
    fn dense(p: &EStepParams<'_>, doc: &Document, init: &[f32]) -> Vec<f32> {
        let k = p.topics.num_topics();
        let mut gamma = init.to_vec();
        let mut theta = vec![0f32; k];
        exp_dirichlet_expectation_f32(&gamma, &mut theta);
        for _ in 0..p.max_iterations {
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
            exp_dirichlet_expectation_f32(&gamma, &mut theta);
            if change / (k as f32) < p.gamma_threshold {
                break;
            }
        }
        gamma
    }

    /// Dropping topics (and bringing them back when alpha is large) matches the dense
    /// E-step up to float rounding, for small and large alpha.
    #[test]
    fn active_set_matches_dense_estep() {
        let (k, v) = (37, 300);
        let mut r = ChaCha8Rng::seed_from_u64(5);
        let lambda = Array2::from_shape_fn((k, v), |_| {
            if r.random::<f32>() < 0.1 {
                r.random::<f32>() * 50.0
            } else {
                0.01 + r.random::<f32>() * 0.05
            }
        });
        let topics = ExpElogbeta::from_lambda(&lambda);
        let docs: Vec<Document> = (0..20)
            .map(|_| {
                let n = r.random_range(1..200);
                Document::from_pairs((0..n).map(|_| (r.random_range(0..v as u32), 1.0)))
            })
            .collect();
        for alpha in [0.005f32, 0.03, 0.3, 3.0] {
            let alpha = vec![alpha; k];
            let p = EStepParams {
                topics: &topics,
                alpha: &alpha,
                max_iterations: 200,
                gamma_threshold: 1e-5,
            };
            let mut ws = Workspace::default();
            for doc in &docs {
                let init: Vec<f32> = (0..k).map(|_| 0.5 + r.random::<f32>()).collect();
                estep(&p, doc, &init, true, &mut ws);
                let want = dense(&p, doc, &init);
                let total: f32 = want.iter().sum();
                for (g, w) in ws.gamma.iter().zip(&want) {
                    assert!(
                        (g - w).abs() <= 1e-3 * total,
                        "alpha {}: {g} vs {w}",
                        alpha[0]
                    );
                }
            }
        }
    }
}

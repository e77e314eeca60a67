//! The per-document E-step, shared by training ([`crate::OnlineLda::update`]), inference
//! ([`crate::TopicInference::infer`]) and evaluation.
//!
//! gensim's formulation: with B the document's rows of exp(E[log beta]) and
//! t = exp(E[log theta]), iterate
//!   phinorm_w = t . B_w + eps,   gamma = alpha + t * sum_w (c_w / phinorm_w) B_w
//! until the mean absolute change of gamma is below the threshold. phi is never materialised.
//! Both products are fused into one pass over the rows, so each iteration streams the
//! document's n x K block once (it was gathered contiguously first, so it stays in cache).

use crate::digamma::exp_dirichlet_expectation_f32;
use crate::document::Document;
use crate::simd::{self, axpy, axpy2, Lanes, MulAdd, Plain, LANES};
use crate::topics::ExpElogbeta;

/// gensim adds float32 machine epsilon to every normaliser.
pub(crate) const EPS: f32 = f32::EPSILON;

/// Scratch buffers reused across documents by one worker.
#[derive(Default)]
pub(crate) struct Workspace {
    /// Gathered rows of the document's words (n rows of kp / LANES vectors).
    rows: Vec<Lanes>,
    /// Word ids kept (those < V) and their counts.
    pub ids: Vec<u32>,
    cts: Vec<f32>,
    /// exp(E[log theta]) (kp, padding 0).
    pub theta: Vec<Lanes>,
    acc: Vec<Lanes>,
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

    let kb = kp / LANES;
    gather(p.topics, doc, v, ws);
    ws.gamma.clear();
    ws.gamma.extend_from_slice(gamma_init);
    ws.theta.clear();
    ws.theta.resize(kb, [0.0; LANES]);
    ws.acc.clear();
    ws.acc.resize(kb, [0.0; LANES]);
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

    let n = ws.cts.len();
    for _ in 0..p.max_iterations {
        info.iterations += 1;
        ws.acc.iter_mut().for_each(|a| *a = [0.0; LANES]);
        let (rows, cts, theta) = (&ws.rows, &ws.cts, &ws.theta);
        // Two words per step: the theta loads and the acc load/store are shared.
        let mut w = 0;
        while w + 1 < n {
            let r1 = &rows[w * kb..(w + 1) * kb];
            let r2 = &rows[(w + 1) * kb..(w + 2) * kb];
            let (p1, p2) = M::dot2(theta, r1, r2);
            axpy2::<M>(
                cts[w] / (p1 + EPS),
                r1,
                cts[w + 1] / (p2 + EPS),
                r2,
                &mut ws.acc,
            );
            w += 2;
        }
        if w < n {
            let r = &rows[w * kb..(w + 1) * kb];
            axpy::<M>(cts[w] / (M::dot(theta, r) + EPS), r, &mut ws.acc);
        }
        let mut change = 0.0f32;
        let (theta, acc) = (ws.theta.as_flattened(), ws.acc.as_flattened());
        for i in 0..k {
            let g = M::mul_add(theta[i], acc[i], p.alpha[i]);
            change += (g - ws.gamma[i]).abs();
            ws.gamma[i] = g;
        }
        exp_dirichlet_expectation_f32(&ws.gamma, &mut ws.theta.as_flattened_mut()[..k]);
        if change / (k as f32) < p.gamma_threshold {
            info.converged = true;
            break;
        }
    }

    if want_cphi {
        for (w, &c) in ws.cts.iter().enumerate() {
            let r = &ws.rows[w * kb..(w + 1) * kb];
            ws.cphi.push(c / (M::dot(&ws.theta, r) + EPS));
        }
    }
    info
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

//! The variational bound and per-word perplexity, as gensim's `LdaModel.bound` and
//! `log_perplexity`.

use ndarray::Array2;
use rayon::prelude::*;

use crate::digamma::{digamma, ln_gamma};
use crate::document::Document;
use crate::estep::Workspace;
use crate::inference::TopicInference;
use crate::model::dirichlet_expectation;

/// (ratio * sum_d docscore_d + topicscore) / (ratio * tokens), ratio = total_docs / |docs|.
///
/// docscore_d = sum_w c_w logsumexp_k(E[log theta_dk] + E[log beta_kw])
///            + sum_k (alpha_k - gamma_dk) E[log theta_dk] + lnG(gamma_dk) - lnG(alpha_k)
///            + lnG(sum alpha) - lnG(sum gamma_d)
/// topicscore = sum_kw (eta - lambda) E[log beta] + lnG(lambda) - lnG(eta)
///            + sum_k lnG(V eta) - lnG(sum_w lambda_kw)
///
/// gamma comes from the deterministic inference E-step (gensim draws a random start).
/// Words outside the model's vocabulary are skipped and not counted.
pub(crate) fn per_word_bound(
    lambda: &Array2<f32>,
    alpha: &[f32],
    eta: f32,
    inference: &TopicInference,
    docs: &[Document],
    total_docs: u64,
) -> f64 {
    let (k, v) = lambda.dim();
    let elogbeta = elog_beta(lambda);
    let alpha64: Vec<f64> = alpha.iter().map(|&a| a as f64).collect();
    let alpha_sum: f64 = alpha64.iter().sum();
    let lg_alpha: f64 = alpha64.iter().map(|&a| ln_gamma(a)).sum();

    let (doc_score, tokens) = docs
        .par_iter()
        .map_init(
            || (Workspace::default(), vec![0f64; k]),
            |(ws, buf), doc| {
                inference.gamma_into(doc, ws);
                let elog_theta = dirichlet_expectation(&ws.gamma);
                let mut score = 0.0;
                let mut tokens = 0.0;
                for (id, c) in doc.iter() {
                    let w = id as usize;
                    if w >= v {
                        continue;
                    }
                    for (t, b) in buf.iter_mut().enumerate() {
                        *b = elog_theta[t] + elogbeta[t * v + w];
                    }
                    score += c as f64 * logsumexp(buf);
                    tokens += c as f64;
                }
                let gamma_sum: f64 = ws.gamma.iter().map(|&g| g as f64).sum();
                for t in 0..k {
                    let g = ws.gamma[t] as f64;
                    score += (alpha64[t] - g) * elog_theta[t] + ln_gamma(g);
                }
                score += -lg_alpha + ln_gamma(alpha_sum) - ln_gamma(gamma_sum);
                (score, tokens)
            },
        )
        .collect::<Vec<(f64, f64)>>()
        .into_iter()
        // Summed in document order so the result does not depend on the thread count.
        .fold((0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
    if tokens == 0.0 {
        return f64::NAN;
    }
    let ratio = total_docs as f64 / docs.len() as f64;
    (ratio * doc_score + topic_score(lambda, &elogbeta, eta as f64)) / (ratio * tokens)
}

/// E[log beta] in f64, K x V row-major.
fn elog_beta(lambda: &Array2<f32>) -> Vec<f64> {
    let mut out = Vec::with_capacity(lambda.len());
    for row in lambda.rows() {
        let total: f64 = row.iter().map(|&x| x as f64).sum();
        let psi_total = digamma(total);
        out.extend(row.iter().map(|&x| digamma(x as f64) - psi_total));
    }
    out
}

fn topic_score(lambda: &Array2<f32>, elogbeta: &[f64], eta: f64) -> f64 {
    let v = lambda.ncols();
    let lg_eta = ln_gamma(eta);
    let lg_sum_eta = ln_gamma(eta * v as f64);
    lambda
        .rows()
        .into_iter()
        .enumerate()
        .map(|(k, row)| {
            let elog = &elogbeta[k * v..(k + 1) * v];
            let mut s = 0.0;
            let mut total = 0.0;
            for (&l, &e) in row.iter().zip(elog) {
                let l = l as f64;
                s += (eta - l) * e + ln_gamma(l) - lg_eta;
                total += l;
            }
            s + lg_sum_eta - ln_gamma(total)
        })
        .sum()
}

fn logsumexp(x: &[f64]) -> f64 {
    let m = x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    m + x.iter().map(|&v| (v - m).exp()).sum::<f64>().ln()
}

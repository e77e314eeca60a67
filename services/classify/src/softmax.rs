//! The multinomial logistic (softmax) objective and its gradient, in f64.
//!
//! Parameters are one flat vector: the dense weights (`classes x d`, row-major), then the
//! sparse weights (`s x classes`, feature-major, so the classes of one non-zero feature are
//! contiguous), then one intercept per class. The objective is the *mean* over examples of
//! `logsumexp(z) - z_y` plus `l2 / (2n) * ||W||^2`, i.e. scikit-learn's
//! `sum NLL + ||W||^2 / (2C)` divided by `n` (same minimiser, better conditioned numbers).

/// Numerically stable softmax of `logits` into `out`; returns `logsumexp(logits)`.
pub(crate) fn softmax_into(logits: &[f64], out: &mut [f64]) -> f64 {
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut sum = 0.0;
    for (o, &z) in out.iter_mut().zip(logits) {
        *o = (z - max).exp();
        sum += *o;
    }
    for o in out.iter_mut() {
        *o /= sum;
    }
    max + sum.ln()
}

/// Training problem: standardised dense rows, raw sparse rows and compact class labels.
pub(crate) struct Problem<'a> {
    /// `n x d`, row-major.
    pub x: &'a [f64],
    /// `n` sparse rows of `(feature, value)` with feature `< s`; empty when `s == 0`.
    pub sparse: &'a [&'a [(u32, f32)]],
    pub y: &'a [usize],
    pub d: usize,
    /// Width of the sparse block.
    pub s: usize,
    pub classes: usize,
    pub l2: f64,
}

impl Problem<'_> {
    /// Number of penalised weights (dense and sparse); the intercepts follow them.
    pub fn num_weights(&self) -> usize {
        self.classes * (self.d + self.s)
    }

    pub fn num_params(&self) -> usize {
        self.num_weights() + self.classes
    }

    /// Logits of row `i` under `params` into `z`.
    fn logits(&self, params: &[f64], i: usize, z: &mut [f64]) {
        let (k, d) = (self.classes, self.d);
        let (dense, rest) = params.split_at(k * d);
        let (sparse, bias) = rest.split_at(k * self.s);
        let row = &self.x[i * d..(i + 1) * d];
        for (c, zc) in z.iter_mut().enumerate() {
            let wc = &dense[c * d..(c + 1) * d];
            *zc = bias[c] + wc.iter().zip(row).map(|(a, x)| a * x).sum::<f64>();
        }
        if let Some(entries) = self.sparse.get(i) {
            for &(j, v) in entries.iter() {
                let wj = &sparse[j as usize * k..(j as usize + 1) * k];
                for (zc, w) in z.iter_mut().zip(wj) {
                    *zc += w * f64::from(v);
                }
            }
        }
    }

    /// Objective at `params`; writes its gradient into `grad`.
    pub fn value_and_gradient(&self, params: &[f64], grad: &mut [f64]) -> f64 {
        let n = self.y.len();
        let (k, d) = (self.classes, self.d);
        grad.iter_mut().for_each(|g| *g = 0.0);
        let mut z = vec![0.0; k];
        let mut p = vec![0.0; k];
        let mut loss = 0.0;
        for (i, &yi) in self.y.iter().enumerate() {
            self.logits(params, i, &mut z);
            let lse = softmax_into(&z, &mut p);
            loss += lse - z[yi];
            p[yi] -= 1.0; // p - onehot(y): the gradient w.r.t. the logits
            let (gw, rest) = grad.split_at_mut(k * d);
            let (gs, gb) = rest.split_at_mut(k * self.s);
            let row = &self.x[i * d..(i + 1) * d];
            for (c, &dz) in p.iter().enumerate() {
                gb[c] += dz;
                for (g, &x) in gw[c * d..(c + 1) * d].iter_mut().zip(row) {
                    *g += dz * x;
                }
            }
            if let Some(entries) = self.sparse.get(i) {
                for &(j, v) in entries.iter() {
                    let gj = &mut gs[j as usize * k..(j as usize + 1) * k];
                    for (g, &dz) in gj.iter_mut().zip(&p) {
                        *g += dz * f64::from(v);
                    }
                }
            }
        }
        let inv_n = 1.0 / n.max(1) as f64;
        let weights = self.num_weights();
        let penalty: f64 = params[..weights].iter().map(|w| w * w).sum::<f64>() * 0.5 * self.l2;
        for (idx, g) in grad.iter_mut().enumerate() {
            let reg = if idx < weights {
                self.l2 * params[idx]
            } else {
                0.0
            };
            *g = (*g + reg) * inv_n;
        }
        (loss + penalty) * inv_n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn softmax_is_stable_and_normalised() {
        let mut p = [0.0; 3];
        let lse = softmax_into(&[1000.0, 1000.0, 1000.0 - 3f64.ln() * 0.0], &mut p);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!((lse - (1000.0 + 3f64.ln())).abs() < 1e-9);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let (n, d, s, classes) = (13, 4, 6, 3);
        let x: Vec<f64> = (0..n * d).map(|_| rng.random_range(-2.0..2.0)).collect();
        let rows: Vec<Vec<(u32, f32)>> = (0..n)
            .map(|_| {
                let mut row = Vec::new();
                for j in 0..s as u32 {
                    if rng.random_bool(0.4) {
                        row.push((j, rng.random_range(0.1f32..1.0)));
                    }
                }
                row
            })
            .collect();
        let sparse: Vec<&[(u32, f32)]> = rows.iter().map(Vec::as_slice).collect();
        let y: Vec<usize> = (0..n).map(|_| rng.random_range(0..classes)).collect();
        let problem = Problem {
            x: &x,
            sparse: &sparse,
            y: &y,
            d,
            s,
            classes,
            l2: 0.7,
        };
        let params: Vec<f64> = (0..problem.num_params())
            .map(|_| rng.random_range(-1.0..1.0))
            .collect();
        let mut grad = vec![0.0; params.len()];
        problem.value_and_gradient(&params, &mut grad);
        let mut scratch = vec![0.0; params.len()];
        let h = 1e-6;
        for k in 0..params.len() {
            let mut plus = params.clone();
            plus[k] += h;
            let mut minus = params.clone();
            minus[k] -= h;
            let numeric = (problem.value_and_gradient(&plus, &mut scratch)
                - problem.value_and_gradient(&minus, &mut scratch))
                / (2.0 * h);
            assert!(
                (numeric - grad[k]).abs() < 1e-7,
                "param {k}: analytic {} vs numeric {numeric}",
                grad[k]
            );
        }
    }
}

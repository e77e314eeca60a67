//! Limited-memory BFGS for smooth convex objectives, deterministic.
//!
//! There is no learning rate to tune: each iteration takes the two-loop-recursion
//! quasi-Newton direction (scaled by `s.y / y.y` of the newest pair, so the step of 1 is
//! usually accepted) and backtracks by halving until the Armijo condition
//! `f(x + a d) <= f(x) + 1e-4 a g.d` holds. The very first step, with no curvature
//! information yet, is `1 / ||g||`. Pairs whose curvature `s.y` is not positive are
//! skipped, which keeps the direction a descent direction.

use std::collections::VecDeque;

/// Stopping rule and memory.
pub(crate) struct Options {
    pub max_iterations: usize,
    /// Stop when `max |g_k|` falls below this.
    pub gradient_tolerance: f64,
    /// Number of `(s, y)` pairs kept.
    pub memory: usize,
}

/// What the optimiser did, kept in the model for diagnosis.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FitReport {
    pub iterations: usize,
    /// The gradient tolerance (or a stalled objective) was reached before `max_iterations`.
    pub converged: bool,
    pub objective: f64,
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn max_abs(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, v| m.max(v.abs()))
}

/// Minimises `f` (which returns the value and writes the gradient) from `x`, in place.
pub(crate) fn minimize<F>(mut f: F, x: &mut [f64], options: &Options) -> FitReport
where
    F: FnMut(&[f64], &mut [f64]) -> f64,
{
    let n = x.len();
    let mut g = vec![0.0; n];
    let mut fx = f(x, &mut g);
    let mut pairs: VecDeque<(Vec<f64>, Vec<f64>, f64)> = VecDeque::new(); // (s, y, 1/s.y)
    let mut direction = vec![0.0; n];
    let mut x_new = vec![0.0; n];
    let mut g_new = vec![0.0; n];
    let mut alphas = vec![0.0; options.memory];

    for iteration in 0..options.max_iterations {
        if max_abs(&g) < options.gradient_tolerance {
            return FitReport {
                iterations: iteration,
                converged: true,
                objective: fx,
            };
        }
        // Two-loop recursion: direction = -H g.
        direction.iter_mut().zip(&g).for_each(|(d, gi)| *d = -gi);
        for (k, (s, y, rho)) in pairs.iter().enumerate().rev() {
            alphas[k] = rho * dot(s, &direction);
            direction
                .iter_mut()
                .zip(y)
                .for_each(|(d, yi)| *d -= alphas[k] * yi);
        }
        let gamma = match pairs.back() {
            Some((_, y, rho)) => 1.0 / (rho * dot(y, y)),
            None => 1.0 / dot(&g, &g).sqrt().max(1e-12),
        };
        direction.iter_mut().for_each(|d| *d *= gamma);
        for (k, (s, y, rho)) in pairs.iter().enumerate() {
            let beta = rho * dot(y, &direction);
            direction
                .iter_mut()
                .zip(s)
                .for_each(|(d, si)| *d += (alphas[k] - beta) * si);
        }
        let mut slope = dot(&g, &direction);
        if slope >= 0.0 {
            // Numerical trouble: restart from steepest descent.
            pairs.clear();
            let scale = 1.0 / dot(&g, &g).sqrt().max(1e-12);
            direction
                .iter_mut()
                .zip(&g)
                .for_each(|(d, gi)| *d = -gi * scale);
            slope = dot(&g, &direction);
        }

        // Backtracking Armijo line search.
        let mut step = 1.0;
        let mut f_new;
        loop {
            x_new
                .iter_mut()
                .zip(x.iter().zip(&direction))
                .for_each(|(xn, (xi, di))| *xn = xi + step * di);
            f_new = f(&x_new, &mut g_new);
            if f_new <= fx + 1e-4 * step * slope || step < 1e-20 {
                break;
            }
            step *= 0.5;
        }
        if f_new >= fx || f_new.is_nan() {
            // No decrease possible at machine precision: we are at the minimum.
            return FitReport {
                iterations: iteration + 1,
                converged: true,
                objective: fx,
            };
        }

        let s: Vec<f64> = x_new.iter().zip(x.iter()).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = g_new.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy > 1e-12 * dot(&y, &y).max(f64::MIN_POSITIVE) {
            if pairs.len() == options.memory {
                pairs.pop_front();
            }
            pairs.push_back((s, y, 1.0 / sy));
        }
        let relative_decrease = (fx - f_new) / fx.abs().max(1e-8);
        x.copy_from_slice(&x_new);
        g.copy_from_slice(&g_new);
        fx = f_new;
        if relative_decrease < 1e-12 {
            return FitReport {
                iterations: iteration + 1,
                converged: true,
                objective: fx,
            };
        }
    }
    FitReport {
        iterations: options.max_iterations,
        converged: max_abs(&g) < options.gradient_tolerance,
        objective: fx,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimises_an_ill_conditioned_quadratic() {
        // f = sum_k k^2 (x_k - 1)^2 / 2 with condition number 100.
        let f = |x: &[f64], g: &mut [f64]| {
            let mut v = 0.0;
            for k in 0..x.len() {
                let a = ((k + 1) * (k + 1)) as f64;
                v += 0.5 * a * (x[k] - 1.0).powi(2);
                g[k] = a * (x[k] - 1.0);
            }
            v
        };
        let mut x = vec![0.0; 10];
        let options = Options {
            max_iterations: 200,
            gradient_tolerance: 1e-9,
            memory: 10,
        };
        let report = minimize(f, &mut x, &options);
        assert!(report.converged, "{report:?}");
        for xi in x {
            assert!((xi - 1.0).abs() < 1e-6, "{xi} {report:?}");
        }
    }
}

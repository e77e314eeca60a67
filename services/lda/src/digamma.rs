//! Special functions: accurate f64 versions for evaluation and alpha learning, and fast,
//! branch-free f32 versions (auto-vectorisable) for the E-step and M-step hot loops.
//!
//! The f32 versions are accurate to a few ulp of f32 over the range LDA uses (x >= 1e-6),
//! far below the E-step's convergence threshold.

use crate::simd::{MulAdd, Plain};

/// Digamma psi(x) in f64 (recurrence to x >= 10, then the asymptotic series). Relative error
/// ~1e-14 for x > 0. Returns NaN for x <= 0 (poles and the negative axis are never needed).
pub fn digamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    let mut x = x;
    let mut result = 0.0;
    while x < 10.0 {
        result -= 1.0 / x;
        x += 1.0;
    }
    let r = 1.0 / x;
    let r2 = r * r;
    // Bernoulli-number series: ln x - 1/2x - sum B_2n / (2n x^2n).
    let series = r2
        * (1.0 / 12.0
            - r2 * (1.0 / 120.0 - r2 * (1.0 / 252.0 - r2 * (1.0 / 240.0 - r2 * (1.0 / 132.0)))));
    result + x.ln() - 0.5 * r - series
}

/// Trigamma psi'(x) in f64, for the Newton step of alpha learning.
pub fn trigamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    let mut x = x;
    let mut result = 0.0;
    while x < 10.0 {
        result += 1.0 / (x * x);
        x += 1.0;
    }
    let r = 1.0 / x;
    let r2 = r * r;
    let series = r
        + 0.5 * r2
        + r * r2 * (1.0 / 6.0 - r2 * (1.0 / 30.0 - r2 * (1.0 / 42.0 - r2 * (1.0 / 30.0))));
    result + series
}

/// ln Gamma(x) for x > 0 in f64 (Lanczos, g = 7, n = 9; relative error ~1e-15).
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const COEF: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection keeps the series in its accurate range.
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = COEF[0];
    let t = x + G + 0.5;
    for (i, &c) in COEF.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Fast branch-free natural log for positive normal f32 (Cephes `logf` polynomial).
#[inline(always)]
pub fn ln_f32(x: f32) -> f32 {
    ln_with::<Plain>(x)
}

/// [`ln_f32`] with the polynomial's multiply-adds as `M` computes them: fused (one rounding,
/// half the dependency chain) inside the AVX2/AVX-512 instantiations, separate elsewhere.
#[inline(always)]
#[allow(clippy::excessive_precision)] // Cephes coefficients, kept as published.
pub(crate) fn ln_with<M: MulAdd>(x: f32) -> f32 {
    const SQRTHF: f32 = std::f32::consts::FRAC_1_SQRT_2;
    let bits = x.to_bits() as i32;
    let mut e = ((bits >> 23) & 0xff) - 126;
    // Mantissa in [0.5, 1).
    let m = f32::from_bits(((bits & 0x007f_ffff) | 0x3f00_0000) as u32);
    let small = m < SQRTHF;
    e -= small as i32;
    let xm = if small { m + m - 1.0 } else { m - 1.0 };
    let z = xm * xm;
    let mut y: f32 = 7.037_683_6e-2;
    y = M::mul_add(y, xm, -1.151_461_1e-1);
    y = M::mul_add(y, xm, 1.167_699_9e-1);
    y = M::mul_add(y, xm, -1.242_014_1e-1);
    y = M::mul_add(y, xm, 1.424_932_3e-1);
    y = M::mul_add(y, xm, -1.666_805_8e-1);
    y = M::mul_add(y, xm, 2.000_071_4e-1);
    y = M::mul_add(y, xm, -2.499_999_4e-1);
    y = M::mul_add(y, xm, 3.333_333_1e-1);
    y *= xm * z;
    let fe = e as f32;
    y += -2.121_944_4e-4 * fe;
    y += -0.5 * z;
    xm + y + 0.693_359_4 * fe
}

/// Fast branch-free exp for f32 (Cephes `expf` polynomial). Results below `FLUSH` are
/// returned as exactly 0: such weights cannot change any sum they join (the E-step adds
/// f32 epsilon to every normaliser), and keeping them out avoids denormal arithmetic, which
/// is two orders of magnitude slower on x86.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    exp_with::<Plain>(x)
}

/// [`exp_f32`] with the polynomial's multiply-adds as `M` computes them (see [`ln_with`]).
#[inline(always)]
pub(crate) fn exp_with<M: MulAdd>(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    let xc = x.clamp(FLUSH_LN, 88.0);
    // n = round(x / ln 2) by the 1.5 * 2^23 trick: adding it leaves round(t) in the low
    // mantissa bits. Cephes floors t + 0.5 instead; both keep the remainder r within
    // +-ln(2)/2, and this needs no float-to-int conversion (Rust's saturating `as` does not
    // vectorise cheaply, and the E-step runs this on every active topic of every iteration).
    const ROUNDER: f32 = 12_582_912.0;
    let big = xc * LOG2E + ROUNDER;
    let n = (big.to_bits() as i32).wrapping_sub(ROUNDER.to_bits() as i32);
    let fx = big - ROUNDER;
    let r = xc - fx * 0.693_359_4 - fx * -2.121_944_4e-4;
    let z = r * r;
    let mut y: f32 = 1.987_569_1e-4;
    y = M::mul_add(y, r, 1.398_199_9e-3);
    y = M::mul_add(y, r, 8.333_452e-3);
    y = M::mul_add(y, r, 4.166_579_6e-2);
    y = M::mul_add(y, r, 1.666_666_5e-1);
    y = M::mul_add(y, r, 0.5); // Cephes: 5.0000001201e-1, which is 0.5 in f32
    y = M::mul_add(y, z, r) + 1.0;
    let scale = f32::from_bits((n.wrapping_add(127) as u32) << 23);
    if x > FLUSH_LN {
        y * scale
    } else {
        0.0
    }
}

/// Values below this are flushed to zero by [`exp_f32`] (see there).
pub const FLUSH: f32 = 1e-18;
pub(crate) const FLUSH_LN: f32 = -41.446_53; // ln(1e-18)

/// Fast branch-free digamma for f32, x > 0: shift by 6 with the recurrence (always, so there
/// is no branch), then the asymptotic series. Absolute error ~1e-6.
#[inline(always)]
pub fn digamma_f32(x: f32) -> f32 {
    digamma_with::<Plain>(x)
}

/// [`digamma_f32`] with [`ln_with`]'s multiply-adds as `M` computes them.
#[inline(always)]
pub(crate) fn digamma_with<M: MulAdd>(x: f32) -> f32 {
    // sum_{i=0}^{5} 1/(x+i), pairing terms to halve the divisions.
    let (a0, a1, a2, a3, a4, a5) = (x, x + 1.0, x + 2.0, x + 3.0, x + 4.0, x + 5.0);
    let shift = (a0 + a1) / (a0 * a1) + (a2 + a3) / (a2 * a3) + (a4 + a5) / (a4 * a5);
    let y = x + 6.0;
    let r = 1.0 / y;
    let r2 = r * r;
    let series = r2 * (1.0 / 12.0 - r2 * (1.0 / 120.0 - r2 * (1.0 / 252.0)));
    ln_with::<M>(y) - 0.5 * r - series - shift
}

/// `out[k] = exp(psi(g[k]) - psi(sum g))`, the E-step's exp(E[log theta]), in fast f32.
#[inline(always)]
pub fn exp_dirichlet_expectation_f32(g: &[f32], out: &mut [f32]) {
    exp_dirichlet_expectation_with::<Plain>(g, out)
}

/// [`exp_dirichlet_expectation_f32`] with `M`'s multiply-adds (see [`ln_with`]).
#[inline(always)]
pub(crate) fn exp_dirichlet_expectation_with<M: MulAdd>(g: &[f32], out: &mut [f32]) {
    let total: f32 = g.iter().sum();
    let psi_total = digamma_with::<M>(total);
    for (o, &v) in out.iter_mut().zip(g) {
        *o = exp_with::<M>(digamma_with::<M>(v) - psi_total);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    // Reference values from scipy.special.psi / polygamma / gammaln.
    const PSI: [(f64, f64); 6] = [
        (1.0, -0.577_215_664_901_532_9),
        (0.5, -1.963_510_026_021_423_5),
        (0.01, -100.560_885_457_868_68),
        (2.5, 0.703_156_640_645_243_2),
        (10.0, 2.251_752_589_066_721),
        (1000.0, 6.907_255_195_648_812),
    ];

    #[test]
    fn digamma_matches_known_values() {
        for (x, want) in PSI {
            approx::assert_relative_eq!(digamma(x), want, max_relative = 1e-13);
        }
        assert!(digamma(0.0).is_nan());
    }

    #[test]
    fn trigamma_and_ln_gamma_match_known_values() {
        assert_abs_diff_eq!(
            trigamma(1.0),
            std::f64::consts::PI.powi(2) / 6.0,
            epsilon = 1e-11
        );
        assert_abs_diff_eq!(trigamma(0.1), 101.433_299_150_792_76, epsilon = 1e-9);
        assert_abs_diff_eq!(ln_gamma(1.0), 0.0, epsilon = 1e-13);
        assert_abs_diff_eq!(
            ln_gamma(0.5),
            std::f64::consts::PI.sqrt().ln(),
            epsilon = 1e-13
        );
        assert_abs_diff_eq!(ln_gamma(0.01), 4.599_479_878_042_022, epsilon = 1e-11);
        assert_abs_diff_eq!(ln_gamma(100.0), 359.134_205_369_575_4, epsilon = 1e-9);
    }

    /// The f32 functions as `M` computes them, against scipy's digamma and f64 exp/ln.
    fn assert_fast_functions_accurate<M: MulAdd>() {
        for (x, want) in PSI {
            let got = digamma_with::<M>(x as f32) as f64;
            assert_abs_diff_eq!(got, want, epsilon = 2e-5 * want.abs().max(1.0));
        }
        for i in -400..=400 {
            let x = i as f32 * 0.1;
            let (want, got) = ((x as f64).exp(), exp_with::<M>(x) as f64);
            if want < FLUSH as f64 {
                assert_eq!(got, 0.0);
            } else {
                assert!(
                    (got - want).abs() <= 3e-7 * want,
                    "exp({x}) = {got}, want {want}"
                );
            }
        }
        for i in 1..2000 {
            let x = i as f32 * 0.37;
            let want = (x as f64).ln();
            let got = ln_with::<M>(x) as f64;
            assert_abs_diff_eq!(got, want, epsilon = 3e-7 * want.abs().max(1.0));
        }
    }

    /// The public (portable) functions.
    #[test]
    fn fast_functions_are_accurate() {
        assert_fast_functions_accurate::<Plain>();
        // The public names are the portable instantiation.
        for x in [1e-6f32, 0.01, 0.5, 2.5, 10.0, 1000.0] {
            assert_eq!(digamma_f32(x), digamma_with::<Plain>(x));
            assert_eq!(ln_f32(x), ln_with::<Plain>(x));
            assert_eq!(exp_f32(-x), exp_with::<Plain>(-x));
        }
    }

    /// The fused-multiply-add instantiation (what the AVX builds run) is as accurate as the
    /// portable one. Outside an FMA-enabled function `mul_add` is a libm call: slow, exact.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn fused_versions_are_as_accurate() {
        assert_fast_functions_accurate::<crate::simd::Fused>();
    }
}

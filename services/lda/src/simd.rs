//! Runtime CPU dispatch for the hot loops.
//!
//! The kernels are written once, generic over how `a * b + c` is computed, as plain slice
//! loops that LLVM auto-vectorises. They are then instantiated twice: for the baseline target
//! (separate multiply and add), and inside a `#[target_feature(enable = "avx2,fma")]` function
//! (fused multiply-add on 8-lane registers), chosen once per call with cached CPU detection.
//! This gives AVX2 speed without asking every crate in the workspace for `-C target-cpu`.

/// How the kernels compute `a * b + c`, and the two dot-product kernels (whose
/// reductions LLVM does not vectorise well on its own).
pub(crate) trait MulAdd {
    fn mul_add(a: f32, b: f32, c: f32) -> f32;

    /// Dot products of `theta` with two rows.
    #[inline(always)]
    fn dot2(theta: &[Lanes], r1: &[Lanes], r2: &[Lanes]) -> (f32, f32) {
        dot2_generic::<Self>(theta, r1, r2)
    }

    /// Dot product of `theta` with one row.
    #[inline(always)]
    fn dot(theta: &[Lanes], r: &[Lanes]) -> f32 {
        dot_generic::<Self>(theta, r)
    }

    /// One E-step pass over a document's gathered block (`cts.len()` rows of `theta.len()`
    /// vectors): `acc = sum_w cts[w] / (theta . row_w + eps) * row_w`.
    #[inline(always)]
    fn pass(theta: &[Lanes], rows: &[Lanes], cts: &[f32], eps: f32, acc: &mut [Lanes]) {
        pass_generic::<Self>(theta, rows, cts, eps, acc)
    }
}

/// [`MulAdd::pass`] for any width: two rows per step share the theta loads and the acc
/// load/store.
#[inline(always)]
fn pass_generic<M: MulAdd + ?Sized>(
    theta: &[Lanes],
    rows: &[Lanes],
    cts: &[f32],
    eps: f32,
    acc: &mut [Lanes],
) {
    let kb = theta.len();
    let n = cts.len();
    acc.iter_mut().for_each(|a| *a = [0.0; LANES]);
    let mut w = 0;
    while w + 1 < n {
        let r1 = &rows[w * kb..(w + 1) * kb];
        let r2 = &rows[(w + 1) * kb..(w + 2) * kb];
        let (p1, p2) = M::dot2(theta, r1, r2);
        axpy2::<M>(cts[w] / (p1 + eps), r1, cts[w + 1] / (p2 + eps), r2, acc);
        w += 2;
    }
    if w < n {
        let r = &rows[w * kb..(w + 1) * kb];
        axpy::<M>(cts[w] / (M::dot(theta, r) + eps), r, acc);
    }
}

/// Separate multiply and add: what the baseline x86-64 target can do fast.
pub(crate) struct Plain;
impl MulAdd for Plain {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
}

/// Fused multiply-add: only used inside functions compiled with the `fma` target feature
/// (elsewhere `f32::mul_add` would be a slow libm call).
#[cfg(target_arch = "x86_64")]
pub(crate) struct Fused;
#[cfg(target_arch = "x86_64")]
impl MulAdd for Fused {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }

    #[inline(always)]
    fn dot2(theta: &[Lanes], r1: &[Lanes], r2: &[Lanes]) -> (f32, f32) {
        // SAFETY: `Fused` is only used inside `#[target_feature(enable = "avx2,fma")]`
        // functions, which are only called after `has_avx2_fma()`.
        unsafe { avx2::dot2(theta, r1, r2) }
    }

    #[inline(always)]
    fn dot(theta: &[Lanes], r: &[Lanes]) -> f32 {
        // SAFETY: as above.
        unsafe { avx2::dot(theta, r) }
    }

    #[inline(always)]
    fn pass(theta: &[Lanes], rows: &[Lanes], cts: &[f32], eps: f32, acc: &mut [Lanes]) {
        macro_rules! widths {
            ($($kb:literal)*) => {
                match theta.len() {
                    // SAFETY: as above.
                    $($kb => unsafe { avx2::pass::<$kb>(theta, rows, cts, eps, acc) },)*
                    _ => pass_generic::<Self>(theta, rows, cts, eps, acc),
                }
            };
        }
        widths!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16)
    }
}

/// Explicit AVX2 dot products: two accumulators per row break the FMA latency chain.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{Lanes, LANES};
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)))
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(super) unsafe fn dot2(theta: &[Lanes], r1: &[Lanes], r2: &[Lanes]) -> (f32, f32) {
        let n = theta.len();
        let (r1, r2) = (&r1[..n], &r2[..n]);
        let (mut a1, mut b1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        let (mut a2, mut b2) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        let mut c = 0;
        while c + 1 < n {
            let t0 = _mm256_loadu_ps(theta[c].as_ptr());
            let t1 = _mm256_loadu_ps(theta[c + 1].as_ptr());
            a1 = _mm256_fmadd_ps(t0, _mm256_loadu_ps(r1[c].as_ptr()), a1);
            a2 = _mm256_fmadd_ps(t0, _mm256_loadu_ps(r2[c].as_ptr()), a2);
            b1 = _mm256_fmadd_ps(t1, _mm256_loadu_ps(r1[c + 1].as_ptr()), b1);
            b2 = _mm256_fmadd_ps(t1, _mm256_loadu_ps(r2[c + 1].as_ptr()), b2);
            c += 2;
        }
        if c < n {
            let t0 = _mm256_loadu_ps(theta[c].as_ptr());
            a1 = _mm256_fmadd_ps(t0, _mm256_loadu_ps(r1[c].as_ptr()), a1);
            a2 = _mm256_fmadd_ps(t0, _mm256_loadu_ps(r2[c].as_ptr()), a2);
        }
        (hsum(_mm256_add_ps(a1, b1)), hsum(_mm256_add_ps(a2, b2)))
    }

    /// [`super::MulAdd::pass`] for a width of `KB` vectors known at compile time: theta and
    /// the accumulators live in registers (for small `KB`), two words per step with separate
    /// accumulators for even and odd words (no store-to-load chain through memory), both
    /// dot products reduced together and both scales computed by one division.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    #[allow(clippy::needless_range_loop)] // c indexes several arrays of the same width
    pub(super) unsafe fn pass<const KB: usize>(
        theta: &[Lanes],
        rows: &[Lanes],
        cts: &[f32],
        eps: f32,
        acc: &mut [Lanes],
    ) {
        let n = cts.len();
        assert!(theta.len() == KB && acc.len() == KB && rows.len() >= n * KB);
        let mut t = [_mm256_setzero_ps(); KB];
        for (c, tc) in t.iter_mut().enumerate() {
            *tc = _mm256_loadu_ps(theta[c].as_ptr());
        }
        let mut a = [_mm256_setzero_ps(); KB];
        let mut b = [_mm256_setzero_ps(); KB];
        let rp = rows.as_ptr() as *const f32;
        let cp = cts.as_ptr();
        let epsv = _mm_set1_ps(eps);
        let mut w = 0;
        while w + 1 < n {
            let r1 = rp.add(w * KB * LANES);
            let r2 = r1.add(KB * LANES);
            let (mut d1, mut e1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
            let (mut d2, mut e2) = (_mm256_setzero_ps(), _mm256_setzero_ps());
            for c in 0..KB {
                let x1 = _mm256_loadu_ps(r1.add(c * LANES));
                let x2 = _mm256_loadu_ps(r2.add(c * LANES));
                if c % 2 == 0 {
                    d1 = _mm256_fmadd_ps(t[c], x1, d1);
                    d2 = _mm256_fmadd_ps(t[c], x2, d2);
                } else {
                    e1 = _mm256_fmadd_ps(t[c], x1, e1);
                    e2 = _mm256_fmadd_ps(t[c], x2, e2);
                }
            }
            // [d1 d1 d2 d2 | d1 d1 d2 d2] -> [d1 d1 d2 d2] -> [d1 d2 d1 d2]
            let h = _mm256_hadd_ps(_mm256_add_ps(d1, e1), _mm256_add_ps(d2, e2));
            let h = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps::<1>(h));
            let h = _mm_hadd_ps(h, h);
            let c12 = _mm_castpd_ps(_mm_load_sd(cp.add(w) as *const f64));
            let s = _mm_div_ps(c12, _mm_add_ps(h, epsv));
            let s1 = _mm256_broadcastss_ps(s);
            let s2 = _mm256_broadcastss_ps(_mm_movehdup_ps(s));
            for c in 0..KB {
                a[c] = _mm256_fmadd_ps(s1, _mm256_loadu_ps(r1.add(c * LANES)), a[c]);
                b[c] = _mm256_fmadd_ps(s2, _mm256_loadu_ps(r2.add(c * LANES)), b[c]);
            }
            w += 2;
        }
        if w < n {
            let r1 = rp.add(w * KB * LANES);
            let (mut d1, mut e1) = (_mm256_setzero_ps(), _mm256_setzero_ps());
            for c in 0..KB {
                let x1 = _mm256_loadu_ps(r1.add(c * LANES));
                if c % 2 == 0 {
                    d1 = _mm256_fmadd_ps(t[c], x1, d1);
                } else {
                    e1 = _mm256_fmadd_ps(t[c], x1, e1);
                }
            }
            let s = *cp.add(w) / (hsum(_mm256_add_ps(d1, e1)) + eps);
            let s1 = _mm256_set1_ps(s);
            for c in 0..KB {
                a[c] = _mm256_fmadd_ps(s1, _mm256_loadu_ps(r1.add(c * LANES)), a[c]);
            }
        }
        for c in 0..KB {
            _mm256_storeu_ps(acc[c].as_mut_ptr(), _mm256_add_ps(a[c], b[c]));
        }
    }

    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(super) unsafe fn dot(theta: &[Lanes], r: &[Lanes]) -> f32 {
        let n = theta.len();
        let r = &r[..n];
        let (mut a, mut b) = (_mm256_setzero_ps(), _mm256_setzero_ps());
        let mut c = 0;
        while c + 1 < n {
            a = _mm256_fmadd_ps(
                _mm256_loadu_ps(theta[c].as_ptr()),
                _mm256_loadu_ps(r[c].as_ptr()),
                a,
            );
            b = _mm256_fmadd_ps(
                _mm256_loadu_ps(theta[c + 1].as_ptr()),
                _mm256_loadu_ps(r[c + 1].as_ptr()),
                b,
            );
            c += 2;
        }
        if c < n {
            a = _mm256_fmadd_ps(
                _mm256_loadu_ps(theta[c].as_ptr()),
                _mm256_loadu_ps(r[c].as_ptr()),
                a,
            );
        }
        hsum(_mm256_add_ps(a, b))
    }
}

/// True when the AVX2+FMA instantiations may run (cached by std after the first call).
#[inline]
pub(crate) fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Lanes of the padded topic dimension: a row of K topics is stored as `padded(K)` floats so
/// every row starts aligned to a whole number of 8-lane vectors and needs no remainder loop.
pub(crate) const LANES: usize = 8;

/// K rounded up to a multiple of [`LANES`].
pub(crate) fn padded(k: usize) -> usize {
    k.div_ceil(LANES) * LANES
}

/// One 8-lane vector. Rows are slices of these, so loops index whole vectors and LLVM emits
/// straight-line SIMD without iterator adapters or bounds checks in the hot loop.
pub(crate) type Lanes = [f32; LANES];

#[inline(always)]
fn hsum(l: &Lanes) -> f32 {
    ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]))
}

/// Dot products of `theta` with two rows at once (sharing the `theta` loads); each sum is
/// kept in 8 lanes and reduced in a fixed order, so results are reproducible.
#[inline(always)]
fn dot2_generic<M: MulAdd + ?Sized>(theta: &[Lanes], r1: &[Lanes], r2: &[Lanes]) -> (f32, f32) {
    let n = theta.len();
    let (r1, r2) = (&r1[..n], &r2[..n]);
    let mut a1 = [0f32; LANES];
    let mut a2 = [0f32; LANES];
    for c in 0..n {
        let t = theta[c];
        let x1 = r1[c];
        let x2 = r2[c];
        for i in 0..LANES {
            a1[i] = M::mul_add(t[i], x1[i], a1[i]);
            a2[i] = M::mul_add(t[i], x2[i], a2[i]);
        }
    }
    (hsum(&a1), hsum(&a2))
}

/// Dot product of `theta` with one row.
#[inline(always)]
fn dot_generic<M: MulAdd + ?Sized>(theta: &[Lanes], r: &[Lanes]) -> f32 {
    let n = theta.len();
    let r = &r[..n];
    let mut a = [0f32; LANES];
    for c in 0..n {
        let t = theta[c];
        let x = r[c];
        for i in 0..LANES {
            a[i] = M::mul_add(t[i], x[i], a[i]);
        }
    }
    hsum(&a)
}

/// `acc += s1 * r1 + s2 * r2` (one load and store of `acc` for two rows).
#[inline(always)]
pub(crate) fn axpy2<M: MulAdd + ?Sized>(
    s1: f32,
    r1: &[Lanes],
    s2: f32,
    r2: &[Lanes],
    acc: &mut [Lanes],
) {
    let n = acc.len();
    let (r1, r2) = (&r1[..n], &r2[..n]);
    for c in 0..n {
        let mut a = acc[c];
        let x1 = r1[c];
        let x2 = r2[c];
        for i in 0..LANES {
            a[i] = M::mul_add(s2, x2[i], M::mul_add(s1, x1[i], a[i]));
        }
        acc[c] = a;
    }
}

/// `acc += s * r`.
#[inline(always)]
pub(crate) fn axpy<M: MulAdd + ?Sized>(s: f32, r: &[Lanes], acc: &mut [Lanes]) {
    let n = acc.len();
    let r = &r[..n];
    for c in 0..n {
        let mut a = acc[c];
        let x = r[c];
        for i in 0..LANES {
            a[i] = M::mul_add(s, x[i], a[i]);
        }
        acc[c] = a;
    }
}

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
}

/// Explicit AVX2 dot products: two accumulators per row break the FMA latency chain.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::Lanes;
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
pub(crate) fn axpy2<M: MulAdd>(s1: f32, r1: &[Lanes], s2: f32, r2: &[Lanes], acc: &mut [Lanes]) {
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
pub(crate) fn axpy<M: MulAdd>(s: f32, r: &[Lanes], acc: &mut [Lanes]) {
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

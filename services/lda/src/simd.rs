//! Runtime CPU dispatch for the hot loops.
//!
//! The kernels are written once, generic over how `a * b + c` is computed, as plain slice
//! loops that LLVM auto-vectorises. They are then instantiated twice: for the baseline target
//! (separate multiply and add), and inside a `#[target_feature(enable = "avx2,fma")]` function
//! (fused multiply-add on 8-lane registers), chosen once per call with cached CPU detection.
//! This gives AVX2 speed without asking every crate in the workspace for `-C target-cpu`.

/// How the kernels compute `a * b + c`.
pub(crate) trait MulAdd {
    fn mul_add(a: f32, b: f32, c: f32) -> f32;
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

/// Dot product over padded rows, with 8 independent accumulators so the FMA latency chain
/// does not serialise the loop; summed in a fixed order so results are reproducible.
#[inline(always)]
pub(crate) fn dot<M: MulAdd>(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; LANES];
    for (x, y) in a.chunks_exact(LANES).zip(b.chunks_exact(LANES)) {
        for i in 0..LANES {
            lanes[i] = M::mul_add(x[i], y[i], lanes[i]);
        }
    }
    ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]))
}

/// `acc += s * row` over padded rows.
#[inline(always)]
pub(crate) fn axpy<M: MulAdd>(s: f32, row: &[f32], acc: &mut [f32]) {
    for (a, r) in acc.chunks_exact_mut(LANES).zip(row.chunks_exact(LANES)) {
        for i in 0..LANES {
            a[i] = M::mul_add(s, r[i], a[i]);
        }
    }
}

//! Runtime CPU dispatch for the hot loops.
//!
//! The kernels are written once, generic over how `a * b + c` is computed, as plain slice
//! loops that LLVM auto-vectorises. They are then instantiated twice: for the baseline target
//! (separate multiply and add), and inside a `#[target_feature(enable = "avx2,fma")]` function
//! (fused multiply-add on 8-lane registers), chosen once per call with cached CPU detection.
//! This gives AVX2 speed without asking every crate in the workspace for `-C target-cpu`.

/// How the kernels compute `a * b + c`, and the E-step kernels built on it.
pub(crate) trait MulAdd {
    fn mul_add(a: f32, b: f32, c: f32) -> f32;

    /// One E-step pass over a document's topic-major block (`np` floats per topic row, `np`
    /// a multiple of [`LANES`]): for each active topic j (its row starting at `rows[j]`,
    /// weight `theta[j]`), `acc[j]` gets 8 partial sums of `sum_w cts[w] / (phinorm_w + eps)
    /// * block[rows[j] + w]`, where `phinorm_w = sum_j theta[j] * block[rows[j] + w]`.
    #[inline(always)]
    fn pass(
        block: &[f32],
        np: usize,
        rows: &[usize],
        theta: &[f32],
        cts: &[f32],
        eps: f32,
        acc: &mut [Lanes],
    ) {
        pass_generic::<Self>(block, np, rows, theta, cts, eps, acc)
    }

    /// Writes the first `k` weights of the word-major rows `ids` of `rows` (`kb` vectors per
    /// row) into columns 0.. of the topic-major `block` (k rows of `np` floats).
    #[inline(always)]
    fn transpose(rows: &[Lanes], kb: usize, ids: &[u32], k: usize, np: usize, block: &mut [f32]) {
        transpose_generic(rows, kb, ids, 0, k, np, block)
    }
}

/// [`MulAdd::pass`] for any target: one 8-word block at a time.
#[inline(always)]
fn pass_generic<M: MulAdd + ?Sized>(
    block: &[f32],
    np: usize,
    rows: &[usize],
    theta: &[f32],
    cts: &[f32],
    eps: f32,
    acc: &mut [Lanes],
) {
    let acc = &mut acc[..rows.len()];
    acc.iter_mut().for_each(|a| *a = [0.0; LANES]);
    for off in (0..np).step_by(LANES) {
        let mut ph = [0f32; LANES];
        for (&row, &th) in rows.iter().zip(theta) {
            let r = &block[row + off..][..LANES];
            for i in 0..LANES {
                ph[i] = M::mul_add(th, r[i], ph[i]);
            }
        }
        let c = &cts[off..off + LANES];
        let s: Lanes = std::array::from_fn(|i| c[i] / (ph[i] + eps));
        for (&row, a) in rows.iter().zip(acc.iter_mut()) {
            let r = &block[row + off..][..LANES];
            for i in 0..LANES {
                a[i] = M::mul_add(s[i], r[i], a[i]);
            }
        }
    }
}

/// [`MulAdd::transpose`] one word at a time, from word `from` on.
#[inline(always)]
fn transpose_generic(
    rows: &[Lanes],
    kb: usize,
    ids: &[u32],
    from: usize,
    k: usize,
    np: usize,
    block: &mut [f32],
) {
    for (w, &id) in ids.iter().enumerate().skip(from) {
        let row = &rows[id as usize * kb..(id as usize + 1) * kb].as_flattened()[..k];
        for (t, &x) in row.iter().enumerate() {
            block[t * np + w] = x;
        }
    }
}

/// `out[w] = sum_j theta[j] * block[rows[j] + w]` for the `np` columns of the block.
#[inline(always)]
pub(crate) fn phinorms(block: &[f32], np: usize, rows: &[usize], theta: &[f32], out: &mut [f32]) {
    let out = &mut out[..np];
    out.iter_mut().for_each(|x| *x = 0.0);
    for (&row, &th) in rows.iter().zip(theta) {
        let r = &block[row..][..np];
        for (o, &x) in out.iter_mut().zip(r) {
            *o += th * x;
        }
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
/// (elsewhere `f32::mul_add` would be a slow libm call). `WIDE` selects the pass on 64-word
/// tiles ([`avx2::pass_wide`]) for the AVX-512 instantiation; the arithmetic is the same.
#[cfg(target_arch = "x86_64")]
pub(crate) struct Fused<const WIDE: bool = false>;
#[cfg(target_arch = "x86_64")]
impl<const WIDE: bool> MulAdd for Fused<WIDE> {
    #[inline(always)]
    fn mul_add(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }

    #[inline(always)]
    fn pass(
        block: &[f32],
        np: usize,
        rows: &[usize],
        theta: &[f32],
        cts: &[f32],
        eps: f32,
        acc: &mut [Lanes],
    ) {
        // SAFETY: `Fused` is only used inside `#[target_feature(enable = "avx2,fma")]`
        // functions, which are only called after `has_avx2_fma()`, and `Fused<true>` only
        // inside the AVX-512 ones, called after `has_avx512()`.
        unsafe {
            if WIDE {
                avx2::pass_wide(block, np, rows, theta, cts, eps, acc)
            } else {
                avx2::pass(block, np, rows, theta, cts, eps, acc)
            }
        }
    }

    #[inline(always)]
    fn transpose(rows: &[Lanes], kb: usize, ids: &[u32], k: usize, np: usize, block: &mut [f32]) {
        // SAFETY: as above (AVX-512 implies the AVX2 this kernel needs).
        unsafe { avx2::transpose(rows, kb, ids, k, np, block) }
    }
}

/// Explicit AVX2 kernels.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{Lanes, LANES};
    use std::arch::x86_64::*;

    /// [`super::MulAdd::pass`]: 32 words (four vectors) at a time, so each theta broadcast
    /// and each accumulator load/store serves four FMAs, with eight independent phinorm
    /// chains (four word vectors x even/odd topics) to cover the FMA latency; the remaining
    /// vectors one at a time with four chains.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(super) unsafe fn pass(
        block: &[f32],
        np: usize,
        rows: &[usize],
        theta: &[f32],
        cts: &[f32],
        eps: f32,
        acc: &mut [Lanes],
    ) {
        let k = Pass::new(block, np, rows, theta, cts, eps, acc);
        let off = k.tiles::<4>(0);
        k.vectors(off);
    }

    /// The same pass with 64-word tiles first (eight vectors: each broadcast and accumulator
    /// load/store serves eight FMAs, 14 % fewer memory operations per FMA), for the AVX-512
    /// instantiation, whose 32 vector registers hold the tile's sixteen phinorm chains and
    /// eight scales. The additions happen in the same order as in [`pass`]: the same bits.
    #[target_feature(enable = "avx2,fma,avx512f,avx512vl,avx512bw,avx512dq")]
    #[inline]
    pub(super) unsafe fn pass_wide(
        block: &[f32],
        np: usize,
        rows: &[usize],
        theta: &[f32],
        cts: &[f32],
        eps: f32,
        acc: &mut [Lanes],
    ) {
        let k = Pass::new(block, np, rows, theta, cts, eps, acc);
        let off = k.tiles::<8>(0);
        let off = k.tiles::<4>(off);
        k.vectors(off);
    }

    /// One document's pass: raw pointers checked once by [`Pass::new`]. Its methods are
    /// `inline(always)` without target features of their own, so each is compiled inside
    /// (and with the registers of) the entry point that calls it.
    struct Pass {
        bp: *const f32,
        ap: *mut f32,
        cp: *const f32,
        tp: *const f32,
        rows: *const usize,
        m: usize,
        np: usize,
        epsv: __m256,
    }

    impl Pass {
        /// Checks the bounds every pointer read relies on and zeroes the accumulators.
        #[inline(always)]
        unsafe fn new(
            block: &[f32],
            np: usize,
            rows: &[usize],
            theta: &[f32],
            cts: &[f32],
            eps: f32,
            acc: &mut [Lanes],
        ) -> Self {
            let m = rows.len();
            assert!(
                np.is_multiple_of(LANES) && cts.len() >= np && theta.len() == m && acc.len() >= m
            );
            assert!(rows.iter().all(|&r| r + np <= block.len()));
            let ap = acc.as_mut_ptr() as *mut f32;
            for j in 0..m {
                // SAFETY: j < m <= acc.len() vectors.
                _mm256_storeu_ps(ap.add(j * LANES), _mm256_setzero_ps());
            }
            Pass {
                bp: block.as_ptr(),
                ap,
                cp: cts.as_ptr(),
                tp: theta.as_ptr(),
                rows: rows.as_ptr(),
                m,
                np,
                epsv: _mm256_set1_ps(eps),
            }
        }

        /// Row j's first float. SAFETY: j < m, so rows[j] starts np floats inside `block`.
        #[inline(always)]
        unsafe fn row(&self, j: usize) -> *const f32 {
            self.bp.add(*self.rows.add(j))
        }

        /// Tiles of `V` vectors from word `off` while a whole tile fits; returns where they
        /// stopped. 2V phinorm chains (V word vectors x even/odd topics), summed even + odd.
        #[inline(always)]
        #[allow(clippy::needless_range_loop)] // b indexes several register arrays at once
        unsafe fn tiles<const V: usize>(&self, mut off: usize) -> usize {
            let (m, tp) = (self.m, self.tp);
            // SAFETY (all pointer reads below): j < m and off + V * 8 <= np.
            while off + V * LANES <= self.np {
                let mut pe = [_mm256_setzero_ps(); V];
                let mut po = [_mm256_setzero_ps(); V];
                let mut j = 0;
                while j + 1 < m {
                    let (r0, r1) = (self.row(j).add(off), self.row(j + 1).add(off));
                    let t0 = _mm256_broadcast_ss(&*tp.add(j));
                    let t1 = _mm256_broadcast_ss(&*tp.add(j + 1));
                    for b in 0..V {
                        pe[b] = _mm256_fmadd_ps(t0, _mm256_loadu_ps(r0.add(b * LANES)), pe[b]);
                        po[b] = _mm256_fmadd_ps(t1, _mm256_loadu_ps(r1.add(b * LANES)), po[b]);
                    }
                    j += 2;
                }
                if j < m {
                    let r0 = self.row(j).add(off);
                    let t0 = _mm256_broadcast_ss(&*tp.add(j));
                    for b in 0..V {
                        pe[b] = _mm256_fmadd_ps(t0, _mm256_loadu_ps(r0.add(b * LANES)), pe[b]);
                    }
                }
                let mut s = [_mm256_setzero_ps(); V];
                for b in 0..V {
                    let ph = _mm256_add_ps(_mm256_add_ps(pe[b], po[b]), self.epsv);
                    s[b] = _mm256_div_ps(_mm256_loadu_ps(self.cp.add(off + b * LANES)), ph);
                }
                for j in 0..m {
                    let r = self.row(j).add(off);
                    let a = self.ap.add(j * LANES);
                    let mut x = _mm256_loadu_ps(a);
                    for b in 0..V {
                        x = _mm256_fmadd_ps(s[b], _mm256_loadu_ps(r.add(b * LANES)), x);
                    }
                    _mm256_storeu_ps(a, x);
                }
                off += V * LANES;
            }
            off
        }

        /// The remaining vectors from word `off`, one at a time with four phinorm chains.
        #[inline(always)]
        #[allow(clippy::needless_range_loop)] // q indexes p and the topics at once
        unsafe fn vectors(&self, mut off: usize) {
            let (m, tp) = (self.m, self.tp);
            // SAFETY (all pointer reads below): j < m and off + 8 <= np.
            while off + LANES <= self.np {
                let mut p = [_mm256_setzero_ps(); 4];
                let mut j = 0;
                while j + 3 < m {
                    for q in 0..4 {
                        let t = _mm256_broadcast_ss(&*tp.add(j + q));
                        p[q] = _mm256_fmadd_ps(t, _mm256_loadu_ps(self.row(j + q).add(off)), p[q]);
                    }
                    j += 4;
                }
                while j < m {
                    let t = _mm256_broadcast_ss(&*tp.add(j));
                    p[0] = _mm256_fmadd_ps(t, _mm256_loadu_ps(self.row(j).add(off)), p[0]);
                    j += 1;
                }
                let ph = _mm256_add_ps(
                    _mm256_add_ps(_mm256_add_ps(p[0], p[1]), _mm256_add_ps(p[2], p[3])),
                    self.epsv,
                );
                let s = _mm256_div_ps(_mm256_loadu_ps(self.cp.add(off)), ph);
                for j in 0..m {
                    let a = self.ap.add(j * LANES);
                    let r = _mm256_loadu_ps(self.row(j).add(off));
                    _mm256_storeu_ps(a, _mm256_fmadd_ps(s, r, _mm256_loadu_ps(a)));
                }
                off += LANES;
            }
        }
    }

    /// [`super::MulAdd::transpose`] by 8 x 8 register transposes (8 words x 8 topics), the
    /// last `ids.len() % 8` words one at a time.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(super) unsafe fn transpose(
        rows: &[Lanes],
        kb: usize,
        ids: &[u32],
        k: usize,
        np: usize,
        block: &mut [f32],
    ) {
        let n = ids.len();
        assert!(k <= kb * LANES && n <= np && block.len() >= k * np);
        assert!(ids.iter().all(|&id| (id as usize + 1) * kb <= rows.len()));
        let rp = rows.as_ptr() as *const f32;
        let bp = block.as_mut_ptr();
        let mut w = 0;
        while w + LANES <= n {
            // SAFETY: every id's kb vectors lie in `rows` (asserted); the stores write
            // topic rows t < k at columns w..w + 8 <= n <= np.
            let mut src = [rp; LANES];
            for (i, s) in src.iter_mut().enumerate() {
                *s = rp.add(*ids.get_unchecked(w + i) as usize * kb * LANES);
            }
            let mut dst = bp.add(w);
            for c in 0..kb {
                let o = c * LANES;
                let cols = transpose8([
                    _mm256_loadu_ps(src[0].add(o)),
                    _mm256_loadu_ps(src[1].add(o)),
                    _mm256_loadu_ps(src[2].add(o)),
                    _mm256_loadu_ps(src[3].add(o)),
                    _mm256_loadu_ps(src[4].add(o)),
                    _mm256_loadu_ps(src[5].add(o)),
                    _mm256_loadu_ps(src[6].add(o)),
                    _mm256_loadu_ps(src[7].add(o)),
                ]);
                let live = (k - o).min(LANES);
                for col in &cols[..live] {
                    _mm256_storeu_ps(dst, *col);
                    dst = dst.add(np);
                }
            }
            w += LANES;
        }
        super::transpose_generic(rows, kb, ids, w, k, np, block);
    }

    /// Columns of an 8 x 8 block given as 8 row vectors.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    unsafe fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
        let t0 = _mm256_unpacklo_ps(r[0], r[1]);
        let t1 = _mm256_unpackhi_ps(r[0], r[1]);
        let t2 = _mm256_unpacklo_ps(r[2], r[3]);
        let t3 = _mm256_unpackhi_ps(r[2], r[3]);
        let t4 = _mm256_unpacklo_ps(r[4], r[5]);
        let t5 = _mm256_unpackhi_ps(r[4], r[5]);
        let t6 = _mm256_unpacklo_ps(r[6], r[7]);
        let t7 = _mm256_unpackhi_ps(r[6], r[7]);
        let s0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let s1 = _mm256_shuffle_ps::<0xEE>(t0, t2);
        let s2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let s3 = _mm256_shuffle_ps::<0xEE>(t1, t3);
        let s4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let s5 = _mm256_shuffle_ps::<0xEE>(t4, t6);
        let s6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let s7 = _mm256_shuffle_ps::<0xEE>(t5, t7);
        [
            _mm256_permute2f128_ps::<0x20>(s0, s4),
            _mm256_permute2f128_ps::<0x20>(s1, s5),
            _mm256_permute2f128_ps::<0x20>(s2, s6),
            _mm256_permute2f128_ps::<0x20>(s3, s7),
            _mm256_permute2f128_ps::<0x31>(s0, s4),
            _mm256_permute2f128_ps::<0x31>(s1, s5),
            _mm256_permute2f128_ps::<0x31>(s2, s6),
            _mm256_permute2f128_ps::<0x31>(s3, s7),
        ]
    }
}

/// Times the E-step's pass kernel (the one the E-step dispatches to) on a synthetic
/// topic-major block of `topics` rows x `words` columns, `reps` passes, and returns the useful
/// arithmetic in GFLOP/s (4 flops per topic-word pair). For the `lda_pass_kernel` example:
/// how the kernel's speed depends on the block's size (L1-resident or not).
#[doc(hidden)]
pub fn pass_kernel_gflops(topics: usize, words: usize, reps: usize) -> f64 {
    let np = padded(words.max(1));
    let block: Vec<f32> = (0..topics * np)
        .map(|i| 1e-4 + (i % 97) as f32 * 1e-5)
        .collect();
    let rows: Vec<usize> = (0..topics).map(|t| t * np).collect();
    let theta: Vec<f32> = (0..topics).map(|t| 1.0 / (1 + t) as f32).collect();
    let cts: Vec<f32> = (0..np).map(|w| if w < words { 1.0 } else { 0.0 }).collect();
    let mut acc = vec![[0f32; LANES]; topics];
    let start = std::time::Instant::now();
    for _ in 0..reps {
        #[cfg(target_arch = "x86_64")]
        if has_avx512() {
            // SAFETY: AVX-512F/VL/BW/DQ, AVX2 and FMA are present (checked).
            unsafe { avx2::pass_wide(&block, np, &rows, &theta, &cts, 1e-7, &mut acc) };
            continue;
        }
        #[cfg(target_arch = "x86_64")]
        if has_avx2_fma() {
            // SAFETY: AVX2 and FMA are present (checked).
            unsafe { avx2::pass(&block, np, &rows, &theta, &cts, 1e-7, &mut acc) };
            continue;
        }
        Plain::pass(&block, np, &rows, &theta, &cts, 1e-7, &mut acc);
    }
    let seconds = start.elapsed().as_secs_f64();
    std::hint::black_box(&acc);
    crate::FLOPS_PER_PAIR * (topics * words * reps) as f64 / seconds / 1e9
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

/// True when the AVX-512 instantiations may run: the same generic code compiled with
/// AVX-512F/VL/BW/DQ enabled as well as AVX2+FMA, and the pass on 64-word tiles
/// (`Fused<true>`). The explicit kernels stay on 256-bit vectors (the pass is bound by its
/// loads, not by the width); what gains is the bookkeeping (masked loop tails instead of scalar
/// ones) and the 32 vector registers. The same arithmetic (bench/lda/RESULTS.md, session 11).
#[inline]
pub(crate) fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        has_avx2_fma()
            && std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512dq")
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

/// Sum of the 8 lanes in a fixed order (results are reproducible).
#[inline(always)]
pub(crate) fn hsum(l: &Lanes) -> f32 {
    ((l[0] + l[4]) + (l[1] + l[5])) + ((l[2] + l[6]) + (l[3] + l[7]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The AVX2 transpose (8 x 8 register blocks) writes the same block as the word-at-a-time
    /// loop, for widths that are and are not whole vectors and word counts with remainders.
    #[test]
    fn transposes_agree() {
        let mut r = ChaCha8Rng::seed_from_u64(3);
        for (k, n) in [(1, 1), (7, 9), (8, 16), (50, 37), (100, 130), (13, 8)] {
            let kb = padded(k) / LANES;
            let v = 200;
            let rows: Vec<Lanes> = (0..v * kb)
                .map(|_| std::array::from_fn(|_| r.random::<f32>()))
                .collect();
            let ids: Vec<u32> = (0..n).map(|_| r.random_range(0..v as u32)).collect();
            let np = padded(n);
            let mut want = vec![0f32; k * np];
            transpose_generic(&rows, kb, &ids, 0, k, np, &mut want);
            let mut got = vec![0f32; k * np];
            Plain::transpose(&rows, kb, &ids, k, np, &mut got);
            assert_eq!(got, want);
            if has_avx2_fma() {
                let mut got = vec![0f32; k * np];
                // SAFETY: AVX2 and FMA are present (checked).
                unsafe { avx2::transpose(&rows, kb, &ids, k, np, &mut got) };
                assert_eq!(got, want, "k {k}, n {n}");
            }
        }
    }
}

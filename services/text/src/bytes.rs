//! Byte searches for the cleaning pass: sixteen bytes per step with SSE2 on x86-64 (part of
//! the x86-64 baseline, so no runtime detection), eight with SWAR elsewhere. `core`'s
//! `memchr` pays an alignment prologue on every call, which dominates on ~60-byte lines.

/// Position of the first `needle` byte at or after `from`, or `hay.len()`.
#[inline]
pub(crate) fn find_byte(hay: &[u8], from: usize, needle: u8) -> usize {
    let mut i = from.min(hay.len());
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
        };
        // SAFETY: SSE2 is always present on x86-64; every load reads `hay[i..i + 16]`, in
        // bounds by the loop condition.
        unsafe {
            let n = _mm_set1_epi8(needle as i8);
            while i + 16 <= hay.len() {
                let v = _mm_loadu_si128(hay.as_ptr().add(i).cast());
                let m = _mm_movemask_epi8(_mm_cmpeq_epi8(v, n)) as u32;
                if m != 0 {
                    return i + m.trailing_zeros() as usize;
                }
                i += 16;
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        const LO: u64 = u64::MAX / 255;
        const HI: u64 = LO * 0x80;
        while let Some(word) = hay.get(i..i + 8) {
            let x =
                u64::from_le_bytes(word.try_into().expect("8 bytes")) ^ (LO * u64::from(needle));
            let m = x.wrapping_sub(LO) & !x & HI;
            if m != 0 {
                return i + (m.trailing_zeros() / 8) as usize;
            }
            i += 8;
        }
    }
    while i < hay.len() && hay[i] != needle {
        i += 1;
    }
    i
}

/// Whether `hay` contains `needle` (at least 2 bytes): candidates are positions where the
/// needle's bytes at offsets `a` and `b` (pick rare ones) both match, checked 16 at a time,
/// then verified.
pub(crate) fn contains(hay: &[u8], needle: &[u8], a: usize, b: usize) -> bool {
    debug_assert!(a < needle.len() && b < needle.len() && a != b);
    if hay.len() < needle.len() {
        return false;
    }
    let last = hay.len() - needle.len(); // last possible start
    let verify = |s: usize| hay[s..s + needle.len()] == *needle;
    let mut s = 0;
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            _mm_and_si128, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8,
        };
        // SAFETY: SSE2 is baseline on x86-64. Loads read `hay[s + a..s + a + 16]` and
        // `hay[s + b..s + b + 16]`; with `s + 15 <= last` and `a, b < needle.len()` both end
        // at most at `last + needle.len() = hay.len()`.
        unsafe {
            let ca = _mm_set1_epi8(needle[a] as i8);
            let cb = _mm_set1_epi8(needle[b] as i8);
            while s + 15 <= last {
                let va = _mm_loadu_si128(hay.as_ptr().add(s + a).cast());
                let vb = _mm_loadu_si128(hay.as_ptr().add(s + b).cast());
                let mut m = _mm_movemask_epi8(_mm_and_si128(
                    _mm_cmpeq_epi8(va, ca),
                    _mm_cmpeq_epi8(vb, cb),
                )) as u32;
                while m != 0 {
                    if verify(s + m.trailing_zeros() as usize) {
                        return true;
                    }
                    m &= m - 1;
                }
                s += 16;
            }
        }
    }
    while s <= last {
        if hay[s + a] == needle[a] && hay[s + b] == needle[b] && verify(s) {
            return true;
        }
        s += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

        #[test]
        fn find_byte_is_position(s in "[ab\n]{0,70}", from in 0usize..80) {
            let b = s.as_bytes();
            let want = (from.min(b.len())..b.len()).find(|&i| b[i] == b'\n').unwrap_or(b.len());
            prop_assert_eq!(find_byte(b, from, b'\n'), want);
        }

        #[test]
        fn contains_is_str_contains(s in "( writes in message |writes in|w|g| |[a-z]){0,60}") {
            let needle = " writes in message ";
            prop_assert_eq!(contains(s.as_bytes(), needle.as_bytes(), 1, 16), s.contains(needle));
        }
    }
}

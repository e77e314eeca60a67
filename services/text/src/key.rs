//! Short strings packed into one integer.
//!
//! Most tokens are at most 15 bytes. Packed into a `u128` (bytes big-endian, zero-padded, the
//! length in the lowest byte) they hash in two multiplications, compare without a `memcmp`
//! call, need no allocation, and order exactly like the strings themselves (tokens never
//! contain NUL, so zero padding sorts a prefix first). The hot sets and maps of the pipeline
//! are keyed by these; longer tokens take a `String` path beside them.

/// A packed string of at most [`Key::MAX`] bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Key(u128);

impl Key {
    /// Longest string a key holds.
    pub(crate) const MAX: usize = 15;

    /// Packs `s` if it is short enough.
    #[inline]
    pub(crate) fn new(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() > Self::MAX {
            return None;
        }
        let mut raw = [0u8; 16];
        raw[..b.len()].copy_from_slice(b);
        raw[15] = b.len() as u8;
        Some(Self(u128::from_be_bytes(raw)))
    }

    /// Packs an ASCII `s` lower-cased, if it is short enough: the hot path of the pipeline,
    /// one fixed-size loop the compiler vectorises instead of a copy and a lower-casing pass.
    #[inline]
    pub(crate) fn ascii_lower(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() > Self::MAX {
            return None;
        }
        let mut raw = [0u8; 16];
        raw[..b.len()].copy_from_slice(b);
        for c in &mut raw[..15] {
            *c |= u8::from(c.wrapping_sub(b'A') < 26) << 5;
        }
        raw[15] = b.len() as u8;
        Some(Self(u128::from_be_bytes(raw)))
    }

    /// The string, borrowed from `raw` (which the caller provides so no allocation is made).
    #[inline]
    pub(crate) fn as_str<'a>(&self, raw: &'a mut [u8; 16]) -> &'a str {
        *raw = self.bytes();
        std::str::from_utf8(&raw[..self.len()]).unwrap_or_default()
    }

    /// The packed bytes; `len()` of them are the string.
    #[inline]
    pub(crate) fn bytes(&self) -> [u8; 16] {
        self.0.to_be_bytes()
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        (self.0 & 0xff) as usize
    }

    /// The string back. Keys are only built from `&str`, so the bytes are valid UTF-8; should
    /// that ever not hold, the result is empty rather than a panic.
    pub(crate) fn push_to(&self, out: &mut String) {
        let raw = self.bytes();
        if let Ok(s) = std::str::from_utf8(&raw[..self.len()]) {
            out.push_str(s);
        }
    }

    /// A well-mixed 64-bit hash (for the direct-mapped stem cache).
    #[inline]
    pub(crate) fn mix(&self) -> u64 {
        let h = ((self.0 >> 64) as u64 ^ (self.0 as u64).rotate_left(29))
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (h ^ (h >> 31)).wrapping_mul(0xBF58_476D_1CE4_E5B9)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trips_and_rejects_long() {
        let k = Key::new("héllo").unwrap();
        let mut s = String::new();
        k.push_to(&mut s);
        assert_eq!(s, "héllo");
        assert!(Key::new("0123456789abcdef").is_none());
        assert!(Key::new("0123456789abcde").is_some());
        assert_eq!(Key::ascii_lower("MiXeD_09.Z"), Key::new("mixed_09.z"));
        assert_eq!(Key::ascii_lower("@[`{"), Key::new("@[`{"));
        let mut raw = [0; 16];
        assert_eq!(Key::new("abc").unwrap().as_str(&mut raw), "abc");
    }

    proptest! {
        #[test]
        fn orders_like_strings(a in "[a-zé'.]{0,7}", b in "[a-zé'.]{0,7}") {
            let (ka, kb) = (Key::new(&a).unwrap(), Key::new(&b).unwrap());
            prop_assert_eq!(ka.cmp(&kb), a.cmp(&b));
            prop_assert_eq!(ka == kb, a == b);
        }

        #[test]
        fn ascii_lower_is_lowercase_then_pack(s in "[ -~]{0,15}") {
            prop_assert_eq!(Key::ascii_lower(&s), Key::new(&s.to_ascii_lowercase()));
        }
    }
}

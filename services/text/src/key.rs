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
        raw[15] = b.len() as u8;
        const ONES: u128 = u128::MAX / 255;
        const HIGH: u128 = ONES * 0x80;
        let x = u128::from_be_bytes(raw);
        if x & HIGH == 0 {
            // All bytes below 0x80, so adding below 0x80 to each never carries: the high bit
            // of each byte says `>= 'A'`, resp. `> 'Z'`. Upper-case letters get 0x20 added.
            let ge_a = x + ONES * u128::from(0x80 - b'A');
            let gt_z = x + ONES * u128::from(0x80 - b'Z' - 1);
            return Some(Self(x | ((ge_a & !gt_z & HIGH) >> 2)));
        }
        for c in &mut raw[..15] {
            *c |= u8::from(c.wrapping_sub(b'A') < 26) << 5;
        }
        Some(Self(u128::from_be_bytes(raw)))
    }

    /// [`Key::ascii_lower`] of the ASCII `text[start..start + len]`, reading the word straight
    /// out of the text with one 16-byte load and a mask when 16 bytes are left from `start`
    /// (no copy into a buffer). `text[start..start + len]` must be ASCII (bytes after it may
    /// be anything).
    #[inline]
    pub(crate) fn ascii_lower_in(text: &str, start: usize, len: usize) -> Option<Self> {
        if len > Self::MAX {
            return None;
        }
        // A fixed-size array conversion compiles to one load; `copy_from_slice` here became a
        // call to a copy routine and to `memcpy` for every word.
        let Some(raw) = text
            .as_bytes()
            .get(start..start + 16)
            .and_then(|w| <[u8; 16]>::try_from(w).ok())
        else {
            return Self::ascii_lower(text.get(start..start + len)?);
        };
        const ONES: u128 = u128::MAX / 255;
        const HIGH: u128 = ONES * 0x80;
        // Keep the first `len` bytes (the most significant ones), then store the length.
        let x = (u128::from_be_bytes(raw) & !(u128::MAX >> (8 * len))) | len as u128;
        if x & HIGH != 0 {
            return Self::ascii_lower(text.get(start..start + len)?);
        }
        let ge_a = x + ONES * u128::from(0x80 - b'A');
        let gt_z = x + ONES * u128::from(0x80 - b'Z' - 1);
        Some(Self(x | ((ge_a & !gt_z & HIGH) >> 2)))
    }

    /// The string, borrowed from `raw` (which the caller provides so no allocation is made).
    #[inline]
    pub(crate) fn as_str<'a>(&self, raw: &'a mut [u8; 16]) -> &'a str {
        *raw = self.bytes();
        if self.is_ascii() {
            // SAFETY: ASCII bytes are valid UTF-8.
            return unsafe { std::str::from_utf8_unchecked(&raw[..self.len()]) };
        }
        std::str::from_utf8(&raw[..self.len()]).unwrap_or_default()
    }

    /// Whether every packed byte is ASCII (the length byte always is): one test on the
    /// `u128`, which lets the hot paths skip UTF-8 validation.
    #[inline]
    fn is_ascii(&self) -> bool {
        self.0 & (u128::MAX / 255 * 0x80) == 0
    }

    /// The string as a new `String` of exactly its length.
    #[inline]
    pub(crate) fn to_owned_string(self) -> String {
        let mut s = String::with_capacity(self.len());
        self.push_to(&mut s);
        s
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
    #[inline]
    pub(crate) fn push_to(&self, out: &mut String) {
        let mut raw = [0u8; 16];
        out.push_str(self.as_str(&mut raw));
    }

    /// Whether the packed string is a kept link (see `tokenizer::is_link`): it contains `://`
    /// or `@`, or starts with `www.`.
    #[inline]
    pub(crate) fn is_link(&self) -> bool {
        const ONES: u128 = u128::MAX / 255;
        const HIGH: u128 = ONES * 0x80;
        // Whether any byte equals `c` (padding is zero and the length byte below 16, so
        // neither is ever `@` or `:`): the exact zero-byte test on `x ^ c...c`.
        let has = |c: u8| {
            let x = self.0 ^ (ONES * u128::from(c));
            x.wrapping_sub(ONES) & !x & HIGH != 0
        };
        if has(b'@') || (self.0 >> 96) as u32 == u32::from_be_bytes(*b"www.") {
            return true;
        }
        if !has(b':') {
            return false;
        }
        let raw = self.bytes();
        raw[..self.len()].windows(3).any(|w| w == b"://")
    }

    /// A one-multiplication hash whose top bits are good enough for the linear probing of
    /// [`KeyTable`].
    #[inline(always)]
    fn fold(&self) -> u64 {
        ((self.0 >> 64) as u64 ^ (self.0 as u64)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    /// A well-mixed 64-bit hash (for the set-associative stem cache).
    #[inline]
    pub(crate) fn mix(&self) -> u64 {
        let h = ((self.0 >> 64) as u64 ^ (self.0 as u64).rotate_left(29))
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (h ^ (h >> 31)).wrapping_mul(0xBF58_476D_1CE4_E5B9)
    }
}

/// An open-addressing map from non-empty [`Key`]s to counts (or a set, with the value unused):
/// linear probing on [`Key::mix`], the all-zero key (the empty string, never stored) marking a
/// free slot. Cheaper than a general hash map for the two hot uses, the stop-word test and
/// the per-document bag of words, and clearing touches only the used slots.
#[derive(Clone, Debug, Default)]
pub(crate) struct KeyTable {
    slots: Vec<(Key, u32)>,
    /// Indices of used slots, in insertion order.
    used: Vec<u32>,
    shift: u32,
}

impl KeyTable {
    const EMPTY: Key = Key(0);

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.used.len()
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.used.is_empty()
    }

    /// Index of `k`'s slot, or of the free slot where it would go. The table must be non-empty.
    #[inline(always)]
    fn find(&self, k: Key) -> usize {
        let mask = self.slots.len() - 1;
        let mut i = (k.fold() >> self.shift) as usize;
        loop {
            let s = self.slots[i].0;
            if s == k || s == Self::EMPTY {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    #[inline(always)]
    pub(crate) fn contains(&self, k: Key) -> bool {
        !self.slots.is_empty() && k != Self::EMPTY && self.slots[self.find(k)].0 == k
    }

    /// Adds `n` to the count of `k` (saturating), inserting it at 0 first if absent. The
    /// empty key is ignored.
    #[inline(always)]
    pub(crate) fn add(&mut self, k: Key, n: u32) {
        if k == Self::EMPTY {
            return;
        }
        if (self.used.len() + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let i = self.find(k);
        let slot = &mut self.slots[i];
        if slot.0 != k {
            *slot = (k, 0);
            self.used.push(i as u32);
        }
        slot.1 = slot.1.saturating_add(n);
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self) {
        let cap = (self.slots.len() * 2).max(64);
        let old = std::mem::take(&mut self.slots);
        let old_used = std::mem::take(&mut self.used);
        self.slots = vec![(Self::EMPTY, 0); cap];
        self.shift = 64 - cap.trailing_zeros();
        for i in old_used {
            let (k, n) = old[i as usize];
            let j = self.find(k);
            self.slots[j] = (k, n);
            self.used.push(j as u32);
        }
    }

    /// Every entry, in insertion order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Key, u32)> + '_ {
        self.used.iter().map(|&i| self.slots[i as usize])
    }

    /// Slots above which [`KeyTable::clear_and_fit`] gives memory back: 2^11 x 32 bytes =
    /// 64 KB, what a scratch table may keep in the CPU caches for the next document.
    const KEEP_SLOTS: usize = 1 << 11;

    /// Empties the table like [`KeyTable::clear`], and if it grew far past [`Self::KEEP_SLOTS`]
    /// for one large document, starts over small: otherwise every later (small) document would
    /// scatter its probes across the large table and miss the CPU caches.
    pub(crate) fn clear_and_fit(&mut self) {
        if self.slots.len() > Self::KEEP_SLOTS {
            *self = Self::default();
        } else {
            self.clear();
        }
    }

    /// Empties the table, keeping its capacity.
    pub(crate) fn clear(&mut self) {
        for &i in &self.used {
            self.slots[i as usize] = (Self::EMPTY, 0);
        }
        self.used.clear();
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
        assert_eq!(Key::new("héllo").unwrap().to_owned_string(), "héllo");
        assert!(Key::new("hello").unwrap().is_ascii() && !Key::new("héllo").unwrap().is_ascii());
    }

    proptest! {
        #[test]
        fn orders_like_strings(a in "[a-zé'.]{0,7}", b in "[a-zé'.]{0,7}") {
            let (ka, kb) = (Key::new(&a).unwrap(), Key::new(&b).unwrap());
            prop_assert_eq!(ka.cmp(&kb), a.cmp(&b));
            prop_assert_eq!(ka == kb, a == b);
        }

        #[test]
        fn key_table_counts_like_a_hash_map(words in proptest::collection::vec("[a-e]{0,3}", 0..300)) {
            let mut t = KeyTable::default();
            let mut m = std::collections::HashMap::new();
            for round in 0..2 {
                t.clear();
                m.clear();
                for w in &words[round * words.len() / 2..] {
                    let k = Key::new(w).unwrap();
                    t.add(k, 1);
                    if !w.is_empty() {
                        *m.entry(k).or_insert(0u32) += 1;
                    }
                }
                prop_assert_eq!(t.len(), m.len());
                for (k, n) in t.iter() {
                    prop_assert_eq!(m.get(&k), Some(&n));
                    prop_assert!(t.contains(k));
                }
                prop_assert!(!t.contains(Key::new("zz").unwrap()));
                prop_assert!(!t.contains(Key::new("").unwrap()));
            }
            // Shrinking after a large fill leaves an empty, working table.
            for i in 0..5000u32 {
                t.add(Key::new(&i.to_string()).unwrap(), 1);
            }
            t.clear_and_fit();
            prop_assert_eq!(t.len(), 0);
            prop_assert_eq!(t.iter().count(), 0);
            for w in &words {
                t.add(Key::new(w).unwrap(), 1);
                prop_assert!(w.is_empty() || t.contains(Key::new(w).unwrap()));
            }
        }

        #[test]
        fn packs_and_unpacks_any_short_string(s in "\\PC{0,5}|[ -~]{0,15}") {
            if let Some(k) = Key::new(&s) {
                prop_assert_eq!(k.is_ascii(), s.is_ascii());
                prop_assert_eq!(k.to_owned_string(), s.clone());
                let mut raw = [0u8; 16];
                prop_assert_eq!(k.as_str(&mut raw), s.as_str());
            }
        }

        #[test]
        fn packed_is_link_matches_strings(s in "[a-z:/@w.]{0,15}|(www\\.|://|@|[a-z:/.]){0,6}|\\PC{0,4}") {
            let Some(k) = Key::new(&s) else { return Ok(()) };
            let is_link = s.contains("://") || s.contains('@') || s.starts_with("www.");
            prop_assert_eq!(k.is_link(), is_link);
        }

        #[test]
        fn ascii_lower_in_is_ascii_lower_of_the_slice(
            text in "[ -~]{0,40}|[\\x00-\\x7f]{0,40}|[a-zA-Z .]{0,10}\\PC{0,6}",
            start in 0usize..45,
            len in 0usize..20,
        ) {
            let Some(word) = text.get(start..start + len).filter(|w| w.is_ascii()) else {
                return Ok(());
            };
            prop_assert_eq!(Key::ascii_lower_in(&text, start, len), Key::ascii_lower(word));
        }

        #[test]
        fn ascii_lower_is_lowercase_then_pack(s in "[ -~]{0,15}|[\\x00-\\x7f]{0,16}|\\PC{0,8}") {
            prop_assert_eq!(Key::ascii_lower(&s), Key::new(&s.to_ascii_lowercase()));
        }
    }
}

//! Snowball stemming behind a per-thread cache.
//!
//! Stemming is the costliest step per token (the Snowball machine allocates whenever it changes
//! a word), yet by Zipf's law a few thousand words make up most tokens of any stream. A
//! two-way set-associative table of short words packed as [`Key`]s (no pointer to chase, no `memcmp`),
//! answers those in a few nanoseconds; a miss evicts the older entry of its pair. The cache lives per
//! thread, so the [`crate::Tokenizer`] stays `Sync` without a lock, and the output never depends
//! on what the cache holds.

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};

use rust_stemmers::{Algorithm, Stemmer};

use crate::key::Key;
use crate::lang::{stemmer_index, STEMMER_COUNT};

/// Slots per language and thread (in pairs): 2^18 x 32 bytes = 8 MB, allocated on first
/// use. 20 Newsgroups has ~100,000 distinct surface forms; at 2^17 slots the two-way sets
/// evicted enough of them that a second pass over the corpus ran Snowball again on many
/// (callgrind over two passes: 4 % fewer instructions in `process` with 2^18).
const SLOTS: usize = 1 << 18;

/// A cached `(word, stem)`; the empty word marks an empty slot (it is never looked up).
type Slot = (Key, Key);

thread_local! {
    static CACHE: RefCell<Vec<Vec<Slot>>> = RefCell::new(vec![Vec::new(); STEMMER_COUNT]);
}

/// A Snowball language; cheap to copy, the stemmer itself is created on a cache miss.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stem {
    algorithm: Algorithm,
    index: usize,
}

impl Stem {
    pub(crate) fn new(algorithm: Algorithm) -> Self {
        Self {
            algorithm,
            index: stemmer_index(algorithm),
        }
    }

    /// Writes the stem of `word` into `out` (cleared first). Words that fit a [`Key`] go
    /// through the cache ([`Stem::stem_key`]).
    pub(crate) fn stem_into(&self, word: &str, out: &mut String) {
        out.clear();
        match Key::new(word).filter(|_| !word.is_empty()) {
            Some(key) => {
                // `Some` may or may not have written `out` too; the packed stem is the answer.
                if let Some(stem) = self.stem_key(key, out) {
                    out.clear();
                    stem.push_to(out);
                }
            }
            None => out.push_str(&self.stem_uncached(word)),
        }
    }

    /// The stem of the packed non-empty word `key`, packed, if it fits in a [`Key`]; otherwise
    /// `None` with the stem written to `out` (cleared first). Same result as
    /// [`Stem::stem_into`], without unpacking the word on a cache hit.
    pub(crate) fn stem_key(&self, key: Key, out: &mut String) -> Option<Key> {
        out.clear();
        // The word is only unpacked (and validated) on a cache miss.
        let mut raw = [0u8; 16];
        if key.len() == 0 {
            self.stem_into("", out);
            return Key::new(out);
        }
        CACHE.with(|cache| {
            // Nothing re-enters while the borrow is held, but a failure must not panic.
            let Ok(mut cache) = cache.try_borrow_mut() else {
                out.push_str(&self.stem_uncached(key.as_str(&mut raw)));
                return Key::new(out);
            };
            let table = &mut cache[self.index];
            if table.is_empty() {
                let empty = Key::new("").unwrap_or(key);
                table.resize(SLOTS, (empty, empty));
            }
            // Two-way set associative: a hit in the second way moves to the first, a new entry
            // pushes the first way's into the second.
            let i = (key.mix() >> (64 - SLOTS.trailing_zeros())) as usize & !1;
            if table[i].0 == key {
                return Some(table[i].1);
            }
            if table[i + 1].0 == key {
                table.swap(i, i + 1);
                return Some(table[i].1);
            }
            let word = key.as_str(&mut raw);
            let stem = self.stem_uncached(word);
            match Key::new(&stem) {
                Some(s) => {
                    table[i + 1] = table[i];
                    table[i] = (key, s);
                    Some(s)
                }
                None => {
                    out.push_str(&stem);
                    None
                }
            }
        })
    }

    /// Asks the CPU to start loading the cache sets of `keys` (x86-64 only; a no-op elsewhere
    /// and for an empty cache). The big table is far larger than the CPU caches, so a probe
    /// is mostly a memory round trip; issuing all of a document's loads first lets them
    /// overlap instead of queueing one behind the other in [`Stem::stem_key`].
    pub(crate) fn prefetch(&self, keys: impl Iterator<Item = Key>) {
        #[cfg(target_arch = "x86_64")]
        CACHE.with(|cache| {
            let Ok(cache) = cache.try_borrow() else {
                return;
            };
            let table = &cache[self.index];
            if table.is_empty() {
                return;
            }
            for key in keys {
                let i = (key.mix() >> (64 - SLOTS.trailing_zeros())) as usize & !1;
                // SAFETY: prefetching is only a hint and never faults; `i < SLOTS`, so the
                // pointer lies inside the table anyway.
                unsafe {
                    use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
                    _mm_prefetch::<_MM_HINT_T0>(table.as_ptr().add(i).cast());
                }
            }
        });
        #[cfg(not(target_arch = "x86_64"))]
        let _ = keys;
    }

    /// Stems without the cache. The generated Snowball code indexes by byte; should it ever
    /// panic on an odd input, the word is kept as is rather than taking the pipeline down.
    fn stem_uncached(&self, word: &str) -> String {
        let stemmer = Stemmer::create(self.algorithm);
        catch_unwind(AssertUnwindSafe(|| stemmer.stem(word).into_owned()))
            .unwrap_or_else(|_| word.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stem(s: &Stem, w: &str) -> String {
        let mut out = String::new();
        s.stem_into(w, &mut out);
        out
    }

    #[test]
    fn cached_and_uncached_agree() {
        let s = Stem::new(Algorithm::English);
        for w in [
            "running",
            "runs",
            "generously",
            "a",
            "internationalization",
            "ponies",
            "caresses",
        ] {
            let first = stem(&s, w);
            assert_eq!(first, s.stem_uncached(w), "{w}");
            assert_eq!(stem(&s, w), first, "cache hit for {w}");
            if let Some(k) = Key::new(w) {
                let mut out = String::new();
                let packed = s.stem_key(k, &mut out);
                if let Some(p) = packed {
                    assert!(out.is_empty());
                    p.push_to(&mut out);
                }
                assert_eq!(out, first, "packed {w}");
            }
        }
        assert_eq!(stem(&s, "running"), "run");
        assert_eq!(stem(&s, "ponies"), "poni");
    }

    #[test]
    fn languages_do_not_share_a_cache() {
        let en = Stem::new(Algorithm::English);
        let de = Stem::new(Algorithm::German);
        assert_eq!(stem(&en, "katzen"), "katzen");
        assert_eq!(stem(&de, "katzen"), "katz");
    }
}

//! Open vocabulary with bounded memory.
//!
//! New terms are admitted until `max_words`; after that `intern` refuses them until the owner
//! prunes. `prune_rarest` keeps the words with the highest document frequency and returns a
//! [`VocabRemap`], which [`crate::OnlineLda::retain_words`] applies to lambda's columns.
//! Survivors keep their relative order, so a sorted document stays sorted after remapping.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::config::LdaError;
use crate::document::Document;

/// Word <-> id map with document frequencies.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(from = "VocabRepr", into = "VocabRepr")]
pub struct Vocabulary {
    max_words: usize,
    words: Vec<String>,
    doc_freq: Vec<u64>,
    docs: u64,
    index: HashMap<String, u32>,
}

/// Serialized form: the index is rebuilt on load.
#[derive(Serialize, Deserialize)]
struct VocabRepr {
    max_words: usize,
    words: Vec<String>,
    doc_freq: Vec<u64>,
    docs: u64,
}

impl From<VocabRepr> for Vocabulary {
    fn from(r: VocabRepr) -> Self {
        let index = r
            .words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.clone(), i as u32))
            .collect();
        let mut doc_freq = r.doc_freq;
        doc_freq.resize(r.words.len(), 0);
        Vocabulary {
            max_words: r.max_words,
            words: r.words,
            doc_freq,
            docs: r.docs,
            index,
        }
    }
}

impl From<Vocabulary> for VocabRepr {
    fn from(v: Vocabulary) -> Self {
        VocabRepr {
            max_words: v.max_words,
            words: v.words,
            doc_freq: v.doc_freq,
            docs: v.docs,
        }
    }
}

impl Vocabulary {
    /// An empty vocabulary admitting at most `max_words` words.
    pub fn new(max_words: usize) -> Self {
        Vocabulary {
            max_words,
            words: Vec::new(),
            doc_freq: Vec::new(),
            docs: 0,
            index: HashMap::new(),
        }
    }

    /// A vocabulary holding `words` (ids in order; duplicates keep their first id).
    pub fn from_words(max_words: usize, words: impl IntoIterator<Item = String>) -> Self {
        let mut v = Vocabulary::new(max_words);
        for w in words {
            v.intern(&w);
        }
        v
    }

    /// The id of `word`, if known.
    pub fn id(&self, word: &str) -> Option<u32> {
        self.index.get(word).copied()
    }

    /// The id of `word`, admitting it if new and there is room; `None` when full.
    pub fn intern(&mut self, word: &str) -> Option<u32> {
        if let Some(id) = self.id(word) {
            return Some(id);
        }
        if self.is_full() {
            return None;
        }
        let id = self.words.len() as u32;
        self.words.push(word.to_owned());
        self.doc_freq.push(0);
        self.index.insert(word.to_owned(), id);
        Some(id)
    }

    /// Counts one document containing `ids` (pass each id once, e.g. `Document::ids`).
    /// Unknown ids are ignored.
    pub fn observe(&mut self, ids: &[u32]) {
        self.docs += 1;
        for &id in ids {
            if let Some(df) = self.doc_freq.get_mut(id as usize) {
                *df += 1;
            }
        }
    }

    /// The word with id `id`. Panics if `id >= len()`.
    pub fn word(&self, id: u32) -> &str {
        &self.words[id as usize]
    }

    /// All words, by id.
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// Document frequency of `id` (0 if unknown).
    pub fn doc_freq(&self, id: u32) -> u64 {
        self.doc_freq.get(id as usize).copied().unwrap_or(0)
    }

    /// Documents observed.
    pub fn docs(&self) -> u64 {
        self.docs
    }

    pub fn len(&self) -> usize {
        self.words.len()
    }
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
    pub fn max_words(&self) -> usize {
        self.max_words
    }
    pub fn is_full(&self) -> bool {
        self.words.len() >= self.max_words
    }

    /// Keeps the `keep` words with the highest document frequency (ties: the older, lower id
    /// wins), renumbers the survivors densely in their old order, and returns the remap.
    pub fn prune_rarest(&mut self, keep: usize) -> VocabRemap {
        let n = self.words.len();
        let mut keep_flags = vec![true; n];
        if keep < n {
            let mut order: Vec<u32> = (0..n as u32).collect();
            order.sort_by(|&a, &b| {
                self.doc_freq[b as usize]
                    .cmp(&self.doc_freq[a as usize])
                    .then(a.cmp(&b))
            });
            keep_flags.iter_mut().for_each(|f| *f = false);
            for &id in &order[..keep] {
                keep_flags[id as usize] = true;
            }
        }
        let mut map = Vec::with_capacity(n);
        let mut next = 0u32;
        for &kept in &keep_flags {
            map.push(kept.then(|| {
                next += 1;
                next - 1
            }));
        }
        let remap = VocabRemap {
            map,
            new_len: next as usize,
        };
        let mut i = 0;
        self.words.retain(|_| {
            i += 1;
            keep_flags[i - 1]
        });
        let mut i = 0;
        self.doc_freq.retain(|_| {
            i += 1;
            keep_flags[i - 1]
        });
        self.index = self
            .words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.clone(), i as u32))
            .collect();
        remap
    }
}

/// Old id -> new id after a vocabulary compaction (monotone: order is preserved).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VocabRemap {
    map: Vec<Option<u32>>,
    new_len: usize,
}

impl VocabRemap {
    /// Builds a remap from an explicit map; new ids must be exactly 0..n, each used once.
    pub fn from_map(map: Vec<Option<u32>>) -> Result<Self, LdaError> {
        let mut seen = vec![false; map.len()];
        let mut new_len = 0;
        for &new in map.iter().flatten() {
            let slot = seen
                .get_mut(new as usize)
                .ok_or_else(|| LdaError::InvalidRemap(format!("new id {new} out of range")))?;
            if *slot {
                return Err(LdaError::InvalidRemap(format!("new id {new} used twice")));
            }
            *slot = true;
            new_len += 1;
        }
        if seen[..new_len].iter().any(|s| !s) {
            return Err(LdaError::InvalidRemap("new ids are not dense".into()));
        }
        Ok(VocabRemap { map, new_len })
    }

    /// The new id of `old`, or `None` if it was dropped (or out of range).
    pub fn get(&self, old: u32) -> Option<u32> {
        self.map.get(old as usize).copied().flatten()
    }
    /// Vocabulary size before the compaction.
    pub fn old_len(&self) -> usize {
        self.map.len()
    }
    /// Vocabulary size after the compaction.
    pub fn new_len(&self) -> usize {
        self.new_len
    }

    /// Rewrites a document's ids, dropping removed words.
    pub fn apply(&self, doc: &Document) -> Document {
        Document::from_pairs(
            doc.iter()
                .filter_map(|(id, c)| self.get(id).map(|n| (n, c))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intern_respects_capacity_and_prune_keeps_frequent() {
        let mut v = Vocabulary::new(4);
        let ids: Vec<_> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|w| v.intern(w))
            .collect();
        assert_eq!(ids, vec![Some(0), Some(1), Some(2), Some(3), None]);
        assert!(v.is_full());
        assert_eq!(v.intern("b"), Some(1));
        v.observe(&[1, 3]);
        v.observe(&[3, 2]);
        v.observe(&[0, 3]);
        v.observe(&[1]);
        // df: a=1 b=2 c=1 d=3 -> keep d, b and (tie a/c -> a, lower id).
        let remap = v.prune_rarest(3);
        assert_eq!(remap.new_len(), 3);
        assert_eq!(v.words(), &["a", "b", "d"]);
        assert_eq!(
            (0..4).map(|i| remap.get(i)).collect::<Vec<_>>(),
            vec![Some(0), Some(1), None, Some(2)]
        );
        assert_eq!(v.id("d"), Some(2));
        assert_eq!(v.doc_freq(2), 3);
        assert_eq!(v.intern("e"), Some(3));

        let json = serde_json::to_string(&v).unwrap();
        let back: Vocabulary = serde_json::from_str(&json).unwrap();
        assert_eq!(back.id("e"), Some(3));
        assert_eq!(back.words(), v.words());
    }

    #[test]
    fn remap_validation() {
        assert!(VocabRemap::from_map(vec![Some(1), None, Some(0)]).is_ok());
        assert!(VocabRemap::from_map(vec![Some(0), Some(0)]).is_err());
        assert!(VocabRemap::from_map(vec![Some(2), Some(0)]).is_err());
    }
}

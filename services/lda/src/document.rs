//! Bag-of-words documents: the only input format the model understands.

use serde::{Deserialize, Serialize};

/// A document as unique word ids (ascending) with their counts.
///
/// Keeping ids unique and sorted lets the E-step gather each word's topic row once and lets
/// vocabulary remapping stay a single linear pass.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// Unique word ids, strictly ascending.
    pub ids: Vec<u32>,
    /// `counts[i]` is the count of `ids[i]`; non-negative.
    pub counts: Vec<f32>,
}

impl Document {
    /// Builds a document from `(id, count)` pairs in any order: duplicates are summed, ids
    /// sorted, and entries whose total count is not positive are dropped.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (u32, f32)>) -> Self {
        let mut pairs: Vec<(u32, f32)> = pairs.into_iter().collect();
        pairs.sort_unstable_by_key(|&(id, _)| id);
        let mut doc = Document {
            ids: Vec::with_capacity(pairs.len()),
            counts: Vec::with_capacity(pairs.len()),
        };
        for (id, count) in pairs {
            match doc.ids.last() {
                Some(&last) if last == id => *doc.counts.last_mut().expect("same length") += count,
                _ => {
                    doc.ids.push(id);
                    doc.counts.push(count);
                }
            }
        }
        doc.retain(|_, count| count > 0.0);
        doc
    }

    /// Total token count.
    pub fn total(&self) -> f32 {
        self.counts.iter().sum()
    }

    /// True when the document has no words.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Number of unique words.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Keeps only the entries for which `keep(id, count)` holds.
    pub fn retain(&mut self, mut keep: impl FnMut(u32, f32) -> bool) {
        let mut out = 0;
        for i in 0..self.ids.len() {
            if keep(self.ids[i], self.counts[i]) {
                self.ids[out] = self.ids[i];
                self.counts[out] = self.counts[i];
                out += 1;
            }
        }
        self.ids.truncate(out);
        self.counts.truncate(out);
    }

    /// Iterates `(id, count)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (u32, f32)> + '_ {
        self.ids.iter().copied().zip(self.counts.iter().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_pairs_merges_and_sorts() {
        let d = Document::from_pairs([(5, 1.0), (2, 2.0), (5, 3.0), (7, 0.0)]);
        assert_eq!(d.ids, vec![2, 5]);
        assert_eq!(d.counts, vec![2.0, 4.0]);
        assert_eq!(d.total(), 6.0);
        assert!(!d.is_empty());
        assert!(Document::from_pairs([]).is_empty());
    }
}

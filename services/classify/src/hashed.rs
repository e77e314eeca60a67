//! Hashed tf-idf text features (the "hashing trick"), to sit next to theta.
//!
//! Topic mixtures compress a document into K numbers; on 20 Newsgroups a classifier on theta
//! alone plateaus far below one on words (bench/classify/RESULTS.md). Words need a
//! vocabulary, though, and a streaming service has no fixed one: hashing each term into one
//! of `buckets` columns gives a fixed-width sparse vector without a vocabulary to ship or
//! grow. The idf weights are fitted per bucket on the classifier's own training documents and
//! stored with it, so the features a classifier was trained on are exactly the ones it is
//! served with.
//!
//! Weighting follows scikit-learn's `TfidfVectorizer(sublinear_tf=True)`: `1 + ln(tf)` times
//! `idf = ln((1 + n) / (1 + df)) + 1`, then the row is scaled to unit L2 norm. Terms collide
//! only through the hash (FNV-1a, 64 bit, stable across platforms and releases).

use serde::{Deserialize, Serialize};

/// Fitted per-bucket idf weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HashedTfIdf {
    buckets: u32,
    /// Documents the idf was fitted on.
    documents: u64,
    idf: Vec<f32>,
}

/// The bucket of `term` among `buckets`.
pub fn bucket(term: &str, buckets: u32) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in term.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h % u64::from(buckets.max(1))) as u32
}

impl HashedTfIdf {
    /// Fits the idf of each bucket on `documents` (bags of `(term, count)`).
    pub fn fit<'a, D, T>(documents: D, buckets: u32) -> Self
    where
        D: IntoIterator<Item = T>,
        T: IntoIterator<Item = (&'a str, u32)>,
    {
        let buckets = buckets.max(1);
        let mut df = vec![0u64; buckets as usize];
        let mut seen: Vec<u32> = Vec::new();
        let mut n = 0u64;
        for doc in documents {
            n += 1;
            seen.clear();
            seen.extend(doc.into_iter().map(|(t, _)| bucket(t, buckets)));
            seen.sort_unstable();
            seen.dedup();
            for &b in &seen {
                df[b as usize] += 1;
            }
        }
        let idf = df
            .iter()
            .map(|&d| (((1 + n) as f64 / (1 + d) as f64).ln() + 1.0) as f32)
            .collect();
        HashedTfIdf {
            buckets,
            documents: n,
            idf,
        }
    }

    pub fn buckets(&self) -> u32 {
        self.buckets
    }

    pub fn documents(&self) -> u64 {
        self.documents
    }

    /// The unit-norm tf-idf row of one bag of words, sorted by bucket, times `scale`.
    pub fn transform<'a>(
        &self,
        terms: impl IntoIterator<Item = (&'a str, u32)>,
        scale: f32,
    ) -> Vec<(u32, f32)> {
        let mut counts: Vec<(u32, u32)> = terms
            .into_iter()
            .filter(|(_, c)| *c > 0)
            .map(|(t, c)| (bucket(t, self.buckets), c))
            .collect();
        counts.sort_unstable_by_key(|&(b, _)| b);
        let mut row: Vec<(u32, f32)> = Vec::with_capacity(counts.len());
        for (b, c) in counts {
            // Colliding terms add their counts, as scikit-learn's HashingVectorizer does.
            match row.last_mut() {
                Some((last, tf)) if *last == b => *tf += c as f32,
                _ => row.push((b, c as f32)),
            }
        }
        let mut norm = 0.0f64;
        for (b, v) in row.iter_mut() {
            let idf = self.idf.get(*b as usize).copied().unwrap_or(1.0);
            *v = (1.0 + v.ln()) * idf;
            norm += f64::from(*v) * f64::from(*v);
        }
        if norm > 0.0 {
            let k = (f64::from(scale) / norm.sqrt()) as f32;
            row.iter_mut().for_each(|(_, v)| *v *= k);
        }
        row
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs() -> Vec<Vec<(&'static str, u32)>> {
        vec![
            vec![("apple", 2), ("pie", 1)],
            vec![("apple", 1), ("tart", 3)],
            vec![("engine", 1), ("pie", 1)],
        ]
    }

    #[test]
    fn rows_are_unit_norm_sorted_and_rare_terms_weigh_more() {
        let model = HashedTfIdf::fit(docs(), 1 << 12);
        assert_eq!(model.documents(), 3);
        let row = model.transform([("apple", 1), ("engine", 1)], 1.0);
        assert!(row.windows(2).all(|w| w[0].0 < w[1].0));
        let norm: f32 = row.iter().map(|(_, v)| v * v).sum();
        assert!((norm - 1.0).abs() < 1e-5, "{norm}");
        let weight = |t: &str| {
            let b = bucket(t, 1 << 12);
            row.iter().find(|(j, _)| *j == b).map(|(_, v)| *v).unwrap()
        };
        // apple occurs in 2 of 3 documents, engine in 1.
        assert!(weight("engine") > weight("apple"));
    }

    #[test]
    fn matches_scikit_learn_weighting() {
        // TfidfVectorizer(sublinear_tf=True, smooth_idf=True, norm="l2") on the same three
        // documents gives apple:tart = (1+ln1)*idf(apple) : (1+ln3)*idf(tart) for document 2.
        let model = HashedTfIdf::fit(docs(), 1 << 16);
        let row = model.transform([("apple", 1), ("tart", 3)], 1.0);
        let idf = |df: f64| ((1.0 + 3.0) / (1.0 + df)).ln() + 1.0;
        let (a, t) = (idf(2.0), (1.0 + 3f64.ln()) * idf(1.0));
        let norm = (a * a + t * t).sqrt();
        let b = |term: &str| bucket(term, 1 << 16);
        for (j, v) in row {
            let want = if j == b("apple") { a / norm } else { t / norm };
            assert!((f64::from(v) - want).abs() < 1e-6, "{j}: {v} vs {want}");
        }
    }

    #[test]
    fn collisions_add_counts_and_empty_rows_stay_empty() {
        let model = HashedTfIdf::fit(docs(), 1);
        let row = model.transform([("apple", 1), ("pie", 2)], 2.0);
        assert_eq!(row.len(), 1);
        assert!((row[0].1 - 2.0).abs() < 1e-6);
        assert!(model.transform([("x", 0)], 1.0).is_empty());
    }

    #[test]
    fn hashing_is_stable() {
        // A changed hash would silently scramble every stored classifier's features.
        assert_eq!(bucket("apple", 1 << 20), 0xe_fdbf);
    }
}

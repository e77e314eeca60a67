//! Topic coherence of top-word lists against bag-of-words reference documents.
//!
//! Both measures follow gensim's `CoherenceModel` definitions (module
//! `gensim.topic_coherence.direct_confirmation_measure`), with its EPSILON = 1e-12, and
//! probabilities estimated from *boolean document* co-occurrence: P(w) = D(w)/N and
//! P(w1, w2) = D(w1, w2)/N over the N reference documents.
//!
//! - UMass (gensim `u_mass`, segmentation `s_one_pre`): for each topic, the mean over pairs
//!   i > j of `ln((D(w_i, w_j)/N + eps) / (D(w_j)/N))`.
//! - NPMI (gensim `c_npmi`, segmentation `s_one_one`): the mean over ordered pairs i != j of
//!   `ln((P(w_i, w_j) + eps) / (P(w_i) P(w_j))) / -ln(P(w_i, w_j) + eps)`.
//!
//! The overall value is the arithmetic mean over topics (gensim's aggregation).
//!
//! Differences from gensim: gensim's `c_npmi` counts co-occurrence in sliding windows of 10
//! tokens over the original texts; bag-of-words documents have no order, so here the window
//! is the whole document (gensim `c_npmi` with `window_size` >= the longest document gives
//! the same counts). Where gensim would divide by zero or fail on a word absent from the
//! reference, the pair contributes 0; a topic with fewer than two words scores 0.

use std::collections::HashMap;

use crate::document::Document;

const EPSILON: f64 = 1e-12;

/// Coherence of a set of topics.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Coherence {
    /// Mean NPMI over topics, in [-1, 1]; higher is better.
    pub npmi: f64,
    /// Mean UMass over topics (<= 0 in practice); higher is better.
    pub umass: f64,
    pub per_topic_npmi: Vec<f64>,
    pub per_topic_umass: Vec<f64>,
}

/// Scores each topic's top words (best first, as from `OnlineLda::top_words`) against
/// `reference`. NaN overall values when `reference` or `top_words` is empty.
pub fn coherence(top_words: &[Vec<u32>], reference: &[Document]) -> Coherence {
    let counts = Counts::new(top_words, reference);
    let per_topic_npmi: Vec<f64> = top_words.iter().map(|t| counts.npmi(t)).collect();
    let per_topic_umass: Vec<f64> = top_words.iter().map(|t| counts.umass(t)).collect();
    Coherence {
        npmi: mean(&per_topic_npmi, reference.is_empty()),
        umass: mean(&per_topic_umass, reference.is_empty()),
        per_topic_npmi,
        per_topic_umass,
    }
}

fn mean(xs: &[f64], undefined: bool) -> f64 {
    if xs.is_empty() || undefined {
        f64::NAN
    } else {
        xs.iter().sum::<f64>() / xs.len() as f64
    }
}

/// Document and co-document counts for the union of all top words.
struct Counts {
    slot: HashMap<u32, usize>,
    single: Vec<u64>,
    /// m x m symmetric co-occurrence counts.
    pair: Vec<u64>,
    m: usize,
    n: f64,
}

impl Counts {
    fn new(top_words: &[Vec<u32>], reference: &[Document]) -> Self {
        let mut slot = HashMap::new();
        for &w in top_words.iter().flatten() {
            let next = slot.len();
            slot.entry(w).or_insert(next);
        }
        let m = slot.len();
        let mut single = vec![0u64; m];
        let mut pair = vec![0u64; m * m];
        let mut present = Vec::new();
        for doc in reference {
            present.clear();
            present.extend(doc.ids.iter().filter_map(|id| slot.get(id).copied()));
            for (a, &i) in present.iter().enumerate() {
                single[i] += 1;
                for &j in &present[a + 1..] {
                    pair[i * m + j] += 1;
                    pair[j * m + i] += 1;
                }
            }
        }
        Counts {
            slot,
            single,
            pair,
            m,
            n: reference.len() as f64,
        }
    }

    fn probs(&self, a: u32, b: u32) -> (f64, f64, f64) {
        let (i, j) = (self.slot[&a], self.slot[&b]);
        (
            self.single[i] as f64 / self.n,
            self.single[j] as f64 / self.n,
            self.pair[i * self.m + j] as f64 / self.n,
        )
    }

    fn umass(&self, top: &[u32]) -> f64 {
        let mut total = 0.0;
        let mut pairs = 0usize;
        for i in 1..top.len() {
            for j in 0..i {
                let (_, p_star, p_joint) = self.probs(top[i], top[j]);
                if p_star > 0.0 {
                    total += ((p_joint + EPSILON) / p_star).ln();
                }
                pairs += 1;
            }
        }
        if pairs == 0 {
            0.0
        } else {
            total / pairs as f64
        }
    }

    fn npmi(&self, top: &[u32]) -> f64 {
        let mut total = 0.0;
        let mut pairs = 0usize;
        for (i, &a) in top.iter().enumerate() {
            for (j, &b) in top.iter().enumerate() {
                if i == j {
                    continue;
                }
                let (pa, pb, pab) = self.probs(a, b);
                if pa > 0.0 && pb > 0.0 {
                    let pmi = ((pab + EPSILON) / (pa * pb)).ln();
                    total += pmi / -(pab + EPSILON).ln();
                }
                pairs += 1;
            }
        }
        if pairs == 0 {
            0.0
        } else {
            total / pairs as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    fn doc(ids: &[u32]) -> Document {
        Document::from_pairs(ids.iter().map(|&i| (i, 1.0)))
    }

    #[test]
    fn matches_hand_computed_values() {
        // N = 4; D(0)=3, D(1)=2, D(0,1)=2, D(2)=1, D(0,2)=0.
        let reference = vec![doc(&[0, 1]), doc(&[0, 1]), doc(&[0]), doc(&[2])];
        let c = coherence(&[vec![0, 1], vec![0, 2]], &reference);
        // UMass topic 0: ln((2/4 + e) / (3/4)).
        assert_abs_diff_eq!(
            c.per_topic_umass[0],
            ((0.5 + EPSILON) / 0.75f64).ln(),
            epsilon = 1e-12
        );
        // NPMI topic 0: ln(0.5 / (0.75 * 0.5)) / -ln(0.5).
        let npmi01 = ((0.5 + EPSILON) / 0.375f64).ln() / -(0.5 + EPSILON).ln();
        assert_abs_diff_eq!(c.per_topic_npmi[0], npmi01, epsilon = 1e-12);
        // Never co-occurring words approach NPMI -1.
        assert!(c.per_topic_npmi[1] < -0.9);
        assert_abs_diff_eq!(c.npmi, (c.per_topic_npmi[0] + c.per_topic_npmi[1]) / 2.0);
    }
}

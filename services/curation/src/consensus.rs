//! Turning several annotators' labels into one: majority vote, and Dawid & Skene (1979) EM,
//! which learns a confusion matrix per annotator so a careless one is out-voted even when they
//! agree with nobody in particular. Labels and annotators are indices.

use serde::{Deserialize, Serialize};

/// The result of a majority vote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MajorityVote {
    /// The most voted label; on a tie the lowest index among the tied (deterministic).
    pub label: usize,
    /// Votes for `label`.
    pub votes: usize,
    /// `votes / total votes`.
    pub agreement: f64,
    /// True when another label has as many votes.
    pub tied: bool,
}

/// Majority vote over `votes` (label indices `< n_labels`). `None` when there are no valid votes.
pub fn majority_vote(votes: &[usize], n_labels: usize) -> Option<MajorityVote> {
    let mut counts = vec![0usize; n_labels];
    let mut total = 0usize;
    for &v in votes.iter().filter(|&&v| v < n_labels) {
        counts[v] += 1;
        total += 1;
    }
    if total == 0 {
        return None;
    }
    let best = counts.iter().copied().max().unwrap_or(0);
    let label = counts.iter().position(|&c| c == best)?;
    let tied = counts.iter().filter(|&&c| c == best).count() > 1;
    Some(MajorityVote {
        label,
        votes: best,
        agreement: best as f64 / total as f64,
        tied,
    })
}

/// One item for Dawid–Skene: its votes `(annotator, label)` and, for gold items, the known label
/// (which anchors the annotators' confusion matrices).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DsItem {
    pub votes: Vec<(usize, usize)>,
    pub truth: Option<usize>,
}

/// Fitted Dawid–Skene model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DawidSkene {
    /// Most probable label per item (lowest index on an exact tie).
    pub labels: Vec<usize>,
    /// Posterior label distribution per item.
    pub posteriors: Vec<Vec<f64>>,
    /// `confusion[a][true][given]`: probability annotator `a` answers `given` when `true` is right.
    pub confusion: Vec<Vec<Vec<f64>>>,
    /// Class priors.
    pub priors: Vec<f64>,
}

/// Additive smoothing of confusion counts and priors: keeps probabilities away from 0 so one
/// unlucky vote cannot make an annotator "never" say something.
const SMOOTHING: f64 = 0.5;

/// Dawid–Skene EM. Starts from soft majority votes, then alternates the M-step (priors and
/// per-annotator confusion matrices from the posteriors) and the E-step (posteriors from those)
/// `iterations` times. Votes with out-of-range indices are ignored; an item without valid votes
/// gets the prior. Deterministic.
pub fn dawid_skene(
    items: &[DsItem],
    n_annotators: usize,
    n_labels: usize,
    iterations: usize,
) -> DawidSkene {
    let valid = |&(a, l): &(usize, usize)| a < n_annotators && l < n_labels;
    let one_hot = |l: usize| {
        let mut v = vec![0.0; n_labels];
        v[l] = 1.0;
        v
    };
    // Initial posteriors: vote shares (gold: the truth).
    let mut posteriors: Vec<Vec<f64>> = items
        .iter()
        .map(|item| match item.truth.filter(|&t| t < n_labels) {
            Some(t) => one_hot(t),
            None => {
                let mut p = vec![0.0; n_labels];
                for &(_, l) in item.votes.iter().filter(|v| valid(v)) {
                    p[l] += 1.0;
                }
                normalize_or_uniform(&mut p);
                p
            }
        })
        .collect();
    let mut priors = vec![1.0 / n_labels.max(1) as f64; n_labels];
    let mut confusion =
        vec![vec![vec![1.0 / n_labels.max(1) as f64; n_labels]; n_labels]; n_annotators];

    for _ in 0..iterations {
        // M-step.
        let mut prior_counts = vec![SMOOTHING; n_labels];
        let mut counts = vec![vec![vec![SMOOTHING; n_labels]; n_labels]; n_annotators];
        for (item, post) in items.iter().zip(&posteriors) {
            for (j, p) in post.iter().enumerate() {
                prior_counts[j] += p;
            }
            for &(a, l) in item.votes.iter().filter(|v| valid(v)) {
                for (j, p) in post.iter().enumerate() {
                    counts[a][j][l] += p;
                }
            }
        }
        normalize_or_uniform(&mut prior_counts);
        priors = prior_counts;
        for per_annotator in &mut counts {
            for row in per_annotator.iter_mut() {
                normalize_or_uniform(row);
            }
        }
        confusion = counts;

        // E-step, in log space (many votes would underflow a product).
        for (item, post) in items.iter().zip(posteriors.iter_mut()) {
            if let Some(t) = item.truth.filter(|&t| t < n_labels) {
                *post = one_hot(t);
                continue;
            }
            let mut log_p: Vec<f64> = priors.iter().map(|p| p.ln()).collect();
            for &(a, l) in item.votes.iter().filter(|v| valid(v)) {
                for (j, lp) in log_p.iter_mut().enumerate() {
                    *lp += confusion[a][j][l].ln();
                }
            }
            let max = log_p.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            *post = log_p.iter().map(|lp| (lp - max).exp()).collect();
            normalize_or_uniform(post);
        }
    }

    let labels = posteriors.iter().map(|p| argmax(p)).collect();
    DawidSkene {
        labels,
        posteriors,
        confusion,
        priors,
    }
}

fn normalize_or_uniform(v: &mut [f64]) {
    let sum: f64 = v.iter().sum();
    if sum > 0.0 && sum.is_finite() {
        v.iter_mut().for_each(|x| *x /= sum);
    } else if !v.is_empty() {
        let u = 1.0 / v.len() as f64;
        v.iter_mut().for_each(|x| *x = u);
    }
}

/// Index of the largest value; the lowest index wins ties.
pub(crate) fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (i, x) in v.iter().enumerate() {
        if *x > v[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_counts_and_ties() {
        let m = majority_vote(&[1, 1, 0], 2).unwrap();
        assert_eq!((m.label, m.votes, m.tied), (1, 2, false));
        assert!((m.agreement - 2.0 / 3.0).abs() < 1e-12);
        let t = majority_vote(&[1, 0], 2).unwrap();
        assert!(t.tied);
        assert_eq!(t.label, 0);
        assert_eq!(majority_vote(&[], 2), None);
        assert_eq!(majority_vote(&[5], 2), None);
    }

    /// A small deterministic PRNG (SplitMix64) so the synthetic crowd is reproducible.
    struct SplitMix(u64);
    impl SplitMix {
        fn next(&mut self) -> f64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    #[test]
    fn dawid_skene_beats_majority_with_one_bad_annotator() {
        // Three labels, three annotators per item: two decent (75% correct) and one adversarial
        // annotator who always answers (truth + 1) mod 3. Majority fails whenever one decent
        // annotator slips; Dawid–Skene learns the adversary's confusion matrix and inverts it.
        let (n_items, n_labels) = (400, 3);
        let mut rng = SplitMix(7);
        let mut truth = Vec::new();
        let mut items = Vec::new();
        for _ in 0..n_items {
            let t = (rng.next() * n_labels as f64) as usize % n_labels;
            truth.push(t);
            let mut votes = Vec::new();
            for a in 0..2 {
                let l = if rng.next() < 0.75 {
                    t
                } else {
                    (t + 1 + (rng.next() * 2.0) as usize % 2) % n_labels
                };
                votes.push((a, l));
            }
            votes.push((2, (t + 1) % n_labels));
            items.push(DsItem { votes, truth: None });
        }
        let majority_correct = items
            .iter()
            .zip(&truth)
            .filter(|(item, &t)| {
                let labels: Vec<usize> = item.votes.iter().map(|v| v.1).collect();
                majority_vote(&labels, n_labels).map(|m| m.label) == Some(t)
            })
            .count();
        let ds = dawid_skene(&items, 3, n_labels, 20);
        let ds_correct = ds.labels.iter().zip(&truth).filter(|(l, t)| l == t).count();
        assert!(
            ds_correct > majority_correct + n_items / 20,
            "ds {ds_correct} vs majority {majority_correct}"
        );
        assert!(ds_correct as f64 / n_items as f64 > 0.85, "{ds_correct}");
        // The adversary's learned confusion puts its mass off the diagonal.
        assert!(ds.confusion[2][0][1] > 0.8, "{:?}", ds.confusion[2]);
    }

    #[test]
    fn gold_truth_is_kept_and_posteriors_are_distributions() {
        let items = vec![
            DsItem {
                votes: vec![(0, 1), (1, 1)],
                truth: Some(0),
            },
            DsItem {
                votes: vec![(0, 0), (1, 0)],
                truth: None,
            },
            DsItem::default(),
        ];
        let ds = dawid_skene(&items, 2, 2, 5);
        assert_eq!(ds.labels[0], 0);
        for p in &ds.posteriors {
            assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        }
    }
}

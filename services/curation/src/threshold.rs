//! Choosing the auto-label threshold from human-labeled validation items.
//!
//! Precision at threshold `t` is the share of correct machine labels among validation items with
//! confidence `>= t`. We want as many auto-labels as possible, so the *lowest* threshold whose
//! precision reaches the target wins, provided enough items support the estimate; otherwise we
//! fall back to a conservative constant rather than trust a handful of points.
//!
//! # Noisy human labels
//! "Correct" means the machine label matched the human one, but humans err too: with 90 %
//! accurate annotators a perfect model agrees with them only 90 % of the time, so a 95 %
//! target could never be met and the threshold would sit at its fallback forever. When a
//! pair carries the accuracy q of the human label it was compared with (measured on gold
//! items), the estimate is corrected under the usual symmetric-noise model (a wrong human
//! label is uniform over the other C - 1 labels, independent of the model's mistake):
//!
//!   P(agree) = p q + (1 - p) e,  e = (1 - q) / (C - 1)   =>   p = (agree - e) / (q - e)
//!
//! summed over the items at or above a threshold (each with its own q). The curator passes
//! an *upper* confidence bound on q: overstating human accuracy understates machine
//! precision, so the error goes the safe way.

use serde::{Deserialize, Serialize};

/// One validation item: the model's calibrated confidence and whether its label was right.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ValidationPair {
    pub confidence: f64,
    /// The machine label matched the human (or consensus) label.
    pub correct: bool,
    /// Accuracy of that human label, when measured (gold items); `None` = taken as exact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_accuracy: Option<f64>,
    /// Index (in the configured label set) of the label the machine gave, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_class: Option<u32>,
}

impl ValidationPair {
    /// At confidence `>= band` (and finite): the pairs the per-class tests
    /// ([`outlier_classes`], [`judged_classes`]) count.
    fn in_band(&self, band: f64) -> bool {
        self.confidence.is_finite() && self.confidence >= band
    }
}

/// The chosen threshold and the evidence for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdChoice {
    /// Auto-label when confidence `>=` this.
    pub threshold: f64,
    /// Estimated machine-label precision among validation items at or above `threshold`,
    /// corrected for human label noise (none if there are none).
    pub precision: Option<f64>,
    /// Lower confidence bound of that precision (what had to reach the target).
    #[serde(default)]
    pub precision_lower_bound: Option<f64>,
    /// Raw share of those items where machine and human labels agreed.
    #[serde(default)]
    pub agreement: Option<f64>,
    /// Validation items at or above `threshold`.
    pub support: usize,
    /// Share of validation items at or above `threshold` (an estimate of auto-label coverage).
    pub coverage: f64,
    /// True when no threshold met target and support, so `fallback` was used.
    pub fallback: bool,
    /// Labels the machine may not give on its own (see [`outlier_classes`]).
    #[serde(default)]
    pub suspended: Vec<SuspendedClass>,
    /// Labels with enough validation pairs for the outlier test to judge them (see
    /// [`judged_classes`]), whether or not it suspended them.
    #[serde(default)]
    pub judged: Vec<String>,
}

/// A label whose machine labels the humans rejected significantly more often than its
/// confidences promised, compared with the other labels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuspendedClass {
    pub label: String,
    /// Validation pairs with this machine label.
    pub pairs: usize,
    /// Pairs where the human disagreed.
    pub disagreements: usize,
    /// Disagreements expected from the pairs' confidences, scaled by how the other labels
    /// fared against theirs (observed / expected over all other pairs).
    pub expected: f64,
    /// (observed - expected) / standard deviation.
    pub z: f64,
}

/// Machine labels (class indices into `labels`) that disagree with the humans more often than
/// their confidences say, relative to the other labels: a one-sided test of
/// `observed - expected` over the class's validation pairs at confidence `>= band`, where
/// each pair is expected to disagree with probability `(1 - confidence) * r` and `r` is
/// observed / expected over the band pairs of every other label. At least `min_pairs` pairs
/// per judged class.
///
/// Why: with one threshold for all labels, one class the model confuses systematically sinks
/// the precision of every auto-label (on 20 Newsgroups, talk.religion.misc posts labeled
/// soc.religion.christian at confidence >= 0.99). Certifying a threshold per class would
/// take hundreds of pairs per class. The confidence is calibrated against human labels, so
/// it already says how often a human should disagree, and comparing with the other labels
/// cancels a calibration error they share. Only the band counts: the over-confidence is at
/// the top (the same class's uncertain predictions were *more* often right than promised).
/// It only ever removes auto-labels, so a false alarm (about 5 % per judged class at z =
/// 1.645) costs coverage, not precision.
pub fn outlier_classes(
    validation: &[ValidationPair],
    labels: &[String],
    band: f64,
    min_pairs: usize,
    z: f64,
) -> Vec<SuspendedClass> {
    let in_band = |p: &&ValidationPair| p.in_band(band);
    #[derive(Default, Clone, Copy)]
    struct Sums {
        pairs: usize,
        wrong: usize,
        expected: f64,
    }
    let mut per_class: std::collections::BTreeMap<u32, Sums> = Default::default();
    for p in validation.iter().filter(in_band) {
        if let Some(c) = p.machine_class {
            let sums = per_class.entry(c).or_default();
            sums.pairs += 1;
            sums.wrong += usize::from(!p.correct);
            sums.expected += 1.0 - p.confidence.clamp(0.0, 1.0);
        }
    }
    let total = per_class.values().fold(Sums::default(), |t, s| Sums {
        pairs: t.pairs + s.pairs,
        wrong: t.wrong + s.wrong,
        expected: t.expected + s.expected,
    });
    per_class
        .iter()
        .filter(|(_, s)| s.pairs >= min_pairs.max(1))
        .filter_map(|(&class, s)| {
            let (others_wrong, others_expected) =
                (total.wrong - s.wrong, total.expected - s.expected);
            if others_expected <= 0.0 || others_wrong == 0 {
                return None; // nothing to compare with
            }
            let ratio = others_wrong as f64 / others_expected;
            let (mut expected, mut variance) = (0.0, 0.0);
            for p in validation
                .iter()
                .filter(in_band)
                .filter(|p| p.machine_class == Some(class))
            {
                let q = ((1.0 - p.confidence.clamp(0.0, 1.0)) * ratio).clamp(0.0, 1.0);
                expected += q;
                variance += q * (1.0 - q);
            }
            let statistic = (s.wrong as f64 - expected) / variance.max(1e-9).sqrt();
            if statistic < z {
                return None;
            }
            Some(SuspendedClass {
                label: labels.get(class as usize)?.clone(),
                pairs: s.pairs,
                disagreements: s.wrong,
                expected,
                z: statistic,
            })
        })
        .collect()
}

/// Labels (of `labels`, in label order) with at least `min_pairs` validation pairs at
/// confidence `>= band`: the ones [`outlier_classes`] can judge.
pub fn judged_classes(
    validation: &[ValidationPair],
    labels: &[String],
    band: f64,
    min_pairs: usize,
) -> Vec<String> {
    let mut pairs = vec![0usize; labels.len()];
    for p in validation {
        if let Some(n) = p
            .machine_class
            .filter(|_| p.in_band(band))
            .and_then(|c| pairs.get_mut(c as usize))
        {
            *n += 1;
        }
    }
    labels
        .iter()
        .zip(pairs)
        .filter(|&(_, n)| n >= min_pairs.max(1))
        .map(|(label, _)| label.clone())
        .collect()
}

/// Running sums for the noise-corrected precision of a set of validation pairs.
#[derive(Debug, Clone, Copy, Default)]
struct PrecisionSums {
    items: usize,
    agreed: usize,
    /// sum of q - e and of e over the items (q = 1, e = 0 when the accuracy is unknown).
    signal: f64,
    chance: f64,
}

impl PrecisionSums {
    fn add(&mut self, pair: &ValidationPair, num_labels: usize) {
        let q = pair.label_accuracy.unwrap_or(1.0).clamp(0.0, 1.0);
        let e = if num_labels > 1 {
            (1.0 - q) / (num_labels - 1) as f64
        } else {
            0.0
        };
        self.items += 1;
        self.agreed += usize::from(pair.correct);
        self.signal += q - e;
        self.chance += e;
    }

    fn agreement(&self) -> Option<f64> {
        (self.items > 0).then(|| self.agreed as f64 / self.items as f64)
    }

    /// (agreed - sum e) / sum (q - e), clamped to [0, 1]; none when the human labels carry no
    /// signal (accuracy at or below chance).
    fn precision(&self) -> Option<f64> {
        self.corrected(self.agreed as f64)
    }

    /// [`Self::precision`] with the agreement count replaced by the lower end of its Wilson
    /// score interval at `z` standard errors (z = 0: the point estimate).
    fn precision_lower_bound(&self, z: f64) -> Option<f64> {
        if self.items == 0 {
            return None;
        }
        let n = self.items as f64;
        let (lower, _) = wilson_interval(self.agreed as f64, n, z);
        self.corrected(lower * n)
    }

    fn corrected(&self, agreed: f64) -> Option<f64> {
        (self.items > 0 && self.signal > 1e-9)
            .then(|| ((agreed - self.chance) / self.signal).clamp(0.0, 1.0))
    }
}

/// The Wilson score interval (lower, upper) for `successes` out of `n > 0` trials at `z`
/// standard errors, clamped to [0, 1].
pub(crate) fn wilson_interval(successes: f64, n: f64, z: f64) -> (f64, f64) {
    let p = successes / n;
    let z2 = z * z;
    let centre = p + z2 / (2.0 * n);
    let spread = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    let scale = 1.0 + z2 / n;
    (
        ((centre - spread) / scale).max(0.0),
        ((centre + spread) / scale).min(1.0),
    )
}

/// The lowest threshold whose noise-corrected precision, at its lower confidence bound
/// (`z` standard errors, one-sided; 0 = the point estimate), is `>= target_precision` over
/// at least `min_support` items at or above it; `fallback` (e.g. 0.99) when none qualifies.
/// `num_labels` is the size of the label set (for the chance of a wrong human label matching
/// a wrong machine label). Non-finite confidences are ignored.
///
/// Why a bound: the scan tries every threshold and keeps the lowest that passes, so a point
/// estimate that is high by chance at some threshold is exactly the one picked. Measured on
/// 20 Newsgroups: a point estimate of 95.1 % over 74 pairs chose a threshold whose
/// auto-labels were 91 % precise.
pub fn choose_auto_label_threshold(
    validation: &[ValidationPair],
    target_precision: f64,
    min_support: usize,
    fallback: f64,
    num_labels: usize,
    z: f64,
) -> ThresholdChoice {
    let mut pairs: Vec<ValidationPair> = validation
        .iter()
        .copied()
        .filter(|p| p.confidence.is_finite())
        .collect();
    pairs.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    let total = pairs.len();

    let mut best: Option<(f64, PrecisionSums)> = None;
    let mut sums = PrecisionSums::default();
    for (i, p) in pairs.iter().enumerate() {
        sums.add(p, num_labels);
        // Only the last item of a run of equal confidences closes a candidate threshold:
        // `>= t` includes every item with confidence exactly `t`.
        let run_ends = pairs
            .get(i + 1)
            .is_none_or(|next| next.confidence < p.confidence);
        if run_ends
            && sums.items >= min_support.max(1)
            && sums
                .precision_lower_bound(z)
                .is_some_and(|p| p >= target_precision)
        {
            best = Some((p.confidence, sums));
        }
    }
    match best {
        Some((threshold, sums)) => ThresholdChoice {
            threshold,
            precision: sums.precision(),
            precision_lower_bound: sums.precision_lower_bound(z),
            agreement: sums.agreement(),
            support: sums.items,
            coverage: sums.items as f64 / total as f64,
            fallback: false,
            suspended: Vec::new(),
            judged: Vec::new(),
        },
        None => {
            let mut above = PrecisionSums::default();
            for p in pairs.iter().filter(|p| p.confidence >= fallback) {
                above.add(p, num_labels);
            }
            let support = above.items;
            ThresholdChoice {
                threshold: fallback,
                precision: above.precision(),
                precision_lower_bound: above.precision_lower_bound(z),
                agreement: above.agreement(),
                support,
                coverage: if total == 0 {
                    0.0
                } else {
                    support as f64 / total as f64
                },
                fallback: true,
                suspended: Vec::new(),
                judged: Vec::new(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(confidence: f64, correct: bool) -> ValidationPair {
        ValidationPair {
            confidence,
            correct,
            label_accuracy: None,
            machine_class: None,
        }
    }

    /// Label names c0..c9 for class indices 0..9.
    fn names() -> Vec<String> {
        (0..10).map(|c| format!("c{c}")).collect()
    }

    fn class_pairs(class: u32, n: usize, wrong: usize, confidence: f64) -> Vec<ValidationPair> {
        (0..n)
            .map(|i| ValidationPair {
                machine_class: Some(class),
                ..pair(confidence, i >= wrong)
            })
            .collect()
    }

    /// A class is judged from `min_pairs` pairs at confidence >= band, right or wrong; pairs
    /// below the band, without a machine class or with a class outside the label set do not
    /// count.
    #[test]
    fn judged_classes_count_band_pairs_per_class() {
        let mut v = class_pairs(3, 10, 4, 0.95);
        v.extend(class_pairs(1, 9, 0, 0.99));
        v.extend(class_pairs(1, 5, 0, 0.5));
        v.extend(class_pairs(42, 20, 0, 0.99));
        v.extend((0..20).map(|_| pair(0.99, true)));
        assert_eq!(judged_classes(&v, &names(), 0.9, 10), ["c3"]);
        v.extend(class_pairs(1, 1, 0, f64::NAN));
        assert_eq!(judged_classes(&v, &names(), 0.9, 10), ["c3"]);
        v.extend(class_pairs(1, 1, 1, 0.9));
        assert_eq!(judged_classes(&v, &names(), 0.9, 10), ["c1", "c3"]);
        assert_eq!(judged_classes(&v, &names(), 0.96, 10), Vec::<String>::new());
        assert!(
            judged_classes(&[], &names(), 0.9, 0).is_empty(),
            "0 means 1"
        );
    }

    #[test]
    fn a_class_wrong_more_often_than_its_confidence_says_is_suspended() {
        // Classes 0-4: 40 pairs each at confidence 0.9, 4 wrong (as promised). Class 5: 15
        // pairs at 0.9, 6 wrong (40 % where 10 % was promised).
        let mut v: Vec<ValidationPair> = (0..5).flat_map(|c| class_pairs(c, 40, 4, 0.9)).collect();
        v.extend(class_pairs(5, 15, 6, 0.9));
        let out = outlier_classes(&v, &names(), 0.9, 10, 1.645);
        assert_eq!(out.len(), 1, "{out:?}");
        let s = &out[0];
        assert_eq!((s.label.as_str(), s.pairs, s.disagreements), ("c5", 15, 6));
        assert!((s.expected - 1.5).abs() < 1e-9 && s.z > 1.645, "{s:?}");
        // Too few pairs: not judged.
        assert!(outlier_classes(&v, &names(), 0.9, 16, 1.645).is_empty());
        // Low confidence explains many disagreements: 6 of 15 at confidence 0.6 is as promised.
        let mut honest: Vec<ValidationPair> =
            (0..5).flat_map(|c| class_pairs(c, 40, 4, 0.9)).collect();
        honest.extend(class_pairs(5, 15, 6, 0.6));
        assert!(outlier_classes(&honest, &names(), 0.5, 10, 1.645).is_empty());
        // A calibration error shared by every class is no reason to single one out.
        let shared: Vec<ValidationPair> =
            (0..6).flat_map(|c| class_pairs(c, 40, 12, 0.9)).collect();
        assert!(outlier_classes(&shared, &names(), 0.9, 10, 1.645).is_empty());
        // Below the band nothing counts.
        assert!(outlier_classes(&v, &names(), 0.95, 10, 1.645).is_empty());
        // Pairs without a machine class: nothing to judge.
        assert!(outlier_classes(&[pair(0.99, false); 50], &names(), 0.9, 10, 1.645).is_empty());
    }

    /// Calibrated synthetic data: an item at confidence c is correct with probability c
    /// (deterministically: correct for the first round(c * 100) of 100 items at that level).
    fn calibrated() -> Vec<ValidationPair> {
        let mut v = Vec::new();
        for level in 50..=100 {
            let c = level as f64 / 100.0;
            for k in 0..100 {
                v.push(pair(c, (k as f64) < c * 100.0));
            }
        }
        v
    }

    #[test]
    fn reaches_target_precision_with_lowest_threshold() {
        let v = calibrated();
        let choice = choose_auto_label_threshold(&v, 0.95, 50, 0.99, 20, 0.0);
        assert!(!choice.fallback);
        let p = choice.precision.unwrap();
        assert!(p >= 0.95, "{p}");
        // Precision at t = mean of levels t..=1 = (t + 1) / 2 >= 0.95 => t = 0.90.
        assert!(
            (choice.threshold - 0.90).abs() < 1e-9,
            "{}",
            choice.threshold
        );
        // And one step lower must miss the target (the choice is the lowest that works).
        let below: Vec<_> = v.iter().filter(|p| p.confidence >= 0.89).collect();
        let prec_below = below.iter().filter(|p| p.correct).count() as f64 / below.len() as f64;
        assert!(prec_below < 0.95);
    }

    #[test]
    fn too_little_support_falls_back() {
        let v = vec![pair(0.97, true), pair(0.8, true), pair(0.6, false)];
        let choice = choose_auto_label_threshold(&v, 0.95, 50, 0.99, 20, 0.0);
        assert!(choice.fallback);
        assert_eq!(choice.threshold, 0.99);
        assert_eq!(choice.support, 0);
        let empty = choose_auto_label_threshold(&[], 0.95, 1, 0.99, 20, 0.0);
        assert!(empty.fallback && empty.coverage == 0.0);
    }

    #[test]
    fn ties_in_confidence_are_all_included() {
        // Three items at 0.9: two wrong. A threshold of 0.9 must count all three.
        let mut v = vec![pair(0.9, true), pair(0.9, false), pair(0.9, false)];
        v.extend((0..10).map(|_| pair(0.95, true)));
        let choice = choose_auto_label_threshold(&v, 0.95, 5, 0.99, 20, 0.0);
        assert_eq!(choice.threshold, 0.95);
        assert_eq!(choice.support, 10);
    }

    #[test]
    fn nan_confidences_are_ignored() {
        let mut v: Vec<_> = (0..60).map(|_| pair(0.96, true)).collect();
        v.push(pair(f64::NAN, false));
        let choice = choose_auto_label_threshold(&v, 0.95, 50, 0.99, 20, 0.0);
        assert_eq!(choice.threshold, 0.96);
        assert_eq!(choice.precision, Some(1.0));
    }

    /// A model that is right 97 % of the time above 0.9 and 80 % below, judged by 90 %
    /// accurate humans whose mistakes are uniform over the other labels: the raw agreement
    /// (~87.5 %) never reaches 95 %, the corrected estimate finds the 0.9 boundary, and an
    /// unknown human accuracy keeps the old, uncorrected behaviour.
    #[test]
    fn noisy_human_labels_are_corrected_for() {
        use rand::{Rng, SeedableRng};
        let (classes, q) = (20usize, 0.9);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut v = Vec::new();
        for i in 0..20_000 {
            let confidence = 0.5 + 0.5 * (i as f64 / 20_000.0);
            let machine_right = rng.random::<f64>() < if confidence >= 0.9 { 0.97 } else { 0.8 };
            let human_right = rng.random::<f64>() < q;
            // Wrong answers are uniform over the other labels; two wrong ones agree 1/(C-1).
            let agree = match (machine_right, human_right) {
                (true, true) => true,
                (false, false) => rng.random_range(0..classes - 1) == 0,
                _ => false,
            };
            v.push(ValidationPair {
                confidence,
                correct: agree,
                label_accuracy: Some(q),
                machine_class: None,
            });
        }
        let choice = choose_auto_label_threshold(&v, 0.95, 50, 0.99, classes, 0.0);
        assert!(!choice.fallback, "{choice:?}");
        assert!((choice.threshold - 0.9).abs() < 0.03, "{choice:?}");
        assert!(choice.agreement.unwrap() < 0.9, "{choice:?}");
        let p = choice.precision.unwrap();
        assert!((p - 0.97).abs() < 0.02, "{choice:?}");

        let unknown: Vec<_> = v
            .iter()
            .map(|p| ValidationPair {
                label_accuracy: None,
                machine_class: None,
                ..*p
            })
            .collect();
        let raw = choose_auto_label_threshold(&unknown, 0.95, 50, 0.99, classes, 0.0);
        assert!(raw.fallback, "{raw:?}");
    }

    #[test]
    fn chance_level_humans_give_no_estimate() {
        let v: Vec<_> = (0..100)
            .map(|i| ValidationPair {
                confidence: 0.99,
                correct: i % 2 == 0,
                label_accuracy: Some(0.5),
                machine_class: None,
            })
            .collect();
        // q = 1/C: the human label says nothing about the truth.
        let choice = choose_auto_label_threshold(&v, 0.95, 10, 0.99, 2, 0.0);
        assert!(choice.fallback);
        assert_eq!(choice.precision, None);
    }

    /// 58 of 60 pairs agreeing (96.7 %) pass a 95 % target as a point estimate but not at a
    /// 95 % lower bound; 590 of 600 do.
    #[test]
    fn the_lower_bound_needs_more_evidence_than_the_point_estimate() {
        let pairs = |n: usize, wrong: usize| -> Vec<ValidationPair> {
            (0..n).map(|i| pair(0.97, i >= wrong)).collect()
        };
        let point = choose_auto_label_threshold(&pairs(60, 2), 0.95, 50, 0.99, 20, 0.0);
        assert_eq!(point.threshold, 0.97);
        let bounded = choose_auto_label_threshold(&pairs(60, 2), 0.95, 50, 0.99, 20, 1.645);
        assert!(bounded.fallback, "{bounded:?}");
        // The bound it missed with: between 0.85 and 0.95 (a 90 % target passes).
        let lower = choose_auto_label_threshold(&pairs(60, 2), 0.90, 50, 0.99, 20, 1.645);
        let lb = lower.precision_lower_bound.unwrap();
        assert!(!lower.fallback && lb < 0.95 && lb > 0.85, "{lower:?}");
        let plenty = choose_auto_label_threshold(&pairs(600, 10), 0.95, 50, 0.99, 20, 1.645);
        assert_eq!(plenty.threshold, 0.97, "{plenty:?}");
        assert!(plenty.precision_lower_bound.unwrap() >= 0.95);
    }
}

//! Choosing the auto-label threshold from human-labeled validation items.
//!
//! Precision at threshold `t` is the share of correct machine labels among validation items with
//! confidence `>= t`. We want as many auto-labels as possible, so the *lowest* threshold whose
//! precision reaches the target wins, provided enough items support the estimate; otherwise we
//! fall back to a conservative constant rather than trust a handful of points.

use serde::{Deserialize, Serialize};

/// One validation item: the model's calibrated confidence and whether its label was right.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ValidationPair {
    pub confidence: f64,
    pub correct: bool,
}

/// The chosen threshold and the evidence for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdChoice {
    /// Auto-label when confidence `>=` this.
    pub threshold: f64,
    /// Precision among validation items at or above `threshold` (none if there are none).
    pub precision: Option<f64>,
    /// Validation items at or above `threshold`.
    pub support: usize,
    /// Share of validation items at or above `threshold` (an estimate of auto-label coverage).
    pub coverage: f64,
    /// True when no threshold met target and support, so `fallback` was used.
    pub fallback: bool,
}

/// The lowest threshold with precision `>= target_precision` over at least `min_support` items
/// at or above it; `fallback` (e.g. 0.99) when none qualifies. Non-finite confidences are ignored.
pub fn choose_auto_label_threshold(
    validation: &[ValidationPair],
    target_precision: f64,
    min_support: usize,
    fallback: f64,
) -> ThresholdChoice {
    let mut pairs: Vec<ValidationPair> = validation
        .iter()
        .copied()
        .filter(|p| p.confidence.is_finite())
        .collect();
    pairs.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    let total = pairs.len();

    let mut best: Option<(f64, usize, usize)> = None; // (threshold, support, correct)
    let mut correct = 0usize;
    for (i, p) in pairs.iter().enumerate() {
        correct += usize::from(p.correct);
        let support = i + 1;
        // Only the last item of a run of equal confidences closes a candidate threshold:
        // `>= t` includes every item with confidence exactly `t`.
        let run_ends = pairs
            .get(i + 1)
            .is_none_or(|next| next.confidence < p.confidence);
        if run_ends
            && support >= min_support.max(1)
            && correct as f64 >= target_precision * support as f64
        {
            best = Some((p.confidence, support, correct));
        }
    }
    match best {
        Some((threshold, support, correct)) => ThresholdChoice {
            threshold,
            precision: Some(correct as f64 / support as f64),
            support,
            coverage: support as f64 / total as f64,
            fallback: false,
        },
        None => {
            let above: Vec<&ValidationPair> =
                pairs.iter().filter(|p| p.confidence >= fallback).collect();
            let support = above.len();
            let precision = (support > 0)
                .then(|| above.iter().filter(|p| p.correct).count() as f64 / support as f64);
            ThresholdChoice {
                threshold: fallback,
                precision,
                support,
                coverage: if total == 0 {
                    0.0
                } else {
                    support as f64 / total as f64
                },
                fallback: true,
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
        }
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
        let choice = choose_auto_label_threshold(&v, 0.95, 50, 0.99);
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
        let choice = choose_auto_label_threshold(&v, 0.95, 50, 0.99);
        assert!(choice.fallback);
        assert_eq!(choice.threshold, 0.99);
        assert_eq!(choice.support, 0);
        let empty = choose_auto_label_threshold(&[], 0.95, 1, 0.99);
        assert!(empty.fallback && empty.coverage == 0.0);
    }

    #[test]
    fn ties_in_confidence_are_all_included() {
        // Three items at 0.9: two wrong. A threshold of 0.9 must count all three.
        let mut v = vec![pair(0.9, true), pair(0.9, false), pair(0.9, false)];
        v.extend((0..10).map(|_| pair(0.95, true)));
        let choice = choose_auto_label_threshold(&v, 0.95, 5, 0.99);
        assert_eq!(choice.threshold, 0.95);
        assert_eq!(choice.support, 10);
    }

    #[test]
    fn nan_confidences_are_ignored() {
        let mut v: Vec<_> = (0..60).map(|_| pair(0.96, true)).collect();
        v.push(pair(f64::NAN, false));
        let choice = choose_auto_label_threshold(&v, 0.95, 50, 0.99);
        assert_eq!(choice.threshold, 0.96);
        assert_eq!(choice.precision, Some(1.0));
    }
}

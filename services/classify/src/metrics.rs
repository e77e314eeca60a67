//! Evaluation metrics: accuracy, macro-F1 and expected calibration error.

use serde::{Deserialize, Serialize};

use crate::{uncertainty, Classifier, ClassifyError, Example};

/// Share of `predicted` equal to `actual` (0 for empty input).
pub fn accuracy(predicted: &[usize], actual: &[usize]) -> f64 {
    if actual.is_empty() {
        return 0.0;
    }
    let hits = predicted.iter().zip(actual).filter(|(p, a)| p == a).count();
    hits as f64 / actual.len() as f64
}

/// Unweighted mean of per-class F1 over every class that occurs in `actual` or `predicted`
/// (scikit-learn's `f1_score(average="macro")`); a class with no true positives scores 0.
pub fn macro_f1(predicted: &[usize], actual: &[usize]) -> f64 {
    let classes = predicted.iter().chain(actual).max().map_or(0, |m| m + 1);
    let (mut tp, mut fp, mut fun) = (
        vec![0usize; classes],
        vec![0usize; classes],
        vec![0usize; classes],
    );
    for (&p, &a) in predicted.iter().zip(actual) {
        if p == a {
            tp[p] += 1;
        } else {
            fp[p] += 1;
            fun[a] += 1;
        }
    }
    let mut sum = 0.0;
    let mut count = 0;
    for c in 0..classes {
        if tp[c] + fp[c] + fun[c] == 0 {
            continue; // neither present nor predicted
        }
        count += 1;
        sum += 2.0 * tp[c] as f64 / (2 * tp[c] + fp[c] + fun[c]) as f64;
    }
    if count == 0 {
        0.0
    } else {
        sum / count as f64
    }
}

/// Expected calibration error with `bins` equal-width confidence bins (Guo et al. 2017;
/// the usual `bins = 15`): confidence is the top probability, bin `m` holds confidences in
/// `((m-1)/M, m/M]` (0 falls in the first), and
/// `ECE = sum_m |B_m|/n * |accuracy(B_m) - mean confidence(B_m)|`.
pub fn expected_calibration_error(probs: &[Vec<f32>], labels: &[usize], bins: usize) -> f64 {
    let pairs: Vec<(f64, bool)> = probs
        .iter()
        .zip(labels)
        .map(|(p, &label)| {
            (
                f64::from(uncertainty::max_probability(p)),
                uncertainty::argmax(p) == label,
            )
        })
        .collect();
    top_label_ece(&pairs, bins)
}

/// [`expected_calibration_error`] from `(top-label confidence, was it right)` pairs, for
/// callers that only see the predicted label and its confidence (e.g. over HTTP).
pub fn top_label_ece(pairs: &[(f64, bool)], bins: usize) -> f64 {
    let bins = bins.max(1);
    let mut count = vec![0usize; bins];
    let mut confidence = vec![0.0f64; bins];
    let mut correct = vec![0.0f64; bins];
    for &(conf, right) in pairs {
        let bin = ((conf * bins as f64).ceil() as usize).clamp(1, bins) - 1;
        count[bin] += 1;
        confidence[bin] += conf;
        correct[bin] += f64::from(u8::from(right));
    }
    let n = pairs.len();
    if n == 0 {
        return 0.0;
    }
    (0..bins)
        .filter(|&b| count[b] > 0)
        .map(|b| (correct[b] - confidence[b]).abs() / n as f64)
        .sum()
}

/// Accuracy, macro-F1 and ECE of a model on labeled examples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub examples: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub ece: f64,
    /// Mean top probability: above `accuracy` means over-confident on average.
    pub mean_confidence: f64,
}

/// Scores `model` on `examples` (labels beyond the model's classes count as errors).
pub fn evaluate(
    model: &Classifier,
    examples: &[Example],
    bins: usize,
) -> Result<Evaluation, ClassifyError> {
    let mut probs = Vec::with_capacity(examples.len());
    for (row, e) in examples.iter().enumerate() {
        let p = model
            .predict_proba_with(&e.features, &e.sparse)
            .map_err(|err| match err {
                ClassifyError::DimensionMismatch {
                    expected, found, ..
                } => ClassifyError::DimensionMismatch {
                    row,
                    expected,
                    found,
                },
                ClassifyError::NonFinite { .. } => ClassifyError::NonFinite { row },
                other => other,
            })?;
        probs.push(p);
    }
    let predicted: Vec<usize> = probs.iter().map(|p| uncertainty::argmax(p)).collect();
    let actual: Vec<usize> = examples.iter().map(|e| e.label).collect();
    Ok(Evaluation {
        examples: examples.len(),
        accuracy: accuracy(&predicted, &actual),
        macro_f1: macro_f1(&predicted, &actual),
        ece: expected_calibration_error(&probs, &actual, bins),
        mean_confidence: probs
            .iter()
            .map(|p| f64::from(uncertainty::max_probability(p)))
            .sum::<f64>()
            / probs.len().max(1) as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn accuracy_and_macro_f1_on_known_input() {
        let actual = [0, 0, 1, 1, 2];
        let predicted = [0, 1, 1, 1, 0];
        assert!((accuracy(&predicted, &actual) - 0.6).abs() < 1e-12);
        // F1: class 0: tp1 fp1 fn1 -> 0.5; class 1: tp2 fp1 fn0 -> 0.8; class 2: 0.
        assert!((macro_f1(&predicted, &actual) - (0.5 + 0.8 + 0.0) / 3.0).abs() < 1e-12);
        assert!((macro_f1(&actual, &actual) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn ece_of_a_calibrated_predictor_is_near_zero() {
        // Confidence c drawn uniformly; the label equals the arg-max with probability c.
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let (mut probs, mut labels) = (Vec::new(), Vec::new());
        for _ in 0..200_000 {
            let c: f32 = rng.random_range(0.5..1.0);
            probs.push(vec![c, 1.0 - c]);
            labels.push(if rng.random::<f32>() < c { 0 } else { 1 });
        }
        let ece = expected_calibration_error(&probs, &labels, 15);
        assert!(ece < 0.01, "ece {ece}");
    }

    #[test]
    fn ece_of_an_overconfident_predictor_is_the_gap() {
        // Always 90% sure, right 60% of the time: ECE = 0.3.
        let probs = vec![vec![0.9f32, 0.1]; 10];
        let labels = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1];
        let ece = expected_calibration_error(&probs, &labels, 15);
        assert!((ece - 0.3).abs() < 1e-6, "ece {ece}");
        assert_eq!(expected_calibration_error(&[], &[], 15), 0.0);
    }
}

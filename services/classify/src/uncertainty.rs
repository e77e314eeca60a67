//! Uncertainty measures of a probability vector, used to order the labeling queue.
//! Empty input yields 0 everywhere (nothing to be uncertain about).

/// Index of the largest probability (the first on ties; 0 if empty).
pub fn argmax(p: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in p.iter().enumerate() {
        if v > p[best] {
            best = i;
        }
    }
    best
}

/// Largest probability: the model's confidence.
pub fn max_probability(p: &[f32]) -> f32 {
    p.iter().copied().fold(0.0, f32::max)
}

/// Top-1 minus top-2 probability; small means the model hesitates between two classes.
/// Equals the top probability when there is only one class.
pub fn margin(p: &[f32]) -> f32 {
    let (mut first, mut second) = (0.0f32, 0.0f32);
    for &v in p {
        if v > first {
            second = first;
            first = v;
        } else if v > second {
            second = v;
        }
    }
    first - second
}

/// Shannon entropy in nats; zero-probability terms contribute 0.
pub fn entropy(p: &[f32]) -> f32 {
    -p.iter()
        .filter(|&&v| v > 0.0)
        .map(|&v| f64::from(v) * f64::from(v).ln())
        .sum::<f64>() as f32
}

/// `entropy / ln(classes)`, in `[0, 1]`; 0 when fewer than two classes.
pub fn normalize_entropy(entropy: f32, classes: usize) -> f32 {
    if classes < 2 {
        return 0.0;
    }
    (entropy / (classes as f32).ln()).clamp(0.0, 1.0)
}

/// [`entropy`] normalised by `ln(p.len())`.
pub fn normalized_entropy(p: &[f32]) -> f32 {
    normalize_entropy(entropy(p), p.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    #[test]
    fn known_vectors() {
        let uniform = [0.25f32; 4];
        assert_abs_diff_eq!(max_probability(&uniform), 0.25);
        assert_abs_diff_eq!(margin(&uniform), 0.0);
        assert_abs_diff_eq!(entropy(&uniform), 4f32.ln(), epsilon = 1e-6);
        assert_abs_diff_eq!(normalized_entropy(&uniform), 1.0, epsilon = 1e-6);

        let certain = [0.0f32, 1.0, 0.0];
        assert_eq!(argmax(&certain), 1);
        assert_abs_diff_eq!(margin(&certain), 1.0);
        assert_abs_diff_eq!(entropy(&certain), 0.0);
        assert_abs_diff_eq!(normalized_entropy(&certain), 0.0);

        let p = [0.1f32, 0.6, 0.3];
        assert_eq!(argmax(&p), 1);
        assert_abs_diff_eq!(max_probability(&p), 0.6);
        assert_abs_diff_eq!(margin(&p), 0.3, epsilon = 1e-6);
        let h = -(0.1f32 * 0.1f32.ln() + 0.6 * 0.6f32.ln() + 0.3 * 0.3f32.ln());
        assert_abs_diff_eq!(entropy(&p), h, epsilon = 1e-6);
        assert_abs_diff_eq!(normalized_entropy(&p), h / 3f32.ln(), epsilon = 1e-6);

        // Order does not matter for the margin: the top two are found anywhere.
        assert_abs_diff_eq!(margin(&[0.45, 0.1, 0.45]), 0.0);
        assert_eq!(margin(&[]), 0.0);
    }

    proptest::proptest! {
        #[test]
        fn measures_stay_in_range(weights in proptest::collection::vec(0.0f32..10.0, 2..30)) {
            let total: f32 = weights.iter().sum();
            proptest::prop_assume!(total > 1e-3);
            let p: Vec<f32> = weights.iter().map(|w| w / total).collect();
            let (top, gap, h) = (max_probability(&p), margin(&p), normalized_entropy(&p));
            proptest::prop_assert!((0.0..=top + 1e-6).contains(&gap));
            proptest::prop_assert!(top >= 1.0 / p.len() as f32 - 1e-6 && top <= 1.0 + 1e-6);
            proptest::prop_assert!((0.0..=1.0).contains(&h));
            proptest::prop_assert_eq!(p[argmax(&p)], top);
        }
    }
}

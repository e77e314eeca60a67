//! Learning curve (held-out quality against labels spent) and plateau detection.
//!
//! # Plateau rule
//! The marginal gain is the Theil-Sen slope (median of the slopes between every pair of
//! points) of accuracy against labels over the last `window` points, times 100: accuracy
//! (as a fraction) gained per 100 more labels. A median of pairwise slopes shrugs off one
//! noisy evaluation, where a least-squares slope or a two-point difference would not.
//! The curve has *plateaued* once a full window exists and that gain is below `epsilon`.

use serde::{Deserialize, Serialize};

/// Held-out quality after one refit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    /// Labels spent when the model was refitted (training + calibration examples).
    pub training_labels: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub ece: f64,
}

/// Points in the order they were recorded (normally increasing `training_labels`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LearningCurve {
    pub points: Vec<CurvePoint>,
    /// Points used to estimate the marginal gain (>= 2).
    pub window: usize,
}

impl Default for LearningCurve {
    fn default() -> Self {
        Self {
            points: Vec::new(),
            window: 5,
        }
    }
}

impl LearningCurve {
    pub fn new(window: usize) -> Self {
        Self {
            points: Vec::new(),
            window: window.max(2),
        }
    }

    pub fn push(&mut self, point: CurvePoint) {
        self.points.push(point);
    }

    pub fn last(&self) -> Option<&CurvePoint> {
        self.points.last()
    }

    /// Robust accuracy gain per 100 labels over the last `window` points; `None` until
    /// the window is full or if the points do not span different label counts.
    pub fn gain_per_100_labels(&self) -> Option<f64> {
        let window = self.window.max(2);
        if self.points.len() < window {
            return None;
        }
        let recent = &self.points[self.points.len() - window..];
        let mut slopes = Vec::new();
        for (i, a) in recent.iter().enumerate() {
            for b in &recent[i + 1..] {
                let dx = b.training_labels as f64 - a.training_labels as f64;
                if dx != 0.0 {
                    slopes.push((b.accuracy - a.accuracy) / dx);
                }
            }
        }
        if slopes.is_empty() {
            return None;
        }
        slopes.sort_by(f64::total_cmp);
        let mid = slopes.len() / 2;
        let median = if slopes.len() % 2 == 1 {
            slopes[mid]
        } else {
            (slopes[mid - 1] + slopes[mid]) / 2.0
        };
        Some(median * 100.0)
    }

    /// True once the marginal gain per 100 labels is below `epsilon` (see the module docs).
    pub fn plateaued(&self, epsilon: f64) -> bool {
        self.gain_per_100_labels()
            .is_some_and(|gain| gain < epsilon)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(accuracies: &[f64]) -> LearningCurve {
        let mut c = LearningCurve::new(5);
        for (i, &accuracy) in accuracies.iter().enumerate() {
            c.push(CurvePoint {
                training_labels: 100 * (i + 1),
                accuracy,
                macro_f1: accuracy,
                ece: 0.0,
            });
        }
        c
    }

    #[test]
    fn rising_curve_is_not_plateaued() {
        let c = curve(&[0.30, 0.40, 0.48, 0.55, 0.60, 0.64]);
        let gain = c.gain_per_100_labels().unwrap();
        assert!(gain > 0.04 && gain < 0.08, "gain {gain}");
        assert!(!c.plateaued(0.005));
    }

    #[test]
    fn flat_curve_is_plateaued_even_with_one_outlier() {
        // Flat around 0.80 with a lucky evaluation in the middle.
        let c = curve(&[0.5, 0.7, 0.801, 0.799, 0.86, 0.800, 0.802]);
        let gain = c.gain_per_100_labels().unwrap();
        assert!(gain.abs() < 0.002, "gain {gain}");
        assert!(c.plateaued(0.005));
    }

    #[test]
    fn needs_a_full_window() {
        let c = curve(&[0.8, 0.8, 0.8]);
        assert_eq!(c.gain_per_100_labels(), None);
        assert!(!c.plateaued(0.005));
    }
}

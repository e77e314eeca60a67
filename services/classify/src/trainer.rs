//! Online wrapper: accumulates labels as they arrive, refits on demand, keeps the
//! learning curve, and predicts nothing until enough labels exist.

use serde::{Deserialize, Serialize};

use crate::curve::{CurvePoint, LearningCurve};
use crate::metrics::evaluate;
use crate::{Classifier, ClassifierConfig, ClassifyError, Example, LabelSet, Prediction};

/// Which use a labeled example is put to; fixed once, so an example never migrates
/// between fitting and held-out sets as the pool grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    Train,
    Calibration,
    Evaluation,
}

/// SplitMix64: a fixed, well-mixed hash, so the split depends only on (seed, sequence).
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Labeled examples, the label space, the current model and its learning curve.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Trainer {
    config: ClassifierConfig,
    labels: LabelSet,
    examples: Vec<(Example, Split)>,
    model: Option<Classifier>,
    curve: LearningCurve,
}

impl Trainer {
    pub fn new(config: ClassifierConfig) -> Result<Self, ClassifyError> {
        config.validate()?;
        let curve = LearningCurve::new(config.plateau_window);
        Ok(Self {
            config,
            labels: LabelSet::new(),
            examples: Vec::new(),
            model: None,
            curve,
        })
    }

    /// Adds one labeled row (the label name is interned); returns its held-out role.
    /// The first row fixes the feature dimension.
    pub fn add(&mut self, features: Vec<f32>, label: &str) -> Result<Split, ClassifyError> {
        let row = self.examples.len();
        if let Some((first, _)) = self.examples.first() {
            if first.features.len() != features.len() {
                return Err(ClassifyError::DimensionMismatch {
                    row,
                    expected: first.features.len(),
                    found: features.len(),
                });
            }
        }
        if !features.iter().all(|v| v.is_finite()) {
            return Err(ClassifyError::NonFinite { row });
        }
        let u = (splitmix64(self.config.seed ^ splitmix64(row as u64)) >> 11) as f64
            / (1u64 << 53) as f64;
        // Cross-fitted calibration needs no calibration split.
        let calibration_fraction = if self.config.calibration_folds >= 2 {
            0.0
        } else {
            f64::from(self.config.calibration_fraction)
        };
        let split = if u < calibration_fraction {
            Split::Calibration
        } else if u < calibration_fraction + f64::from(self.config.evaluation_fraction) {
            Split::Evaluation
        } else {
            Split::Train
        };
        let label = self.labels.intern(label);
        self.examples.push((Example::dense(features, label), split));
        Ok(split)
    }

    /// Refits on every label so far (cross-fitted calibration when
    /// `config.calibration_folds >= 2`, else the calibration split). Returns `Ok(None)` (and keeps no model) while there
    /// are fewer than `min_labels` fitting labels or fewer than two training classes;
    /// otherwise the new learning-curve point (accuracy etc. on the evaluation split, or
    /// NaN when that split is still empty).
    pub fn refit(&mut self) -> Result<Option<CurvePoint>, ClassifyError> {
        let pick = |wanted: Split| -> Vec<Example> {
            self.examples
                .iter()
                .filter(|(_, s)| *s == wanted)
                .map(|(e, _)| e.clone())
                .collect()
        };
        let (train, calibration, evaluation) = (
            pick(Split::Train),
            pick(Split::Calibration),
            pick(Split::Evaluation),
        );
        let fitted = if self.config.calibration_folds >= 2 {
            let all: Vec<Example> = train.iter().chain(&calibration).cloned().collect();
            Classifier::fit_cross_calibrated(&all, self.labels.len(), &self.config)
        } else {
            Classifier::fit(&train, &calibration, self.labels.len(), &self.config)
        };
        let model = match fitted {
            Ok(model) => model,
            Err(ClassifyError::InsufficientLabels { .. } | ClassifyError::TooFewClasses { .. }) => {
                self.model = None;
                return Ok(None);
            }
            Err(other) => return Err(other),
        };
        let point = if evaluation.is_empty() {
            CurvePoint {
                training_labels: train.len() + calibration.len(),
                accuracy: f64::NAN,
                macro_f1: f64::NAN,
                ece: f64::NAN,
            }
        } else {
            let e = evaluate(&model, &evaluation, self.config.ece_bins)?;
            CurvePoint {
                training_labels: train.len() + calibration.len(),
                accuracy: e.accuracy,
                macro_f1: e.macro_f1,
                ece: e.ece,
            }
        };
        if !evaluation.is_empty() {
            self.curve.push(point);
        }
        self.model = Some(model);
        Ok(Some(point))
    }

    /// `None` until a model exists; probabilities cover every label seen so far.
    pub fn predict(&self, features: &[f32]) -> Result<Option<Prediction>, ClassifyError> {
        match &self.model {
            None => Ok(None),
            Some(model) => model.predict_padded(features, self.labels.len()).map(Some),
        }
    }

    /// True once the learning curve's marginal gain is below `config.plateau_epsilon`.
    pub fn plateaued(&self) -> bool {
        self.curve.plateaued(self.config.plateau_epsilon)
    }

    pub fn model(&self) -> Option<&Classifier> {
        self.model.as_ref()
    }
    pub fn labels(&self) -> &LabelSet {
        &self.labels
    }
    pub fn curve(&self) -> &LearningCurve {
        &self.curve
    }
    pub fn config(&self) -> &ClassifierConfig {
        &self.config
    }
    /// Labeled examples received, whatever their split.
    pub fn num_labels(&self) -> usize {
        self.examples.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn row(rng: &mut ChaCha8Rng, class: usize) -> Vec<f32> {
        (0..4)
            .map(|j| rng.random_range(-1.0..1.0f32) + if j == class { 3.0 } else { 0.0 })
            .collect()
    }

    #[test]
    fn predicts_none_until_min_labels_and_two_classes() {
        let config = ClassifierConfig {
            min_labels: 20,
            ..ClassifierConfig::default()
        };
        let mut trainer = Trainer::new(config).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..30 {
            let x = row(&mut rng, 0);
            trainer.add(x, "sports").unwrap();
        }
        // Enough labels but one class only.
        assert_eq!(trainer.refit().unwrap(), None);
        assert_eq!(trainer.predict(&[3.0, 0.0, 0.0, 0.0]).unwrap(), None);

        let mut trainer = Trainer::new(ClassifierConfig {
            min_labels: 20,
            ..ClassifierConfig::default()
        })
        .unwrap();
        for i in 0..10 {
            let x = row(&mut rng, i % 2);
            trainer.add(x, ["sports", "politics"][i % 2]).unwrap();
        }
        assert_eq!(trainer.refit().unwrap(), None, "10 labels < min_labels");
        assert!(trainer.predict(&[3.0, 0.0, 0.0, 0.0]).unwrap().is_none());
        for i in 0..190 {
            let x = row(&mut rng, i % 2);
            trainer.add(x, ["sports", "politics"][i % 2]).unwrap();
        }
        let point = trainer.refit().unwrap().expect("a model now");
        assert!(point.accuracy > 0.9, "{point:?}");
        let p = trainer.predict(&[3.0, 0.0, 0.0, 0.0]).unwrap().unwrap();
        assert_eq!(trainer.labels().name(p.class), Some("sports"));
        assert!(trainer.add(vec![1.0], "sports").is_err());
    }

    #[test]
    fn new_labels_extend_the_label_space() {
        let config = ClassifierConfig {
            min_labels: 20,
            ..ClassifierConfig::default()
        };
        let mut trainer = Trainer::new(config).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for i in 0..100 {
            let x = row(&mut rng, i % 2);
            trainer.add(x, ["a", "b"][i % 2]).unwrap();
        }
        trainer.refit().unwrap();
        // A third label arrives; until the next refit the old model pads its output.
        let x = row(&mut rng, 2);
        trainer.add(x, "c").unwrap();
        let p = trainer.predict(&[0.0, 0.0, 3.0, 0.0]).unwrap().unwrap();
        assert_eq!(p.probabilities.len(), 3);
        assert_eq!(p.probabilities[2], 0.0);
        for _ in 0..60 {
            let x = row(&mut rng, 2);
            trainer.add(x, "c").unwrap();
        }
        trainer.refit().unwrap();
        let p = trainer.predict(&[0.0, 0.0, 3.0, 0.0]).unwrap().unwrap();
        assert_eq!(trainer.labels().name(p.class), Some("c"));
        assert_eq!(trainer.curve().points.len(), 2);

        // The whole trainer persists and restores.
        let json = serde_json::to_string(&trainer).unwrap();
        let back: Trainer = serde_json::from_str(&json).unwrap();
        assert_eq!(
            back.predict(&[0.0, 0.0, 3.0, 0.0]).unwrap(),
            trainer.predict(&[0.0, 0.0, 3.0, 0.0]).unwrap()
        );
    }

    #[test]
    fn split_is_seeded_and_stable() {
        let config = ClassifierConfig {
            seed: 42,
            ..ClassifierConfig::default()
        };
        let mut a = Trainer::new(config.clone()).unwrap();
        let mut b = Trainer::new(config).unwrap();
        let splits_a: Vec<Split> = (0..1000).map(|_| a.add(vec![0.0], "x").unwrap()).collect();
        let splits_b: Vec<Split> = (0..1000).map(|_| b.add(vec![0.0], "x").unwrap()).collect();
        assert_eq!(splits_a, splits_b);
        let held_out = splits_a.iter().filter(|s| **s != Split::Train).count();
        assert!(
            (100..200).contains(&held_out),
            "held out {held_out} of 1000, expected ~150"
        );
        let holdout = ClassifierConfig {
            calibration_folds: 0,
            ..ClassifierConfig::default()
        };
        let mut c = Trainer::new(holdout).unwrap();
        let splits: Vec<Split> = (0..1000).map(|_| c.add(vec![0.0], "x").unwrap()).collect();
        let calibration = splits.iter().filter(|s| **s == Split::Calibration).count();
        assert!(
            (100..200).contains(&calibration),
            "calibration {calibration} of 1000, expected ~150"
        );
    }
}

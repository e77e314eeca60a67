//! The fitted classifier: a softmax regression plus its calibration map.

use serde::{Deserialize, Serialize, Serializer};

use crate::calibration::{fit_calibrator, Calibrator};
use crate::config::{CalibrationMethod, ClassifierConfig};
use crate::lbfgs::{self, FitReport};
use crate::softmax::Problem;
use crate::{uncertainty, ClassifyError};

/// Version of the persisted JSON layout; bumped on incompatible changes.
pub const MODEL_FORMAT_VERSION: u32 = 1;

/// One labeled feature row: dense features (standardised inside the model, e.g. theta)
/// plus optional sparse ones (used as given, e.g. hashed tf-idf, see [`crate::HashedTfIdf`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Example {
    pub features: Vec<f32>,
    /// `(feature index, value)` pairs; the model's sparse width is the largest index + 1
    /// seen in training, and larger indices are ignored at prediction.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sparse: Vec<(u32, f32)>,
    /// Class index (see [`crate::LabelSet`]).
    pub label: usize,
    /// Probability that `label` is the true class: 1 for an exact label, an annotator's
    /// measured accuracy for a single human judgment. Only calibration reads it (see the
    /// calibration module, "Noisy labels").
    #[serde(default = "exact")]
    pub label_accuracy: f32,
}

fn exact() -> f32 {
    1.0
}

impl Example {
    /// A row with dense features only and an exact label.
    pub fn dense(features: Vec<f32>, label: usize) -> Self {
        Example {
            features,
            sparse: Vec::new(),
            label,
            label_accuracy: 1.0,
        }
    }
}

/// A scored document, as the labeling queue needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// Arg-max class index.
    pub class: usize,
    /// Calibrated probability of `class`.
    pub confidence: f32,
    /// Top-1 minus top-2 probability.
    pub margin: f32,
    /// Shannon entropy of `probabilities`, in nats.
    pub entropy: f32,
    /// `entropy / ln(C)` in `[0, 1]`, `C` = number of classes the model can predict.
    pub normalized_entropy: f32,
    /// Calibrated probability per class index, `num_classes` long; classes without any
    /// training example get exactly 0.
    pub probabilities: Vec<f32>,
}

/// Persisted form; deserialisation goes through [`ClassifierData::validate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassifierData {
    format_version: u32,
    num_features: usize,
    num_classes: usize,
    /// Class index of each fitted row of `weights`, ascending.
    classes: Vec<usize>,
    /// `classes.len() x num_features`, row-major, in the *raw* feature space (any
    /// standardisation is folded in).
    weights: Vec<f32>,
    /// Width of the sparse block (0: dense features only).
    #[serde(default)]
    num_sparse: usize,
    /// `num_sparse x classes.len()`, feature-major.
    #[serde(default)]
    sparse_weights: Vec<f32>,
    bias: Vec<f32>,
    calibrator: Calibrator,
    training_labels: usize,
    calibration_labels: usize,
    report: FitReport,
}

impl ClassifierData {
    fn validate(&self) -> Result<(), ClassifyError> {
        let bad = |what: &str| Err(ClassifyError::Invalid(format!("model: {what}")));
        if self.format_version != MODEL_FORMAT_VERSION {
            return bad("unsupported format_version");
        }
        let k = self.classes.len();
        if k < 2 || self.classes.windows(2).any(|w| w[0] >= w[1]) {
            return bad("classes must be >= 2, strictly ascending");
        }
        if self.classes.last().is_some_and(|&c| c >= self.num_classes) {
            return bad("class index beyond num_classes");
        }
        if self.weights.len() != k * self.num_features
            || self.sparse_weights.len() != k * self.num_sparse
            || self.bias.len() != k
        {
            return bad("weights/bias shape");
        }
        if !self
            .weights
            .iter()
            .chain(&self.sparse_weights)
            .chain(&self.bias)
            .all(|v| v.is_finite())
        {
            return bad("non-finite parameter");
        }
        match &self.calibrator {
            Calibrator::Temperature { temperature }
                if !(*temperature > 0.0 && temperature.is_finite()) =>
            {
                bad("temperature must be > 0")
            }
            Calibrator::ClassTemperature {
                temperature,
                class_temperatures,
            } if class_temperatures.len() != k
                || !std::iter::once(temperature)
                    .chain(class_temperatures)
                    .all(|t| *t > 0.0 && t.is_finite()) =>
            {
                bad("class temperatures must be > 0, one per class")
            }
            Calibrator::TopLabelPlatt {
                temperature,
                slope,
                intercept,
            } if !(*temperature > 0.0
                && temperature.is_finite()
                && slope.is_finite()
                && intercept.is_finite()) =>
            {
                bad("top-label Platt: temperature must be > 0, slope and intercept finite")
            }
            Calibrator::Isotonic { curves }
                if curves.len() != k || curves.iter().any(|c| c.x.len() != c.y.len()) =>
            {
                bad("isotonic curves shape")
            }
            _ => Ok(()),
        }
    }
}

/// Calibrated multinomial logistic regression. Serialises to JSON (see
/// [`MODEL_FORMAT_VERSION`]); loading validates shapes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "ClassifierData")]
pub struct Classifier {
    data: ClassifierData,
}

impl TryFrom<ClassifierData> for Classifier {
    type Error = ClassifyError;
    fn try_from(data: ClassifierData) -> Result<Self, ClassifyError> {
        data.validate()?;
        Ok(Classifier { data })
    }
}

impl Serialize for Classifier {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.data.serialize(s)
    }
}

/// Checks rows and returns their common dimension.
fn check_examples(sets: &[&[Example]], num_classes: usize) -> Result<usize, ClassifyError> {
    let dim = sets
        .iter()
        .flat_map(|s| s.first())
        .map(|e| e.features.len())
        .next()
        .unwrap_or(0);
    for (row, e) in sets.iter().flat_map(|s| s.iter()).enumerate() {
        if e.features.len() != dim {
            return Err(ClassifyError::DimensionMismatch {
                row,
                expected: dim,
                found: e.features.len(),
            });
        }
        if !e.features.iter().all(|v| v.is_finite()) || !e.sparse.iter().all(|(_, v)| v.is_finite())
        {
            return Err(ClassifyError::NonFinite { row });
        }
        if e.label >= num_classes {
            return Err(ClassifyError::LabelOutOfRange {
                row,
                label: e.label,
                num_classes,
            });
        }
    }
    Ok(dim)
}

/// Per-feature mean and scale (standard deviation, 1 for constant features).
fn standardizer(train: &[Example], dim: usize) -> (Vec<f64>, Vec<f64>) {
    let n = train.len() as f64;
    let mut mean = vec![0.0; dim];
    for e in train {
        mean.iter_mut()
            .zip(&e.features)
            .for_each(|(m, &v)| *m += f64::from(v) / n);
    }
    let mut var = vec![0.0; dim];
    for e in train {
        for ((s, &v), m) in var.iter_mut().zip(&e.features).zip(&mean) {
            *s += (f64::from(v) - m).powi(2) / n;
        }
    }
    let scale = var
        .iter()
        .map(|v| if v.sqrt() > 1e-12 { v.sqrt() } else { 1.0 })
        .collect();
    (mean, scale)
}

impl Classifier {
    /// Fits on `train`, then calibrates on `calibration` (per `config.calibration`).
    ///
    /// `num_classes` is the size of the label space (e.g. [`crate::LabelSet::len`]);
    /// classes without training examples get probability 0, and calibration examples of
    /// such classes are ignored (no finite likelihood). Fails unless
    /// `train.len() + calibration.len() >= config.min_labels` and `train` has >= 2 classes.
    pub fn fit(
        train: &[Example],
        calibration: &[Example],
        num_classes: usize,
        config: &ClassifierConfig,
    ) -> Result<Classifier, ClassifyError> {
        config.validate()?;
        let have = train.len() + calibration.len();
        if have < config.min_labels.max(1) {
            return Err(ClassifyError::InsufficientLabels {
                have,
                need: config.min_labels.max(1),
            });
        }
        let dim = check_examples(&[train, calibration], num_classes)?;
        let mut present = vec![false; num_classes];
        train.iter().for_each(|e| present[e.label] = true);
        let classes: Vec<usize> = (0..num_classes).filter(|&c| present[c]).collect();
        if classes.len() < 2 {
            return Err(ClassifyError::TooFewClasses {
                found: classes.len(),
            });
        }
        let mut compact = vec![usize::MAX; num_classes];
        classes
            .iter()
            .enumerate()
            .for_each(|(i, &c)| compact[c] = i);

        let (mean, scale) = if config.standardize {
            standardizer(train, dim)
        } else {
            (vec![0.0; dim], vec![1.0; dim])
        };
        let x: Vec<f64> = train
            .iter()
            .flat_map(|e| {
                e.features
                    .iter()
                    .zip(mean.iter().zip(&scale))
                    .map(|(&v, (m, s))| (f64::from(v) - m) / s)
            })
            .collect();
        let y: Vec<usize> = train.iter().map(|e| compact[e.label]).collect();
        let num_sparse = train
            .iter()
            .flat_map(|e| e.sparse.iter().map(|&(j, _)| j as usize + 1))
            .max()
            .unwrap_or(0);
        let sparse: Vec<&[(u32, f32)]> = if num_sparse == 0 {
            Vec::new()
        } else {
            train.iter().map(|e| e.sparse.as_slice()).collect()
        };
        let problem = Problem {
            x: &x,
            sparse: &sparse,
            y: &y,
            d: dim,
            s: num_sparse,
            classes: classes.len(),
            l2: f64::from(config.l2),
        };
        let mut params = vec![0.0; problem.num_params()];
        let options = lbfgs::Options {
            max_iterations: config.max_iterations,
            gradient_tolerance: f64::from(config.tolerance),
            memory: 10,
        };
        let report = lbfgs::minimize(
            |p, g| problem.value_and_gradient(p, g),
            &mut params,
            &options,
        );

        // Fold the standardisation into the parameters: w.(x-m)/s + b = (w/s).x + (b - w.m/s),
        // so prediction is one affine map. This loses f32 precision only for a feature whose
        // |mean| / std exceeds ~1e4, which topic shares and tf-idf weights never approach.
        let k = classes.len();
        let (w, rest) = params.split_at(k * dim);
        let (sw, b) = rest.split_at(k * num_sparse);
        let sparse_weights: Vec<f32> = sw.iter().map(|&v| v as f32).collect();
        let mut weights = Vec::with_capacity(k * dim);
        let mut bias = Vec::with_capacity(k);
        for c in 0..k {
            let wc = &w[c * dim..(c + 1) * dim];
            let mut bc = b[c];
            for ((wv, m), s) in wc.iter().zip(&mean).zip(&scale) {
                weights.push((wv / s) as f32);
                bc -= wv * m / s;
            }
            bias.push(bc as f32);
        }
        let mut model = Classifier {
            data: ClassifierData {
                format_version: MODEL_FORMAT_VERSION,
                num_features: dim,
                num_classes,
                classes,
                weights,
                num_sparse,
                sparse_weights,
                bias,
                calibrator: Calibrator::None,
                training_labels: train.len(),
                calibration_labels: 0,
                report,
            },
        };

        model.calibrate(
            calibration,
            config.calibration,
            config.class_temperature_spread,
        )?;
        Ok(model)
    }

    /// Refits only the calibration map on `calibration` (e.g. fresh held-out labels),
    /// keeping the weights. Examples of classes the model was not fitted on are ignored.
    /// `class_spread` is [`ClassifierConfig::class_temperature_spread`].
    pub fn calibrate(
        &mut self,
        calibration: &[Example],
        method: CalibrationMethod,
        class_spread: f32,
    ) -> Result<(), ClassifyError> {
        check_examples(&[calibration], self.data.num_classes)?;
        if let Some(e) = calibration.first() {
            if e.features.len() != self.data.num_features {
                return Err(ClassifyError::DimensionMismatch {
                    row: 0,
                    expected: self.data.num_features,
                    found: e.features.len(),
                });
            }
        }
        let compact = self.compact_index();
        let held_out: Vec<&Example> = calibration
            .iter()
            .filter(|e| compact[e.label] != usize::MAX)
            .collect();
        let logits: Vec<Vec<f64>> = held_out
            .iter()
            .map(|e| self.logits(&e.features, &e.sparse))
            .collect();
        let labels: Vec<usize> = held_out.iter().map(|e| compact[e.label]).collect();
        let accuracies: Vec<f64> = held_out
            .iter()
            .map(|e| f64::from(e.label_accuracy))
            .collect();
        self.data.calibration_labels = labels.len();
        self.data.calibrator = fit_calibrator(
            method,
            &logits,
            &labels,
            &accuracies,
            self.data.classes.len(),
            class_spread,
        );
        Ok(())
    }

    /// Fits on every example and calibrates on out-of-fold predictions
    /// (`config.calibration_folds` folds, example `i` in fold `i % k`: shuffle first if the
    /// order is not random). With fewer than 2 folds this is `fit(examples, &[], ..)`.
    pub fn fit_cross_calibrated(
        examples: &[Example],
        num_classes: usize,
        config: &ClassifierConfig,
    ) -> Result<Classifier, ClassifyError> {
        let uncalibrated = ClassifierConfig {
            calibration: CalibrationMethod::None,
            ..config.clone()
        };
        let mut model = Classifier::fit(examples, &[], num_classes, &uncalibrated)?;
        let k = config.calibration_folds;
        if k < 2 {
            return Ok(model);
        }
        let compact = model.compact_index();
        let fold_config = ClassifierConfig {
            min_labels: 0,
            ..uncalibrated
        };
        let (mut logits, mut labels, mut accuracies) = (Vec::new(), Vec::new(), Vec::new());
        for fold in 0..k {
            let (held, rest): (Vec<_>, Vec<_>) = examples
                .iter()
                .enumerate()
                .partition(|(i, _)| i % k == fold);
            let rest: Vec<Example> = rest.into_iter().map(|(_, e)| e.clone()).collect();
            // A fold without two classes cannot be fitted; its examples just do not calibrate.
            let Ok(fold_model) = Classifier::fit(&rest, &[], num_classes, &fold_config) else {
                continue;
            };
            for (_, e) in held {
                let Some(z) = fold_model.logits_over(e, &model.data.classes) else {
                    continue;
                };
                if z[compact[e.label]] == f64::NEG_INFINITY {
                    continue; // the fold model never saw this class: no finite likelihood
                }
                logits.push(z);
                labels.push(compact[e.label]);
                accuracies.push(f64::from(e.label_accuracy));
            }
        }
        model.data.calibration_labels = labels.len();
        model.data.calibrator = fit_calibrator(
            config.calibration,
            &logits,
            &labels,
            &accuracies,
            model.data.classes.len(),
            config.class_temperature_spread,
        );
        Ok(model)
    }

    /// Position of each class index among the fitted classes (`usize::MAX` if absent).
    fn compact_index(&self) -> Vec<usize> {
        let mut compact = vec![usize::MAX; self.data.num_classes];
        self.data
            .classes
            .iter()
            .enumerate()
            .for_each(|(i, &c)| compact[c] = i);
        compact
    }

    /// Logits of this model arranged over `classes` (`-inf` where this model lacks a class);
    /// `None` if the feature row is invalid.
    fn logits_over(&self, example: &Example, classes: &[usize]) -> Option<Vec<f64>> {
        if example.features.len() != self.data.num_features {
            return None;
        }
        let own = self.logits(&example.features, &example.sparse);
        let compact = self.compact_index();
        Some(
            classes
                .iter()
                .map(|&c| {
                    compact
                        .get(c)
                        .and_then(|&i| own.get(i).copied())
                        .unwrap_or(f64::NEG_INFINITY)
                })
                .collect(),
        )
    }

    /// Logits over the fitted classes (no dimension check). Sparse features beyond the
    /// fitted width have no weight and are skipped.
    fn logits(&self, features: &[f32], sparse: &[(u32, f32)]) -> Vec<f64> {
        let d = self.data.num_features;
        let k = self.data.classes.len();
        let mut z: Vec<f64> = self
            .data
            .bias
            .iter()
            .enumerate()
            .map(|(c, &b)| {
                let w = &self.data.weights[c * d..(c + 1) * d];
                f64::from(b)
                    + w.iter()
                        .zip(features)
                        .map(|(&a, &x)| f64::from(a) * f64::from(x))
                        .sum::<f64>()
            })
            .collect();
        for &(j, v) in sparse {
            let j = j as usize;
            if j >= self.data.num_sparse {
                continue;
            }
            let wj = &self.data.sparse_weights[j * k..(j + 1) * k];
            for (zc, &w) in z.iter_mut().zip(wj) {
                *zc += f64::from(w) * f64::from(v);
            }
        }
        z
    }

    /// Calibrated class probabilities, `num_classes` long.
    pub fn predict_proba(&self, features: &[f32]) -> Result<Vec<f32>, ClassifyError> {
        self.predict_proba_with(features, &[])
    }

    /// Calibrated class probabilities from dense and sparse features, `num_classes` long.
    pub fn predict_proba_with(
        &self,
        features: &[f32],
        sparse: &[(u32, f32)],
    ) -> Result<Vec<f32>, ClassifyError> {
        if features.len() != self.data.num_features {
            return Err(ClassifyError::DimensionMismatch {
                row: 0,
                expected: self.data.num_features,
                found: features.len(),
            });
        }
        if !features.iter().all(|v| v.is_finite()) || !sparse.iter().all(|(_, v)| v.is_finite()) {
            return Err(ClassifyError::NonFinite { row: 0 });
        }
        let fitted = self
            .data
            .calibrator
            .probabilities(&self.logits(features, sparse));
        let mut out = vec![0.0f32; self.data.num_classes];
        for (&c, p) in self.data.classes.iter().zip(fitted) {
            out[c] = p as f32;
        }
        Ok(out)
    }

    /// Arg-max class with its calibrated confidence and uncertainty measures.
    pub fn predict(&self, features: &[f32]) -> Result<Prediction, ClassifyError> {
        self.predict_with(features, &[])
    }

    /// [`Classifier::predict`] with sparse features too.
    pub fn predict_with(
        &self,
        features: &[f32],
        sparse: &[(u32, f32)],
    ) -> Result<Prediction, ClassifyError> {
        let probabilities = self.predict_proba_with(features, sparse)?;
        Ok(Prediction::from_probabilities(
            probabilities,
            self.data.classes.len(),
        ))
    }

    /// The fitted temperature (1 unless temperature scaling is used).
    pub fn temperature(&self) -> f32 {
        self.data.calibrator.temperature()
    }
    pub fn calibrator(&self) -> &Calibrator {
        &self.data.calibrator
    }
    pub fn num_features(&self) -> usize {
        self.data.num_features
    }
    /// Width of the sparse feature block (0 when fitted on dense features only).
    pub fn num_sparse_features(&self) -> usize {
        self.data.num_sparse
    }
    /// Size of the label space the model was fitted for.
    pub fn num_classes(&self) -> usize {
        self.data.num_classes
    }
    /// Class indices that had training examples (the only ones it can predict).
    pub fn fitted_classes(&self) -> &[usize] {
        &self.data.classes
    }
    /// Examples used to fit the weights / the calibration.
    pub fn training_labels(&self) -> usize {
        self.data.training_labels
    }
    pub fn calibration_labels(&self) -> usize {
        self.data.calibration_labels
    }
    /// Optimiser diagnostics.
    pub fn fit_report(&self) -> FitReport {
        self.data.report
    }

    /// Pads a prediction's probabilities to a label space that grew since fitting.
    pub fn predict_padded(
        &self,
        features: &[f32],
        num_classes: usize,
    ) -> Result<Prediction, ClassifyError> {
        let mut probabilities = self.predict_proba(features)?;
        if probabilities.len() < num_classes {
            probabilities.resize(num_classes, 0.0);
        }
        Ok(Prediction::from_probabilities(
            probabilities,
            self.data.classes.len(),
        ))
    }
}

impl Prediction {
    /// Builds a prediction from a probability vector; `effective_classes` (the number of
    /// classes that can get mass) normalises the entropy.
    pub fn from_probabilities(probabilities: Vec<f32>, effective_classes: usize) -> Prediction {
        let class = uncertainty::argmax(&probabilities);
        let entropy = uncertainty::entropy(&probabilities);
        Prediction {
            class,
            confidence: uncertainty::max_probability(&probabilities),
            margin: uncertainty::margin(&probabilities),
            entropy,
            normalized_entropy: uncertainty::normalize_entropy(entropy, effective_classes),
            probabilities,
        }
    }
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;

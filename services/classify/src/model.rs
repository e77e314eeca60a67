//! The fitted classifier: a softmax regression plus its calibration map.

use serde::{Deserialize, Serialize, Serializer};

use crate::calibration::{fit_calibrator, Calibrator};
use crate::config::{CalibrationMethod, ClassifierConfig};
use crate::lbfgs::{self, FitReport};
use crate::softmax::Problem;
use crate::{uncertainty, ClassifyError};

/// Version of the persisted JSON layout; bumped on incompatible changes.
pub const MODEL_FORMAT_VERSION: u32 = 1;

/// One labeled feature row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Example {
    pub features: Vec<f32>,
    /// Class index (see [`crate::LabelSet`]).
    pub label: usize,
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
        if self.weights.len() != k * self.num_features || self.bias.len() != k {
            return bad("weights/bias shape");
        }
        if !self.weights.iter().chain(&self.bias).all(|v| v.is_finite()) {
            return bad("non-finite parameter");
        }
        match &self.calibrator {
            Calibrator::Temperature { temperature } if !(*temperature > 0.0 && temperature.is_finite()) => {
                bad("temperature must be > 0")
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
    let dim = sets.iter().flat_map(|s| s.first()).map(|e| e.features.len()).next().unwrap_or(0);
    for (row, e) in sets.iter().flat_map(|s| s.iter()).enumerate() {
        if e.features.len() != dim {
            return Err(ClassifyError::DimensionMismatch { row, expected: dim, found: e.features.len() });
        }
        if !e.features.iter().all(|v| v.is_finite()) {
            return Err(ClassifyError::NonFinite { row });
        }
        if e.label >= num_classes {
            return Err(ClassifyError::LabelOutOfRange { row, label: e.label, num_classes });
        }
    }
    Ok(dim)
}

/// Per-feature mean and scale (standard deviation, 1 for constant features).
fn standardizer(train: &[Example], dim: usize) -> (Vec<f64>, Vec<f64>) {
    let n = train.len() as f64;
    let mut mean = vec![0.0; dim];
    for e in train {
        mean.iter_mut().zip(&e.features).for_each(|(m, &v)| *m += f64::from(v) / n);
    }
    let mut var = vec![0.0; dim];
    for e in train {
        for ((s, &v), m) in var.iter_mut().zip(&e.features).zip(&mean) {
            *s += (f64::from(v) - m).powi(2) / n;
        }
    }
    let scale = var.iter().map(|v| if v.sqrt() > 1e-12 { v.sqrt() } else { 1.0 }).collect();
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
            return Err(ClassifyError::InsufficientLabels { have, need: config.min_labels.max(1) });
        }
        let dim = check_examples(&[train, calibration], num_classes)?;
        let mut present = vec![false; num_classes];
        train.iter().for_each(|e| present[e.label] = true);
        let classes: Vec<usize> = (0..num_classes).filter(|&c| present[c]).collect();
        if classes.len() < 2 {
            return Err(ClassifyError::TooFewClasses { found: classes.len() });
        }
        let mut compact = vec![usize::MAX; num_classes];
        classes.iter().enumerate().for_each(|(i, &c)| compact[c] = i);

        let (mean, scale) = if config.standardize {
            standardizer(train, dim)
        } else {
            (vec![0.0; dim], vec![1.0; dim])
        };
        let x: Vec<f64> = train
            .iter()
            .flat_map(|e| e.features.iter().zip(mean.iter().zip(&scale)).map(|(&v, (m, s))| (f64::from(v) - m) / s))
            .collect();
        let y: Vec<usize> = train.iter().map(|e| compact[e.label]).collect();
        let problem = Problem { x: &x, y: &y, d: dim, classes: classes.len(), l2: f64::from(config.l2) };
        let mut params = vec![0.0; problem.num_params()];
        let options = lbfgs::Options {
            max_iterations: config.max_iterations,
            gradient_tolerance: f64::from(config.tolerance),
            memory: 10,
        };
        let report = lbfgs::minimize(|p, g| problem.value_and_gradient(p, g), &mut params, &options);

        // Fold the standardisation into the parameters: w.(x-m)/s + b = (w/s).x + (b - w.m/s).
        let k = classes.len();
        let (w, b) = params.split_at(k * dim);
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
                bias,
                calibrator: Calibrator::None,
                training_labels: train.len(),
                calibration_labels: 0,
                report,
            },
        };

        model.calibrate(calibration, config.calibration)?;
        Ok(model)
    }

    /// Refits only the calibration map on `calibration` (e.g. fresh held-out labels),
    /// keeping the weights. Examples of classes the model was not fitted on are ignored.
    pub fn calibrate(&mut self, calibration: &[Example], method: CalibrationMethod) -> Result<(), ClassifyError> {
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
        let held_out: Vec<&Example> = calibration.iter().filter(|e| compact[e.label] != usize::MAX).collect();
        let logits: Vec<Vec<f64>> = held_out.iter().map(|e| self.logits(&e.features)).collect();
        let labels: Vec<usize> = held_out.iter().map(|e| compact[e.label]).collect();
        self.data.calibration_labels = labels.len();
        self.data.calibrator = fit_calibrator(method, &logits, &labels, self.data.classes.len());
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
        let uncalibrated = ClassifierConfig { calibration: CalibrationMethod::None, ..config.clone() };
        let mut model = Classifier::fit(examples, &[], num_classes, &uncalibrated)?;
        let k = config.calibration_folds;
        if k < 2 {
            return Ok(model);
        }
        let compact = model.compact_index();
        let fold_config = ClassifierConfig { min_labels: 0, ..uncalibrated };
        let (mut logits, mut labels) = (Vec::new(), Vec::new());
        for fold in 0..k {
            let (held, rest): (Vec<_>, Vec<_>) = examples.iter().enumerate().partition(|(i, _)| i % k == fold);
            let rest: Vec<Example> = rest.into_iter().map(|(_, e)| e.clone()).collect();
            // A fold without two classes cannot be fitted; its examples just do not calibrate.
            let Ok(fold_model) = Classifier::fit(&rest, &[], num_classes, &fold_config) else {
                continue;
            };
            for (_, e) in held {
                let Some(z) = fold_model.logits_over(&e.features, &model.data.classes) else {
                    continue;
                };
                if z[compact[e.label]] == f64::NEG_INFINITY {
                    continue; // the fold model never saw this class: no finite likelihood
                }
                logits.push(z);
                labels.push(compact[e.label]);
            }
        }
        model.data.calibration_labels = labels.len();
        model.data.calibrator = fit_calibrator(config.calibration, &logits, &labels, model.data.classes.len());
        Ok(model)
    }

    /// Position of each class index among the fitted classes (`usize::MAX` if absent).
    fn compact_index(&self) -> Vec<usize> {
        let mut compact = vec![usize::MAX; self.data.num_classes];
        self.data.classes.iter().enumerate().for_each(|(i, &c)| compact[c] = i);
        compact
    }

    /// Logits of this model arranged over `classes` (`-inf` where this model lacks a class);
    /// `None` if the feature row is invalid.
    fn logits_over(&self, features: &[f32], classes: &[usize]) -> Option<Vec<f64>> {
        if features.len() != self.data.num_features {
            return None;
        }
        let own = self.logits(features);
        let compact = self.compact_index();
        Some(classes.iter().map(|&c| compact.get(c).and_then(|&i| own.get(i).copied()).unwrap_or(f64::NEG_INFINITY)).collect())
    }

    /// Logits over the fitted classes (no dimension check).
    fn logits(&self, features: &[f32]) -> Vec<f64> {
        let d = self.data.num_features;
        self.data
            .bias
            .iter()
            .enumerate()
            .map(|(c, &b)| {
                let w = &self.data.weights[c * d..(c + 1) * d];
                f64::from(b) + w.iter().zip(features).map(|(&a, &x)| f64::from(a) * f64::from(x)).sum::<f64>()
            })
            .collect()
    }

    /// Calibrated class probabilities, `num_classes` long.
    pub fn predict_proba(&self, features: &[f32]) -> Result<Vec<f32>, ClassifyError> {
        if features.len() != self.data.num_features {
            return Err(ClassifyError::DimensionMismatch {
                row: 0,
                expected: self.data.num_features,
                found: features.len(),
            });
        }
        if !features.iter().all(|v| v.is_finite()) {
            return Err(ClassifyError::NonFinite { row: 0 });
        }
        let fitted = self.data.calibrator.probabilities(&self.logits(features));
        let mut out = vec![0.0f32; self.data.num_classes];
        for (&c, p) in self.data.classes.iter().zip(fitted) {
            out[c] = p as f32;
        }
        Ok(out)
    }

    /// Arg-max class with its calibrated confidence and uncertainty measures.
    pub fn predict(&self, features: &[f32]) -> Result<Prediction, ClassifyError> {
        let probabilities = self.predict_proba(features)?;
        Ok(Prediction::from_probabilities(probabilities, self.data.classes.len()))
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
    pub fn predict_padded(&self, features: &[f32], num_classes: usize) -> Result<Prediction, ClassifyError> {
        let mut probabilities = self.predict_proba(features)?;
        if probabilities.len() < num_classes {
            probabilities.resize(num_classes, 0.0);
        }
        Ok(Prediction::from_probabilities(probabilities, self.data.classes.len()))
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
mod tests {
    use super::*;
    use crate::metrics::evaluate;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Normal};

    /// Gaussian blobs: class `c` centred at `separation * e_c` in `dim` dimensions.
    fn blobs(n: usize, classes: usize, dim: usize, separation: f32, seed: u64) -> Vec<Example> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let noise = Normal::new(0.0f32, 1.0).unwrap();
        (0..n)
            .map(|_| {
                let label = rng.random_range(0..classes);
                let features = (0..dim)
                    .map(|j| noise.sample(&mut rng) + if j == label { separation } else { 0.0 })
                    .collect();
                Example { features, label }
            })
            .collect()
    }

    fn config(min_labels: usize) -> ClassifierConfig {
        ClassifierConfig { min_labels, ..ClassifierConfig::default() }
    }

    #[test]
    fn separable_data_is_learned_perfectly() {
        let train = blobs(400, 4, 6, 8.0, 1);
        let test = blobs(400, 4, 6, 8.0, 2);
        let model = Classifier::fit(&train, &[], 4, &config(10)).unwrap();
        assert!(model.fit_report().converged, "{:?}", model.fit_report());
        let e = evaluate(&model, &test, 15).unwrap();
        assert!(e.accuracy > 0.995, "accuracy {}", e.accuracy);
        assert!(e.macro_f1 > 0.995);
    }

    #[test]
    fn fitting_is_deterministic_and_standardisation_keeps_scale_invariance() {
        let train = blobs(300, 3, 5, 2.0, 3);
        let a = Classifier::fit(&train, &[], 3, &config(10)).unwrap();
        let b = Classifier::fit(&train, &[], 3, &config(10)).unwrap();
        assert_eq!(a, b);
        // Scaling every feature by 1000 changes nothing when standardising.
        let scaled: Vec<Example> = train
            .iter()
            .map(|e| Example { features: e.features.iter().map(|v| v * 1000.0).collect(), label: e.label })
            .collect();
        let c = Classifier::fit(&scaled, &[], 3, &config(10)).unwrap();
        let p = a.predict_proba(&train[0].features).unwrap();
        let q = c.predict_proba(&scaled[0].features).unwrap();
        for (x, y) in p.iter().zip(&q) {
            assert!((x - y).abs() < 1e-3, "{p:?} vs {q:?}");
        }
    }

    #[test]
    fn temperature_scaling_reduces_ece_of_an_overconfident_model() {
        // Few noisy examples in many dimensions, almost no regularisation: over-confident.
        let train = blobs(60, 3, 20, 1.0, 4);
        let calibration = blobs(500, 3, 20, 1.0, 5);
        let test = blobs(3000, 3, 20, 1.0, 6);
        let raw_config = ClassifierConfig { l2: 1e-3, calibration: CalibrationMethod::None, ..config(10) };
        let raw = Classifier::fit(&train, &calibration, 3, &raw_config).unwrap();
        let scaled_config = ClassifierConfig { calibration: CalibrationMethod::Temperature, ..raw_config.clone() };
        let scaled = Classifier::fit(&train, &calibration, 3, &scaled_config).unwrap();
        let before = evaluate(&raw, &test, 15).unwrap();
        let after = evaluate(&scaled, &test, 15).unwrap();
        assert!(scaled.temperature() > 1.5, "temperature {}", scaled.temperature());
        assert!(before.ece > 0.15, "raw ece {}", before.ece);
        assert!(after.ece < before.ece / 2.0, "ece {} -> {}", before.ece, after.ece);
        assert_eq!(before.accuracy, after.accuracy, "temperature must not change the arg-max");

        let iso_config = ClassifierConfig { calibration: CalibrationMethod::Isotonic, ..raw_config };
        let iso = Classifier::fit(&train, &calibration, 3, &iso_config).unwrap();
        let iso_eval = evaluate(&iso, &test, 15).unwrap();
        assert!(iso_eval.ece < before.ece / 2.0, "isotonic ece {}", iso_eval.ece);
    }

    #[test]
    fn top_label_and_cross_fitted_calibration_fix_overconfidence() {
        let train = blobs(300, 3, 20, 1.0, 12);
        let test = blobs(3000, 3, 20, 1.0, 13);
        let base = ClassifierConfig { l2: 1e-3, ..config(10) };
        let raw = Classifier::fit(&train, &[], 3, &ClassifierConfig { calibration: CalibrationMethod::None, ..base.clone() }).unwrap();
        let crossed = Classifier::fit_cross_calibrated(&train, 3, &base).unwrap();
        // Same weights (fit on every example), only the calibration differs.
        assert_eq!(raw.predict(&test[0].features).unwrap().class, crossed.predict(&test[0].features).unwrap().class);
        assert_eq!(crossed.calibration_labels(), 300);
        assert!(crossed.temperature() > 1.2, "temperature {}", crossed.temperature());
        let (before, after) = (evaluate(&raw, &test, 15).unwrap(), evaluate(&crossed, &test, 15).unwrap());
        assert!(after.ece < before.ece / 2.0, "ece {} -> {}", before.ece, after.ece);
        // Without folds it is a plain, uncalibrated fit.
        let single = Classifier::fit_cross_calibrated(&train, 3, &ClassifierConfig { calibration_folds: 1, ..base }).unwrap();
        assert_eq!(single.temperature(), 1.0);
    }

    #[test]
    fn unseen_classes_get_zero_probability() {
        // Label space of 5, training covers classes 1 and 3 only.
        let train: Vec<Example> = blobs(200, 2, 3, 4.0, 7)
            .into_iter()
            .map(|e| Example { label: if e.label == 0 { 1 } else { 3 }, ..e })
            .collect();
        let model = Classifier::fit(&train, &[], 5, &config(10)).unwrap();
        assert_eq!(model.fitted_classes(), &[1, 3]);
        let p = model.predict(&[4.0, 0.0, 0.0]).unwrap();
        assert_eq!(p.probabilities.len(), 5);
        assert_eq!(p.class, 1);
        assert_eq!((p.probabilities[0], p.probabilities[2], p.probabilities[4]), (0.0, 0.0, 0.0));
        assert!((p.probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert!(p.normalized_entropy <= 1.0);
        let padded = model.predict_padded(&[4.0, 0.0, 0.0], 7).unwrap();
        assert_eq!(padded.probabilities.len(), 7);
    }

    #[test]
    fn refuses_too_few_labels_classes_or_bad_rows() {
        let train = blobs(30, 2, 3, 4.0, 8);
        assert_eq!(
            Classifier::fit(&train, &[], 2, &config(50)),
            Err(ClassifyError::InsufficientLabels { have: 30, need: 50 })
        );
        let one_class: Vec<Example> = train.iter().map(|e| Example { label: 0, ..e.clone() }).collect();
        assert_eq!(Classifier::fit(&one_class, &[], 2, &config(10)), Err(ClassifyError::TooFewClasses { found: 1 }));
        let mut ragged = train.clone();
        ragged[5].features.push(1.0);
        assert!(matches!(
            Classifier::fit(&ragged, &[], 2, &config(10)),
            Err(ClassifyError::DimensionMismatch { row: 5, .. })
        ));
        assert!(matches!(
            Classifier::fit(&train, &[], 1, &config(10)),
            Err(ClassifyError::LabelOutOfRange { .. })
        ));
        let model = Classifier::fit(&train, &[], 2, &config(10)).unwrap();
        assert!(model.predict(&[1.0]).is_err());
        assert!(model.predict(&[f32::NAN, 0.0, 0.0]).is_err());
    }

    #[test]
    fn serde_round_trip_is_exact_and_validated() {
        let train = blobs(200, 3, 4, 2.0, 9);
        let calibration = blobs(100, 3, 4, 2.0, 10);
        for method in [CalibrationMethod::None, CalibrationMethod::Temperature, CalibrationMethod::Isotonic] {
            let cfg = ClassifierConfig { calibration: method, ..config(10) };
            let model = Classifier::fit(&train, &calibration, 3, &cfg).unwrap();
            let json = serde_json::to_string(&model).unwrap();
            let back: Classifier = serde_json::from_str(&json).unwrap();
            assert_eq!(back, model);
            let x = &calibration[0].features;
            assert_eq!(back.predict(x).unwrap(), model.predict(x).unwrap());
        }
        let model = Classifier::fit(&train, &[], 3, &config(10)).unwrap();
        let mut value = serde_json::to_value(&model).unwrap();
        value["bias"] = serde_json::json!([0.0]);
        assert!(serde_json::from_value::<Classifier>(value).is_err());
    }

    #[test]
    fn config_defaults_and_rejects_unknown_fields() {
        let cfg: ClassifierConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(cfg, ClassifierConfig::default());
        assert_eq!(cfg.min_labels, 50);
        assert!(serde_json::from_str::<ClassifierConfig>(r#"{"min_lables": 3}"#).is_err());
        let cfg: ClassifierConfig = serde_json::from_str(r#"{"calibration": "isotonic"}"#).unwrap();
        assert_eq!(cfg.calibration, CalibrationMethod::Isotonic);
    }
}

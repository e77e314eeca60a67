//! Hyper-parameters of the classifier and of its online trainer.

use serde::{Deserialize, Serialize};

use crate::ClassifyError;

/// How predicted probabilities are calibrated on held-out labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CalibrationMethod {
    /// Raw softmax probabilities.
    None,
    /// One scalar temperature dividing the logits, fitted by minimising held-out NLL.
    /// Keeps the ranking (and so accuracy) unchanged; needs few labels.
    Temperature,
    /// One scalar temperature fitted by the cross-entropy of the top-label confidence
    /// (is the arg-max right?), i.e. fitted for what ECE and the labeling queue use.
    #[default]
    TopLabelTemperature,
    /// The top-label temperature, then one temperature per predicted class, shrunk towards
    /// the global one (`class_temperature_spread`). Catches a class the model is
    /// systematically over-confident about, which one temperature averages away. Not the
    /// default: on 20 Newsgroups it raised test ECE from 0.043 to 0.066 at 2,000 labels and
    /// did not stop the over-confident class reliably (bench/queue/RESULTS.md).
    ClassTopLabelTemperature,
    /// The top-label temperature, then a Platt map (slope, intercept) of the top-label
    /// confidence, shrunk towards the identity: fixes a reliability curve that is
    /// under-confident in the middle and over-confident at the top, which one temperature
    /// cannot. See the calibration module. Not the default: with 90 %-accurate annotators
    /// in the pipeline it left almost no document at the 0.99 auto-label bar (0.1-0.8 %
    /// coverage), noise-aware or not, while one temperature kept 2-15 %.
    TopLabelPlatt,
    /// One-vs-rest isotonic regression per class, then renormalised. More flexible but
    /// data hungry (a step function per class) and may change the arg-max.
    Isotonic,
}

/// Configuration of [`crate::Classifier::fit`] and [`crate::Trainer`].
///
/// Every field has a default, so `{}` is a valid JSON configuration; unknown fields are
/// rejected so that a typo does not silently fall back to a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClassifierConfig {
    /// No model is fitted (and nothing is predicted) before this many labeled examples
    /// exist, counting training and calibration examples together.
    pub min_labels: usize,
    /// Inverse of scikit-learn's `C`: the objective is
    /// `sum_i NLL_i + l2/2 * ||W||^2` (the intercept is not penalised), so `l2 = 1.0`
    /// matches `LogisticRegression(C=1.0)`. Regularisation thus weakens relative to the
    /// data term as labels accumulate, which is what one wants in a growing label set.
    pub l2: f32,
    /// Upper bound on L-BFGS iterations (each is one full-batch gradient plus a line search).
    pub max_iterations: usize,
    /// Stop once the largest gradient component of the mean objective falls below this.
    pub tolerance: f32,
    /// Standardise each feature to zero mean and unit variance (statistics of the training
    /// rows, stored in the model). Makes one `l2` fit features of any scale.
    pub standardize: bool,
    /// How probabilities are calibrated on the calibration examples.
    pub calibration: CalibrationMethod,
    /// Calibrate against each label's accuracy (`Example::label_accuracy`: the annotator's
    /// gold-measured accuracy for a single human label) instead of taking every label as
    /// exact. Affects the top-label temperature and Platt fits (see the calibration module,
    /// "Noisy labels").
    pub noisy_label_calibration: bool,
    /// [`CalibrationMethod::ClassTopLabelTemperature`]: prior standard deviation of
    /// `ln(T_class / T)`. Small keeps every class near the global temperature; large lets a
    /// class with a handful of calibration items move far.
    pub class_temperature_spread: f32,
    /// Cross-fitted calibration: with `k >= 2`, [`crate::Classifier::fit_cross_calibrated`]
    /// fits the calibration map on out-of-fold predictions of `k` models trained on the
    /// other folds, then the final model on every label, so no label is withheld from
    /// training and all of them calibrate (k+1 fits). `0` or `1`: hold out a calibration
    /// split instead (`calibration_fraction`).
    pub calibration_folds: usize,
    /// [`crate::Trainer`] only, when `calibration_folds < 2`: share of labeled examples
    /// held out to fit the calibration.
    pub calibration_fraction: f32,
    /// [`crate::Trainer`] only: share of labeled examples held out to measure the learning
    /// curve (accuracy, macro-F1, ECE after each refit). Never used for fitting.
    pub evaluation_fraction: f32,
    /// Number of equal-width bins of the expected calibration error.
    pub ece_bins: usize,
    /// [`crate::LearningCurve`] window: how many recent points estimate the marginal gain.
    pub plateau_window: usize,
    /// Plateau threshold, in accuracy points (fraction, 0.005 = half a point) per 100 labels.
    pub plateau_epsilon: f64,
    /// Seed of every random choice (held-out assignment of examples). Fitting itself is
    /// deterministic: zero initialisation and full-batch updates in a fixed order.
    pub seed: u64,
}

impl Default for ClassifierConfig {
    fn default() -> Self {
        Self {
            min_labels: 50,
            l2: 1.0,
            max_iterations: 500,
            tolerance: 1e-6,
            standardize: true,
            calibration: CalibrationMethod::TopLabelTemperature,
            noisy_label_calibration: true,
            class_temperature_spread: 0.5,
            calibration_folds: 5,
            calibration_fraction: 0.15,
            evaluation_fraction: 0.15,
            ece_bins: 15,
            plateau_window: 5,
            plateau_epsilon: 0.005,
            seed: 0,
        }
    }
}

impl ClassifierConfig {
    /// Rejects values that would make fitting meaningless.
    pub fn validate(&self) -> Result<(), ClassifyError> {
        let bad = |what: &str| Err(ClassifyError::Invalid(format!("config: {what}")));
        if !(self.l2.is_finite() && self.l2 >= 0.0) {
            return bad("l2 must be finite and >= 0");
        }
        if !(self.tolerance.is_finite() && self.tolerance > 0.0) {
            return bad("tolerance must be > 0");
        }
        let fractions = self.calibration_fraction + self.evaluation_fraction;
        if !(0.0..=1.0).contains(&self.calibration_fraction)
            || !(0.0..=1.0).contains(&self.evaluation_fraction)
            || fractions >= 1.0
        {
            return bad(
                "calibration_fraction and evaluation_fraction must be in [0,1) with sum < 1",
            );
        }
        if !(self.class_temperature_spread.is_finite() && self.class_temperature_spread > 0.0) {
            return bad("class_temperature_spread must be > 0");
        }
        if self.ece_bins == 0 {
            return bad("ece_bins must be >= 1");
        }
        if self.plateau_window < 2 {
            return bad("plateau_window must be >= 2");
        }
        Ok(())
    }
}

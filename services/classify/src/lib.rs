//! latentlabel-classify: calibrated label prediction from topic mixtures.
//!
//! A pure crate (no Kafka, no I/O): multinomial logistic regression on dense feature rows
//! (LDA theta, optionally with extra features appended), calibrated on held-out labels,
//! with the uncertainty measures the labeling queue sorts by, the evaluation metrics the
//! scoring service reports, and a learning curve that says when more labels stop paying.
//!
//! # Model
//! Softmax regression with an L2 penalty on the weights (not the intercepts), objective
//! `sum_i NLL_i + l2/2 ||W||^2`, so `l2 = 1` is scikit-learn's `LogisticRegression(C=1)`.
//! Features are standardised inside the model by default (the statistics are folded into
//! the stored weights, so prediction is one affine map). Fitting is a deterministic
//! full-batch L-BFGS from zero (no learning rate: quasi-Newton direction plus Armijo
//! backtracking; see `lbfgs.rs`). Classes of the label space with no training example are
//! left out of the softmax and get probability 0, so the label space can grow freely.
//!
//! # Calibration
//! Default: temperature scaling whose temperature minimises the cross-entropy of the
//! *top-label* confidence ([`CalibrationMethod::TopLabelTemperature`]), fitted on
//! out-of-fold predictions ([`Classifier::fit_cross_calibrated`], 5 folds) so that every
//! label also trains the final model. Classic NLL temperature, isotonic and none are
//! selectable, as is a plain held-out calibration split ([`Classifier::fit`]). On 20
//! Newsgroups theta the top-label temperature gave the lowest ECE (15 equal-width bins);
//! NLL temperature and isotonic were worse (see `bench/classify/RESULTS.md`).
//!
//! # Predicting nothing
//! [`Classifier::fit`] refuses fewer than `min_labels` labels or fewer than two classes;
//! [`Trainer::predict`] returns `Ok(None)` until a refit succeeded.
//!
//! # Layout
//! - [`config`]: [`ClassifierConfig`] (serde defaults, unknown fields rejected),
//!   [`CalibrationMethod`].
//! - [`hashed`]: [`HashedTfIdf`], hashed tf-idf rows for the sparse feature block.
//! - [`labels`]: [`LabelSet`], label name <-> class index, append-only.
//! - [`model`]: [`Example`], [`Classifier`] (`fit`, `fit_cross_calibrated`, `calibrate`,
//!   `predict_proba`, `predict`; JSON with a format version, validated on load),
//!   [`Prediction`].
//! - [`calibration`]: [`Calibrator`] (temperature / isotonic maps).
//! - [`uncertainty`]: max probability, margin, entropy (nats and normalised by `ln C`).
//! - [`metrics`]: accuracy, macro-F1, expected calibration error, [`metrics::evaluate`].
//! - [`curve`]: [`LearningCurve`] of [`CurvePoint`]s and the plateau rule.
//! - [`trainer`]: [`Trainer`], the online wrapper: add named labels, refit, predict
//!   `None` until `min_labels` labels of at least two classes exist.
//! - private: `softmax` (objective and gradient), `lbfgs` (optimiser).
//!
//! ```
//! use latentlabel_classify::{Classifier, ClassifierConfig, Example};
//! let rows = |c: usize| (0..20).map(move |i| {
//!     Example::dense(vec![c as f32 + 0.01 * i as f32, 1.0 - c as f32], c)
//! });
//! let train: Vec<Example> = rows(0).chain(rows(1)).collect();
//! let config = ClassifierConfig { min_labels: 10, ..ClassifierConfig::default() };
//! let model = Classifier::fit(&train, &[], 2, &config).unwrap();
//! assert_eq!(model.predict(&[1.0, 0.0]).unwrap().class, 1);
//! ```

pub mod calibration;
pub mod config;
pub mod curve;
mod error;
pub mod hashed;
pub mod labels;
mod lbfgs;
pub mod metrics;
pub mod model;
mod softmax;
pub mod trainer;
pub mod uncertainty;

pub use calibration::Calibrator;
pub use config::{CalibrationMethod, ClassifierConfig};
pub use curve::{CurvePoint, LearningCurve};
pub use error::ClassifyError;
pub use hashed::HashedTfIdf;
pub use labels::LabelSet;
pub use lbfgs::FitReport;
pub use model::{Classifier, Example, Prediction, MODEL_FORMAT_VERSION};
pub use trainer::{Split, Trainer};

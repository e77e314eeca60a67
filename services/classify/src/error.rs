//! The one error type of this crate.

use thiserror::Error;

/// Why fitting, predicting or loading a model failed.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ClassifyError {
    /// Fewer labeled examples than `ClassifierConfig::min_labels`.
    #[error("not enough labels to fit: have {have}, need {need}")]
    InsufficientLabels { have: usize, need: usize },
    /// A classifier needs examples of at least two classes.
    #[error("training labels cover {found} class(es); need at least 2")]
    TooFewClasses { found: usize },
    /// A feature row does not have the model's dimension.
    #[error("feature row {row} has {found} values; expected {expected}")]
    DimensionMismatch {
        row: usize,
        expected: usize,
        found: usize,
    },
    /// A label index is outside `0..num_classes`.
    #[error("example {row} has label {label}; only {num_classes} classes")]
    LabelOutOfRange {
        row: usize,
        label: usize,
        num_classes: usize,
    },
    /// NaN or infinity in a feature row.
    #[error("feature row {row} contains a non-finite value")]
    NonFinite { row: usize },
    /// The configuration or a deserialized model is inconsistent.
    #[error("invalid {0}")]
    Invalid(String),
}

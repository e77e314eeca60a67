//! Scoring metrics (names per docs/METRICS.md).

use std::sync::LazyLock;

use prometheus::{
    register_gauge, register_int_counter, register_int_gauge, Gauge, IntCounter, IntGauge,
};

pub static DOCUMENTS: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "latentlabel_scoring_documents_total",
        "Documents scored from the stream."
    )
    .expect("registering metric")
});
pub static UNKNOWN_WORDS: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "latentlabel_scoring_unknown_words_total",
        "Tokens not in the model vocabulary."
    )
    .expect("registering metric")
});
pub static MODEL_VERSION: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "latentlabel_scoring_model_version",
        "Model snapshot version in use."
    )
    .expect("registering metric")
});
pub static MODEL_RELOADS: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "latentlabel_scoring_model_reloads_total",
        "Hot model swaps."
    )
    .expect("registering metric")
});
pub static CLASSIFIER_VERSION: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "latentlabel_classifier_version",
        "Classifier version in use."
    )
    .expect("registering metric")
});
pub static CLASSIFIER_LABELS: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "latentlabel_classifier_training_labels",
        "Labels the current classifier was trained on."
    )
    .expect("registering metric")
});
pub static CLASSIFIER_ACCURACY: LazyLock<Gauge> = LazyLock::new(|| {
    register_gauge!(
        "latentlabel_classifier_accuracy",
        "Held-out accuracy of the current classifier."
    )
    .expect("registering metric")
});
pub static CLASSIFIER_ECE: LazyLock<Gauge> = LazyLock::new(|| {
    register_gauge!(
        "latentlabel_classifier_calibration_error",
        "Expected calibration error on held-out labels."
    )
    .expect("registering metric")
});

pub static TOKENIZER_MISMATCH: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "latentlabel_scoring_tokenizer_mismatch_total",
        "Documents ingest tokenized with other settings than scoring's tokenizer section."
    )
    .expect("registering metric")
});

pub fn init() {
    LazyLock::force(&DOCUMENTS);
    LazyLock::force(&UNKNOWN_WORDS);
    LazyLock::force(&MODEL_VERSION);
    LazyLock::force(&MODEL_RELOADS);
    LazyLock::force(&CLASSIFIER_VERSION);
    LazyLock::force(&CLASSIFIER_LABELS);
    LazyLock::force(&CLASSIFIER_ACCURACY);
    LazyLock::force(&CLASSIFIER_ECE);
    LazyLock::force(&TOKENIZER_MISMATCH);
}

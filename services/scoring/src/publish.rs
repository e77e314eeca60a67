//! Persisting classifier versions: `classifiers/<model>/v<NNNNNN>/classifier.json` (plus
//! `text_features.json`, the idf of its word features) and a
//! manifest (labels, held-out figures, the learning curve) written last, create-only.

use latentlabel_common::storage::{version_dir, PutError};
use latentlabel_common::ServiceContext;
use serde::Serialize;

use crate::config::ScoringConfig;
use crate::labels::ClassifierState;
use crate::metrics;

#[derive(Serialize)]
pub struct ClassifierManifest<'a> {
    pub version: u64,
    pub created_at_ms: i64,
    pub model_version: u64,
    pub labels: &'a [String],
    pub training_labels: usize,
    pub evaluation_labels: usize,
    pub accuracy: Option<f64>,
    pub macro_f1: Option<f64>,
    pub expected_calibration_error: Option<f64>,
    pub temperature: f32,
    /// Hash buckets of the word features (`text_features.json` holds their idf); absent when
    /// the classifier reads theta only.
    pub text_feature_buckets: Option<u32>,
    pub learning_curve: &'a latentlabel_classify::curve::LearningCurve,
    pub gain_per_100_labels: Option<f64>,
    pub plateaued: bool,
}

pub fn prefix(model_name: &str) -> String {
    format!("classifiers/{model_name}")
}

/// Updates metrics and writes the version to object storage. Failures are logged, not fatal:
/// the classifier is rebuilt from the labels topic at any time.
pub async fn publish_classifier(
    ctx: &ServiceContext,
    config: &ScoringConfig,
    state: &ClassifierState,
) {
    let Some(fitted) = &state.fitted else { return };
    metrics::CLASSIFIER_VERSION.set(state.version as i64);
    metrics::CLASSIFIER_LABELS.set(fitted.training_labels as i64);
    if let Some(e) = &fitted.evaluation {
        metrics::CLASSIFIER_ACCURACY.set(e.accuracy);
        metrics::CLASSIFIER_ECE.set(e.ece);
    }
    tracing::info!(
        version = state.version,
        labels = fitted.training_labels,
        accuracy = ?fitted.evaluation.map(|e| e.accuracy),
        "classifier refitted"
    );
    let manifest = ClassifierManifest {
        version: state.version,
        created_at_ms: latentlabel_common::records::now_ms(),
        model_version: fitted.model_version,
        labels: fitted.labels.names(),
        training_labels: fitted.training_labels,
        evaluation_labels: fitted.evaluation_labels,
        accuracy: fitted.evaluation.map(|e| e.accuracy),
        macro_f1: fitted.evaluation.map(|e| e.macro_f1),
        expected_calibration_error: fitted.evaluation.map(|e| e.ece),
        temperature: fitted.classifier.temperature(),
        text_feature_buckets: fitted.text.as_ref().map(|t| t.buckets()),
        learning_curve: &state.curve,
        gain_per_100_labels: state.curve.gain_per_100_labels(),
        plateaued: state.plateaued(config.classifier.plateau_epsilon),
    };
    let dir = format!(
        "{}/{}",
        prefix(&config.model_name),
        version_dir(state.version)
    );
    if let Err(e) = ctx
        .storage
        .put_json(&format!("{dir}/classifier.json"), &fitted.classifier)
        .await
    {
        tracing::warn!(error = format!("{e:#}"), "writing classifier");
        return;
    }
    if let Some(text) = &fitted.text {
        if let Err(e) = ctx
            .storage
            .put_json(&format!("{dir}/text_features.json"), text)
            .await
        {
            tracing::warn!(error = format!("{e:#}"), "writing text features");
            return;
        }
    }
    match ctx
        .storage
        .put_json_create_only(&format!("{dir}/manifest.json"), &manifest)
        .await
    {
        Ok(()) => {}
        // Another replica (or a previous run) fitted the same version from the same labels.
        Err(PutError::AlreadyExists(_)) => {}
        Err(e) => tracing::warn!(error = %e, "writing classifier manifest"),
    }
}

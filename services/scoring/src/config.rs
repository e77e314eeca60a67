//! Scoring configuration.

use latentlabel_classify::ClassifierConfig;
use latentlabel_text::TokenizerConfig;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScoringConfig {
    /// Model to follow (the trainer's `model_name`). Default `default`.
    pub model_name: String,
    /// Tokenizer for HTTP requests and label texts; must match ingest's. Default: ingest's default.
    pub tokenizer: TokenizerConfig,
    /// The classifier on theta (and the word features). `min_labels` (default 50) gates
    /// predictions; `standardize` defaults to false here (see `Default`).
    pub classifier: ClassifierConfig,
    /// Hashed tf-idf word features next to theta (on by default).
    pub text_features: TextFeaturesConfig,
    /// Refit after this many new human labels. Default 25.
    pub refit_every_labels: usize,
    /// Share of human-labeled documents (by id hash) never trained on: the learning curve is
    /// measured on them. Default 0.15.
    pub evaluation_fraction: f64,
    /// Share of human-labeled documents (by id hash) used only to calibrate. Default 0.10.
    pub calibration_fraction: f64,
    /// Topics listed per scored document. Default 3.
    pub top_topics: usize,
    /// Words listed per topic. Default 8.
    pub top_words: usize,
    /// Recently scored documents remembered so labels without text can be learned from. Default 50,000.
    pub recent_documents: usize,
    /// Records in flight on the stream (back-pressure bound). Default 512.
    pub max_in_flight: usize,
    /// Largest HTTP request body in bytes. Default 1 MiB.
    pub max_request_bytes: usize,
    /// Most texts in one batch request. Default 256.
    pub max_batch: usize,
    /// Consumer group of the stream scorers. Default `latentlabel-scoring`.
    pub group_id: String,
}

impl Default for ScoringConfig {
    fn default() -> Self {
        Self {
            model_name: "default".into(),
            tokenizer: TokenizerConfig::default(),
            // Theta enters as raw topic shares in [0, 1], not standardised: with the word
            // features beside it, standardised topic columns dominate the penalty and the
            // classifier leans on the coarser signal (20 Newsgroups, bench/scoring/QUALITY.md).
            classifier: ClassifierConfig {
                standardize: false,
                ..ClassifierConfig::default()
            },
            text_features: TextFeaturesConfig::default(),
            refit_every_labels: 25,
            evaluation_fraction: 0.15,
            calibration_fraction: 0.10,
            top_topics: 3,
            top_words: 8,
            recent_documents: 50_000,
            max_in_flight: 512,
            max_request_bytes: 1 << 20,
            max_batch: 256,
            group_id: "latentlabel-scoring".into(),
        }
    }
}

/// Word features for the classifier: each document's terms hashed into `buckets` tf-idf
/// columns (idf fitted on the classifier's training documents at every refit). Theta alone
/// summarises a document in K numbers and plateaus early; words carry the fine distinctions
/// (on 20 Newsgroups, see bench/scoring/QUALITY.md).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TextFeaturesConfig {
    /// Default true. Off: the classifier sees theta only.
    pub enabled: bool,
    /// Hash buckets (columns). Default 32,768 (2^15): few collisions for a stemmed
    /// vocabulary of tens of thousands, and refits stay within ~100 MB.
    pub buckets: u32,
    /// Length of each document's tf-idf row (rows are L2-normalised, then scaled). Larger
    /// means weaker regularisation of the word weights (like scikit-learn's `C` times
    /// `scale^2` for that block). Default 5.0, tuned on 20 Newsgroups.
    pub scale: f32,
}

impl Default for TextFeaturesConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            buckets: 1 << 15,
            scale: 5.0,
        }
    }
}

impl ScoringConfig {
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.evaluation_fraction + self.calibration_fraction < 0.9,
            "scoring: evaluation_fraction + calibration_fraction must leave labels to train on"
        );
        anyhow::ensure!(
            self.refit_every_labels > 0,
            "scoring: refit_every_labels must be > 0"
        );
        anyhow::ensure!(
            self.max_batch > 0 && self.max_in_flight > 0,
            "scoring: max_batch and max_in_flight must be > 0"
        );
        anyhow::ensure!(
            !self.text_features.enabled
                || (self.text_features.buckets > 0
                    && self.text_features.scale.is_finite()
                    && self.text_features.scale > 0.0),
            "scoring: text_features.buckets must be > 0 and text_features.scale > 0"
        );
        self.classifier
            .validate()
            .map_err(|e| anyhow::anyhow!("scoring classifier: {e}"))?;
        Ok(())
    }
}

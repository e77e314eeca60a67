//! Trainer configuration.

use std::time::Duration;

use latentlabel_lda::LdaConfig;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainerConfig {
    /// The online-LDA hyper-parameters (K, alpha, eta, tau0, kappa, batch size, ...).
    pub lda: LdaConfig,
    /// Model name; snapshots go to `models/<name>/`. Default `default`.
    pub model_name: String,
    /// Vocabulary cap. When full, the rarest 10 % (by document frequency) are pruned. Default 100,000.
    pub max_vocabulary: usize,
    /// Share of documents (by stable hash of id) held out from training for perplexity and
    /// coherence. Default 0.05.
    pub heldout_fraction: f64,
    /// Held-out documents kept (memory bound); the oldest are evicted. Default 2,000.
    pub heldout_max_docs: usize,
    /// Recently trained document ids remembered so a replayed document (at-least-once delivery
    /// from ingest) is not trained twice; kept in the checkpoint. Default 50,000.
    pub dedup_window: usize,
    /// Publish a snapshot every this many updates. Default 5.
    pub snapshot_every_updates: u64,
    /// Checkpoint state and offsets every this many updates. Default 5.
    pub checkpoint_every_updates: u64,
    /// Train on a partial batch after this long without new documents, in milliseconds. Default 2,000.
    pub batch_timeout_ms: u64,
    /// Consumer group (used for lag metrics only; positions come from the checkpoint).
    pub group_id: String,
}

impl Default for TrainerConfig {
    fn default() -> Self {
        Self {
            lda: LdaConfig::default(),
            model_name: "default".into(),
            max_vocabulary: 100_000,
            heldout_fraction: 0.05,
            heldout_max_docs: 2_000,
            dedup_window: 50_000,
            snapshot_every_updates: 5,
            checkpoint_every_updates: 5,
            batch_timeout_ms: 2_000,
            group_id: "latentlabel-lda-trainer".into(),
        }
    }
}

impl TrainerConfig {
    pub fn validate(&self) -> anyhow::Result<()> {
        self.lda
            .validate()
            .map_err(|e| anyhow::anyhow!("lda-trainer: {e}"))?;
        anyhow::ensure!(
            self.max_vocabulary >= 10,
            "lda-trainer: max_vocabulary must be at least 10"
        );
        anyhow::ensure!(
            (0.0..1.0).contains(&self.heldout_fraction),
            "lda-trainer: heldout_fraction must be in [0, 1)"
        );
        anyhow::ensure!(
            self.snapshot_every_updates > 0,
            "lda-trainer: snapshot_every_updates must be > 0"
        );
        anyhow::ensure!(
            self.checkpoint_every_updates > 0,
            "lda-trainer: checkpoint_every_updates must be > 0"
        );
        anyhow::ensure!(
            self.model_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "lda-trainer: model_name may only contain letters, digits, '-' and '_'"
        );
        Ok(())
    }

    pub fn batch_timeout(&self) -> Duration {
        Duration::from_millis(self.batch_timeout_ms)
    }
}

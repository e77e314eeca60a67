//! Ingest configuration. Every field has a default suited to a mixed stream of e-mail-like text.

use latentlabel_text::TokenizerConfig;
use serde::{Deserialize, Serialize};

/// What to do with a document whose cleaned text is identical to one seen recently under another id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DuplicateMode {
    /// Reject it to the dead-letter topic with reason `duplicate`.
    Drop,
    /// Pass it on with `duplicate_of` set, so consumers can decide.
    Flag,
    /// Pass it on unmarked.
    Pass,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestConfig {
    /// Preprocessing pipeline (NFKC, segmentation, stop words, stemming, header stripping).
    pub tokenizer: TokenizerConfig,
    /// Largest accepted record value in bytes. Default 1 MiB. At most a third of the topics'
    /// record limit (8 MiB on topics we create): the tokenized output carries the text too. Must stay well under the tokens
    /// topic's `max.message.bytes` (8 MiB on topics we create): the output carries the text too.
    pub max_document_bytes: usize,
    /// Handling of identical content under different ids. Default `flag`.
    pub duplicate_mode: DuplicateMode,
    /// Content hashes remembered for duplicate detection (about 40 bytes each). Default 1,000,000.
    pub dedup_window: usize,
    /// Records processed concurrently before reading pauses (back-pressure). Default 512.
    pub max_in_flight: usize,
    /// Consumer group shared by all ingest replicas. Default `latentlabel-ingest`.
    pub group_id: String,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            tokenizer: TokenizerConfig::default(),
            max_document_bytes: 1 << 20,
            duplicate_mode: DuplicateMode::Flag,
            dedup_window: 1_000_000,
            max_in_flight: 512,
            group_id: "latentlabel-ingest".into(),
        }
    }
}

impl IngestConfig {
    pub fn validate(&self) -> anyhow::Result<()> {
        let limit = latentlabel_common::kafka::MAX_RECORD_BYTES / 3;
        anyhow::ensure!(
            self.max_document_bytes > 0 && self.max_document_bytes <= limit,
            "ingest: max_document_bytes must be between 1 and {limit} (a third of the topics' record limit)"
        );
        anyhow::ensure!(self.max_in_flight > 0, "ingest: max_in_flight must be > 0");
        Ok(())
    }
}

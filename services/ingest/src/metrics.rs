//! Ingest metrics (names per docs/METRICS.md).

use std::sync::LazyLock;

use prometheus::{register_int_counter, register_int_counter_vec, IntCounter, IntCounterVec};

pub static DOCUMENTS: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "latentlabel_ingest_documents_total",
        "Documents accepted and tokenized."
    )
    .expect("registering latentlabel_ingest_documents_total")
});
pub static REJECTED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "latentlabel_ingest_rejected_total",
        "Documents rejected, by reason.",
        &["reason"]
    )
    .expect("registering latentlabel_ingest_rejected_total")
});
pub static DUPLICATES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "latentlabel_ingest_duplicates_total",
        "Content duplicates seen, by action.",
        &["action"]
    )
    .expect("registering latentlabel_ingest_duplicates_total")
});
pub static TOKENS: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!("latentlabel_ingest_tokens_total", "Tokens produced.")
        .expect("registering latentlabel_ingest_tokens_total")
});
pub static BYTES: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!("latentlabel_ingest_bytes_total", "Raw text bytes accepted.")
        .expect("registering latentlabel_ingest_bytes_total")
});

/// The reason codes ingest can emit, pre-registered so dashboards see zeros, not gaps.
pub const REASONS: &[&str] = &[
    "decode",
    "unknown_schema",
    "schema_registry",
    "too_large",
    "invalid_utf8",
    "invalid_charset",
    "missing_field",
    "empty",
    "duplicate",
];

pub fn init() {
    LazyLock::force(&DOCUMENTS);
    LazyLock::force(&TOKENS);
    LazyLock::force(&BYTES);
    for r in REASONS {
        REJECTED.with_label_values(&[r]);
        latentlabel_common::metrics::DEADLETTERS.with_label_values(&[crate::SERVICE, r]);
    }
    for a in ["drop", "flag", "pass"] {
        DUPLICATES.with_label_values(&[a]);
    }
}

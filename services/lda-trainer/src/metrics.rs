//! Trainer metrics (names per docs/METRICS.md).

use std::sync::LazyLock;

use crate::snapshot::Evaluation;

use prometheus::{
    register_counter, register_gauge, register_gauge_vec, register_histogram, register_int_counter,
    register_int_gauge, Counter, Gauge, GaugeVec, Histogram, IntCounter, IntGauge,
};

pub static DOCS_SEEN: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "latentlabel_lda_documents_seen_total",
        "Documents trained on."
    )
    .expect("registering metric")
});
pub static UPDATES: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "latentlabel_lda_updates_total",
        "Mini-batch updates applied."
    )
    .expect("registering metric")
});
pub static BATCH_SECONDS: LazyLock<Histogram> = LazyLock::new(|| {
    register_histogram!(
        "latentlabel_lda_batch_duration_seconds",
        "Time per mini-batch update.",
        vec![0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]
    )
    .expect("registering metric")
});
pub static ESTEP_SECONDS: LazyLock<Counter> = LazyLock::new(|| {
    register_counter!(
        "latentlabel_lda_estep_seconds_total",
        "Wall time spent in the E-step (all its threads together)."
    )
    .expect("registering metric")
});
pub static ESTEP_FLOPS: LazyLock<Counter> = LazyLock::new(|| {
    register_counter!(
        "latentlabel_lda_estep_flops_total",
        "Useful E-step arithmetic: 4 flops per (active topic, word) pair per map evaluation."
    )
    .expect("registering metric")
});
pub static VOCABULARY: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "latentlabel_lda_vocabulary_words",
        "Words in the model vocabulary."
    )
    .expect("registering metric")
});
pub static MODEL_VERSION: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "latentlabel_lda_model_version",
        "Newest published snapshot version."
    )
    .expect("registering metric")
});
pub static LAST_SNAPSHOT: LazyLock<Gauge> = LazyLock::new(|| {
    register_gauge!(
        "latentlabel_lda_last_snapshot_timestamp_seconds",
        "Unix time of the newest snapshot."
    )
    .expect("registering metric")
});
pub static PERPLEXITY: LazyLock<Gauge> = LazyLock::new(|| {
    register_gauge!(
        "latentlabel_heldout_perplexity",
        "Held-out perplexity, exp(-per-word bound)."
    )
    .expect("registering metric")
});
pub static COHERENCE: LazyLock<GaugeVec> = LazyLock::new(|| {
    register_gauge_vec!(
        "latentlabel_topic_coherence",
        "Mean coherence of the topics' top 10 words.",
        &["measure"]
    )
    .expect("registering metric")
});

pub fn init() {
    LazyLock::force(&DOCS_SEEN);
    LazyLock::force(&UPDATES);
    LazyLock::force(&BATCH_SECONDS);
    LazyLock::force(&ESTEP_SECONDS);
    LazyLock::force(&ESTEP_FLOPS);
    LazyLock::force(&VOCABULARY);
    LazyLock::force(&MODEL_VERSION);
    LazyLock::force(&LAST_SNAPSHOT);
    // Unknown until a model has been evaluated: NaN, Prometheus's convention for a value it
    // cannot give (as in a summary's quantiles before any observation). A 0 here made the
    // 6-hour baselines of the model-quality alerts 0 after every trainer restart, so the
    // perplexity-regression alert fired for the next six hours on any real value.
    PERPLEXITY.set(f64::NAN);
    for measure in ["npmi", "umass"] {
        COHERENCE.with_label_values(&[measure]).set(f64::NAN);
    }
}

/// The gauges that describe the newest snapshot: set when one is published, and from the
/// newest manifest in storage when the trainer starts, so a restart does not reset them.
pub fn export_snapshot(version: u64, created_at_ms: i64, evaluation: &Evaluation) {
    MODEL_VERSION.set(version as i64);
    LAST_SNAPSHOT.set(created_at_ms as f64 / 1000.0);
    if let Some(p) = evaluation.heldout_perplexity {
        PERPLEXITY.set(p);
    }
    if let Some(n) = evaluation.npmi {
        COHERENCE.with_label_values(&["npmi"]).set(n);
    }
    if let Some(u) = evaluation.umass {
        COHERENCE.with_label_values(&["umass"]).set(u);
    }
}

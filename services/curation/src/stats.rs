//! Read-only views for `/metrics` and the admin API.

use serde::{Deserialize, Serialize};

use crate::records::StopReason;

/// Monotonic counters (Prometheus `_total`s). Part of the snapshot, so they survive restarts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Counters {
    pub offered: u64,
    pub already_seen: u64,
    pub auto_labeled: u64,
    /// Confident documents sent to humans because their label had used up its auto-labels
    /// before the outlier test could judge it (`routing.unjudged_class_auto_labels`).
    pub capped_unjudged: u64,
    pub audits_created: u64,
    pub queued: u64,
    pub dropped_queue_full: u64,
    pub dropped_topic_full: u64,
    pub dropped_routing_stopped: u64,
    /// Routine tasks pushed out by more informative ones.
    pub evicted: u64,
    /// Audits pushed out (or never created) because the audit queue was full.
    pub audits_evicted: u64,
    pub dropped_after_skips: u64,
    pub leases_granted: u64,
    pub leases_expired: u64,
    pub labels_submitted: u64,
    pub skips: u64,
    pub gold_answers: u64,
    pub duplicate_submissions: u64,
    pub tie_escalations: u64,
    pub finalized_routine: u64,
    /// Routine tasks queued as validation probes (`routing.validation_rate`), and those of
    /// them finalized: human labels spent on evidence for the threshold rather than chosen
    /// by the sampling strategy.
    pub validation_probes_queued: u64,
    pub finalized_validation_probes: u64,
    pub finalized_audit: u64,
    /// Audits where the human consensus matched the machine label.
    pub audits_agreed: u64,
    /// Open tasks re-ranked under a newer classifier.
    pub rescored: u64,
}

/// Per-annotator record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AnnotatorStats {
    pub annotator: String,
    /// Labels on routine and audit tasks.
    pub labels: u64,
    pub skips: u64,
    pub gold_answered: u64,
    pub gold_correct: u64,
    /// Compared with the consensus of multi-annotator tasks.
    pub consensus_compared: u64,
    pub consensus_agreed: u64,
    /// Billable time (lease to submit/skip, capped).
    pub time_spent_ms: u64,
    pub cost_usd: f64,
    pub leases_granted: u64,
    pub leases_expired: u64,
}

impl AnnotatorStats {
    /// Share of gold answers that were right.
    pub fn gold_accuracy(&self) -> Option<f64> {
        (self.gold_answered > 0).then(|| self.gold_correct as f64 / self.gold_answered as f64)
    }

    /// Share of overlapping labels that matched the final consensus.
    pub fn consensus_agreement(&self) -> Option<f64> {
        (self.consensus_compared > 0)
            .then(|| self.consensus_agreed as f64 / self.consensus_compared as f64)
    }

    /// Paid cost per label (gold included in the work, not in the count).
    pub fn cost_per_label_usd(&self) -> Option<f64> {
        (self.labels > 0).then(|| self.cost_usd / self.labels as f64)
    }
}

/// Queue gauges and counters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueStats {
    pub open_routine: usize,
    pub open_audit: usize,
    pub gold_items: usize,
    pub active_leases: usize,
    /// Topic buckets with open routine tasks, and the largest bucket's size.
    pub topic_buckets: usize,
    pub largest_topic_bucket: usize,
    /// Finalized labels waiting for [`Curator::ack_completed`](crate::Curator::ack_completed).
    pub outbox: usize,
    pub auto_label_threshold: f64,
    /// Machine-label precision measured by finalized audits.
    pub audit_precision: Option<f64>,
    pub routing_stopped: Option<StopReason>,
    pub plateaued: bool,
    pub counters: Counters,
}

/// Agreement over the recent multi-annotator history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgreementReport {
    /// Items used (those with the most common number of raters).
    pub items: usize,
    /// Raters per item in that set.
    pub raters: Option<usize>,
    pub fleiss_kappa: Option<f64>,
}

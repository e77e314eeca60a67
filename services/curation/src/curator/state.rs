//! The serializable state. Everything here is plain data (maps keyed by strings or integers)
//! so a JSON snapshot works; derived indexes live in [`super::index`].

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use crate::cost::CostLedger;
use crate::item::TaskKind;
use crate::records::{CompletedLabel, LabelEvent, SubmitOutcome};
use crate::stats::{AnnotatorStats, Counters};
use crate::threshold::{ThresholdChoice, ValidationPair};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Lease {
    pub leased_at_ms: u64,
    pub expires_at_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Judgment {
    pub annotator: String,
    pub label: String,
    pub cost_usd: f64,
}

/// A human task: routine, audit or gold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Task {
    pub task_id: String,
    pub doc_id: String,
    pub kind: TaskKind,
    pub text: String,
    pub machine_label: Option<String>,
    pub confidence: f64,
    /// Informativeness at offer time (0 for audits and gold).
    pub score: f64,
    pub topic: Option<u32>,
    /// Offer order, the tie-breaker everywhere.
    pub seq: u64,
    pub model_version: String,
    pub classifier_version: String,
    /// Distinct annotators still wanted in total (grows on majority ties).
    pub need: usize,
    pub leases: BTreeMap<String, Lease>,
    pub judgments: Vec<Judgment>,
    pub skipped_by: BTreeSet<String>,
    /// Gold items only.
    pub gold_label: Option<String>,
}

impl Task {
    pub fn judged_by(&self, annotator: &str) -> bool {
        self.judgments.iter().any(|j| j.annotator == annotator)
    }

    /// Whether `annotator` may lease this task now.
    pub fn open_to(&self, annotator: &str) -> bool {
        let untouched = !self.leases.contains_key(annotator)
            && !self.judged_by(annotator)
            && !self.skipped_by.contains(annotator);
        let has_slot =
            self.kind == TaskKind::Gold || self.judgments.len() + self.leases.len() < self.need;
        untouched && has_slot
    }

    /// Nobody has invested in it yet, so evicting it wastes nothing.
    pub fn evictable(&self) -> bool {
        self.leases.is_empty() && self.judgments.is_empty()
    }
}

/// A finalized multi-annotator item (or one gold answer) kept for Dawid–Skene and kappa.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct HistoryItem {
    pub votes: Vec<(String, usize)>,
    pub truth: Option<usize>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct State {
    pub next_seq: u64,
    /// Open routine and audit tasks by task id.
    pub tasks: BTreeMap<String, Task>,
    /// Gold items by task id (never finalized).
    pub gold: BTreeMap<String, Task>,
    /// Fingerprints of every document offered: redelivery and replay are no-ops.
    pub seen: BTreeSet<u64>,
    /// Outcome per "task_id\u{1f}annotator": the idempotency record of submit/skip/replay.
    pub receipts: BTreeMap<String, SubmitOutcome>,
    pub receipt_order: VecDeque<String>,
    /// Replayed events whose task is not known yet, by task id.
    pub pending_events: BTreeMap<String, Vec<LabelEvent>>,
    pub pending_order: VecDeque<String>,
    pub annotators: BTreeMap<String, AnnotatorStats>,
    pub history: VecDeque<HistoryItem>,
    pub validation: VecDeque<ValidationPair>,
    /// Finalized labels not yet acknowledged by the service.
    pub outbox: VecDeque<CompletedLabel>,
    pub counters: Counters,
    pub ledger: CostLedger,
    pub plateaued: bool,
    pub gain_per_100_labels: Option<f64>,
    pub threshold: f64,
    /// The evidence behind the last threshold chosen from validation data.
    #[serde(default)]
    pub threshold_choice: Option<ThresholdChoice>,
    /// Validation pairs at or above `routing.validation_band` at the last recalibration.
    #[serde(default)]
    pub band_pairs: usize,
    /// Model labels emitted per label (see `routing.unjudged_class_auto_labels`).
    #[serde(default)]
    pub auto_labels_by_class: BTreeMap<String, u64>,
    /// Last topic bucket served by round-robin.
    pub rr_cursor: Option<Option<u32>>,
}

pub(crate) fn receipt_key(task_id: &str, annotator: &str) -> String {
    format!("{task_id}\u{1f}{annotator}")
}

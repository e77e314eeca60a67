//! Outputs: what `offer`, `lease` and `submit` return, the label events to publish (and replay),
//! and the finalized labels that go into datasets.

use serde::{Deserialize, Serialize};

use crate::item::TaskKind;

/// Where `offer` sent a scored document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "route", rename_all = "snake_case")]
pub enum Routing {
    /// The model label was accepted; a [`CompletedLabel`] with source `model` is in the outbox.
    AutoLabeled { label: String },
    /// Accepted like `AutoLabeled`, and also sampled for a human audit task `task_id`.
    Audit { label: String, task_id: String },
    /// A routine human task; `evicted` lists less informative tasks pushed out to make room.
    Queued {
        task_id: String,
        evicted: Vec<Evicted>,
    },
    /// Not labeled at all (the service may keep it for later or just count it).
    Dropped { reason: DropReason },
    /// The document was offered before (replay or redelivery); nothing changed.
    AlreadySeen { task_id: String },
}

/// Why a document got no human task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// The queue is full of more informative tasks.
    QueueFull,
    /// Its topic already holds its share of the queue, all more informative.
    TopicFull,
    /// Routine human labeling is stopped: the learning curve plateaued.
    Plateaued,
    /// Routine human labeling is stopped: the budget is spent.
    BudgetExhausted,
    /// Routine human labeling is stopped: accuracy gain per USD is below the configured minimum.
    LowGainPerUsd,
}

/// Why routine items currently do not go to humans.
pub type StopReason = DropReason;

/// A task pushed out of the queue (or a task dropped after too many skips).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evicted {
    pub task_id: String,
    pub doc_id: String,
    pub kind: TaskKind,
    pub informativeness: f64,
}

/// What an annotator sees. Deliberately says nothing of the task kind or the model's opinion:
/// gold and audits must look like routine work, and a suggested label would bias the answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeasedTask {
    pub task_id: String,
    pub doc_id: String,
    pub text: String,
    /// The label set, in configured order.
    pub labels: Vec<String>,
    pub annotator: String,
    pub leased_at_ms: u64,
    pub expires_at_ms: u64,
}

/// Who produced a finalized label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelSource {
    /// The classifier, above the auto-label threshold.
    Model,
    /// One annotator.
    Human,
    /// Several annotators combined (majority or Dawid–Skene).
    Consensus,
}

impl LabelSource {
    /// Whether humans produced it.
    pub fn is_human(self) -> bool {
        !matches!(self, LabelSource::Model)
    }
}

/// A finalized label: one dataset row. At most two exist per document: the model's, and for an
/// audited document a later human one that supersedes it (dataset writers keep the human one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompletedLabel {
    /// Stable id `<doc_id>/<source>`: publishing or committing it twice is a no-op downstream.
    pub label_id: String,
    pub doc_id: String,
    /// The document text, so a dataset row can be written from the label alone.
    #[serde(default)]
    pub text: String,
    /// The human task that produced it (none for model labels).
    pub task_id: Option<String>,
    pub label: String,
    pub source: LabelSource,
    /// Model: calibrated confidence. Human/consensus: the consensus posterior (majority: the
    /// vote share).
    pub confidence: f64,
    /// Share of annotators that chose `label` (none for model labels).
    pub agreement: Option<f64>,
    pub annotators: Vec<String>,
    /// The machine label at routing time, if any (for audits: the label being checked).
    pub machine_label: Option<String>,
    /// True for a human label of an audited document: it replaces the model label.
    pub supersedes_model: bool,
    /// Everything this label cost (all annotators' judgments, or the machine cost).
    pub cost_usd: f64,
    pub model_version: String,
    pub classifier_version: String,
    pub finalized_at_ms: u64,
}

/// What an annotator did with a leased task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    Label { label: String },
    Skip,
}

/// One accepted human judgment: publish it (keyed by doc id) and feed it back through
/// [`Curator::apply_label_event`](crate::Curator::apply_label_event) on replay. Idempotent by
/// (`task_id`, `annotator`). It carries its own cost and timing so a replay under a changed rate
/// card reproduces history rather than re-pricing it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelEvent {
    pub task_id: String,
    pub doc_id: String,
    pub kind: TaskKind,
    pub annotator: String,
    pub action: Action,
    pub leased_at_ms: u64,
    pub at_ms: u64,
    /// Lease-to-submit time, capped at `cost.max_billable_ms`.
    pub billable_ms: u64,
    pub cost_usd: f64,
}

/// Where a task stands after a judgment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TaskStatus {
    /// More annotators are needed (`have` of `need` labels so far).
    Pending { have: usize, need: usize },
    /// The task is finalized; the label is also in the outbox.
    Finalized { label: Box<CompletedLabel> },
    /// A gold item: whether the answer matched.
    Gold { correct: bool },
    /// The annotator skipped; `dropped` if that was the task's last chance.
    Skipped { dropped: bool },
}

/// The result of `submit`/`skip`. Retrying the same call returns this same value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubmitOutcome {
    pub event: LabelEvent,
    pub status: TaskStatus,
    /// True when this call was a retry (or replay) and nothing was counted again.
    pub duplicate: bool,
}

/// The result of [`Curator::apply_label_event`](crate::Curator::apply_label_event).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "applied", rename_all = "snake_case")]
pub enum ApplyOutcome {
    /// Counted now.
    Applied { status: TaskStatus },
    /// Already counted; nothing changed.
    Duplicate,
    /// Its task is not known yet (replay order); kept until the document is offered.
    Deferred,
}

/// A lease that ran out; the task went back to the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpiredLease {
    pub task_id: String,
    pub annotator: String,
    pub expired_at_ms: u64,
}

//! latentlabel-curation: the labeling queue's brain, as a pure library.
//!
//! Scored documents come in; confident machine labels are accepted (a stable-hash sample is
//! audited by humans), uncertain documents become human tasks ordered by how much they would
//! teach the classifier, spread over topics, in a bounded queue. Annotators lease tasks, answer
//! or skip them; overlapping answers become one label by majority vote or Dawid–Skene; gold
//! items measure annotators; every label carries its cost, and routine human work stops when
//! the learning curve plateaus or the budget runs out.
//!
//! No Kafka, no HTTP, no clock, no randomness: time comes in as `now_ms`, so every behaviour is
//! deterministic and replayable. The labeling-queue service owns I/O and calls in here.
//!
//! # Layout
//! - [`config`]: [`CurationConfig`] = labels + [`RoutingConfig`] + [`QueueConfig`] +
//!   [`CostConfig`], with documented defaults and validation.
//! - [`item`]: inputs, [`ScoredItem`] and [`GoldItem`].
//! - [`records`]: outputs, [`Routing`], [`LeasedTask`], [`SubmitOutcome`], [`LabelEvent`] (to
//!   publish and replay), [`CompletedLabel`] (dataset rows).
//! - [`Curator`] (in `curator/`): the state machine; `offer`, `lease`, `extend`, `release`,
//!   `skip`, `submit`, `apply_label_event`, stats. `Serialize + Deserialize` = snapshot.
//! - Pure algorithms usable on their own: [`threshold::choose_auto_label_threshold`],
//!   [`agreement::cohen_kappa`] / [`agreement::fleiss_kappa`],
//!   [`consensus::majority_vote`] / [`consensus::dawid_skene`], [`cost::price`].
//! - [`stats`]: counters and per-annotator records; [`error`]: [`CurationError`] with
//!   [`CurationError::http_status`].
//!
//! # Durability
//! State = last snapshot (`serde_json::to_vec(&curator)`) + replay of what happened after it:
//! `offer` is idempotent per doc id, and `apply_label_event` per (task id, annotator), so
//! replaying overlapping ranges of `documents.scored` and the label-event topic after a
//! `kill -9` counts nothing twice. Completed labels carry a stable `label_id` so downstream
//! writers can deduplicate re-emitted ones.
//!
//! ```
//! use latentlabel_curation::{Curator, CurationConfig, Routing, ScoredItem};
//!
//! let config = CurationConfig { labels: vec!["sports".into(), "politics".into()], ..Default::default() };
//! let mut curator = Curator::new(config).unwrap();
//! let item = ScoredItem {
//!     doc_id: "d1".into(), text: "a close match".into(), label: Some("sports".into()),
//!     confidence: 0.55, margin: 0.1, entropy: 0.69, top_topic: Some(3), topics: vec![],
//!     model_version: "m1".into(), classifier_version: "c1".into(),
//! };
//! assert!(matches!(curator.offer(item, 0).unwrap(), Routing::Queued { .. }));
//! let task = curator.lease("alice", 1_000).unwrap().unwrap();
//! let outcome = curator.submit(&task.task_id, "alice", "sports", 5_000).unwrap();
//! assert!(!outcome.duplicate);
//! assert_eq!(curator.drain_completed().len(), 1);
//! ```

pub mod agreement;
pub mod config;
pub mod consensus;
pub mod cost;
mod curator;
pub mod error;
mod hashing;
pub mod item;
pub mod records;
pub mod stats;
pub mod threshold;

pub use config::{
    ConsensusMethod, CostConfig, CurationConfig, Diversity, QueueConfig, Rate, RoutingConfig,
    SamplingStrategy,
};
pub use cost::CostSummary;
pub use curator::{Curator, StaleTask, SNAPSHOT_FORMAT};
pub use error::CurationError;
pub use hashing::{is_audit_sample, task_id_for_doc, task_id_for_gold};
pub use item::{GoldItem, ScoredItem, TaskKind};
pub use records::{
    Action, ApplyOutcome, CompletedLabel, DropReason, Evicted, ExpiredLease, LabelEvent,
    LabelSource, LeasedTask, Routing, StopReason, SubmitOutcome, TaskStatus,
};
pub use stats::{AgreementReport, AnnotatorStats, Counters, QueueStats};
pub use threshold::{
    choose_auto_label_threshold, judged_classes, outlier_classes, SuspendedClass, ThresholdChoice,
    ValidationPair,
};

//! The service's state around the pure [`Curator`]: what annotators see besides the task
//! (topics, the model's suggestion), the labeled rows of the next dataset version, and the
//! conversions between Kafka records and curation types.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

use latentlabel_common::records::{AnnotationEvent, LabelEvent, ScoredDocument, TopicWeight};
use latentlabel_curation::{Action, CompletedLabel, Curator, LabelSource, ScoredItem, TaskKind};

use crate::dataset::{split_of, DatasetRow};

pub fn now_ms() -> u64 {
    latentlabel_common::records::now_ms().max(0) as u64
}

/// What the annotator page shows next to a task.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Display {
    pub topics: Vec<TopicWeight>,
    /// The model's label and confidence. Hidden for audits, whose point is an unbiased check.
    pub suggestion: Option<Suggestion>,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Suggestion {
    pub label: String,
    pub confidence: f32,
}

/// Bounded doc id -> display map (most recent wins; the oldest are forgotten first).
pub struct DisplayCache {
    capacity: usize,
    map: HashMap<String, Display>,
    order: VecDeque<String>,
}

impl DisplayCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            map: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    pub fn insert(&mut self, doc_id: &str, display: Display) {
        if self.map.insert(doc_id.to_string(), display).is_none() {
            self.order.push_back(doc_id.to_string());
            while self.order.len() > self.capacity {
                if let Some(old) = self.order.pop_front() {
                    self.map.remove(&old);
                }
            }
        }
    }

    pub fn get(&self, doc_id: &str) -> Option<&Display> {
        self.map.get(doc_id)
    }

    /// The entries of `doc_ids` (the documents with open tasks), for the checkpoint: a restart
    /// would otherwise show those tasks without topics or suggestion.
    pub fn entries_for<'a>(
        &self,
        doc_ids: impl IntoIterator<Item = &'a str>,
    ) -> Vec<(String, Display)> {
        doc_ids
            .into_iter()
            .filter_map(|id| self.map.get(id).map(|d| (id.to_string(), d.clone())))
            .collect()
    }
}

/// Everything guarded together.
pub struct Shared {
    pub curator: Mutex<Curator>,
    pub display: Mutex<DisplayCache>,
    /// One row per document: the next dataset version's content.
    pub rows: Mutex<BTreeMap<String, DatasetRow>>,
    /// Labels added to `rows` since the last commit.
    pub rows_since_commit: Mutex<usize>,
    /// Held across one whole outbox publication (read, produce, add rows, acknowledge). Two
    /// publishers at once would both send the same labels and both acknowledge them, the
    /// second dropping newer labels unsent; and a dataset commit must wait for a publication
    /// in flight, or it misses labels the annotator already got a 200 for.
    pub publishing: tokio::sync::Mutex<()>,
}

pub fn scored_item(doc: &ScoredDocument) -> ScoredItem {
    ScoredItem {
        doc_id: doc.id.clone(),
        text: doc.text.clone(),
        label: doc.label.clone(),
        confidence: f64::from(doc.confidence).clamp(0.0, 1.0),
        margin: f64::from(doc.margin).clamp(0.0, 1.0),
        entropy: f64::from(doc.entropy).max(0.0),
        top_topic: doc.top_topics.first().map(|t| t.topic.max(0) as u32),
        topics: doc
            .top_topics
            .iter()
            .map(|t| (t.topic.max(0) as u32, t.weight))
            .collect(),
        model_version: doc.model_version.to_string(),
        classifier_version: doc
            .classifier_version
            .map(|v| v.to_string())
            .unwrap_or_default(),
    }
}

pub fn display_of(doc: &ScoredDocument) -> Display {
    Display {
        topics: doc.top_topics.clone(),
        suggestion: doc.label.clone().map(|label| Suggestion {
            label,
            confidence: doc.confidence,
        }),
    }
}

fn source_name(source: LabelSource) -> &'static str {
    match source {
        LabelSource::Model => "model",
        LabelSource::Human => "human",
        LabelSource::Consensus => "consensus",
    }
}

fn kind_name(kind: TaskKind) -> &'static str {
    match kind {
        TaskKind::Routine => "routine",
        TaskKind::Audit => "audit",
        TaskKind::Gold => "gold",
    }
}

fn kind_from(name: &str) -> Option<TaskKind> {
    match name {
        "routine" => Some(TaskKind::Routine),
        "audit" => Some(TaskKind::Audit),
        "gold" => Some(TaskKind::Gold),
        _ => None,
    }
}

fn parse_version(v: &str) -> Option<i64> {
    v.parse().ok()
}

/// A finalized label as published on the labels topic (text included, so the dataset and the
/// classifier can be rebuilt from the topic alone).
pub fn label_event(label: &CompletedLabel) -> LabelEvent {
    LabelEvent {
        event_id: label.label_id.clone(),
        doc_id: label.doc_id.clone(),
        label: label.label.clone(),
        source: source_name(label.source).into(),
        annotators: label.annotators.clone(),
        confidence: Some(label.confidence as f32),
        agreement: label.agreement,
        cost_usd: label.cost_usd,
        model_version: parse_version(&label.model_version),
        classifier_version: parse_version(&label.classifier_version),
        text: Some(label.text.clone()),
        created_at_ms: label.finalized_at_ms as i64,
    }
}

/// A dataset row from a published label event.
pub fn dataset_row(event: &LabelEvent) -> DatasetRow {
    DatasetRow {
        doc_id: event.doc_id.clone(),
        text: event.text.clone().unwrap_or_default(),
        label: event.label.clone(),
        source: event.source.clone(),
        confidence: event.confidence,
        annotators: event.annotators.clone(),
        agreement: event.agreement,
        cost_usd: event.cost_usd,
        model_version: event.model_version,
        classifier_version: event.classifier_version,
        split: split_of(&event.doc_id).into(),
        labeled_at_ms: event.created_at_ms,
    }
}

/// Adds a row unless a stronger one is there: a human label supersedes the model's.
pub fn upsert_row(rows: &mut BTreeMap<String, DatasetRow>, row: DatasetRow) -> bool {
    if let Some(existing) = rows.get(&row.doc_id) {
        if existing.source != "model" && row.source == "model" {
            return false;
        }
        if existing == &row {
            return false;
        }
    }
    rows.insert(row.doc_id.clone(), row);
    true
}

pub fn annotation_record(event: &latentlabel_curation::LabelEvent) -> AnnotationEvent {
    let (action, label) = match &event.action {
        Action::Label { label } => ("label", Some(label.clone())),
        Action::Skip => ("skip", None),
    };
    AnnotationEvent {
        task_id: event.task_id.clone(),
        doc_id: event.doc_id.clone(),
        kind: kind_name(event.kind).into(),
        annotator: event.annotator.clone(),
        action: action.into(),
        label,
        leased_at_ms: event.leased_at_ms as i64,
        at_ms: event.at_ms as i64,
        billable_ms: event.billable_ms as i64,
        cost_usd: event.cost_usd,
    }
}

pub fn curation_event(record: &AnnotationEvent) -> Option<latentlabel_curation::LabelEvent> {
    let action = match (record.action.as_str(), &record.label) {
        ("label", Some(label)) => Action::Label {
            label: label.clone(),
        },
        ("skip", _) => Action::Skip,
        _ => return None,
    };
    Some(latentlabel_curation::LabelEvent {
        task_id: record.task_id.clone(),
        doc_id: record.doc_id.clone(),
        kind: kind_from(&record.kind)?,
        annotator: record.annotator.clone(),
        action,
        leased_at_ms: record.leased_at_ms.max(0) as u64,
        at_ms: record.at_ms.max(0) as u64,
        billable_ms: record.billable_ms.max(0) as u64,
        cost_usd: record.cost_usd,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(source: &str, label: &str) -> DatasetRow {
        DatasetRow {
            doc_id: "d".into(),
            text: String::new(),
            label: label.into(),
            source: source.into(),
            confidence: None,
            annotators: vec![],
            agreement: None,
            cost_usd: 0.0,
            model_version: None,
            classifier_version: None,
            split: "train".into(),
            labeled_at_ms: 0,
        }
    }

    #[test]
    fn human_rows_supersede_model_rows_not_the_reverse() {
        let mut rows = BTreeMap::new();
        assert!(upsert_row(&mut rows, row("model", "a")));
        assert!(upsert_row(&mut rows, row("human", "b")));
        assert!(!upsert_row(&mut rows, row("model", "a")));
        assert_eq!(rows["d"].label, "b");
        assert!(
            !upsert_row(&mut rows, row("human", "b")),
            "replays change nothing"
        );
    }

    #[test]
    fn annotation_records_round_trip() {
        let e = latentlabel_curation::LabelEvent {
            task_id: "t".into(),
            doc_id: "d".into(),
            kind: TaskKind::Audit,
            annotator: "a".into(),
            action: Action::Label { label: "x".into() },
            leased_at_ms: 1,
            at_ms: 2,
            billable_ms: 1,
            cost_usd: 0.05,
        };
        assert_eq!(curation_event(&annotation_record(&e)), Some(e));
    }
}

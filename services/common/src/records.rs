//! Rust mirrors of the Avro schemas in `schemas/`. Field names match the schemas exactly, so
//! `apache_avro::to_value`/`from_value` map them without hand-written glue.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::avro::AvroRecord;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RawDocument {
    pub id: Option<String>,
    pub text: String,
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub metadata: HashMap<String, String>,
    #[serde(default)]
    pub created_at_ms: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermCount {
    pub term: String,
    pub count: i32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenizedDocument {
    pub id: String,
    pub text: String,
    pub terms: Vec<TermCount>,
    pub token_count: i32,
    pub content_hash: String,
    pub duplicate_of: Option<String>,
    pub source: Option<String>,
    pub metadata: HashMap<String, String>,
    pub ingested_at_ms: i64,
    /// Classifier-only terms (Subject, quoted replies); empty from producers that predate it.
    #[serde(default)]
    pub context_terms: Vec<TermCount>,
    /// Fingerprint of the tokenizer settings that produced the terms; none from producers
    /// that predate it.
    #[serde(default)]
    pub tokenizer: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelSnapshot {
    pub model: String,
    pub version: i64,
    pub created_at_ms: i64,
    pub num_topics: i32,
    pub num_words: i32,
    pub docs_seen: i64,
    pub updates: i64,
    pub topics_path: String,
    pub manifest_path: String,
    pub heldout_perplexity: Option<f64>,
    pub npmi: Option<f64>,
    pub umass: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TopicWeight {
    pub topic: i32,
    pub weight: f32,
    pub words: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoredDocument {
    pub id: String,
    pub text: String,
    pub model_version: i64,
    pub classifier_version: Option<i64>,
    pub theta: Vec<f32>,
    pub top_topics: Vec<TopicWeight>,
    pub label: Option<String>,
    pub confidence: f32,
    pub margin: f32,
    pub entropy: f32,
    pub unknown_words: i32,
    pub scored_at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelEvent {
    pub event_id: String,
    pub doc_id: String,
    pub label: String,
    pub source: String,
    pub annotators: Vec<String>,
    pub confidence: Option<f32>,
    pub agreement: Option<f64>,
    pub cost_usd: f64,
    pub model_version: Option<i64>,
    pub classifier_version: Option<i64>,
    pub text: Option<String>,
    pub created_at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AnnotationEvent {
    pub task_id: String,
    pub doc_id: String,
    pub kind: String,
    pub annotator: String,
    pub action: String,
    pub label: Option<String>,
    pub leased_at_ms: i64,
    pub at_ms: i64,
    pub billable_ms: i64,
    pub cost_usd: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    pub service: String,
    pub source_topic: String,
    pub source_partition: i32,
    pub source_offset: i64,
    pub reason: String,
    pub message: String,
    #[serde(with = "apache_avro::serde::bytes_opt")]
    pub key: Option<Vec<u8>>,
    #[serde(with = "apache_avro::serde::bytes")]
    pub payload: Vec<u8>,
    pub failed_at_ms: i64,
}

/// `avro_record!(Type, "Type.avsc" [, "history/Type.v1.avsc", ...])`: the current schema, then
/// its earlier versions oldest first (see [`AvroRecord::PREVIOUS_SCHEMAS`]).
macro_rules! avro_record {
    ($ty:ty, $file:literal $(, $old:literal)*) => {
        impl AvroRecord for $ty {
            const SCHEMA_JSON: &'static str = include_str!(concat!("../../../schemas/", $file));
            const SUBJECT_NAME: &'static str = concat!("io.latentlabel.", stringify!($ty));
            const PREVIOUS_SCHEMAS: &'static [&'static str] =
                &[$(include_str!(concat!("../../../schemas/", $old))),*];
        }
    };
}

avro_record!(RawDocument, "RawDocument.avsc");
// v1: no context_terms; v2: no tokenizer fingerprint.
avro_record!(
    TokenizedDocument,
    "TokenizedDocument.avsc",
    "history/TokenizedDocument.v1.avsc",
    "history/TokenizedDocument.v2.avsc"
);
avro_record!(ModelSnapshot, "ModelSnapshot.avsc");
avro_record!(ScoredDocument, "ScoredDocument.avsc");
avro_record!(LabelEvent, "LabelEvent.avsc");
avro_record!(DeadLetter, "DeadLetter.avsc");
avro_record!(AnnotationEvent, "AnnotationEvent.avsc");

/// Milliseconds since the Unix epoch, for record timestamps.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

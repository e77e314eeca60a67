//! The model snapshot format, written by the trainer (and `latentlabel lda-train`), read by scoring.
//!
//! `models/<model>/v<NNNNNN>/topics.parquet` holds the topic-word matrix, one row per
//! (topic, word): `topic` int32, `word_id` int32, `word` utf8, `weight` float32 (lambda, the
//! unnormalised variational parameter; normalise a row for probabilities).
//! `manifest.json` beside it is written last, create-only, and carries alpha, evaluation figures,
//! top words and checksums; a snapshot exists once its manifest does.

use std::sync::Arc;

use anyhow::Context;
use arrow::array::{Array, Float32Array, Int32Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use latentlabel_common::parquet_io::{read_parquet, sha256_hex, write_parquet};
use latentlabel_common::storage::{version_dir, Storage};
use latentlabel_lda::OnlineLda;
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// Evaluation figures stored with a snapshot.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Evaluation {
    pub heldout_docs: usize,
    pub heldout_perplexity: Option<f64>,
    pub npmi: Option<f64>,
    pub umass: Option<f64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TopicSummary {
    pub topic: usize,
    pub words: Vec<String>,
    pub weights: Vec<f32>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SnapshotManifest {
    pub model: String,
    pub version: u64,
    pub created_at_ms: i64,
    pub num_topics: usize,
    pub num_words: usize,
    pub alpha: Vec<f32>,
    pub eta: f32,
    pub docs_seen: u64,
    pub updates: u64,
    pub evaluation: Evaluation,
    pub topics: Vec<TopicSummary>,
    /// Object key of topics.parquet, relative to the store root.
    pub topics_path: String,
    pub topics_sha256: String,
    pub config: latentlabel_lda::LdaConfig,
}

pub fn model_prefix(model: &str) -> String {
    format!("models/{model}")
}

fn topics_batch(lambda: &Array2<f32>, words: &[String]) -> anyhow::Result<RecordBatch> {
    let (k, v) = lambda.dim();
    anyhow::ensure!(
        words.len() >= v,
        "vocabulary has {} words but lambda has {v} columns",
        words.len()
    );
    let n = k * v;
    let mut topic = Vec::with_capacity(n);
    let mut word_id = Vec::with_capacity(n);
    let mut weight = Vec::with_capacity(n);
    for t in 0..k {
        for w in 0..v {
            topic.push(t as i32);
            word_id.push(w as i32);
            weight.push(lambda[[t, w]]);
        }
    }
    let word: StringArray = (0..n).map(|i| Some(words[i % v].as_str())).collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("topic", DataType::Int32, false),
        Field::new("word_id", DataType::Int32, false),
        Field::new("word", DataType::Utf8, false),
        Field::new("weight", DataType::Float32, false),
    ]));
    Ok(RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int32Array::from(topic)),
            Arc::new(Int32Array::from(word_id)),
            Arc::new(word),
            Arc::new(Float32Array::from(weight)),
        ],
    )?)
}

pub fn summarize_topics(model: &OnlineLda, words: &[String], n: usize) -> Vec<TopicSummary> {
    model
        .top_words_all(n)
        .into_iter()
        .enumerate()
        .map(|(t, top)| TopicSummary {
            topic: t,
            words: top
                .iter()
                .map(|(id, _)| words.get(*id as usize).cloned().unwrap_or_default())
                .collect(),
            weights: top.iter().map(|(_, w)| *w).collect(),
        })
        .collect()
}

/// Writes `topics.parquet` then the manifest under `dir` (e.g. `models/default/v000003` or `.`).
pub async fn write_snapshot(
    storage: &Storage,
    dir: &str,
    model_name: &str,
    version: u64,
    model: &OnlineLda,
    words: &[String],
    evaluation: Evaluation,
) -> anyhow::Result<SnapshotManifest> {
    let batch = topics_batch(&model.lambda(), words)?;
    let bytes = write_parquet(&batch)?;
    let join = |f: &str| {
        if dir.is_empty() || dir == "." {
            f.to_string()
        } else {
            format!("{dir}/{f}")
        }
    };
    let topics_path = join("topics.parquet");
    let manifest = SnapshotManifest {
        model: model_name.to_string(),
        version,
        created_at_ms: latentlabel_common::records::now_ms(),
        num_topics: model.num_topics(),
        num_words: model.num_words(),
        alpha: model.alpha().to_vec(),
        eta: model.eta(),
        docs_seen: model.docs_seen(),
        updates: model.updates(),
        evaluation,
        topics: summarize_topics(model, words, 10),
        topics_path: topics_path.clone(),
        topics_sha256: sha256_hex(&bytes),
        config: model.config().clone(),
    };
    storage.put(&topics_path, bytes).await?;
    storage
        .put_json_create_only(&join("manifest.json"), &manifest)
        .await
        .map_err(|e| anyhow::anyhow!("committing snapshot {}: {e}", join("manifest.json")))?;
    Ok(manifest)
}

pub fn snapshot_dir(model: &str, version: u64) -> String {
    format!("{}/{}", model_prefix(model), version_dir(version))
}

/// A snapshot as scoring needs it.
pub struct LoadedSnapshot {
    pub manifest: SnapshotManifest,
    pub lambda: Array2<f32>,
    pub words: Vec<String>,
}

pub async fn load_snapshot(
    storage: &Storage,
    manifest_path: &str,
) -> anyhow::Result<LoadedSnapshot> {
    let manifest: SnapshotManifest = storage.get_json(manifest_path).await?;
    let bytes = storage.get(&manifest.topics_path).await?;
    anyhow::ensure!(
        sha256_hex(&bytes) == manifest.topics_sha256,
        "{} does not match the checksum in {manifest_path}",
        manifest.topics_path
    );
    let (k, v) = (manifest.num_topics, manifest.num_words);
    let mut lambda = Array2::<f32>::zeros((k, v));
    let mut words = vec![String::new(); v];
    for batch in read_parquet(bytes)? {
        let col = |name: &str| {
            batch
                .column_by_name(name)
                .with_context(|| format!("topics.parquet lacks column {name}"))
        };
        let topic = col("topic")?
            .as_any()
            .downcast_ref::<Int32Array>()
            .context("topic must be int32")?;
        let word_id = col("word_id")?
            .as_any()
            .downcast_ref::<Int32Array>()
            .context("word_id must be int32")?;
        let word = col("word")?
            .as_any()
            .downcast_ref::<StringArray>()
            .context("word must be utf8")?;
        let weight = col("weight")?
            .as_any()
            .downcast_ref::<Float32Array>()
            .context("weight must be float32")?;
        for i in 0..batch.num_rows() {
            let (t, w) = (topic.value(i) as usize, word_id.value(i) as usize);
            anyhow::ensure!(t < k && w < v, "row ({t}, {w}) outside the {k}x{v} matrix");
            lambda[[t, w]] = weight.value(i);
            if t == 0 {
                words[w] = word.value(i).to_string();
            }
        }
    }
    Ok(LoadedSnapshot {
        manifest,
        lambda,
        words,
    })
}

/// The newest committed snapshot of `model`, if any.
pub async fn latest_manifest_path(
    storage: &Storage,
    model: &str,
) -> anyhow::Result<Option<String>> {
    Ok(storage
        .latest_version(&model_prefix(model))
        .await?
        .map(|v| format!("{}/manifest.json", snapshot_dir(model, v))))
}

//! Versioned labeled datasets in object storage.
//!
//! `datasets/<name>/v<NNNNNN>/part-<i>.parquet` + `manifest.json`. Every version is a complete,
//! immutable snapshot of the labels at commit time (one row per document, newest label wins), so
//! a reader needs exactly one version and never merges. The manifest is written last and
//! create-only: a version exists once its manifest does, and two committers can never both claim
//! the same number (the loser retries with the next one).

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Context;
use arrow::array::{
    Array, Float32Array, Float64Array, Int64Array, ListArray, RecordBatch, StringArray,
};
use arrow::datatypes::{DataType, Field, Schema};
use latentlabel_common::parquet_io::{read_parquet, sha256_hex, write_parquet};
use latentlabel_common::storage::{version_dir, PutError};
use latentlabel_common::Storage;
use serde::{Deserialize, Serialize};

/// Rows per Parquet part.
const PART_ROWS: usize = 100_000;

/// One labeled document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatasetRow {
    pub doc_id: String,
    pub text: String,
    pub label: String,
    /// human | model | consensus | gold
    pub source: String,
    pub confidence: Option<f32>,
    pub annotators: Vec<String>,
    pub agreement: Option<f64>,
    pub cost_usd: f64,
    pub model_version: Option<i64>,
    pub classifier_version: Option<i64>,
    /// train | test, from a stable hash of the document id (see [`split_of`]).
    pub split: String,
    pub labeled_at_ms: i64,
}

/// Share of documents in the test split.
pub const TEST_FRACTION: f64 = 0.2;

/// Deterministic train/test assignment: the same document is in the same split in every version.
pub fn split_of(doc_id: &str) -> &'static str {
    if latentlabel_common::split::in_sample(doc_id, "dataset-split", TEST_FRACTION) {
        "test"
    } else {
        "train"
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PartInfo {
    pub path: String,
    pub rows: usize,
    pub bytes: usize,
    pub sha256: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CostTotals {
    pub total_usd: f64,
    pub by_source_usd: BTreeMap<String, f64>,
    pub cost_per_label_usd: BTreeMap<String, f64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DatasetManifest {
    pub name: String,
    pub version: u64,
    pub parent_version: Option<u64>,
    pub created_at_ms: i64,
    pub rows: usize,
    pub counts_by_label: BTreeMap<String, usize>,
    pub counts_by_source: BTreeMap<String, usize>,
    pub counts_by_split: BTreeMap<String, usize>,
    pub schema: Vec<(String, String)>,
    pub parts: Vec<PartInfo>,
    pub split_rule: String,
    pub cost: CostTotals,
    /// The scoring classifier's learning curve at commit time (accuracy vs labels), if known.
    pub learning_curve: serde_json::Value,
    /// Why this version was committed: labels, interval, on_demand, shutdown.
    pub trigger: String,
}

fn schema() -> Arc<Schema> {
    Arc::new(Schema::new(vec![
        Field::new("doc_id", DataType::Utf8, false),
        Field::new("text", DataType::Utf8, false),
        Field::new("label", DataType::Utf8, false),
        Field::new("source", DataType::Utf8, false),
        Field::new("confidence", DataType::Float32, true),
        Field::new(
            "annotators",
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            false,
        ),
        Field::new("agreement", DataType::Float64, true),
        Field::new("cost_usd", DataType::Float64, false),
        Field::new("model_version", DataType::Int64, true),
        Field::new("classifier_version", DataType::Int64, true),
        Field::new("split", DataType::Utf8, false),
        Field::new("labeled_at_ms", DataType::Int64, false),
    ]))
}

fn to_batch(rows: &[DatasetRow]) -> anyhow::Result<RecordBatch> {
    let strings = |f: fn(&DatasetRow) -> &str| {
        Arc::new(StringArray::from_iter_values(rows.iter().map(f))) as Arc<dyn Array>
    };
    let annotators = {
        let mut builder = arrow::array::ListBuilder::new(arrow::array::StringBuilder::new());
        for r in rows {
            for a in &r.annotators {
                builder.values().append_value(a);
            }
            builder.append(true);
        }
        Arc::new(builder.finish()) as Arc<dyn Array>
    };
    let columns: Vec<Arc<dyn Array>> = vec![
        strings(|r| &r.doc_id),
        strings(|r| &r.text),
        strings(|r| &r.label),
        strings(|r| &r.source),
        Arc::new(rows.iter().map(|r| r.confidence).collect::<Float32Array>()),
        annotators,
        Arc::new(rows.iter().map(|r| r.agreement).collect::<Float64Array>()),
        Arc::new(Float64Array::from_iter_values(
            rows.iter().map(|r| r.cost_usd),
        )),
        Arc::new(rows.iter().map(|r| r.model_version).collect::<Int64Array>()),
        Arc::new(
            rows.iter()
                .map(|r| r.classifier_version)
                .collect::<Int64Array>(),
        ),
        strings(|r| &r.split),
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|r| r.labeled_at_ms),
        )),
    ];
    RecordBatch::try_new(schema(), columns).context("building dataset batch")
}

pub fn prefix(name: &str) -> String {
    format!("datasets/{name}")
}

/// What a commit needs besides the rows.
pub struct CommitInfo {
    pub cost: CostTotals,
    pub learning_curve: serde_json::Value,
    pub trigger: String,
}

/// Commits `rows` (unique by doc_id) as the next version of `name`.
pub async fn commit(
    storage: &Storage,
    name: &str,
    rows: &[DatasetRow],
    info: CommitInfo,
) -> anyhow::Result<DatasetManifest> {
    let mut seen = std::collections::HashSet::new();
    anyhow::ensure!(
        rows.iter().all(|r| seen.insert(r.doc_id.as_str())),
        "dataset rows must be unique by doc_id"
    );
    for _attempt in 0..5 {
        let parent = storage.latest_version(&prefix(name)).await?;
        let version = parent.unwrap_or(0) + 1;
        let dir = format!("{}/{}", prefix(name), version_dir(version));
        let mut parts = Vec::new();
        for (i, chunk) in rows.chunks(PART_ROWS).enumerate() {
            let bytes = write_parquet(&to_batch(chunk)?)?;
            let path = format!("{dir}/part-{i:05}.parquet");
            parts.push(PartInfo {
                path: path.clone(),
                rows: chunk.len(),
                bytes: bytes.len(),
                sha256: sha256_hex(&bytes),
            });
            storage.put(&path, bytes).await?;
        }
        let mut counts_by_label = BTreeMap::new();
        let mut counts_by_source = BTreeMap::new();
        let mut counts_by_split = BTreeMap::new();
        for r in rows {
            *counts_by_label.entry(r.label.clone()).or_insert(0) += 1;
            *counts_by_source.entry(r.source.clone()).or_insert(0) += 1;
            *counts_by_split.entry(r.split.clone()).or_insert(0) += 1;
        }
        let manifest = DatasetManifest {
            name: name.to_string(),
            version,
            parent_version: parent,
            created_at_ms: latentlabel_common::records::now_ms(),
            rows: rows.len(),
            counts_by_label,
            counts_by_source,
            counts_by_split,
            schema: schema()
                .fields()
                .iter()
                .map(|f| (f.name().clone(), f.data_type().to_string()))
                .collect(),
            parts,
            split_rule: format!("test if unit_hash(doc_id, \"dataset-split\") < {TEST_FRACTION}"),
            cost: info.cost.clone(),
            learning_curve: info.learning_curve.clone(),
            trigger: info.trigger.clone(),
        };
        match storage
            .put_json_create_only(&format!("{dir}/manifest.json"), &manifest)
            .await
        {
            Ok(()) => return Ok(manifest),
            // Someone else committed this number first; our parts are orphaned, try the next.
            Err(PutError::AlreadyExists(_)) => continue,
            Err(PutError::Other(e)) => return Err(e),
        }
    }
    anyhow::bail!("could not commit a version of dataset {name}: too many concurrent committers")
}

pub async fn list_names(storage: &Storage) -> anyhow::Result<Vec<String>> {
    let mut names: Vec<String> = storage
        .list("datasets")
        .await?
        .iter()
        .filter_map(|k| {
            k.strip_prefix("datasets/")?
                .split('/')
                .next()
                .map(str::to_string)
        })
        .collect();
    names.dedup();
    Ok(names)
}

pub async fn manifest(
    storage: &Storage,
    name: &str,
    version: u64,
) -> anyhow::Result<DatasetManifest> {
    storage
        .get_json(&format!(
            "{}/{}/manifest.json",
            prefix(name),
            version_dir(version)
        ))
        .await
}

/// All rows of a version, verifying each part's checksum.
pub async fn read_rows(
    storage: &Storage,
    manifest: &DatasetManifest,
) -> anyhow::Result<Vec<DatasetRow>> {
    let mut rows = Vec::with_capacity(manifest.rows);
    for part in &manifest.parts {
        let bytes = storage.get(&part.path).await?;
        anyhow::ensure!(
            sha256_hex(&bytes) == part.sha256,
            "{} does not match its checksum",
            part.path
        );
        for batch in read_parquet(bytes)? {
            rows.extend(from_batch(&batch)?);
        }
    }
    Ok(rows)
}

fn from_batch(batch: &RecordBatch) -> anyhow::Result<Vec<DatasetRow>> {
    fn col<'a, T: 'static>(b: &'a RecordBatch, name: &str) -> anyhow::Result<&'a T> {
        b.column_by_name(name)
            .and_then(|c| c.as_any().downcast_ref::<T>())
            .with_context(|| format!("dataset part lacks a well-typed column {name}"))
    }
    let doc_id = col::<StringArray>(batch, "doc_id")?;
    let text = col::<StringArray>(batch, "text")?;
    let label = col::<StringArray>(batch, "label")?;
    let source = col::<StringArray>(batch, "source")?;
    let confidence = col::<Float32Array>(batch, "confidence")?;
    let annotators = col::<ListArray>(batch, "annotators")?;
    let agreement = col::<Float64Array>(batch, "agreement")?;
    let cost = col::<Float64Array>(batch, "cost_usd")?;
    let model_version = col::<Int64Array>(batch, "model_version")?;
    let classifier_version = col::<Int64Array>(batch, "classifier_version")?;
    let split = col::<StringArray>(batch, "split")?;
    let labeled_at = col::<Int64Array>(batch, "labeled_at_ms")?;
    let opt_f32 = |a: &Float32Array, i: usize| (!a.is_null(i)).then(|| a.value(i));
    let opt_f64 = |a: &Float64Array, i: usize| (!a.is_null(i)).then(|| a.value(i));
    let opt_i64 = |a: &Int64Array, i: usize| (!a.is_null(i)).then(|| a.value(i));
    (0..batch.num_rows())
        .map(|i| {
            let names = annotators.value(i);
            let names = names
                .as_any()
                .downcast_ref::<StringArray>()
                .context("annotators must be a list of strings")?;
            Ok(DatasetRow {
                doc_id: doc_id.value(i).to_string(),
                text: text.value(i).to_string(),
                label: label.value(i).to_string(),
                source: source.value(i).to_string(),
                confidence: opt_f32(confidence, i),
                annotators: (0..names.len())
                    .map(|j| names.value(j).to_string())
                    .collect(),
                agreement: opt_f64(agreement, i),
                cost_usd: cost.value(i),
                model_version: opt_i64(model_version, i),
                classifier_version: opt_i64(classifier_version, i),
                split: split.value(i).to_string(),
                labeled_at_ms: labeled_at.value(i),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, label: &str) -> DatasetRow {
        DatasetRow {
            doc_id: id.into(),
            text: format!("text of {id}"),
            label: label.into(),
            source: "human".into(),
            confidence: Some(0.5),
            annotators: vec!["alice".into(), "bob".into()],
            agreement: None,
            cost_usd: 0.08,
            model_version: Some(3),
            classifier_version: None,
            split: split_of(id).into(),
            labeled_at_ms: 1,
        }
    }

    #[tokio::test]
    async fn commit_read_and_version_chain() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = Storage::from_url(dir.path().to_str().expect("utf8")).expect("store");
        let info = || CommitInfo {
            cost: CostTotals::default(),
            learning_curve: serde_json::Value::Null,
            trigger: "test".into(),
        };
        let rows = vec![row("a", "x"), row("b", "y")];
        let m1 = commit(&storage, "d", &rows, info()).await.expect("commit");
        assert_eq!((m1.version, m1.parent_version, m1.rows), (1, None, 2));
        let m2 = commit(&storage, "d", &rows[..1], info())
            .await
            .expect("commit");
        assert_eq!((m2.version, m2.parent_version), (2, Some(1)));
        assert_eq!(read_rows(&storage, &m1).await.expect("read"), rows);
        assert_eq!(m1.counts_by_label.get("x"), Some(&1));
        assert!(
            commit(&storage, "d", &[row("a", "x"), row("a", "y")], info())
                .await
                .is_err(),
            "duplicates rejected"
        );
        assert_eq!(
            list_names(&storage).await.expect("names"),
            vec!["d".to_string()]
        );
    }
}

//! Trainer checkpoints: the model state together with the consumer offsets it reflects.
//!
//! On restart the trainer seeks to these offsets, so every document after them is read again and
//! every document before them is already in lambda: none is lost, none is counted twice.
//!
//! `checkpoints/lda-trainer/<model>/lambda-<updates>.bin` holds lambda as little-endian f32 (too
//! big for JSON); `checkpoint.json` holds everything else and names that file. The lambda file is
//! written first under a fresh name, then the JSON replaces the old one in one put (atomic on S3 and
//! on the local store, which renames a temp file), so a crash mid-write leaves the previous
//! checkpoint intact.

use std::collections::BTreeMap;

use anyhow::Context;
use latentlabel_common::parquet_io::sha256_hex;
use latentlabel_common::Storage;
use latentlabel_lda::{LdaConfig, LdaState, OnlineLda, Vocabulary};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct CheckpointMeta {
    config: LdaConfig,
    alpha: Vec<f32>,
    updates: u64,
    docs_seen: u64,
    lambda_shape: (usize, usize),
    lambda_path: String,
    lambda_sha256: String,
    vocabulary: Vocabulary,
    /// Next offset to read, per partition of the tokens topic.
    offsets: BTreeMap<i32, i64>,
    /// Held-out documents as (id, terms), so evaluation survives restarts.
    heldout: Vec<(String, Vec<(String, u32)>)>,
    /// Ids of the most recently trained documents, oldest first (replay protection).
    #[serde(default)]
    recent_ids: Vec<String>,
    /// Newest snapshot version published.
    snapshot_version: u64,
}

/// Everything the trainer resumes from.
pub struct Checkpoint {
    pub model: OnlineLda,
    pub vocabulary: Vocabulary,
    pub offsets: BTreeMap<i32, i64>,
    pub heldout: Vec<(String, Vec<(String, u32)>)>,
    pub recent_ids: Vec<String>,
    pub snapshot_version: u64,
}

fn dir(model_name: &str) -> String {
    format!("checkpoints/lda-trainer/{model_name}")
}

pub async fn load(storage: &Storage, model_name: &str) -> anyhow::Result<Option<Checkpoint>> {
    let meta_path = format!("{}/checkpoint.json", dir(model_name));
    let Some(bytes) = storage.get_opt(&meta_path).await? else {
        return Ok(None);
    };
    let meta: CheckpointMeta =
        serde_json::from_slice(&bytes).with_context(|| format!("parsing {meta_path}"))?;
    let raw = storage.get(&meta.lambda_path).await?;
    anyhow::ensure!(
        sha256_hex(&raw) == meta.lambda_sha256,
        "{} does not match its checksum",
        meta.lambda_path
    );
    let (k, v) = meta.lambda_shape;
    anyhow::ensure!(
        raw.len() == k * v * 4,
        "{} has {} bytes, expected {}",
        meta.lambda_path,
        raw.len(),
        k * v * 4
    );
    let values: Vec<f32> = raw
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let lambda = Array2::from_shape_vec((k, v), values).context("lambda shape")?;
    let model = OnlineLda::from_state(LdaState {
        config: meta.config,
        lambda,
        alpha: meta.alpha,
        updates: meta.updates,
        docs_seen: meta.docs_seen,
    })
    .map_err(|e| anyhow::anyhow!("restoring model from {meta_path}: {e}"))?;
    Ok(Some(Checkpoint {
        model,
        vocabulary: meta.vocabulary,
        offsets: meta.offsets,
        heldout: meta.heldout,
        recent_ids: meta.recent_ids,
        snapshot_version: meta.snapshot_version,
    }))
}

pub async fn save(
    storage: &Storage,
    model_name: &str,
    checkpoint: &Checkpoint,
) -> anyhow::Result<()> {
    let model = &checkpoint.model;
    let lambda = model.lambda();
    let mut raw = Vec::with_capacity(lambda.len() * 4);
    for x in lambda.iter() {
        raw.extend_from_slice(&x.to_le_bytes());
    }
    let lambda_path = format!("{}/lambda-{:010}.bin", dir(model_name), model.updates());
    let meta = CheckpointMeta {
        config: model.config().clone(),
        alpha: model.alpha().to_vec(),
        updates: model.updates(),
        docs_seen: model.docs_seen(),
        lambda_shape: lambda.dim(),
        lambda_sha256: sha256_hex(&raw),
        lambda_path: lambda_path.clone(),
        vocabulary: checkpoint.vocabulary.clone(),
        offsets: checkpoint.offsets.clone(),
        heldout: checkpoint.heldout.clone(),
        recent_ids: checkpoint.recent_ids.clone(),
        snapshot_version: checkpoint.snapshot_version,
    };
    let previous: Option<String> = storage
        .get_opt(&format!("{}/checkpoint.json", dir(model_name)))
        .await
        .ok()
        .flatten()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| {
            v.get("lambda_path")
                .and_then(|p| p.as_str())
                .map(str::to_string)
        });
    storage.put(&lambda_path, raw).await?;
    storage
        .put_json(&format!("{}/checkpoint.json", dir(model_name)), &meta)
        .await?;
    // The old lambda file is garbage once the new checkpoint is in place.
    if let Some(old) = previous.filter(|p| p != &lambda_path) {
        if let Err(e) = storage.delete(&old).await {
            tracing::debug!(path = %old, error = %e, "could not delete old lambda");
        }
    }
    Ok(())
}

//! kill -9 the trainer mid-stream, restart it, and it resumes from its checkpoint: every document
//! is counted once in `docs_seen`, and the final model equals an uninterrupted run's.

use std::path::Path;
use std::time::Duration;

use latentlabel_common::embedded::EmbeddedKafka;
use latentlabel_common::records::{TermCount, TokenizedDocument};
use latentlabel_common::{Codec, OutRecord, Topics};
use latentlabel_tests::*;

const BATCH: usize = 20;

fn documents(range: std::ops::Range<usize>) -> Vec<TokenizedDocument> {
    let corpus = latentlabel_cli::demo::generate(400, 5);
    corpus[range]
        .iter()
        .map(|d| {
            let mut counts = std::collections::BTreeMap::<String, i32>::new();
            for w in d
                .raw
                .text
                .split(|c: char| !c.is_alphabetic())
                .filter(|w| w.len() > 2)
            {
                *counts.entry(w.to_lowercase()).or_default() += 1;
            }
            TokenizedDocument {
                id: d.raw.id.clone().unwrap_or_default(),
                text: d.raw.text.clone(),
                terms: counts
                    .into_iter()
                    .map(|(term, count)| TermCount { term, count })
                    .collect(),
                token_count: 0,
                content_hash: String::new(),
                duplicate_of: None,
                source: None,
                metadata: Default::default(),
                ingested_at_ms: 0,
                context_terms: Vec::new(),
                tokenizer: None,
            }
        })
        .collect()
}

async fn produce(bootstrap: &str, topics: &Topics, docs: &[TokenizedDocument]) {
    let producer = kafka_settings(bootstrap, "restart.")
        .producer()
        .expect("producer");
    let codec = Codec::single_object();
    let records: Vec<_> = docs
        .iter()
        .map(|d| {
            OutRecord::new(
                &topics.tokens,
                d.id.clone(),
                codec.encode(d).expect("encode"),
            )
        })
        .collect();
    // One at a time keeps the partition order identical between the two runs.
    for r in &records {
        latentlabel_common::pipeline::send_all("test", &producer, std::slice::from_ref(r))
            .await
            .expect("produce");
    }
}

fn config_file(dir: &Path) -> String {
    let path = dir.join("config.json");
    let config = serde_json::json!({
        "lda_trainer": {
            "lda": { "num_topics": 6, "batch_size": BATCH, "seed": 3, "threads": 1 },
            "heldout_fraction": 0.0,
            "snapshot_every_updates": 5,
            "checkpoint_every_updates": 3,
            "batch_timeout_ms": 600000
        },
        "labeling_queue": { "curation": { "labels": ["a", "b"] } }
    });
    std::fs::write(&path, serde_json::to_vec(&config).expect("json")).expect("write config");
    path.to_str().expect("utf8").to_string()
}

fn trainer(bootstrap: &str, data: &Path, config: &str, port: u16) -> Node {
    Node::service(
        env!("CARGO_BIN_EXE_latentlabel-node"),
        "lda-trainer",
        bootstrap,
        "restart.",
        data.to_str().expect("utf8"),
        port,
        &["--config", config],
    )
}

async fn try_scrape(port: u16) -> Option<String> {
    reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .ok()?
        .text()
        .await
        .ok()
}

async fn scrape(port: u16) -> String {
    try_scrape(port).await.expect("scrape /metrics")
}

/// `docs_seen` from the trainer's /metrics.
async fn docs_seen(port: u16) -> Option<u64> {
    metric_value(
        &try_scrape(port).await?,
        "latentlabel_lda_documents_seen_total ",
    )
    .map(|v| v as u64)
}

/// The newest snapshot's version and `created_at_ms`, from the store's directory.
fn newest_snapshot(data: &Path) -> (u64, i64) {
    let dir = data.join("models/default");
    let newest = std::fs::read_dir(&dir)
        .expect("snapshots")
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .to_str()?
                .strip_prefix('v')?
                .parse::<u64>()
                .ok()
        })
        .filter(|v| dir.join(format!("v{v:06}/manifest.json")).exists())
        .max()
        .expect("a snapshot was published before the kill");
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.join(format!("v{newest:06}/manifest.json"))).expect("manifest"),
    )
    .expect("json");
    (
        newest,
        manifest["created_at_ms"].as_i64().expect("created_at_ms"),
    )
}

fn checkpoint(data: &Path) -> (u64, Vec<f32>) {
    let dir = data.join("checkpoints/lda-trainer/default");
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("checkpoint.json")).expect("checkpoint"))
            .expect("json");
    let lambda_path = data.join(meta["lambda_path"].as_str().expect("lambda path"));
    let raw = std::fs::read(lambda_path).expect("lambda");
    let lambda = raw
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    (meta["docs_seen"].as_u64().expect("docs_seen"), lambda)
}

async fn wait_docs(port: u16, want: u64) {
    let seen = eventually(Duration::from_secs(120), || async move {
        docs_seen(port).await.filter(|n| *n >= want)
    })
    .await;
    assert_eq!(seen, Some(want), "trainer saw exactly {want} documents");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_trainer_resumes_without_losing_or_double_counting() {
    let topics = Topics::new("restart.");
    // One partition: both runs see the documents in the same order, so their models can be compared.
    let broker = EmbeddedKafka::start(1, &topics, 1).expect("broker");
    let bootstrap = broker.bootstrap_servers();
    let first_half = documents(0..200);
    let second_half = documents(200..400);

    // Run 1: kill -9 after 200 documents (10 updates, checkpoints after 3, 6, 9).
    let killed = tempfile::tempdir().expect("tempdir");
    let config = config_file(killed.path());
    produce(&bootstrap, &topics, &first_half).await;
    let port = free_port();
    let mut node = trainer(&bootstrap, killed.path(), &config, port);
    wait_docs(port, 200).await;
    node.kill();
    let (checkpointed, _) = checkpoint(killed.path());
    assert_eq!(
        checkpointed, 180,
        "the last update (documents 181-200) was not checkpointed when killed"
    );

    // Restarted before any new input: it re-reads documents 181-200 (one update, no new
    // snapshot), and its gauges describe the newest snapshot in storage, not a fresh process.
    let port = free_port();
    let mut node = trainer(&bootstrap, killed.path(), &config, port);
    wait_docs(port, 200).await;
    let (version, created_at_ms) = newest_snapshot(killed.path());
    let metrics = scrape(port).await;
    assert_eq!(
        metric_value(&metrics, "latentlabel_lda_model_version "),
        Some(version as f64),
        "model version restored from storage"
    );
    assert_eq!(
        metric_value(&metrics, "latentlabel_lda_last_snapshot_timestamp_seconds "),
        Some(created_at_ms as f64 / 1000.0),
        "last snapshot time restored from its manifest"
    );
    // No held-out slice in this config, so perplexity was never measured: unknown, not 0 (a
    // 0 would become the alerts' 6-hour baseline).
    let perplexity = metric_value(&metrics, "latentlabel_heldout_perplexity ");
    assert!(perplexity.is_some_and(f64::is_nan), "{perplexity:?}");

    produce(&bootstrap, &topics, &second_half).await;
    // Replays of already-trained documents (ingest delivers at least once): a full batch of them.
    let replayed = documents(190..210);
    produce(&bootstrap, &topics, &replayed).await;
    // Resumed from 180: 20 re-read + 200 new, counted once each; the 20 replays are skipped.
    wait_docs(port, 400).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        docs_seen(port).await,
        Some(400),
        "replayed documents were not trained again"
    );
    assert!(
        node.terminate(Duration::from_secs(30))
            .is_some_and(|s| s.success()),
        "graceful stop"
    );
    let (seen, resumed_lambda) = checkpoint(killed.path());
    assert_eq!(seen, 400);

    // Run 2: the same stream, uninterrupted, from a fresh store (the broker keeps the topic).
    let clean = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut node = trainer(&bootstrap, clean.path(), &config_file(clean.path()), port);
    wait_docs(port, 400).await;
    assert!(node
        .terminate(Duration::from_secs(30))
        .is_some_and(|s| s.success()));
    let (seen, clean_lambda) = checkpoint(clean.path());
    assert_eq!(seen, 400);

    assert_eq!(
        resumed_lambda.len(),
        clean_lambda.len(),
        "same vocabulary size"
    );
    let max_rel = resumed_lambda
        .iter()
        .zip(&clean_lambda)
        .map(|(a, b)| ((a - b).abs() / b.abs().max(1e-3)) as f64)
        .fold(0.0, f64::max);
    assert!(
        max_rel < 1e-3,
        "resumed model differs from the uninterrupted one: max relative difference {max_rel}"
    );
    drop(broker);
}

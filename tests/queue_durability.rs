//! kill -9 the labeling queue right after it acknowledged labels: after a restart no acknowledged
//! label is lost, none is counted twice, and the committed dataset holds each document once.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use latentlabel_common::embedded::EmbeddedKafka;
use latentlabel_common::records::{ScoredDocument, TopicWeight};
use latentlabel_common::{Codec, OutRecord, Storage, Topics};
use latentlabel_tests::*;

const TOKEN: &str = "alice-durable-token-1234";
const ADMIN: &str = "admin-durable-token-1234";
const LABELS: [&str; 3] = ["red", "green", "blue"];

fn scored(i: usize) -> ScoredDocument {
    ScoredDocument {
        id: format!("doc-{i:04}"),
        text: format!("document number {i} about {}", LABELS[i % 3]),
        model_version: 1,
        classifier_version: None,
        theta: vec![0.5, 0.5],
        top_topics: vec![TopicWeight {
            topic: (i % 2) as i32,
            weight: 0.5,
            words: vec!["w".into()],
        }],
        label: None,
        confidence: 0.0,
        margin: 0.0,
        entropy: 0.0,
        unknown_words: 0,
        scored_at_ms: 0,
    }
}

fn queue_node(bootstrap: &str, data: &Path, config: &str, port: u16) -> Node {
    Node::service(
        env!("CARGO_BIN_EXE_latentlabel-node"),
        "labeling-queue",
        bootstrap,
        "lq.",
        data.to_str().expect("utf8"),
        port,
        &["--config", config],
    )
}

/// Leases and labels up to `n` tasks; returns doc id -> label for every 200 answer, and how
/// many leased tasks came without the topics the page shows next to the text.
async fn label(base: &str, n: usize) -> (HashMap<String, String>, usize) {
    let http = reqwest::Client::new();
    let mut done = HashMap::new();
    let mut without_topics = 0;
    for _ in 0..n * 4 {
        if done.len() >= n {
            break;
        }
        let Ok(r) = http
            .post(format!("{base}/v1/tasks/lease"))
            .bearer_auth(TOKEN)
            .send()
            .await
        else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        if r.status().as_u16() != 200 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        let task: serde_json::Value = r.json().await.expect("task");
        if task["topics"].as_array().is_none_or(|t| t.is_empty()) {
            without_topics += 1;
        }
        let doc = task["doc_id"].as_str().expect("doc").to_string();
        let n_doc: usize = doc.trim_start_matches("doc-").parse().expect("number");
        let label = LABELS[n_doc % 3].to_string();
        let url = format!(
            "{base}/v1/tasks/{}/submit",
            task["task_id"].as_str().expect("task id")
        );
        let r = http
            .post(url)
            .bearer_auth(TOKEN)
            .json(&serde_json::json!({ "label": label }))
            .send()
            .await
            .expect("submit");
        if r.status().as_u16() == 200 {
            done.insert(doc, label);
        }
    }
    (done, without_topics)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_labels_survive_kill_9_and_count_once() {
    let topics = Topics::new("lq.");
    let broker = EmbeddedKafka::start(1, &topics, 2).expect("broker");
    let bootstrap = broker.bootstrap_servers();
    let producer = kafka_settings(&bootstrap, "lq.")
        .producer()
        .expect("producer");
    let codec = Codec::single_object();
    let records: Vec<_> = (0..60)
        .map(|i| {
            OutRecord::new(
                &topics.scored,
                scored(i).id,
                codec.encode(&scored(i)).expect("encode"),
            )
        })
        .collect();
    latentlabel_common::pipeline::send_all("test", &producer, &records)
        .await
        .expect("produce");

    let data = tempfile::tempdir().expect("tempdir");
    let config_path = data.path().join("config.json");
    let config = serde_json::json!({ "labeling_queue": {
        "curation": { "labels": LABELS, "queue": { "gold_rate": 0.0 } },
        "annotators": [{ "name": "alice", "token": TOKEN }],
        "admin_token": ADMIN,
        "checkpoint_every_secs": 1,
        "commit_every_secs": 3600
    }});
    std::fs::write(&config_path, serde_json::to_vec(&config).expect("json")).expect("config");
    let config_arg = config_path.to_str().expect("utf8").to_string();
    let store = data.path().join("store");

    let port = free_port();
    let mut node = queue_node(&bootstrap, &store, &config_arg, port);
    let base = format!("http://127.0.0.1:{port}");
    // Let one checkpoint happen, then label quickly and kill without warning: the labels after
    // the checkpoint exist only as acknowledged annotation events.
    let (first, _) = label(&base, 10).await;
    assert_eq!(first.len(), 10, "labeled before the checkpoint");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (second, _) = label(&base, 10).await;
    node.kill();

    let port = free_port();
    let mut node = queue_node(&bootstrap, &store, &config_arg, port);
    let base = format!("http://127.0.0.1:{port}");
    let (third, without_topics) = label(&base, 10).await;
    // Every scored document was consumed before the kill, so what the page shows next to these
    // tasks can only come from the checkpoint.
    assert_eq!(
        without_topics, 0,
        "tasks leased after the restart keep their topics"
    );
    let mut acknowledged = first.clone();
    acknowledged.extend(second.clone());
    acknowledged.extend(third.clone());
    assert_eq!(
        acknowledged.len(),
        first.len() + second.len() + third.len(),
        "no document was leased twice"
    );

    let http = reqwest::Client::new();
    let commit = http
        .post(format!("{base}/v1/admin/datasets/commit"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("commit");
    assert_eq!(commit.status().as_u16(), 200, "{:?}", commit.text().await);
    let queue: serde_json::Value = http
        .get(format!("{base}/v1/admin/queue"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("queue")
        .json()
        .await
        .expect("json");
    assert_eq!(
        queue["cost"]["human_labels"].as_u64(),
        Some(acknowledged.len() as u64),
        "each label counted once: {}",
        queue["cost"]
    );

    let storage = Storage::from_url(store.to_str().expect("utf8")).expect("store");
    let version = storage
        .latest_version("datasets/labels")
        .await
        .expect("list")
        .expect("a version");
    let manifest = latentlabel_labeling_queue::dataset::manifest(&storage, "labels", version)
        .await
        .expect("manifest");
    let rows = latentlabel_labeling_queue::dataset::read_rows(&storage, &manifest)
        .await
        .expect("rows");
    let in_dataset: HashMap<String, String> = rows
        .iter()
        .map(|r| (r.doc_id.clone(), r.label.clone()))
        .collect();
    assert_eq!(
        in_dataset.len(),
        rows.len(),
        "no document twice in a version"
    );
    for (doc, label) in &acknowledged {
        assert_eq!(
            in_dataset.get(doc),
            Some(label),
            "acknowledged label for {doc} is in the dataset"
        );
    }
    assert_eq!(rows.len(), acknowledged.len());
    assert!(node
        .terminate(Duration::from_secs(30))
        .is_some_and(|s| s.success()));
    drop(broker);
}

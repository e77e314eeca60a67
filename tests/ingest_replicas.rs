//! Two ingest processes in one consumer group against one broker: the partitions are shared,
//! every document is tokenized exactly once, and both replicas do work.

use std::collections::HashSet;
use std::time::Duration;

use latentlabel_common::embedded::EmbeddedKafka;
use latentlabel_common::records::TokenizedDocument;
use latentlabel_common::{Codec, OutRecord};
use latentlabel_tests::*;

fn ingest(bootstrap: &str, data: &str, port: u16) -> Node {
    Node::service(
        env!("CARGO_BIN_EXE_latentlabel-node"),
        "ingest",
        bootstrap,
        "two.",
        data,
        port,
        // A late joiner rebalances in seconds instead of the default tens of seconds.
        &[
            "--kafka-option",
            "session.timeout.ms=6000",
            "--kafka-option",
            "heartbeat.interval.ms=500",
        ],
    )
}

async fn consumed(port: u16) -> u64 {
    let Ok(r) = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await else {
        return 0;
    };
    let body = r.text().await.unwrap_or_default();
    metric_value(
        &body,
        "latentlabel_kafka_consumed_records_total{service=\"ingest\"}",
    )
    .map_or(0, |v| v as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_the_stream_and_tokenize_each_document_once() {
    let topics = topics("two.");
    let broker = EmbeddedKafka::start(1, &topics, 4).expect("broker");
    let bootstrap = broker.bootstrap_servers();
    let data = tempfile::tempdir().expect("tempdir");
    let data_dir = data.path().to_str().expect("utf8").to_string();
    let (port_a, port_b) = (free_port(), free_port());
    let _a = ingest(&bootstrap, &data_dir, port_a);
    let _b = ingest(&bootstrap, &data_dir, port_b);
    // Let the group settle with both members before sending.
    tokio::time::sleep(Duration::from_secs(8)).await;

    let corpus = latentlabel_cli::demo::generate(600, 21);
    let codec = Codec::single_object();
    let records: Vec<_> = corpus
        .iter()
        .map(|d| {
            OutRecord::new(
                &topics.raw,
                d.raw.id.clone().unwrap_or_default(),
                codec.encode(&d.raw).expect("encode"),
            )
        })
        .collect();
    let producer = kafka_settings(&bootstrap, "two.")
        .producer()
        .expect("producer");
    latentlabel_common::pipeline::send_all("test", &producer, &records)
        .await
        .expect("produce");

    let observer = observer(&bootstrap, &topics.tokens);
    let out = collect(&observer, corpus.len(), Duration::from_secs(90)).await;
    let extra = collect(&observer, 1, Duration::from_secs(3)).await;
    let ids: HashSet<String> = out
        .iter()
        .map(|m| {
            codec
                .decode_cached::<TokenizedDocument>(payload(m))
                .expect("decode")
                .id
        })
        .collect();
    assert_eq!(ids.len(), corpus.len(), "every document tokenized");
    assert_eq!(out.len() + extra.len(), corpus.len(), "and exactly once");
    let (a, b) = (consumed(port_a).await, consumed(port_b).await);
    println!("replica a consumed {a}, replica b consumed {b}");
    assert_eq!(a + b, corpus.len() as u64);
    assert!(
        a > 0 && b > 0,
        "both replicas took partitions (a={a}, b={b})"
    );
    drop(broker);
}
